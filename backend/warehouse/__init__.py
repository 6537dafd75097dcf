"""The hub's warehouse, pure: layout, pick paths, products, barcodes, the stock ledger, waves and picking.

Imports nothing from the web or the database (like ``backend.dispatch``); import the modules explicitly.
"""
