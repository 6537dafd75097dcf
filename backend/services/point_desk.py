"""The pickup point's desk (role ``point``, scoped to one point as a dispatcher is to a hub):
what is announced, scanning in what the courier hands over, handing out against the
customer's pickup code, and what waits too long and goes back to the hub.

Object-level: every parcel is looked up within the operator's point; another point's
parcel is not found. A scan-in of a parcel that is not announced here raises an alert
for the point's hub (kind ``point_mismatch``, one per parcel and day). Wrong pickup codes
are counted per parcel; after ``MAX_TRIES`` the parcel is locked for ``LOCK_MIN``
minutes, so codes cannot be guessed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from backend.db.engine import transaction
from backend.db.locker_tables import LockerCompartment
from backend.db.tables import Order, Parcel, PickupPoint, PointOperator, PointParcel, ReturnRequest, Stop
from backend.dispatch.alerts import Raised
from backend.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from backend.realtime.outbox import emit
from backend.security import pickup_code
from backend.services import lockers, point_room
from backend.services.alerts import raise_alerts
from backend.services.route_store import routes_in_force
from backend.services.scanner_settings import is_label, read_scan

MAX_TRIES = 5  # wrong codes per parcel before it is locked
LOCK_MIN = 15  # minutes a locked parcel waits before the next try


async def operator_point(user_id: int) -> dict[str, Any]:
    """The pickup point this user works at (Forbidden: none)."""
    row = await PointOperator.select(PointOperator.point).where(PointOperator.user == user_id).first()
    point = (
        await PickupPoint.select().where(PickupPoint.id == row["point"]).output(load_json=True).first()
        if row is not None
        else None
    )
    if point is None:
        raise Forbidden("Your account works at no pickup point; ask an administrator to link it to one.")
    return point


def hours_text(opening_hours: list[dict[str, Any]]) -> str:
    """The point's hours as a customer reads them ("mo,tu,we 09:00-18:00; sa 10:00-16:00")."""
    if not opening_hours:
        return "open day and night"
    return "; ".join(f"{','.join(p['days'])} {p['opens']}-{p['closes']}" for p in opening_hours)


def _point_view(point: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": point["id"],
        "name": point["name"],
        "kind": point["kind"],
        "address": point["address"],
        "hours": hours_text(point["opening_hours"]),
        "capacity": point["capacity_parcels"],
        "holdingDays": point["holding_days"],
    }


