"""Shop drops: a local shop puts goods it sold into a locker bank at the shop; a bike courier
collects them in the evening round and delivers them in town that evening (ordered before
noon: that evening; later: the next evening).

A drop is an order like any other (backend/services/orders.py: the customer's delivery stop
in the evening slot), with its pickup stop at the locker instead of at the shop (a pickup
and its delivery, as a shop's goods are collected on the way), and a compartment for each
parcel (backend/services/lockers.py). The shop registers it with its X-Api-Key, or the point
or a dispatcher of the hub does for it; then the drop is scanned into its compartment. When
the day's routes are in force the durable ``replan`` job brings the two stops in; else the
day's plan takes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.locker_tables import LockerCompartment, LockerEvent
from backend.db.tables import Order, Parcel, Shop, Stop
from backend.dispatch.calendar import SLOTS, parse_hhmm
from backend.errors import Conflict, Invalid, NotFound
from backend.jobs import enqueue
from backend.realtime.outbox import emit
from backend.services import locker_doors, lockers, orders, stop_history
from backend.services.geo import Geo
from backend.services.hub_scope import require_same_hub
from backend.services.route_store import any_in_force
from backend.services.scanner_settings import is_label, read_scan
from backend.structs import Body, DbId, Email, Name, Note, Phone, Text200

CUTOFF = dt.time(12, 0)  # ordered before noon: delivered that evening
SLOT: orders.SlotName = "evening"


class DropParcelIn(Body):
    weight_kg: Annotated[float, msgspec.Meta(gt=0, le=200)]
    volume_l: Annotated[float, msgspec.Meta(gt=0, le=2000)]
    barcode: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9\-]{4,64}$")] | None = None
    longest_side_cm: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None


class DropIn(Body):
    """What the shop sold, to whom: the customer's address and the parcels."""

    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    customer_name: Name
    parcels: Annotated[list[DropParcelIn], msgspec.Meta(min_length=1, max_length=10)]
    customer_email: Email = ""
    customer_phone: Phone = ""
    address: Text200 = ""
    postcode: Annotated[str, msgspec.Meta(max_length=16)] = ""
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    notes: Note = ""
    shop_id: DbId | None = None  # who sold it: needed when the point or a dispatcher registers it


class DropScanIn(Body):
    barcode: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    # The door the shop used, when not the one kept for the parcel (must be free).
    compartment: Annotated[str, msgspec.Meta(max_length=16)] | None = None


def delivery_day(now: dt.datetime) -> dt.date:
    """Before the cut-off: this evening; after it: tomorrow evening."""
    return now.date() if now.time() < CUTOFF else now.date() + dt.timedelta(days=1)


async def _shop(shop_id: int | None, point: dict[str, Any]) -> dict[str, Any]:
    if shop_id is None:
        raise Invalid("shopId: name the shop whose goods these are.", field="shopId")
    shop = await Shop.select(Shop.id, Shop.name, Shop.hub).where(Shop.id == shop_id).first()
    if shop is None:
        raise Invalid(f"shopId {shop_id} does not exist.", field="shopId")
    require_same_hub("shopId", shop_id, shop["hub"], point["hub"])
    return shop


async def _existing(point: dict[str, Any], shop: dict[str, Any], reference: str) -> dict[str, Any] | None:
    """The drop already registered with this reference (a replay answers it), or None."""
    order = await Order.select(Order.id).where(Order.reference == reference).first()
    if order is None:
        return None
    mine = await Stop.exists().where(
        (Stop.order == order["id"]) & (Stop.kind == "pickup") & (Stop.pickup_point == point["id"])
    )
    barcodes = [p["barcode"] for p in await Parcel.select(Parcel.barcode).where(Parcel.order == order["id"])]
    by_this_shop = await LockerEvent.exists().where(
        (LockerEvent.point == point["id"])
        & (LockerEvent.kind == "assigned")
        & (LockerEvent.by_shop == str(shop["id"]))
        & LockerEvent.barcode.is_in(barcodes or [""])
    )
    if not mine or not by_this_shop:
        raise Conflict(f"An order with reference {reference!r} already exists; give the drop its own reference.")
    return await drop_view(point, order["id"], shop, "already_registered")


