"""A hub's keyboard-wedge scanner setting (docs/api.md "Scanner"): the prefix and suffix its
scanners are configured to send around a code. Kept apart from tables.py (which imports it
into ALL_TABLES) to keep that module readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from piccolo.columns import ForeignKey, OnDelete, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

if TYPE_CHECKING:
    from backend.db.tables import Hub as HubT
    from backend.db.tables import Keyed
else:
    Keyed = Table


HUB = LazyTableReference(table_class_name="Hub", module_path="backend.db.tables")


class ScannerSetting(Keyed, tablename="scanner_setting"):
    """One row a hub; a hub without one scans with neither prefix nor suffix."""

    hub: ForeignKey[HubT] = ForeignKey(references=HUB, on_delete=OnDelete.cascade, unique=True)
    prefix = Varchar(length=8, default="")
    suffix = Varchar(length=8, default="")