def _held_view(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    locked = row["locked_until"] is not None and row["locked_until"] > now
    return {
        "barcode": row["parcel.barcode"],
        "reference": row["order.reference"],
        "customer": row["order.customer_name"],
        "status": row["status"],
        "scannedInAt": row["scanned_in_at"].isoformat(),
        "holdUntil": row["hold_until"].isoformat(),
        "handedOutAt": row["handed_out_at"].isoformat() if row["handed_out_at"] else None,
        "wrongTries": row["wrong_tries"],
        "lockedUntil": row["locked_until"].isoformat() if locked else None,
        "overdue": row["status"] == "in" and row["hold_until"] < now,
    }


_HELD_COLUMNS = (
    PointParcel.status,
    PointParcel.scanned_in_at,
    PointParcel.hold_until,
    PointParcel.handed_out_at,
    PointParcel.wrong_tries,
    PointParcel.locked_until,
    PointParcel.parcel.barcode,
    PointParcel.order.reference,
    PointParcel.order.customer_name,
)


async def _courier_eta(point: dict[str, Any], day: dt.date) -> dict[str, str] | None:
    """When the courier comes that day: the earliest planned arrival of a delivery to the
    point in the routes in force, else the earliest window of those deliveries."""
    stops = await Stop.select(Stop.id, Stop.window_start, Stop.window_end, Stop.hub).where(
        (Stop.pickup_point == point["id"]) & (Stop.plan_date == day) & (Stop.kind == "delivery")
    )
    if not stops:
        return None
    ids = {s["id"] for s in stops}
    etas = [
        ps["eta"]
        for hub in {s["hub"] for s in stops}
        for route in await routes_in_force(hub, day)
        for ps in route.get("stops") or []
        if ps.get("stop_id") in ids
    ]
    if etas:
        return {"eta": min(etas)[11:16], "planned": "route"}
    first = min(stops, key=lambda s: s["window_start"])
    return {"eta": f"{first['window_start']:%H:%M}-{first['window_end']:%H:%M}", "planned": "window"}


async def _announced(point: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """Pre-advice for one day: the parcels of orders for the point not scanned in yet."""
    rows = await Parcel.select(
        Parcel.id, Parcel.barcode, Parcel.weight_kg, Parcel.volume_l, Parcel.order.reference, Parcel.order.customer_name
    ).where((Parcel.order.pickup_point == point["id"]) & (Parcel.order.delivery_date == day))
    scanned = {
        r["parcel"]
        for r in await PointParcel.select(PointParcel.parcel).where(
            PointParcel.parcel.is_in([r["id"] for r in rows] or [-1])
        )
    }
    coming = [r for r in rows if r["id"] not in scanned]
    # At a locker bank: the door each parcel is kept (None: it waits for one, docs/lockers.md).
    doors = {
        r["parcel"]: r["label"]
        for r in await LockerCompartment.select(LockerCompartment.parcel, LockerCompartment.label).where(
            LockerCompartment.parcel.is_in([r["id"] for r in coming] or [-1])
        )
    }
    return {
        "date": day.isoformat(),
        "count": len(coming),
        "weightKg": round(sum(r["weight_kg"] for r in coming), 1),
        "volumeL": round(sum(r["volume_l"] for r in coming), 1),
        "largestL": max((r["volume_l"] for r in coming), default=0),
        "courier": await _courier_eta(point, day) if coming else None,
        "room": await point_room.room_left(point["id"], day),
        "parcels": [
            {
                "barcode": r["barcode"],
                "reference": r["order.reference"],
                "customer": r["order.customer_name"],
                "weightKg": r["weight_kg"],
                "volumeL": r["volume_l"],
                "compartment": doors.get(r["id"]),
            }
            for r in coming
        ],
    }


async def _returns_cart(point_id: int) -> list[dict[str, Any]]:
    """The customers' returns handed in here and waiting for the courier (point_returns.py)."""
    rows = (
        await ReturnRequest.select(ReturnRequest.code, ReturnRequest.stop, ReturnRequest.order.reference)
        .where((ReturnRequest.pickup_point == point_id) & (ReturnRequest.status == "at_point"))
        .order_by(ReturnRequest.id)
    )
    return [{"code": r["code"], "orderNumber": r["order.reference"], "stopId": r["stop"]} for r in rows]


async def today(user_id: int, now: dt.datetime) -> dict[str, Any]:
    """The point's day: pre-advice for today and tomorrow, what is on the shelves, what
    was handed out today, what goes back to the hub, and the room left."""
    point = await operator_point(user_id)
    day = now.date()
    midnight = dt.datetime.combine(day, dt.time())
    held = await PointParcel.select(*_HELD_COLUMNS).where(
        (PointParcel.point == point["id"])
        & (
            (PointParcel.status == "in")
            | ((PointParcel.status == "handed_out") & (PointParcel.handed_out_at >= midnight))
        )
    )
    views = sorted((_held_view(r, now) for r in held), key=lambda v: v["scannedInAt"])
    return {
        "point": _point_view(point),
        "date": day.isoformat(),
        "announced": [await _announced(point, day), await _announced(point, day + dt.timedelta(days=1))],
        "inPoint": [v for v in views if v["status"] == "in"],
        "handedOut": [v for v in views if v["status"] == "handed_out"],
        "toReturn": [v for v in views if v["overdue"]],
        "returnsCart": await _returns_cart(point["id"]),
    }


# --- scan in -------------------------------------------------------------------------


async def _mismatch(point: dict[str, Any], barcode: str, why: str, now: dt.datetime) -> None:
    """Tell the point's hub's dispatchers (one alert per parcel, point and day)."""
    if point["hub"] is None:
        return
    raised = Raised(
        kind="point_mismatch",
        key=f"{point['id']}:{barcode}",
        detail=f"{point['name']} was handed parcel {barcode}, {why}.",
        data={"pickupPointId": point["id"], "barcode": barcode},
    )
    await raise_alerts(point["hub"], now.date(), [raised], now)


async def scan_in(user_id: int, barcode: str, secret: str, now: dt.datetime) -> dict[str, Any]:
    """A parcel the courier hands over goes on the shelf; its customer is told (push and an
    e-mail-ready message with the pickup code and the hours). A parcel scanned in before
    answers as it is; one not announced here is refused and flagged to dispatch."""
    point = await operator_point(user_id)
    barcode = await read_scan(barcode, point["hub"], is_label)
    parcel = (
        await Parcel.select(Parcel.id, Parcel.order, Parcel.order.pickup_point).where(Parcel.barcode == barcode).first()
    )
    if parcel is None or parcel["order.pickup_point"] != point["id"]:
        why = "which no order knows" if parcel is None else "which is not announced for this point"
        async with transaction():
            await _mismatch(point, barcode, why, now)
        raise Conflict(
            f"Parcel {barcode} is not announced for {point['name']}: keep it apart and give it back to the "
            "courier; dispatch has been told."
        )
    existing = await PointParcel.select(*_HELD_COLUMNS).where(PointParcel.parcel == parcel["id"]).first()
    if existing is not None:
        if existing["status"] != "in":
            raise Conflict(f"Parcel {barcode} was already {existing['status'].replace('_', ' ')} here.")
        return {"result": "already_in", "parcel": _held_view(existing, now)}
    order = await Order.select().where(Order.id == parcel["order"]).first()
    assert order is not None  # the parcel's order: a foreign key
    hold_until = dt.datetime.combine(now.date() + dt.timedelta(days=point["holding_days"]), dt.time(23, 59))
    code = pickup_code(secret, order["id"])  # the order's code, as the tracking page shows it
    async with transaction():
        await PointParcel.insert(
            PointParcel(
                parcel=parcel["id"],
                point=point["id"],
                order=order["id"],
                scanned_in_at=now,
                hold_until=hold_until,
                scanned_in_by=user_id,
            )
        )
        await emit("point.ready", ready_message(point, order, barcode, code, hold_until), hub_id=order["hub"])
    row = await PointParcel.select(*_HELD_COLUMNS).where(PointParcel.parcel == parcel["id"]).first()
    assert row is not None
    return {"result": "scanned_in", "parcel": _held_view(row, now)}


def ready_message(
    point: dict[str, Any], order: dict[str, Any], barcode: str, code: str, hold_until: dt.datetime
) -> dict[str, Any]:
    """The customer's "ready for pickup": pushed where subscribed (``point.ready``'s push in
    backend/realtime/notifications.py) and ready to be mailed (no mail is sent here)."""
    hours = hours_text(point["opening_hours"])
    text = (
        f"Your parcel {barcode} is ready at {point['name']}, {point['address']} ({hours}). "
        f"Show pickup code {code} and your ID; collect it by {hold_until:%d-%m-%Y}."
    )
    return {
        "orderId": order["id"],
        "barcode": barcode,
        "code": code,
        "qr": f"LBP:{barcode}:{code}",
        "pickupPoint": {"id": point["id"], "name": point["name"], "address": point["address"], "hours": hours},
        "holdUntil": hold_until.isoformat(),
        "email": {"to": order["customer_email"], "subject": f"Ready for pickup at {point['name']}", "text": text},
        "text": text,
    }


# --- hand out and send back ----------------------------------------------------------


async def _held(point: dict[str, Any], scanned: str) -> dict[str, Any]:
    barcode = await read_scan(scanned, point["hub"], is_label)
    row = (
        await PointParcel.select(PointParcel.id, PointParcel.order, PointParcel.parcel, *_HELD_COLUMNS)
        .where((PointParcel.point == point["id"]) & (PointParcel.parcel.barcode == barcode))
        .first()
    )
    if row is None:
        raise NotFound(f"There is no parcel {barcode} at {point['name']}; scan it in first.")
    return row


async def prepare_hand_out(
    user_id: int, barcode: str, code: str, id_checked: bool, id_note: str, secret: str, now: dt.datetime
) -> Any:
    """Check the customer's code (a wrong one is counted at once, in its own transaction,
    and refused); answers the write step that hands the parcel out."""
    point = await operator_point(user_id)
    row = await _held(point, barcode)
    if row["status"] != "in":
        raise Conflict(f"Parcel {row['parcel.barcode']} was already {row['status'].replace('_', ' ')}.")
    if row["locked_until"] is not None and row["locked_until"] > now:
        raise TooManyRequests(
            f"Parcel {row['parcel.barcode']} is locked after {MAX_TRIES} wrong codes until "
            f"{row['locked_until']:%H:%M}; ask the customer for the message with the code and their ID.",
            retry_after_s=max(int((row["locked_until"] - now).total_seconds()), 1),
        )
    # Bytes: compare_digest refuses str with characters beyond ASCII (a fuzzer's code is no 500).
    if not secrets.compare_digest(code.strip().encode(), pickup_code(secret, row["order"]).encode()):
        tries = row["wrong_tries"] + 1
        lock = now + dt.timedelta(minutes=LOCK_MIN) if tries % MAX_TRIES == 0 else None
        async with transaction():
            values: dict[Any, Any] = {PointParcel.wrong_tries: tries}
            if lock is not None:
                values[PointParcel.locked_until] = lock
            await PointParcel.update(values).where(PointParcel.id == row["id"])
        if lock is not None:
            raise TooManyRequests(
                f"That is the {MAX_TRIES}th wrong code for parcel {row['parcel.barcode']}: it is locked until "
                f"{lock:%H:%M}. Ask the customer for the message with the code and their ID.",
                retry_after_s=LOCK_MIN * 60,
            )
        left = MAX_TRIES - tries % MAX_TRIES
        raise Invalid(f"That is not the pickup code of parcel {row['parcel.barcode']}; {left} tries left.")

    async def write() -> dict[str, Any]:
        done = (
            await PointParcel.update(
                {
                    PointParcel.status: "handed_out",
                    PointParcel.handed_out_at: now,
                    PointParcel.handed_out_by: user_id,
                    PointParcel.id_checked: id_checked,
                    PointParcel.id_note: id_note,
                }
            )
            .where((PointParcel.id == row["id"]) & (PointParcel.status == "in"))
            .returning(PointParcel.id)
        )
        if not done:
            raise Conflict(f"Parcel {row['parcel.barcode']} was handed out meanwhile.")
        # At a locker bank the door is empty now (a parcel may wait for it).
        await lockers.empty_door_of(row["parcel"], "picked_up", now, by_user=user_id)
        await emit(
            "point.handed_out",
            {"orderId": row["order"], "barcode": row["parcel.barcode"], "pickupPointId": point["id"]},
            hub_id=point["hub"],
        )
        return {"result": "handed_out", "barcode": row["parcel.barcode"], "idChecked": id_checked}

    return write


async def send_back(user_id: int, barcode: str, now: dt.datetime) -> dict[str, Any]:
    """A parcel not collected within the holding time leaves with the courier for the hub."""
    point = await operator_point(user_id)
    row = await _held(point, barcode)
    if row["status"] != "in":
        raise Conflict(f"Parcel {row['parcel.barcode']} was already {row['status'].replace('_', ' ')}.")
    if row["hold_until"] >= now:
        raise Conflict(
            f"Parcel {row['parcel.barcode']} may still be collected until {row['hold_until']:%d-%m %H:%M}; "
            "keep it on the shelf until then."
        )
    async with transaction():
        await PointParcel.update({PointParcel.status: "returned", PointParcel.returned_at: now}).where(
            PointParcel.id == row["id"]
        )
        await lockers.empty_door_of(row["parcel"], "returned", now, by_user=user_id)
        await emit(
            "point.returned",
            {"orderId": row["order"], "barcode": row["parcel.barcode"], "pickupPointId": point["id"]},
            hub_id=point["hub"],
        )
    return {"result": "returned", "barcode": row["parcel.barcode"]}