async def register(
    geo: Geo, point_id: int, shop_id: int | None, data: DropIn, now: dt.datetime, by_user: int | None = None
) -> dict[str, Any]:
    """A shop's drop at a locker: the order to the customer in the evening slot, the pickup at
    the locker, a compartment for each parcel (the shop's code opens it). Registered again with
    the same reference: the same answer, nothing written twice."""
    point = await lockers.locker_row(point_id)
    shop = await _shop(shop_id, point)
    hub = point["hub"] or shop["hub"]
    if hub is None:
        raise Invalid(f"{point['name']} belongs to no hub: no courier collects from it.", field="pointId")
    if (seen := await _existing(point, shop, data.reference)) is not None:
        return seen
    day = delivery_day(now)
    order_in = orders.OrderIn(
        reference=data.reference,
        hub_id=hub,
        customer_name=data.customer_name,
        customer_email=data.customer_email,
        customer_phone=data.customer_phone,
        date=day,
        parcels=[
            orders.ParcelIn(
                weight_kg=p.weight_kg, volume_l=p.volume_l, barcode=p.barcode, longest_side_cm=p.longest_side_cm
            )
            for p in data.parcels
        ],
        address=data.address,
        postcode=data.postcode,
        lat=data.lat,
        lon=data.lon,
        slot=SLOT,
        notes=data.notes or f"Shop drop of {shop['name']} at {point['name']}",
    )
    prepared = await orders.prepare(order_in, geo, now.date())
    await lockers.check_fit(point, data.parcels)
    routed = await any_in_force(hub, day)
    async with transaction():
        order_id = await orders.write(prepared, now)
        stop_id = await _pickup_stop(point, order_id, hub, day, data, now)
        await lockers.assign(order_id, point_id, "shop_drop", now, by_shop=shop["id"])
        if routed:  # the running day takes the two stops in a re-plan, durable
            await enqueue(
                "replan",
                f"locker_drop:{order_id}",
                {"hubId": hub, "date": day.isoformat(), "reason": f"shop drop {data.reference} at {point['name']}"},
            )
        await emit(
            "locker.drop",
            {"pickupPointId": point_id, "orderId": order_id, "shopId": shop["id"], "stopId": stop_id},
            hub_id=hub,
        )
    return await drop_view(point, order_id, shop, "registered")


async def _pickup_stop(
    point: dict[str, Any], order_id: int, hub: int, day: dt.date, data: DropIn, now: dt.datetime
) -> int:
    start, end = (dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=parse_hhmm(t)) for t in SLOTS[SLOT])
    row = await Stop.insert(
        Stop(
            order=order_id,
            hub=hub,
            kind="pickup",
            shop=None,
            pickup_point=point["id"],
            address=point["address"],
            lat=point["lat"],
            lon=point["lon"],
            plan_date=day,
            window_start=start,  # the evening round collects
            window_end=end,
            service_s=120,
            weight_kg=sum(p.weight_kg for p in data.parcels),
            volume_l=sum(p.volume_l for p in data.parcels),
        )
    )
    stop_id = int(row[0]["id"])
    await stop_history.record([stop_id], "created", detail=f"Shop drop at {point['name']}", at=now)
    return stop_id


async def drop_view(point: dict[str, Any], order_id: int, shop: dict[str, Any], result: str) -> dict[str, Any]:
    order = await Order.select().where(Order.id == order_id).first()
    if order is None:
        raise NotFound(f"There is no order {order_id}.")
    rows = (
        await LockerCompartment.select(
            LockerCompartment.label,
            LockerCompartment.filled,
            LockerCompartment.drop_code,
            LockerCompartment.parcel.barcode,
        )
        .where((LockerCompartment.order == order_id) & (LockerCompartment.purpose == "shop_drop"))
        .order_by(LockerCompartment.label)
    )
    return {
        "result": result,
        "orderId": order_id,
        "reference": order["reference"],
        "shopId": shop["id"],
        "pickupPointId": point["id"],
        "date": order["delivery_date"].isoformat(),
        "window": {"start": f"{order['window_start']:%H:%M}", "end": f"{order['window_end']:%H:%M}"},
        "trackingUrl": f"/track/{order['tracking_token']}",
        # The shop's code opens each compartment to put the parcel in; the courier gets their own.
        "compartments": [
            {"compartment": r["label"], "barcode": r["parcel.barcode"], "code": r["drop_code"], "filled": r["filled"]}
            for r in rows
        ],
    }


async def scan(
    point_id: int, shop_id: int | None, data: DropScanIn, now: dt.datetime, by_user: int | None = None
) -> dict[str, Any]:
    """The drop scanned into its compartment. A shop's key scans its own drops only (another
    shop's parcel is not found); the point and the hub's dispatchers scan any."""
    point = await lockers.locker_row(point_id)
    # The point's and the hub's people scan with the hub's scanners; a shop with its own.
    barcode = await read_scan(data.barcode, None if shop_id is not None else point["hub"], is_label)
    if shop_id is not None and not await LockerEvent.exists().where(
        (LockerEvent.point == point_id)
        & (LockerEvent.barcode == barcode)
        & (LockerEvent.kind == "assigned")
        & (LockerEvent.by_shop == str(shop_id))
    ):
        raise NotFound(f"Parcel {barcode} is not a drop of your shop at {point['name']}; register the drop first.")
    async with transaction():
        return await locker_doors.fill_by_shop(point, barcode, data.compartment, shop_id, by_user, now)
