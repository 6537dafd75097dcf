"""The returns settings of a hub (docs/returns.md, "A hub's returns settings"): its disposition
table, refund deductions, checklists, templates and labour rate, kept as one JSON value. Kept
apart from tables.py (which imports it into ALL_TABLES) to keep that module readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from piccolo.columns import JSON, ForeignKey, OnDelete, Timestamp
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

if TYPE_CHECKING:
    from backend.db.tables import Hub as HubT
    from backend.db.tables import Keyed
    from backend.db.tables import User as UserT
else:
    Keyed = Table


def _ref(name: str) -> LazyTableReference:
    """A table of tables.py, which imports this module (so no import of it here)."""
    return LazyTableReference(table_class_name=name, module_path="backend.db.tables")


class HubReturnsSettings(Keyed, tablename="hub_returns_settings"):
    """One row per hub that changed its settings; no row: the built-in defaults. ``settings`` is
    the body of ``PUT /hubs/{id}/returns/settings`` as accepted (camelCase)."""

    hub: ForeignKey[HubT] = ForeignKey(references=_ref("Hub"), on_delete=OnDelete.cascade, unique=True, index=True)
    settings = JSON(default={})
    by_user: ForeignKey[UserT] = ForeignKey(references=_ref("User"), null=True, on_delete=OnDelete.set_null)
    at = Timestamp(null=True, default=None)
