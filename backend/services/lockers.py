"""Locker banks (pickup points of kind ``locker``): their compartments as data, a
compartment for each parcel planned to the locker (the pure core backend/dispatch/lockers.py
decides), the codes that open them, and what the doors tell: the courier's drop fills a
compartment, the customer's code empties it, a shop's drop waits in one for the evening
courier. A locker's room is its free compartments on the day (backend/services/point_room.py
asks backend/services/locker_days.py), so a full locker is full for order intake, check-out and redirects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from backend.db.locker_tables import LockerCompartment, LockerEvent
from backend.db.tables import Order, Parcel, PickupPoint
from backend.dispatch.lockers import Box, Compartment, choose, place_all
from backend.errors import Conflict, Invalid, NotFound
from backend.services import locker_days

MIN_CM, MAX_CM = 1.0, 300.0
MAX_KG = 200.0
MAX_COMPARTMENTS = 500


def new_code() -> str:
    """Six digits that open one door once it is someone's turn (stored with the compartment)."""
    return f"{secrets.randbelow(1_000_000):06d}"


async def locker_row(point_id: int) -> dict[str, Any]:
    """The pickup point, which must be a locker bank (NotFound, Invalid otherwise)."""
    point = await PickupPoint.select().where(PickupPoint.id == point_id).output(load_json=True).first()
    if point is None:
        raise NotFound(f"There is no pickup point with id {point_id}.")
    if point["kind"] != "locker":
        raise Invalid(
            f"{point['name']} is a {point['kind'].replace('_', ' ')}, not a locker bank; compartments belong to "
            "a pickup point of kind locker.",
            field="kind",
        )
    return point


def _core(row: dict[str, Any]) -> Compartment:
    return locker_days.core(row, free=row["parcel"] is None)


async def _rows(point_id: int) -> list[dict[str, Any]]:
    return list(
        await LockerCompartment.select(
            *LockerCompartment.all_columns(), LockerCompartment.parcel.barcode, LockerCompartment.order.reference
        )
        .where(LockerCompartment.point == point_id)
        .order_by(LockerCompartment.label)
    )


def compartment_view(row: dict[str, Any]) -> dict[str, Any]:
    state = "free" if row["parcel"] is None else ("filled" if row["filled"] else "reserved")
    return {
        "id": row["id"],
        "label": row["label"],
        "widthCm": row["width_cm"],
        "heightCm": row["height_cm"],
        "depthCm": row["depth_cm"],
        "maxWeightKg": row["max_weight_kg"],
        "volumeL": round(row["width_cm"] * row["height_cm"] * row["depth_cm"] / 1000, 1),
        "state": state,
        "purpose": row["purpose"] or None,
        "barcode": row.get("parcel.barcode"),
        "orderReference": row.get("order.reference"),
    }


async def compartments(point_id: int) -> dict[str, Any]:
    point = await locker_row(point_id)
    views = [compartment_view(r) for r in await _rows(point_id)]
    return {
        "pointId": point_id,
        "name": point["name"],
        "free": sum(1 for v in views if v["state"] == "free"),
        "compartments": views,
    }


def _check_items(items: Sequence[dict[str, Any]]) -> None:
    """Each compartment's label and sizes, the first wrong one named (Invalid, 422)."""
    if len(items) > MAX_COMPARTMENTS:
        raise Invalid(
            f"compartments: at most {MAX_COMPARTMENTS} a locker bank, not {len(items)}.", field="compartments"
        )
    seen: set[str] = set()
    for i, item in enumerate(items):
        label = str(item["label"]).strip()
        if not label or len(label) > 16:
            raise Invalid(
                f"compartments[{i}].label: give 1 to 16 characters, as on the door.", field=f"compartments[{i}].label"
            )
        if label in seen:
            raise Invalid(
                f"compartments[{i}].label: {label!r} is given twice; each door has its own label.",
                field=f"compartments[{i}].label",
            )
        seen.add(label)
        for key, name in (("width_cm", "widthCm"), ("height_cm", "heightCm"), ("depth_cm", "depthCm")):
            if not MIN_CM <= item[key] <= MAX_CM:
                raise Invalid(
                    f"compartments[{i}].{name}: an inner size from {MIN_CM:g} to {MAX_CM:g} cm, not {item[key]:g}.",
                    field=f"compartments[{i}].{name}",
                )
        if not 0 < item["max_weight_kg"] <= MAX_KG:
            raise Invalid(
                f"compartments[{i}].maxWeightKg: more than 0 and at most {MAX_KG:g} kg, not {item['max_weight_kg']:g}.",
                field=f"compartments[{i}].maxWeightKg",
            )


