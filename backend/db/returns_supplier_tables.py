"""What went back to a supplier (docs/returns.md, "Back to the supplier"): one row per item, the
items of one parcel sharing its reference. Kept apart from tables.py (which imports it into
ALL_TABLES) to keep that module readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from piccolo.columns import ForeignKey, OnDelete, Timestamp, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

if TYPE_CHECKING:
    from backend.db.tables import Hub as HubT
    from backend.db.tables import Keyed
    from backend.db.tables import ReturnItem as ItemT
    from backend.db.tables import User as UserT
else:
    Keyed = Table


def _ref(name: str) -> LazyTableReference:
    return LazyTableReference(table_class_name=name, module_path="backend.db.tables")


class ReturnShipment(Keyed, tablename="return_shipment"):
    """An item sent back to its supplier: once (the unique item)."""

    item: ForeignKey[ItemT] = ForeignKey(references=_ref("ReturnItem"), unique=True, on_delete=OnDelete.cascade)
    hub: ForeignKey[HubT] = ForeignKey(references=_ref("Hub"), on_delete=OnDelete.cascade, index=True)
    supplier = Varchar(length=120, default="")  # the shop that sold it, as named when it went
    reference = Varchar(length=80)  # the parcel's track-and-trace number or the carrier's note
    by_user: ForeignKey[UserT] = ForeignKey(references=_ref("User"), null=True, on_delete=OnDelete.set_null)
    at = Timestamp()


# Appended to ``backend.db.tables.ALL_TABLES`` (after the tables they refer to).
TABLES: tuple[type[Table], ...] = (ReturnShipment,)
