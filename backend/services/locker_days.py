"""A locker bank's doors on a day, and whether given parcels fit there that day.

The rule (docs/lockers.md "Free on which day"): a door is free on day D when nobody has it
now, or when what it holds leaves before D: a shop drop is collected by the evening courier
on its order's day, so its door is free for the days after that; a delivery in its door goes
back to the hub once its holding time is over, so its door is free for the days after that.
A door kept for a delivery not in it yet stays taken (no day is known for its pick-up). Parcels
planned to the bank that wait for a door (one only a drop's evening frees, see
:func:`backend.services.lockers.assign`) take doors first, whatever their day, so that the
door a waiting parcel is promised is not promised twice; but only up to their day plus the
bank's holding time (:func:`still_kept`): a parcel that never came is not waited for forever.

The one place the room count (backend/services/point_room.py), the check-out options, order
intake, redirects and the failed-stop policy ask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec

from backend.db.locker_tables import LockerCompartment
from backend.db.tables import Parcel, PickupPoint, PointParcel
from backend.dispatch.lockers import Box, Compartment, Placement, place_all

DONE_ORDERS = ("delivered", "cancelled", "returning", "returned")
MAX_HOLDING_DAYS = 60  # the most a point keeps a parcel (services/resources.py): a bound for the query


def still_kept(delivery: dt.date, holding_days: int, day: dt.date) -> bool:
    """Whether a parcel of an order for ``delivery`` would still be at its bank on ``day``
    (or is still to come): kept ``holding_days`` after its day, as the point keeps it."""
    return day <= delivery + dt.timedelta(days=holding_days)


def core(row: dict[str, Any], free: bool) -> Compartment:
    return Compartment(
        id=row["id"],
        label=row["label"],
        width_cm=row["width_cm"],
        height_cm=row["height_cm"],
        depth_cm=row["depth_cm"],
        max_weight_kg=row["max_weight_kg"],
        free=free,
    )


def free_on(row: dict[str, Any], day: dt.date, hold_until: dt.datetime | None = None) -> bool:
    """Whether the door ``row`` (with ``order.delivery_date``) is free on ``day``;
    ``hold_until``: the holding time of the parcel in it, when it is on the point's list."""
    if row["parcel"] is None:
        return True
    if row["purpose"] == "shop_drop":
        drop_day = row.get("order.delivery_date")
        return drop_day is not None and drop_day < day
    # A delivery in its door past its holding time goes back to the hub ("to return").
    return bool(row["filled"]) and hold_until is not None and hold_until.date() < day


async def doors(point_ids: Sequence[int], day: dt.date) -> dict[int, list[Compartment]]:
    """Each locker bank's doors (banks without any left out), free as on ``day``."""
    rows = await LockerCompartment.select(
        *LockerCompartment.all_columns(), LockerCompartment.order.delivery_date
    ).where(LockerCompartment.point.is_in(list(point_ids) or [-1]))
    in_doors = [r["parcel"] for r in rows if r["parcel"] is not None and r["filled"]]
    holds = (
        {
            r["parcel"]: r["hold_until"]
            for r in await PointParcel.select(PointParcel.parcel, PointParcel.hold_until).where(
                PointParcel.parcel.is_in(in_doors) & (PointParcel.status == "in")
            )
        }
        if in_doors
        else {}
    )
    out: dict[int, list[Compartment]] = {}
    for r in rows:
        out.setdefault(r["point"], []).append(core(r, free_on(r, day, holds.get(r["parcel"]))))
    return out


async def waiting(point_ids: Sequence[int], day: dt.date) -> dict[int, list[Box]]:
    """Parcels of live orders to these banks that have no door yet (nor a place on the desk)
    and would still be kept on ``day``: an order of an earlier day counts only within the
    bank's holding time after its day. One that never arrived and was never closed is no
    longer kept by then (it would have gone back to the hub), so it stops taking a door."""
    if not point_ids:
        return {}  # no bank among the points asked about: the common case, no query
    holding = {
        r["id"]: r["holding_days"]
        for r in await PickupPoint.select(PickupPoint.id, PickupPoint.holding_days).where(
            PickupPoint.id.is_in(list(point_ids))
        )
    }
    rows = await Parcel.select(Parcel.id, *BOX_COLUMNS, Parcel.order.pickup_point, Parcel.order.delivery_date).where(
        Parcel.order.pickup_point.is_in(list(point_ids) or [-1])
        & Parcel.order.status.not_in(list(DONE_ORDERS))
        & (Parcel.order.delivery_date >= day - dt.timedelta(days=MAX_HOLDING_DAYS))
    )
    rows = [r for r in rows if still_kept(r["order.delivery_date"], holding[r["order.pickup_point"]], day)]
    ids = [r["id"] for r in rows] or [-1]
    kept = {
        r["parcel"]
        for r in await LockerCompartment.select(LockerCompartment.parcel).where(LockerCompartment.parcel.is_in(ids))
    }
    desk = {r["parcel"] for r in await PointParcel.select(PointParcel.parcel).where(PointParcel.parcel.is_in(ids))}
    out: dict[int, list[Box]] = {}
    for r in rows:
        if r["id"] not in kept and r["id"] not in desk:
            out.setdefault(r["order.pickup_point"], []).append(parcel_box(r))
    return out


