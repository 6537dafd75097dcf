"""The pure planning core: street network, geocoder, calendar, VRP model, solver, checker.

Imports nothing from the web or the database (tests/unit/test_purity.py keeps it so).
"""