async def replace_compartments(point_id: int, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The bank's compartments become ``items`` (label, width_cm, height_cm, depth_cm,
    max_weight_kg): new labels are added, missing ones removed, known ones resized. A
    compartment kept for a parcel or holding one is neither removed nor resized (409)."""
    await locker_row(point_id)
    _check_items(items)
    current = {r["label"]: r for r in await _rows(point_id)}
    wanted = {str(i["label"]).strip(): i for i in items}
    sizes = ("width_cm", "height_cm", "depth_cm", "max_weight_kg")
    for label, row in current.items():
        if row["parcel"] is None:
            continue
        if label not in wanted or any(float(wanted[label][k]) != row[k] for k in sizes):
            raise Conflict(
                f"Compartment {label} is in use (parcel {row['parcel.barcode']}); empty it before removing or "
                "resizing it."
            )
    gone = [r["id"] for label, r in current.items() if label not in wanted]
    if gone:
        await LockerCompartment.delete().where(LockerCompartment.id.is_in(gone))
    for label, item in wanted.items():
        values: dict[str | Any, Any] = {k: float(item[k]) for k in sizes}
        if label in current:
            await LockerCompartment.update(values).where(LockerCompartment.id == current[label]["id"])
        else:
            await LockerCompartment.insert(
                LockerCompartment(
                    point=point_id,
                    label=label,
                    width_cm=values["width_cm"],
                    height_cm=values["height_cm"],
                    depth_cm=values["depth_cm"],
                    max_weight_kg=values["max_weight_kg"],
                )
            )
    return await compartments(point_id)


async def has_compartments(point_id: int) -> bool:
    return bool(await LockerCompartment.exists().where(LockerCompartment.point == point_id))


def boxes_of(parcels: Sequence[Any]) -> list[Box]:
    """An order's parcels (``weight_kg``, ``volume_l``, ``longest_side_cm``, ``barcode``) as
    the core's boxes, each named by its barcode or its place in the order."""
    return [
        Box(
            key=p.barcode or f"parcels[{i}]",
            weight_kg=p.weight_kg,
            volume_l=p.volume_l,
            longest_side_cm=p.longest_side_cm,
        )
        for i, p in enumerate(parcels)
    ]


async def check_fit(point: dict[str, Any], parcels: Sequence[Any], day: dt.date | None = None) -> None:
    """Before an order for a locker is written: each parcel fits a compartment (else Invalid,
    422, with the largest size) and the bank has a free one for each (else Conflict, 409):
    free now, or with ``day`` free on that day (backend/services/locker_days.py)."""
    boxes = boxes_of(parcels)
    if day is None:
        rows = await _rows(point["id"])
        refused = next((p for p in place_all([_core(r) for r in rows], boxes) if p.refusal), None)
    else:
        found = await locker_days.fit_on([point["id"]], boxes, day)
        if point["id"] not in found:
            return  # a locker with no compartments given: its capacity counts, as a point's
        refused = found[point["id"]]
    if refused is None:
        return
    if refused.refusal == "too_large":
        raise Invalid(f"{refused.detail} Choose another pickup point or delivery to the door.", field="parcels")
    raise Conflict(f"{point['name']} is full: {refused.detail} Choose another pickup point or day.", code="point_full")


