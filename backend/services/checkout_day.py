"""A hub's days as the check-out core sees them: lanes, pending stops and holds, points.

Reads only. Each day: a lane per courier shift with the stops of its route in force
(a running day from now, without what is done), the stops not on a route yet and the
holds still live (``pending``: they take room first), and the nearest pickup points
with their hours and the parcels they can still take.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from backend.db.tables import Bike, CheckoutHold, CheckoutSlot, Hub, PickupPoint, Route, Shift, Stop
from backend.dispatch.calendar import parse_hhmm, seconds_of, windows_on
from backend.dispatch.checkout import (
    BIKE_LONGEST_CM,
    DEFAULT_SLOTS,
    DayState,
    Lane,
    PointState,
    SlotRule,
    Visit,
    distance_m,
)
from backend.dispatch.lockers import Box, Compartment
from backend.services import locker_days, point_room
from backend.services.day import periods

ON_ROUTE = ("planned", "arrived", "open")  # a route's stops still to serve
NEAREST_POINTS = 3


async def slot_rules(hub_id: int) -> tuple[SlotRule, ...]:
    """The hub's own slots, or the core's defaults when it has none."""
    rows = await CheckoutSlot.select().where(CheckoutSlot.hub == hub_id).order_by(CheckoutSlot.id)
    if not rows:
        return DEFAULT_SLOTS
    return tuple(
        SlotRule(
            name=r["name"],
            start_s=parse_hhmm(r["start"]),
            end_s=parse_hhmm(r["end"]),
            price_cents=r["price_cents"],
            lead_s=r["lead_min"] * 60,
        )
        for r in rows
    )


def _visit(row: dict[str, Any], day: dt.date, loop: int = 1) -> Visit:
    return Visit(
        lat=row["lat"],
        lon=row["lon"],
        start_s=seconds_of(row["window_start"], day),
        end_s=seconds_of(row["window_end"], day),
        service_s=row["service_s"],
        weight_kg=row["weight_kg"],
        volume_l=row["volume_l"],
        loop=loop,
    )


def hold_visit(h: dict[str, Any], day: dt.date, service_s: int = 120) -> Visit:
    return Visit(
        lat=h["lat"],
        lon=h["lon"],
        start_s=seconds_of(h["window_start"], day),
        end_s=seconds_of(h["window_end"], day),
        service_s=service_s,
        weight_kg=sum(p[0] for p in h["parcels"]) / 1000,
        volume_l=sum(p[1] for p in h["parcels"]) / 1000,
    )


async def live_holds(hub_id: int, days: list[dt.date], now: dt.datetime) -> list[dict[str, Any]]:
    """Holds of the hub's days that still take room: not expired, not an order yet, not the carrier's."""
    return (
        await CheckoutHold.select()
        .where(
            (CheckoutHold.hub == hub_id)
            & CheckoutHold.delivery_date.is_in(days)
            & (CheckoutHold.expires_at > now)
            & CheckoutHold.order_id.is_null()
            & (CheckoutHold.option_key != "carrier")  # a carrier's hold takes no bike's or point's room
        )
        .order_by(CheckoutHold.id)
        .output(load_json=True)
    )


async def day_states(
    hub: dict[str, Any],
    days: list[dt.date],
    now: dt.datetime,
    near: tuple[float, float],
    parcels: list[tuple[int, int, int]] | None = None,
) -> list[DayState]:
    """The hub's ``days`` as the core sees them; one query per table for all of them."""
    holds = await live_holds(hub["id"], days, now)
    states = await day_lanes(hub, days, now, holds)
    points = await near_points(hub["id"], days, near, holds, parcels)
    return [msgspec.structs.replace(d, points=points[d.day]) for d in states]


