"""Tables of lockers (docs/lockers.md): a locker bank's compartments, with the parcel in
each, and the log of what happened at its doors. Kept apart from tables.py (which imports
them into ALL_TABLES) to keep that module readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from piccolo.columns import Boolean, Float, ForeignKey, OnDelete, Text, Timestamp, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

if TYPE_CHECKING:
    from backend.db.tables import Keyed
    from backend.db.tables import Order as OrderT
    from backend.db.tables import Parcel as ParcelT
    from backend.db.tables import PickupPoint as PointT
    from backend.db.tables import User as UserT
else:
    Keyed = Table


def _ref(name: str) -> LazyTableReference:
    """A table of tables.py, which imports this module (so no import of it here)."""
    return LazyTableReference(table_class_name=name, module_path="backend.db.tables")


POINT, ORDER, PARCEL, USER = _ref("PickupPoint"), _ref("Order"), _ref("Parcel"), _ref("User")


class LockerCompartment(Keyed, tablename="locker_compartment"):
    """One door of a locker bank (a pickup point of kind ``locker``). ``parcel`` is what it
    is kept for or holds (null: free; a parcel removed frees it); ``filled`` once it is in."""

    point: ForeignKey[PointT] = ForeignKey(references=POINT, on_delete=OnDelete.cascade, index=True)
    label = Varchar(length=16)
    width_cm = Float()
    height_cm = Float()
    depth_cm = Float()
    max_weight_kg = Float()
    parcel: ForeignKey[ParcelT] = ForeignKey(references=PARCEL, null=True, unique=True, on_delete=OnDelete.set_null)
    order: ForeignKey[OrderT] = ForeignKey(references=ORDER, null=True, on_delete=OnDelete.set_null)
    purpose = Varchar(length=12, default="")  # delivery (to the customer) | shop_drop (from a shop) | ""
    filled = Boolean(default=False)
    # The code that opens it for whoever puts the parcel in (the courier, the shop) and, for a
    # shop drop, for the courier who takes it out. The customer's code is the order's pickup
    # code (backend/security.py), derived, not stored.
    drop_code = Varchar(length=8, default="")
    collect_code = Varchar(length=8, default="")
    since = Timestamp(null=True, default=None)


class LockerEvent(Keyed, tablename="locker_event"):
    """What happened at a compartment's door, in order: assigned, filled, collected (by the
    courier), picked_up (by the customer), wrong_code, moved."""

    point: ForeignKey[PointT] = ForeignKey(references=POINT, on_delete=OnDelete.cascade, index=True)
    compartment = Varchar(length=16, default="")  # its label ("" for a wrong code)
    barcode = Varchar(length=64, default="", index=True)
    kind = Varchar(length=16)
    by_user: ForeignKey[UserT] = ForeignKey(references=USER, null=True, on_delete=OnDelete.set_null)
    by_shop = Varchar(length=16, default="")  # the shop's id, when a shop's key did it
    at = Timestamp()
    detail = Text(default="")


# Appended to ``backend.db.tables.ALL_TABLES`` (after the tables they refer to).
TABLES: tuple[type[Table], ...] = (LockerCompartment, LockerEvent)
