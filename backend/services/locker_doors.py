"""What happens at a locker bank's doors: the courier's view of a stop at a locker (which
compartment, the code that opens it), the courier's scans (a drop fills the compartment and
tells the customer, with their own code; a shop drop collected empties it), and a code typed
at the locker (the customer's empties their compartment). "Already full" is a 409.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from backend.db.engine import transaction
from backend.db.locker_tables import LockerCompartment, LockerEvent
from backend.db.tables import Order, PickupPoint, PointParcel
from backend.errors import Conflict, Invalid, NotFound, TooManyRequests
from backend.realtime.outbox import emit
from backend.security import pickup_code
from backend.services import lockers
from backend.services.point_desk import LOCK_MIN, MAX_TRIES, ready_message

_COLUMNS = (
    LockerCompartment.id,
    LockerCompartment.point,
    LockerCompartment.label,
    LockerCompartment.order,
    LockerCompartment.purpose,
    LockerCompartment.filled,
    LockerCompartment.drop_code,
    LockerCompartment.collect_code,
    LockerCompartment.parcel,
    LockerCompartment.parcel.barcode,
)


async def stop_compartments(stops: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Per stop at a locker (a delivery to it, or a shop drop's pickup from it): the
    compartments of its parcels with the code the courier opens them with."""
    at_point = [s for s in stops if s.get("pickup_point") is not None]
    if not at_point:
        return {}
    rows = await LockerCompartment.select(*_COLUMNS).where(
        LockerCompartment.order.is_in(sorted({s["order"] for s in at_point}))
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for s in at_point:
        purpose = "delivery" if s["kind"] == "delivery" else "shop_drop"
        mine = [
            r for r in rows if r["order"] == s["order"] and r["point"] == s["pickup_point"] and r["purpose"] == purpose
        ]
        if mine:
            out[s["id"]] = [
                {
                    "compartment": r["label"],
                    "barcode": r["parcel.barcode"],
                    "code": r["drop_code"] if purpose == "delivery" else r["collect_code"],
                    "filled": r["filled"],
                }
                for r in sorted(mine, key=lambda r: r["label"])
            ]
    return out


async def after_courier_scan(
    view: dict[str, Any], action: str, barcodes: Sequence[str], by_user: int | None, secret: str, now: dt.datetime
) -> None:
    """A courier's scans at a locker (in the stop action's transaction): a delivery's drop
    fills its compartments, puts the parcels on the point's list and tells the customer; a
    shop drop's collection empties its compartments."""
    if not view.get("compartments") or action not in ("deliver", "collect"):
        return
    point = await PickupPoint.select().where(PickupPoint.id == view["pickupPointId"]).output(load_json=True).first()
    if point is None:
        return
    rows = await LockerCompartment.select(*_COLUMNS).where(
        (LockerCompartment.order == view["orderId"]) & (LockerCompartment.point == point["id"])
    )
    if action == "deliver":
        await _dropped(point, [r for r in rows if r["purpose"] == "delivery"], by_user, secret, now)
    else:
        for r in [r for r in rows if r["purpose"] == "shop_drop" and r["parcel.barcode"] in barcodes]:
            await lockers.empty_compartment(r["id"])
            await lockers.log(point["id"], r["label"], r["parcel.barcode"], "collected", now, by_user=by_user)
        await lockers.assign_waiting(point["id"], now)  # a door a drop left: a parcel may wait for it


async def _dropped(
    point: dict[str, Any], rows: list[dict[str, Any]], by_user: int | None, secret: str, now: dt.datetime
) -> None:
    if not rows:
        return
    order = await Order.select().where(Order.id == rows[0]["order"]).first()
    assert order is not None  # the compartment's order: a foreign key
    hold_until = dt.datetime.combine(now.date() + dt.timedelta(days=point["holding_days"]), dt.time(23, 59))
    code = pickup_code(secret, order["id"])
    for r in rows:
        if r["filled"]:
            continue  # scanned again: nothing changes twice
        await LockerCompartment.update({LockerCompartment.filled: True, LockerCompartment.since: now}).where(
            LockerCompartment.id == r["id"]
        )
        await lockers.log(point["id"], r["label"], r["parcel.barcode"], "filled", now, by_user=by_user)
        if not await PointParcel.exists().where(PointParcel.parcel == r["parcel"]):
            await PointParcel.insert(
                PointParcel(
                    parcel=r["parcel"],
                    point=point["id"],
                    order=order["id"],
                    scanned_in_at=now,
                    hold_until=hold_until,
                    scanned_in_by=by_user,
                )
            )
    labels = ", ".join(r["label"] for r in sorted(rows, key=lambda r: r["label"]))
    barcode = ", ".join(r["parcel.barcode"] for r in rows)
    message = ready_message(point, order, barcode, code, hold_until)
    where = f"compartment {labels} of {point['name']}"
    text = (
        message["text"]
        .replace(f"at {point['name']}", f"in {where}")
        .replace("Show pickup code", "Type pickup code")
        .replace(" and your ID", " at the locker")
    )
    message.update(text=text, compartments=labels.split(", "), email={**message["email"], "text": text})
    await emit("point.ready", message, hub_id=order["hub"])


async def prepare_open(point_id: int, code: str, secret: str, now: dt.datetime, by_user: int | None) -> Any:
    """A code typed at the locker (its terminal is the point's user, or a dispatcher): the
    customer's code empties their compartment (handed out); the courier's or the shop's opens
    the door for their scan. A wrong code is logged at once (its own transaction) and refused;
    five in a quarter of an hour lock the keypad. Answers the write step."""
    point = await lockers.locker_row(point_id)
    since = now - dt.timedelta(minutes=LOCK_MIN)
    wrong = await LockerEvent.count().where(
        (LockerEvent.point == point_id) & (LockerEvent.kind == "wrong_code") & (LockerEvent.at >= since)
    )
    if wrong >= MAX_TRIES:
        raise TooManyRequests(
            f"{MAX_TRIES} wrong codes were typed at {point['name']} in the last {LOCK_MIN} minutes; the keypad "
            "waits. Ask the customer for the message with the code.",
            retry_after_s=LOCK_MIN * 60,
        )
    typed = code.strip().encode()
    rows = await LockerCompartment.select(*_COLUMNS).where(
        (LockerCompartment.point == point_id) & LockerCompartment.parcel.is_not_null()
    )
    for r in rows:
        customer = r["purpose"] == "delivery" and r["filled"]
        want = pickup_code(secret, r["order"]) if customer else (r["collect_code"] if r["filled"] else r["drop_code"])
        if want and secrets.compare_digest(typed, want.encode()):
            return _opened(point, r, customer, now, by_user)
    async with transaction():
        await lockers.log(point_id, "", "", "wrong_code", now, by_user=by_user)
    left = MAX_TRIES - wrong - 1
    raise Invalid(f"No compartment of {point['name']} opens with that code; {left} tries left. Check the message.")


def _opened(point: dict[str, Any], r: dict[str, Any], customer: bool, now: dt.datetime, by_user: int | None) -> Any:
    async def write() -> dict[str, Any]:
        if customer:
            return await _picked_up(point, r, now, by_user)
        who = "shop" if r["purpose"] == "shop_drop" and not r["filled"] else "courier"
        await lockers.log(point["id"], r["label"], r["parcel.barcode"], "opened", now, by_user=by_user, detail=who)
        return {"result": "opened", "compartment": r["label"], "barcode": r["parcel.barcode"], "for": who}

    return write


async def _picked_up(point: dict[str, Any], r: dict[str, Any], now: dt.datetime, by_user: int | None) -> dict[str, Any]:
    emptied = (
        await LockerCompartment.update({LockerCompartment.filled: False})
        .where(
            (LockerCompartment.id == r["id"])
            & (LockerCompartment.parcel == r["parcel"])
            & LockerCompartment.filled.eq(True)
        )
        .returning(LockerCompartment.id)
    )
    if not emptied:
        raise Conflict(f"Compartment {r['label']} was emptied meanwhile.")
    await lockers.empty_compartment(r["id"])
    await PointParcel.update(
        {PointParcel.status: "handed_out", PointParcel.handed_out_at: now, PointParcel.handed_out_by: by_user}
    ).where((PointParcel.parcel == r["parcel"]) & (PointParcel.status == "in"))
    await lockers.log(point["id"], r["label"], r["parcel.barcode"], "picked_up", now, by_user=by_user)
    await lockers.assign_waiting(point["id"], now)
    await emit(
        "point.handed_out",
        {"orderId": r["order"], "barcode": r["parcel.barcode"], "pickupPointId": point["id"]},
        hub_id=point["hub"],
    )
    return {"result": "picked_up", "compartment": r["label"], "barcode": r["parcel.barcode"], "for": "customer"}


async def fill_by_shop(
    point: dict[str, Any], barcode: str, label: str | None, shop_id: int | None, by_user: int | None, now: dt.datetime
) -> dict[str, Any]:
    """A shop's drop scanned into its compartment (or into the one named, when the shop used
    another door: free and fitting, else 409 "already full")."""
    row = (
        await LockerCompartment.select(*_COLUMNS)
        .where(
            (LockerCompartment.point == point["id"])
            & (LockerCompartment.parcel.barcode == barcode.strip())
            & (LockerCompartment.purpose == "shop_drop")
        )
        .first()
    )
    if row is None:
        raise NotFound(
            f"Parcel {barcode.strip()} is not a shop drop waiting for {point['name']}; register the drop first."
        )
    if label and label.strip() != row["label"]:
        row = await _move(point, row, label.strip(), now, by_user, shop_id)
    if row["filled"]:
        return {"result": "already_in", "compartment": row["label"], "barcode": row["parcel.barcode"]}
    await LockerCompartment.update({LockerCompartment.filled: True, LockerCompartment.since: now}).where(
        LockerCompartment.id == row["id"]
    )
    await lockers.log(point["id"], row["label"], row["parcel.barcode"], "filled", now, by_user=by_user, by_shop=shop_id)
    await emit(
        "locker.filled",
        {"pickupPointId": point["id"], "compartment": row["label"], "barcode": row["parcel.barcode"]},
        hub_id=point["hub"],
    )
    return {"result": "filled", "compartment": row["label"], "barcode": row["parcel.barcode"]}


async def _move(
    point: dict[str, Any], row: dict[str, Any], label: str, now: dt.datetime, by_user: int | None, shop_id: int | None
) -> dict[str, Any]:
    other = (
        await LockerCompartment.select(*LockerCompartment.all_columns())
        .where((LockerCompartment.point == point["id"]) & (LockerCompartment.label == label))
        .first()
    )
    if other is None:
        raise NotFound(f"{point['name']} has no compartment {label}.")
    if other["parcel"] is not None:
        raise Conflict(
            f"Compartment {label} of {point['name']} is already full; put parcel {row['parcel.barcode']} in "
            f"compartment {row['label']}, the one kept for it.",
            code="compartment_full",
        )
    if row["filled"]:
        raise Conflict(f"Parcel {row['parcel.barcode']} is already in compartment {row['label']}.")
    values: dict[Any, Any] = {
        LockerCompartment.parcel: row["parcel"],
        LockerCompartment.order: row["order"],
        LockerCompartment.purpose: row["purpose"],
        LockerCompartment.drop_code: row["drop_code"],
        LockerCompartment.collect_code: row["collect_code"],
        LockerCompartment.since: now,
    }
    await lockers.empty_compartment(row["id"])
    await LockerCompartment.update(values).where(LockerCompartment.id == other["id"])
    await lockers.log(
        point["id"], label, row["parcel.barcode"], "moved", now, by_user=by_user, by_shop=shop_id, detail=row["label"]
    )
    moved = await LockerCompartment.select(*_COLUMNS).where(LockerCompartment.id == other["id"]).first()
    assert moved is not None
    return moved