async def day_lanes(
    hub: dict[str, Any], days: list[dt.date], now: dt.datetime, holds: list[dict[str, Any]]
) -> list[DayState]:
    """The ``days``' lanes and pending stops (with ``holds``, the live ones), without points."""
    first = dt.datetime.combine(min(days), dt.time())
    last = dt.datetime.combine(max(days), dt.time()) + dt.timedelta(days=1)
    shifts = await (
        Shift.select(*Shift.all_columns(), Shift.courier.active, Shift.courier.bike)
        .where(
            (Shift.hub == hub["id"])
            & (Shift.start >= first)
            & (Shift.start < last)
            & Shift.status.not_in(["ended", "interrupted"])
        )
        .order_by(Shift.id)
    )
    bikes = {b["id"]: b for b in await Bike.select()}
    routes = await (
        Route.select(Route.shift, Route.plan_date, Route.stops)
        .where((Route.hub == hub["id"]) & Route.plan_date.is_in(days) & Route.current.eq(True))
        .output(load_json=True)
    )
    stops = await Stop.select().where(
        (Stop.hub == hub["id"]) & Stop.plan_date.is_in(days) & Stop.status.is_in(list(ON_ROUTE))
    )
    out = []
    for day in days:
        out.append(
            _day(
                hub,
                day,
                now,
                [s for s in shifts if s["start"].date() == day],
                bikes,
                {r["shift"]: r for r in routes if r["plan_date"] == day},
                {s["id"]: s for s in stops if s["plan_date"] == day},
                [h for h in holds if h["delivery_date"] == day],
            )
        )
    return out


def _day(
    hub: dict[str, Any],
    day: dt.date,
    now: dt.datetime,
    shifts: list[dict[str, Any]],
    bikes: dict[int, dict[str, Any]],
    routes: dict[int, dict[str, Any]],
    stops: dict[int, dict[str, Any]],
    holds: list[dict[str, Any]],
) -> DayState:
    now_s = seconds_of(now, day)
    reload_s = 0 if hub.get("reload_min") is None else round(float(hub["reload_min"]) * 60)
    lanes: list[Lane] = []
    routed: set[int] = set()
    for s in shifts:
        bike = bikes.get(s["bike"] or s["courier.bike"])
        if not s["courier.active"] or bike is None:
            continue
        start, end = max(seconds_of(s["start"], day), now_s), seconds_of(s["end"], day)
        if start >= end:
            continue
        ahead = [r for r in (routes.get(s["id"]) or {}).get("stops", []) if r["stop_id"] in stops]
        routed.update(r["stop_id"] for r in ahead)
        lanes.append(
            Lane(
                id=f"shift-{s['id']}",
                hub_lat=hub["lat"],
                hub_lon=hub["lon"],
                start_s=start,
                end_s=end,
                payload_kg=bike["payload_kg"],
                volume_l=bike["volume_l"],
                speed_factor=bike["speed_factor"],
                reload_s=reload_s,
                stops=tuple(_visit(stops[r["stop_id"]], day, r.get("loop", 1)) for r in ahead),
            )
        )
    # Not through the planner yet (the planner's own refusals, "unplanned", take no room).
    pending = [_visit(s, day) for sid, s in sorted(stops.items()) if sid not in routed and s["status"] == "open"]
    pending += [hold_visit(h, day) for h in holds]
    return DayState(day=day, lanes=tuple(lanes), pending=tuple(pending))


async def near_points(
    hub_id: int,
    days: list[dt.date],
    near: tuple[float, float],
    holds: list[dict[str, Any]],
    parcels: list[tuple[int, int, int]] | None = None,
) -> dict[dt.date, tuple[PointState, ...]]:
    """The nearest points of the hub, per day with their hours and the parcels they can still
    take; with ``parcels``, a locker bank that has no door for them that day says why."""
    rows = await PickupPoint.select().where(PickupPoint.hub == hub_id).output(load_json=True)
    rows = nearest(rows, near)
    states = await _point_states(rows, days, holds)
    if not parcels:
        return states
    left = await doors_left(rows, days, holds)
    return {day: with_doors(states[day], left.get(day, {}), parcels) for day in days}


async def hub_points(
    hub_id: int, days: list[dt.date], holds: list[dict[str, Any]]
) -> tuple[dict[dt.date, tuple[PointState, ...]], dict[dt.date, dict[int, list[Compartment]]]]:
    """Every point of the hub per day, and its locker banks' doors left per day (the
    check-out's kept view chooses the nearest points and fits the parcels per call)."""
    rows = await PickupPoint.select().where(PickupPoint.hub == hub_id).order_by(PickupPoint.id).output(load_json=True)
    return await _point_states(rows, days, holds), await doors_left(rows, days, holds)