async def assign(
    order_id: int,
    point_id: int,
    purpose: str,
    now: dt.datetime,
    *,
    by_shop: int | None = None,
    wait: bool = True,
) -> list[dict[str, Any]]:
    """A compartment for each parcel of the order without one (in the caller's transaction).
    Idempotent: a parcel keeps the compartment it has, through re-plans. A compartment taken
    meanwhile is taken over by the next free one that fits; none left: Conflict. A delivery
    whose parcel only fits a door a shop drop leaves before its day waits for that door
    (``wait``; :func:`assign_waiting` gives it when the door empties)."""
    point = await PickupPoint.select(PickupPoint.id, PickupPoint.name).where(PickupPoint.id == point_id).first()
    if point is None or not await has_compartments(point_id):
        return []
    parcels = await Parcel.select(Parcel.id, *locker_days.BOX_COLUMNS).where(Parcel.order == order_id)
    kept = {
        r["parcel"]
        for r in await LockerCompartment.select(LockerCompartment.parcel).where(
            LockerCompartment.parcel.is_in([p["id"] for p in parcels] or [-1])
        )
    }
    todo = sorted((p for p in parcels if p["id"] not in kept), key=lambda p: (-p["volume_l"], p["barcode"]))
    day = await _delivery_day(order_id) if purpose == "delivery" and wait else None
    done = []
    for p in todo:
        box = locker_days.parcel_box(p)
        for _ in range(5):  # another order may take the chosen one between the read and the write
            choice = choose([_core(r) for r in await _rows(point_id)], box)
            if choice.compartment_id is None and day is not None and await locker_days.door_by(point_id, box.key, day):
                # Only a door a shop drop leaves before the parcel's day fits: it waits for that one.
                await log(point_id, "", p["barcode"], "waiting", now, by_shop=by_shop, detail=f"for {day}")
                break
            if choice.compartment_id is None:
                raise Conflict(f"{point['name']} is full: {choice.detail}", code="point_full")
            values: dict[Any, Any] = {
                LockerCompartment.parcel: p["id"],
                LockerCompartment.order: order_id,
                LockerCompartment.purpose: purpose,
                LockerCompartment.filled: False,
                LockerCompartment.drop_code: new_code(),
                LockerCompartment.collect_code: new_code() if purpose == "shop_drop" else "",
                LockerCompartment.since: now,
            }
            taken = (
                await LockerCompartment.update(values)
                .where((LockerCompartment.id == choice.compartment_id) & LockerCompartment.parcel.is_null())
                .returning(LockerCompartment.id)
            )
            if taken:
                await log(point_id, choice.label, p["barcode"], "assigned", now, by_shop=by_shop, detail=purpose)
                done.append({"barcode": p["barcode"], "compartment": choice.label})
                break
        else:
            raise Conflict(f"{point['name']} is busy; try again.")
    return done


async def _delivery_day(order_id: int) -> dt.date | None:
    row = await Order.select(Order.delivery_date).where(Order.id == order_id).first()
    return row["delivery_date"] if row else None


async def assign_waiting(point_id: int, now: dt.datetime) -> None:
    """A door of the bank emptied: the parcels waiting for one take it, earliest day first
    (in the caller's transaction); one that still finds none waits on."""
    for order_id in await locker_days.waiting_orders(point_id, now.date()):
        with contextlib.suppress(Conflict):
            await assign(order_id, point_id, "delivery", now, wait=False)


async def empty_compartment(compartment_id: int) -> None:
    """The door holds nothing and keeps no code (in the caller's transaction)."""
    values: dict[Any, Any] = {
        LockerCompartment.parcel: None,
        LockerCompartment.order: None,
        LockerCompartment.purpose: "",
        LockerCompartment.filled: False,
        LockerCompartment.drop_code: "",
        LockerCompartment.collect_code: "",
        LockerCompartment.since: None,
    }
    await LockerCompartment.update(values).where(LockerCompartment.id == compartment_id)


