"""Planning a hub's day: load from the database, solve in the pool, check, save.

The pure core gets a ``Problem`` (matrices, vehicles, stops) and returns a
``Plan``; this module only translates between rows and those Structs and
writes the result, with its outbox events, in one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import Executor
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import numpy as np

from backend.db.engine import transaction
from backend.db.locks import exclusive, write_guard
from backend.db.tables import Bike, Hub, PickupPoint, PlanRun, Route, Shift, Shop, Stop
from backend.dispatch.calendar import OpeningPeriod, at, intersect, seconds_of, windows_on
from backend.dispatch.model import Plan, Problem, Sequence, Unplanned, Vehicle, Window
from backend.dispatch.model import Stop as PlanStop
from backend.dispatch.portfolio import solve_best_async
from backend.errors import Invalid, NotFound
from backend.realtime.outbox import emit
from backend.services.closures import closed_edges
from backend.services.courier import route_view, stop_views
from backend.services.geo import Geo
from backend.structs import Out

OPEN_STATES = ("open", "planned", "unplanned")
DAY_END_S = 24 * 3600 - 1


class LiveDay(msgspec.Struct, kw_only=True):
    """The day as it stands, for re-planning it (see backend/services/replanning.py)."""

    now_s: int  # seconds since midnight: nobody leaves in the past
    positions: dict[int, tuple[float, float]]  # shift id -> where that bike is now
    locks: dict[int, int]  # stop id -> shift id it must stay with (under way, goods on board, pinned)
    pins: dict[int, list[int]] = {}  # shift id -> stop ids in the order a dispatcher pinned
    # Late stops of a courier behind that others may take: late rather than dropped.
    late: frozenset[int] = frozenset()
    riding: frozenset[int] = frozenset()  # shift ids of couriers on the road
    extra_states: tuple[str, ...] = ("arrived",)


class Pending(msgspec.Struct, kw_only=True):
    """A change not written yet, planned as if it were: it is written only in the
    transaction that saves the re-plan, so a crash between leaves nothing of it.

    ``added`` are new stop rows with ids below zero (the real ids come with the
    insert); ``withdrawn`` the rows of stops taken off, as they will read once
    cancelled; ``locks`` added stop id -> shift it stays with (a dispatcher's hand)."""

    added: list[dict[str, Any]] = []
    withdrawn: dict[int, dict[str, Any]] = {}
    locks: dict[int, int] = {}


class DayInput(msgspec.Struct, kw_only=True):
    """What a plan is made from, with the rows it came from (for saving)."""

    problem: Problem
    shifts: dict[str, dict[str, Any]]  # vehicle id -> shift row (with courier)
    stops: dict[str, dict[str, Any]]  # stop id -> stop row
    pre_unplanned: list[Unplanned]
    matrix_s: float


def _periods(raw: list[dict[str, Any]] | None) -> list[OpeningPeriod]:
    return msgspec.convert(raw or [], list[OpeningPeriod])


async def load_day(geo: Geo, hub_id: int, day: dt.date, live: LiveDay | None = None,
                   pending: Pending | None = None) -> DayInput:
    """The hub's day as a Problem; with ``live``, what is left of it from now; with
    ``pending``, as it will be with that change written."""
    hub = await Hub.select().where(Hub.id == hub_id).output(load_json=True).first()
    if hub is None:
        raise NotFound(f"There is no hub with id {hub_id}.")
    day_start = dt.datetime.combine(day, dt.time())
    shifts = await (
        Shift.select(Shift.all_columns(), Shift.courier.name, Shift.courier.bike, Shift.courier.active)
        .where((Shift.hub == hub_id) & (Shift.start >= day_start) & (Shift.start < day_start + dt.timedelta(days=1)))
        .order_by(Shift.start)
    )
    shifts = [s for s in shifts if s["courier.active"]]
    if not shifts:
        raise Invalid(f"Hub {hub['name']} has no courier shifts on {day}; add shifts first, then plan.")
    bikes = {b["id"]: b for b in await Bike.select()}
    states = [*OPEN_STATES, *(live.extra_states if live else ())]
    stops = await (
        Stop.select().where((Stop.hub == hub_id) & (Stop.plan_date == day) & Stop.status.is_in(states))
        .order_by(Stop.id)
    )
    if pending is not None:
        stops = [*pending.added, *(s for s in stops if s["id"] not in pending.withdrawn)]
    if not stops:
        raise Invalid(f"There are no open orders for hub {hub['name']} on {day}; add orders first, then plan.")
    shops = {s["id"]: s for s in await Shop.select().output(load_json=True)}
    points = {p["id"]: p for p in await PickupPoint.select().output(load_json=True)}

    hub_hours = windows_on(_periods(hub["opening_hours"]), day)
    places = [(hub["lat"], hub["lon"])] + [(s["lat"], s["lon"]) for s in stops]
    start_node: dict[int, int] = {}  # shift id -> node where its bike is now
    for shift_id, place in (live.positions.items() if live else ()):
        start_node[shift_id] = len(places)
        places.append(place)
    t0 = time.perf_counter()
    # Closures overlapping what is left of the day shut their streets for all of it: the
    # matrices cannot change with the time of day (docs/api.md, "Street and zone closures").
    from_time = at(day, live.now_s) if live is not None else day_start
    closed = await closed_edges(geo, hub_id, from_time, day_start + dt.timedelta(days=1))
    # the day's matrices are kept between calls (a running day is re-planned again and
    # again with nearly the same places) and reach the solver's process by name
    kept = await asyncio.to_thread(geo.network.day_matrices, places, closed)
    if kept is None:  # a day too big to keep
        time_m, dist_m = await asyncio.to_thread(geo.network.matrices, places, closed)
        loc = np.arange(len(places))
    else:
        time_m, dist_m, loc = kept
    matrix_s = time.perf_counter() - t0

    vehicles = []
    shift_rows: dict[str, dict[str, Any]] = {}
    for s in shifts:
        bike = bikes.get(s["bike"] or s["courier.bike"])
        if bike is None:
            raise Invalid(f"Courier {s['courier.name']} has no bike for the shift starting {s['start']}; "
                          f"give the shift or the courier a bike, then plan.")
        start, end = seconds_of(s["start"], day), seconds_of(s["end"], day)
        if hub_hours is not None:  # the hub must be open to leave and return
            spans = intersect((Window(start, end),), hub_hours)
            if spans:
                start, end = spans[0].start, spans[-1].end
        vid = f"shift-{s['id']}"
        shift_rows[vid] = s
        if live is not None:
            if s["status"] in ("ended", "interrupted"):
                continue
            if s["id"] in live.riding:
                end = max(end, DAY_END_S)  # on the road: they finish what they carry, late if need be
            start = max(start, live.now_s)
            if start >= end:
                continue  # nothing left of this shift
        vehicles.append(Vehicle(
            id=vid, start_location=int(loc[start_node.get(s["id"], 0)]), end_location=int(loc[0]),
            shift=Window(start, end),
            payload_kg=bike["payload_kg"], volume_l=bike["volume_l"],
            max_distance_m=int(bike["battery_range_km"] * 1000), speed_factor=bike["speed_factor"],
        ))

    plan_stops: list[PlanStop] = []
    pre: list[Unplanned] = []
    for i, s in enumerate(stops, start=1):
        sid = str(s["id"])
        window = (Window(seconds_of(s["window_start"], day), seconds_of(s["window_end"], day)),)
        hours, place = None, None
        if s["kind"] == "pickup" and s["shop"] in shops:
            place = shops[s["shop"]]
        elif s["pickup_point"] in points:
            place = points[s["pickup_point"]]
        if place is not None:
            hours = windows_on(_periods(place["opening_hours"]), day)
        if hours is not None:
            window = intersect(window, hours)
        if not window:
            pre.append(Unplanned(stop_id=sid, reason="window_unreachable",
                                 detail=f"{place['name'] if place else 'The place'} is closed during the "
                                        f"window on {day:%A %d %B}."))
            continue
        plan_stops.append(PlanStop(
            id=sid, kind=s["kind"], location=int(loc[i]), windows=window, service_s=s["service_s"],
            weight_kg=s["weight_kg"], volume_l=s["volume_l"],
        ))
    # Each order's shop pickups and its delivery, found once (not by scanning per stop).
    order_of = {str(s["id"]): s["order"] for s in stops}
    shop_stops: dict[int, list[dict[str, Any]]] = {}
    for s in stops:
        if s["kind"] == "pickup":
            shop_stops.setdefault(s["order"], []).append(s)
    dropped = {u.stop_id for u in pre}
    final: list[PlanStop] = []
    for ps in plan_stops:
        mine = shop_stops.get(order_of[ps.id], []) if ps.kind == "delivery" else []
        if any(str(p["id"]) in dropped for p in mine):
            # Deliveries wait for the goods collected at shops for the same order.
            pre.append(Unplanned(stop_id=ps.id, reason="pickup_unplanned",
                                 detail="Goods for this delivery cannot be collected at a shop that day."))
            continue
        if mine:
            # Its own load is what leaves the hub; the shops' goods ride in with their pickups.
            ps = msgspec.structs.replace(
                ps, pickups=tuple(str(p["id"]) for p in mine),
                weight_kg=max(0.0, ps.weight_kg - sum(p["weight_kg"] for p in mine)),
                volume_l=max(0.0, ps.volume_l - sum(p["volume_l"] for p in mine)))
        final.append(ps)
    # A pickup whose delivery was dropped has nowhere to go.
    delivering = {order_of[ps.id] for ps in final if ps.kind == "delivery"}
    for ps in [ps for ps in final if ps.kind == "pickup" and order_of[ps.id] not in delivering]:
        final.remove(ps)
        pre.append(Unplanned(stop_id=ps.id, reason="pickup_unplanned",
                             detail="The delivery these goods are for cannot be planned."))
    if live is not None and (live.locks or live.late):
        on_duty = {v.id for v in vehicles}
        locked = []
        for ps in final:
            shift_id = live.locks.get(int(ps.id))
            if shift_id is not None and f"shift-{shift_id}" in on_duty:
                ps = msgspec.structs.replace(_late_rather_than_dropped(ps), vehicles=(f"shift-{shift_id}",))
            elif int(ps.id) in live.late:
                ps = _late_rather_than_dropped(ps)
            locked.append(ps)
        final = locked
    on_duty = {v.id for v in vehicles}
    pinned = tuple(Sequence(vehicle=f"shift-{shift_id}", stops=tuple(str(s) for s in ids))
                   for shift_id, ids in (live.pins.items() if live else ()) if f"shift-{shift_id}" in on_duty)
    problem = Problem(
        # numpy, not lists: nothing for the garbage collector to walk; the kept day
        # matrices are larger than the day (its locations index them) and are handed
        # to the solver's process by name
        time_s=time_m, dist_m=dist_m,
        vehicles=tuple(vehicles), stops=tuple(final), sequences=pinned,
    )
    return DayInput(problem=problem, shifts=shift_rows, stops={str(s["id"]): s for s in stops},
                    pre_unplanned=pre, matrix_s=matrix_s)


def _late_rather_than_dropped(ps: PlanStop) -> PlanStop:
    """Kept even when its window has passed: delivered late, as little late as
    the plan can manage (the window's end becomes a soft due time)."""
    if not ps.windows:
        return ps
    last = ps.windows[-1]
    return msgspec.structs.replace(ps, windows=(*ps.windows[:-1], Window(last.start, max(last.end, DAY_END_S))),
                                   due_s=last.end)


async def plan_day(geo: Geo, executor: Executor | None, hub_id: int, day: dt.date,
                   time_limit_s: float) -> int:
    """Plan the day and save it; returns the plan run's id."""
    async with hub_lock(hub_id):  # a re-plan of the same day waits, and starts from this plan
        return await _plan_day(geo, executor, hub_id, day, time_limit_s)


def hub_lock(hub_id: int) -> AbstractAsyncContextManager[None]:
    """Held from reading a hub's day to saving its routes, across server processes:
    two re-plans of one hub at once would both start from the same routes in force
    and the second would overwrite the first; they queue instead."""
    return exclusive("replan-hub", hub_id, what=f"re-plan of hub {hub_id}")


async def _plan_day(geo: Geo, executor: Executor | None, hub_id: int, day: dt.date, time_limit_s: float) -> int:
    t0 = time.perf_counter()
    day_input = await load_day(geo, hub_id, day)
    # every engine that can plan this day, one per core; the best checked plan wins
    scores: list[dict[str, Any]] = []
    plan = await solve_best_async(day_input.problem, time_limit_s, executor=executor, report=scores)
    violations = next(s["violations"] for s in scores if s["won"])
    total_s = time.perf_counter() - t0
    return await save_plan(hub_id, day, time_limit_s, day_input, plan, violations, total_s)


async def save_plan(hub_id: int, day: dt.date, time_limit_s: float, day_input: DayInput, plan: Plan,
                    violations: int, total_s: float) -> int:
    unplanned = [*day_input.pre_unplanned, *plan.unplanned]
    figures = {
        "stops": len(day_input.stops),
        "planned": sum(len(r.stops) for r in plan.routes),
        "unplanned": len(unplanned),
        "couriers": len(day_input.shifts),
        "couriersUsed": sum(1 for r in plan.routes if r.stops),
        "distanceM": plan.distance_m,
        "durationS": plan.duration_s,
        "matrixS": round(day_input.matrix_s, 3),
        "solveS": round(plan.solve_s, 3),
        "totalS": round(total_s, 3),
        "solverStatus": plan.status,
        "engine": plan.engine,
        "violations": violations,
    }
    inputs = {"stops": len(day_input.problem.stops), "vehicles": len(day_input.problem.vehicles),
              "shiftIds": [s["id"] for s in day_input.shifts.values()]}
    async with transaction():
        await write_guard("routes", hub_id)  # a re-plan's check of the routes in force sees all of it or none
        run_id = (await PlanRun.insert(PlanRun(
            hub=hub_id, plan_date=day, status="done" if violations == 0 else "infeasible",
            finished_at=dt.datetime.now(), time_limit_s=time_limit_s, inputs=inputs, figures=figures,
            unplanned=[_unplanned_json(u, day_input) for u in unplanned],
        )))[0]["id"]
        previous = await Route.select(Route.courier, Route.version).where(
            (Route.hub == hub_id) & (Route.plan_date == day) & (Route.current == True)  # noqa: E712
        )
        versions = {r["courier"]: r["version"] for r in previous}
        await Route.update({Route.current: False}).where((Route.hub == hub_id) & (Route.plan_date == day))
        # The stops take their final states first: the events below carry the
        # route view as read now, and a phone must never see a stop still "open".
        planned_ids = [int(ps.stop_id) for r in plan.routes for ps in r.stops]
        await Stop.update({Stop.status: "planned"}).where(Stop.id.is_in(planned_ids or [-1]))
        unplanned_ids = [int(u.stop_id) for u in unplanned]
        await Stop.update({Stop.status: "unplanned"}).where(Stop.id.is_in(unplanned_ids or [-1]))
        for r in plan.routes:
            if not r.stops:
                continue
            shift = day_input.shifts[r.vehicle_id]
            courier = shift["courier"]
            departures = [r.start_s, *(ps.departure_s for ps in r.stops)]
            stops_json = [_stop_json(ps, day_input.stops[ps.stop_id], day, departures[i])
                          for i, ps in enumerate(r.stops)]
            route_id = (await Route.insert(Route(
                plan_run=run_id, hub=hub_id, courier=courier, shift=shift["id"], plan_date=day,
                version=versions.get(courier, 0) + 1, current=True, start=at(day, r.start_s),
                end=at(day, r.end_s), distance_m=r.distance_m, duration_s=r.duration_s, stops=stops_json,
            )))[0]["id"]
            route_row = await Route.select().where(Route.id == route_id).output(load_json=True).first()
            await emit("route.planned", await route_view(route_row), courier_id=courier, hub_id=hub_id)
        await emit("plan.finished", {"planRunId": run_id, "date": day.isoformat(), "figures": figures},
                   hub_id=hub_id)
    return run_id


async def route_of_hub(hub_id: int, day: dt.date) -> list[dict[str, Any]]:
    return await Route.select().where(
        (Route.hub == hub_id) & (Route.plan_date == day) & (Route.current == True)  # noqa: E712
    ).order_by(Route.courier).output(load_json=True)


def _unplanned_json(u: Unplanned, day_input: DayInput) -> dict[str, Any]:
    row = day_input.stops[u.stop_id]
    return {"stopId": int(u.stop_id), "orderId": row["order"], "kind": row["kind"], "reason": u.reason,
            "detail": u.detail}


def _stop_json(ps: Any, row: dict[str, Any], day: dt.date, previous_departure: int) -> dict[str, Any]:
    return {
        "stopId": row["id"], "orderId": row["order"], "kind": row["kind"], "address": row["address"],
        "lat": row["lat"], "lon": row["lon"],
        "eta": at(day, ps.arrival_s).isoformat(), "plannedEta": at(day, ps.arrival_s).isoformat(),
        "serviceStart": at(day, ps.start_s).isoformat(), "departure": at(day, ps.departure_s).isoformat(),
        "windowStart": row["window_start"].isoformat(), "windowEnd": row["window_end"].isoformat(),
        # Kept so ETAs can be recomputed from real progress without the matrices.
        "travelS": ps.arrival_s - previous_departure, "serviceS": ps.departure_s - ps.start_s,
        "late": ps.start_s > seconds_of(row["window_end"], day),  # kept late rather than dropped (re-plans)
        "loadKg": round(ps.load_kg, 2), "distanceM": ps.distance_m,
    }


class PlanRunOut(Out):
    id: int
    hub_id: int
    date: dt.date
    status: str
    time_limit_s: float
    figures: dict[str, Any]
    unplanned: list[dict[str, Any]]
    route_ids: list[int]


class RouteOut(Out):
    id: int
    plan_run_id: int
    hub_id: int
    courier_id: int
    shift_id: int
    date: dt.date
    version: int
    current: bool
    start: dt.datetime
    end: dt.datetime
    distance_m: int
    duration_s: int
    stops: list[dict[str, Any]]


async def read_plan_run(run_id: int) -> PlanRunOut:
    row = await PlanRun.select().where(PlanRun.id == run_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"There is no plan run with id {run_id}.")
    routes = await Route.select(Route.id).where(Route.plan_run == run_id).order_by(Route.id)
    return PlanRunOut(id=row["id"], hub_id=row["hub"], date=row["plan_date"], status=row["status"],
                      time_limit_s=row["time_limit_s"], figures=row["figures"], unplanned=row["unplanned"],
                      route_ids=[r["id"] for r in routes])


async def route_out(row: dict[str, Any]) -> RouteOut:
    """A route with its stops as they stand now (status, parcels, live ETAs)."""
    return RouteOut(id=row["id"], plan_run_id=row["plan_run"], hub_id=row["hub"], courier_id=row["courier"],
                    shift_id=row["shift"], date=row["plan_date"], version=row["version"],
                    current=row["current"], start=row["start"], end=row["end"],
                    distance_m=row["distance_m"], duration_s=row["duration_s"], stops=await stop_views(row))