def nearest(rows: list[Any], near: tuple[float, float], n: int = NEAREST_POINTS) -> list[Any]:
    """The ``n`` points (rows or :class:`PointState`) nearest to ``near``, ties by id."""

    def far(p: Any) -> tuple[float, int]:
        lat, lon, pid = (p["lat"], p["lon"], p["id"]) if isinstance(p, dict) else (p.lat, p.lon, p.id)
        return distance_m(near[0], near[1], lat, lon), pid

    return sorted(rows, key=far)[:n]


async def doors_left(
    rows: list[dict[str, Any]], days: list[dt.date], holds: list[dict[str, Any]]
) -> dict[dt.date, dict[int, list[Compartment]]]:
    """Per day, the doors of the locker banks among ``rows`` after their waiting parcels and
    the live holds for them took theirs (banks without doors left out)."""
    banks = [p["id"] for p in rows if p["kind"] == "locker"]
    if not banks:
        return {}
    # The live holds for a bank take its doors before the parcels asked about.
    held = {b: [box for h in holds if h["pickup_point"] == b for box in hold_boxes(h)] for b in banks}
    return {day: await locker_days.doors_left(banks, day, held) for day in days}


def with_doors(
    points: tuple[PointState, ...], left: dict[int, list[Compartment]], parcels: list[tuple[int, int, int]]
) -> tuple[PointState, ...]:
    """``points`` with a locker bank that has no door for ``parcels`` saying why."""
    boxes = locker_days.asked_boxes(parcels)
    out = []
    for p in points:
        placed = locker_days.refused(left[p.id], boxes) if p.id in left else None
        if placed is not None:
            p = msgspec.structs.replace(
                p, no_door=placed.refusal, no_door_detail=locker_days.refusal_sentence(p.name, placed)
            )
        out.append(p)
    return tuple(out)


async def _point_states(
    rows: list[dict[str, Any]], days: list[dt.date], holds: list[dict[str, Any]]
) -> dict[dt.date, tuple[PointState, ...]]:
    out: dict[dt.date, tuple[PointState, ...]] = {}
    for day in days:
        # The room counted where every service counts it (shelves now, announced parcels still
        # there that day), less the live holds whose parcels would be too.
        rooms = await point_room.rooms_left([(p["id"], p["capacity_parcels"]) for p in rows], day) if rows else {}
        out[day] = tuple(
            PointState(
                id=p["id"],
                name=p["name"],
                kind=p["kind"],
                lat=p["lat"],
                lon=p["lon"],
                windows=windows_on(periods(p["opening_hours"]), day),
                room_left=rooms[p["id"]]
                - sum(
                    len(h["parcels"])
                    for h in holds
                    if h["pickup_point"] == p["id"] and point_room.covers(h["delivery_date"], p["holding_days"], day)
                ),
                max_weight_kg=p["max_weight_kg"],
                max_volume_l=p["max_volume_l"],
                max_side_cm=p["max_side_cm"],
            )
            for p in rows
        )
    return out


def hold_boxes(h: dict[str, Any]) -> list[Box]:
    return [
        Box(key=f"hold-{h['id']}-{i}", weight_kg=w / 1000, volume_l=v / 1000, longest_side_cm=float(cm))
        for i, (w, v, cm) in enumerate(h["parcels"])
    ]


async def bike_limits(hub_id: int) -> tuple[float, float, int]:
    """The largest load any bike of the hub (or a shared one) takes: what goes by carrier beyond it."""
    bikes = await Bike.select(Bike.payload_kg, Bike.volume_l).where((Bike.hub == hub_id) | Bike.hub.is_null())
    return (
        max((b["payload_kg"] for b in bikes), default=0.0),
        max((b["volume_l"] for b in bikes), default=0.0),
        BIKE_LONGEST_CM if bikes else 0,
    )


async def hub_row(hub_id: int) -> dict[str, Any] | None:
    return await Hub.select().where(Hub.id == hub_id).first()