def _after(placements: Sequence[Placement], compartments: Sequence[Compartment]) -> list[Compartment]:
    taken = {p.compartment_id for p in placements if p.compartment_id is not None}
    return [msgspec.structs.replace(c, free=False) if c.id in taken else c for c in compartments]


async def free_counts(point_ids: Sequence[int], day: dt.date) -> dict[int, int]:
    """Doors free on ``day`` per bank with doors, less the ones the waiting parcels take."""
    banks = await doors(point_ids, day)
    wait = await waiting(list(banks), day)
    out = {}
    for point, comps in banks.items():
        left = _after(place_all(comps, wait.get(point, [])), comps)
        out[point] = sum(1 for c in left if c.free)
    return out


async def doors_left(
    point_ids: Sequence[int], day: dt.date, before: dict[int, list[Box]] | None = None
) -> dict[int, list[Compartment]]:
    """Per bank with doors: its doors on ``day`` once the waiting parcels, then the bank's
    ``before`` (a check-out's live holds), took theirs (the check-out keeps these)."""
    banks = await doors(point_ids, day)
    wait = await waiting(list(banks), day)
    return {
        point: _after(place_all(comps, wait.get(point, []) + (before or {}).get(point, [])), comps)
        for point, comps in banks.items()
    }


def refused(left: Sequence[Compartment], boxes: Sequence[Box]) -> Placement | None:
    """The first of ``boxes`` that has no door among ``left`` (why: ``too_large`` or ``full``), or None."""
    return next((p for p in place_all(left, boxes) if p.compartment_id is None), None)


async def fit_on(
    point_ids: Sequence[int], boxes: Sequence[Box], day: dt.date, before: dict[int, list[Box]] | None = None
) -> dict[int, Placement | None]:
    """Per bank with doors: the first of ``boxes`` that has no door on ``day`` (its placement
    says why: ``too_large`` for every door, or ``full``), or None when each has one. The
    waiting parcels are placed first, then the bank's ``before`` (a check-out's live holds)."""
    return {point: refused(left, boxes) for point, left in (await doors_left(point_ids, day, before)).items()}


async def refusals(
    points: Sequence[dict[str, Any]], boxes: Sequence[Box], day: dt.date, before: dict[int, list[Box]] | None = None
) -> dict[int, Placement]:
    """The locker banks among ``points`` (rows with id and kind) that cannot take ``boxes``
    on ``day``, each with the refused placement (``too_large`` or ``full``, and why)."""
    banks = [p["id"] for p in points if p["kind"] == "locker"]
    if not banks:
        return {}
    return {point: placed for point, placed in (await fit_on(banks, boxes, day, before)).items() if placed}


def refusal_sentence(name: str, p: Placement) -> str:
    """Why the parcels cannot go to bank ``name``: a sentence for the customer or the shop."""
    return f"At {name}, {lower_first(p.detail)}"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


async def door_by(point_id: int, barcode: str, day: dt.date) -> bool:
    """Whether the waiting parcel ``barcode`` has a door at the bank on ``day`` (the waiting
    parcels placed together, as :func:`free_counts` does)."""
    comps = (await doors([point_id], day)).get(point_id, [])
    placed = place_all(comps, (await waiting([point_id], day)).get(point_id, []))
    return any(p.key == barcode and p.compartment_id is not None for p in placed)


async def waiting_orders(point_id: int, today: dt.date) -> list[int]:
    """The orders with parcels waiting for a door at the bank (still kept ``today``), earliest day first."""
    boxes = {b.key for b in (await waiting([point_id], today)).get(point_id, [])}
    rows = await Parcel.select(Parcel.barcode, Parcel.order, Parcel.order.delivery_date).where(
        Parcel.barcode.is_in(sorted(boxes) or [""])
    )
    days = {r["order"]: r["order.delivery_date"] for r in rows}
    return sorted(days, key=lambda o: (days[o], o))


def parcel_box(row: dict[str, Any]) -> Box:
    """A parcel row (``barcode``, ``weight_kg``, ``volume_l``, ``longest_side_cm``) as the core's
    box: every place that fits stored parcels to doors builds it here, so none leaves out the
    longest side (a long thin parcel fits a door's volume but not its depth)."""
    return Box(
        key=row["barcode"],
        weight_kg=row["weight_kg"],
        volume_l=row["volume_l"],
        longest_side_cm=row.get("longest_side_cm"),
    )


BOX_COLUMNS = (Parcel.barcode, Parcel.weight_kg, Parcel.volume_l, Parcel.longest_side_cm)  # what parcel_box reads


def asked_boxes(parcels: Sequence[tuple[int, int, int]]) -> list[Box]:
    """A check-out's parcels (grams, millilitres, cm) as the core's boxes: parcel 1, 2, …"""
    return [
        Box(key=str(i + 1), weight_kg=w / 1000, volume_l=v / 1000, longest_side_cm=float(cm))
        for i, (w, v, cm) in enumerate(parcels)
    ]
