"""Tables of bike-or-carrier (docs/checkout.md "Bike or carrier"): a hub's rules, the
decision per carrier-bound order and the scans at handover. Kept apart from tables.py
(which imports them into ALL_TABLES) to keep that module readable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from piccolo.columns import JSON, Date, ForeignKey, OnDelete, Text, Timestamp, Varchar
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

if TYPE_CHECKING:
    from backend.db.tables import Hub as HubT
    from backend.db.tables import Keyed
    from backend.db.tables import Order as OrderT
    from backend.db.tables import Parcel as ParcelT
    from backend.db.tables import User as UserT
else:
    Keyed = Table


def _ref(name: str) -> LazyTableReference:
    """A table of tables.py, which imports this module (so no import of it here)."""
    return LazyTableReference(table_class_name=name, module_path="backend.db.tables")


HUB, ORDER, PARCEL, USER = _ref("Hub"), _ref("Order"), _ref("Parcel"), _ref("User")


class CarrierRule(Keyed, tablename="carrier_rule"):
    """A hub's rules (backend/dispatch/carrier.py CarrierRules, camelCase); one row a hub."""

    hub: ForeignKey[HubT] = ForeignKey(references=HUB, on_delete=OnDelete.cascade, unique=True)
    rules = JSON(default={})


class CarrierOrder(Keyed, tablename="carrier_order"):
    """An order the rules sent to a carrier: its stops stay out of the planner's day."""

    order: ForeignKey[OrderT] = ForeignKey(references=ORDER, on_delete=OnDelete.cascade, unique=True)
    hub: ForeignKey[HubT] = ForeignKey(references=HUB, on_delete=OnDelete.cascade)
    plan_date = Date(index=True)
    carrier = Varchar(length=40)
    reason = Varchar(length=16)
    detail = Text(default="")
    country = Varchar(length=2, default="")  # "": the hub's own
    duties = Varchar(length=3, default="")  # DDP | DAP | "" (not abroad)


class HandoverScan(Keyed, tablename="handover_scan"):
    """A parcel scanned when the carrier's driver takes it; one a parcel."""

    parcel: ForeignKey[ParcelT] = ForeignKey(references=PARCEL, on_delete=OnDelete.cascade, unique=True)
    hub: ForeignKey[HubT] = ForeignKey(references=HUB, on_delete=OnDelete.cascade)
    carrier = Varchar(length=40)
    by_user: ForeignKey[UserT] = ForeignKey(references=USER, null=True, on_delete=OnDelete.set_null)
    at = Timestamp()


# Appended to ``backend.db.tables.ALL_TABLES`` (after the tables they refer to).
TABLES: tuple[type[Table], ...] = (CarrierRule, CarrierOrder, HandoverScan)
