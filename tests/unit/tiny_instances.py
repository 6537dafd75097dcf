"""Tiny benchmark instances in the suites' own file formats, shared by the bench tests."""

SOLOMON_TEXT = """TINY

VEHICLE
NUMBER     CAPACITY
  2         50

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0         0          0          0       1000          0
    1      3         4         10          0        100         10
    2      6         8         20         50        200         10
    3      0         5         30          0        500          5
"""
