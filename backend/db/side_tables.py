"""The tables kept in modules of their own beside tables.py, in the order they are created
(after the tables of tables.py they refer to, which imports this at its end)."""

from __future__ import annotations

from piccolo.table import Table

from backend.db import carrier_tables, locker_tables, returns_settings_tables, returns_supplier_tables, scanner_tables

SIDE_TABLES: tuple[type[Table], ...] = (
    carrier_tables.TABLES
    + locker_tables.TABLES
    + returns_settings_tables.TABLES
    + scanner_tables.TABLES
    + returns_supplier_tables.TABLES
)