async def empty_door_of(parcel_id: int, kind: str, now: dt.datetime, *, by_user: int | None = None) -> None:
    """The parcel left its locker door another way than the door's own code (handed out at
    the point's desk, sent back to the hub): the door is free; a parcel waiting takes it. In
    the caller's transaction; nothing for a parcel in no door."""
    row = (
        await LockerCompartment.select(LockerCompartment.id, LockerCompartment.point, LockerCompartment.label)
        .where(LockerCompartment.parcel == parcel_id)
        .first()
    )
    if row is None:
        return
    barcode = (await Parcel.select(Parcel.barcode).where(Parcel.id == parcel_id).first() or {}).get("barcode", "")
    await empty_compartment(row["id"])
    await log(row["point"], row["label"], barcode, kind, now, by_user=by_user)
    await assign_waiting(row["point"], now)


async def log(
    point_id: int,
    label: str,
    barcode: str,
    kind: str,
    now: dt.datetime,
    *,
    by_user: int | None = None,
    by_shop: int | None = None,
    detail: str = "",
) -> None:
    await LockerEvent.insert(
        LockerEvent(
            point=point_id,
            compartment=label,
            barcode=barcode,
            kind=kind,
            by_user=by_user,
            by_shop=str(by_shop or ""),
            at=now,
            detail=detail,
        )
    )


async def history(point_id: int, barcode: str | None = None) -> list[dict[str, Any]]:
    """The doors' log of a locker (of one parcel), in order."""
    where: Any = LockerEvent.point == point_id
    if barcode is not None:
        where = where & (LockerEvent.barcode == barcode)
    rows = await LockerEvent.select().where(where).order_by(LockerEvent.id)
    return [
        {
            "at": r["at"].isoformat(),
            "compartment": r["compartment"],
            "barcode": r["barcode"],
            "kind": r["kind"],
            "byUser": r["by_user"],
            "byShop": int(r["by_shop"]) if r["by_shop"] else None,
            "detail": r["detail"],
        }
        for r in rows
    ]


async def tracking_compartments(order_id: int, point_id: int) -> dict[str, Any] | None:
    """For the tracking page: the order's compartments at its locker and whether the parcels
    are in them yet (None: not a locker order). The code is the order's pickup code."""
    rows = (
        await LockerCompartment.select(LockerCompartment.label, LockerCompartment.filled)
        .where(
            (LockerCompartment.order == order_id)
            & (LockerCompartment.point == point_id)
            & (LockerCompartment.purpose == "delivery")
        )
        .order_by(LockerCompartment.label)
    )
    if not rows:
        return None
    return {"compartments": [r["label"] for r in rows], "ready": all(r["filled"] for r in rows)}


async def follow_order(order_id: int, point_id: int | None, now: dt.datetime) -> None:
    """The order's delivery moved (a redirect, a failed try's next step): the compartments it
    kept elsewhere and not filled yet are freed; at a locker bank it gets one for each parcel.
    The callers chose the bank by its doors on the day (locker_days.refusals); one taken
    meanwhile is a Conflict that rolls the move back whole."""
    stale = await LockerCompartment.select(LockerCompartment.id, LockerCompartment.point).where(
        (LockerCompartment.order == order_id)
        & (LockerCompartment.purpose == "delivery")
        & LockerCompartment.filled.eq(False)
    )
    gone = [r["id"] for r in stale if r["point"] != point_id]
    if gone:
        await LockerCompartment.update(
            {
                LockerCompartment.parcel: None,
                LockerCompartment.order: None,
                LockerCompartment.purpose: "",
                LockerCompartment.drop_code: "",
                LockerCompartment.since: None,
            }
        ).where(LockerCompartment.id.is_in(gone))
    if point_id is not None:
        await assign(order_id, point_id, "delivery", now)
