"""A hub's day as the planner sees it: read from the database into a ``Problem``.

Planning, re-planning, redirects and closures all start here: :func:`load_day`
(the day's stops, shifts and matrices, with the streets shut by closures),
:func:`live_day` (what the running day locks: stops under way, goods on bikes,
where the bikes are, a dispatcher's pins) and :func:`hub_lock` (one re-plan of
a hub at a time). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from collections.abc import Sequence as Seq
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import numpy as np

from backend.db.locks import exclusive
from backend.db.tables import (
    AccessZone,
    Bike,
    DispatchLock,
    Hub,
    Parcel,
    PickupPoint,
    Shift,
    Shop,
    Stop,
    StreetClosure,
)
from backend.dispatch.battery import RangeLeft, over_range, range_left_m
from backend.dispatch.calendar import OpeningPeriod, at, intersect, seconds_of, windows_on
from backend.dispatch.closures import closures_near
from backend.dispatch.day_figures import MAX_SPEED_KMH
from backend.dispatch.model import Problem, Sequence, Unplanned, Vehicle, Window
from backend.dispatch.model import Stop as PlanStop
from backend.dispatch.network import SNAP_MAX_M, UNREACHABLE_S
from backend.dispatch.progress import DONE
from backend.dispatch.zones import (
    DEFAULT_KIND,
    DayZone,
    ZoneWindow,
    kind_windows_of,
    restrict_stops,
    walked_zones,
    windows_of,
)
from backend.errors import Invalid, NotFound
from backend.services.battery import Latest, hub_shift_ranges
from backend.services.geo import Geo
from backend.services.legs_first import MAX_FREE, day_matrices, fill_ahead, fill_free, fill_routes, free_places
from backend.services.route_store import routes_in_force

ON_BOARD = ("loaded", "collected")  # parcel states: the goods are on a bike

OPEN_STATES = ("open", "planned", "unplanned")
DAY_END_S = 24 * 3600 - 1


class LiveDay(msgspec.Struct, kw_only=True):
    """The day as it stands, for re-planning it (see :func:`live_day`)."""

    now_s: int  # seconds since midnight: nobody leaves in the past
    positions: dict[int, tuple[float, float]]  # shift id -> where that bike is now
    locks: dict[int, int]  # stop id -> shift id it must stay with (under way, goods on board, pinned)
    pins: dict[int, list[int]] = {}  # shift id -> stop ids in the order a dispatcher pinned
    # Late stops of a courier behind that others may take: late rather than dropped.
    late: frozenset[int] = frozenset()
    riding: frozenset[int] = frozenset()  # shift ids of couriers on the road
    extra_states: tuple[str, ...] = ("arrived",)
    # Battery: shift id -> what its bike has left (backend/dispatch/battery.py); a shift
    # not here plans with a full battery.
    ranges: dict[int, RangeLeft] = {}
    # shift id -> the stops still ahead on its route in force, in order; ``soft``: those of
    # them held only by being on that route (not under way, no goods on board, not pinned),
    # freed for the others when the bike's range cannot ride the route.
    ahead: dict[int, list[int]] = {}
    soft: frozenset[int] = frozenset()


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
    # With a baseline set of closed edges asked for: (its time matrix, per location of the
    # problem its index there, -1 where not compared): what the legs took before a closure.
    baseline: tuple[np.ndarray, np.ndarray] | None = None
    # The matrices are exact only at the legs of the routes in force and the rows and columns
    # of the hub and of the stops on no route (backend/services/legs_first.py): for the quick
    # answer and its checker only.
    legs_only: bool = False
    complete: Callable[[], object] | None = None  # then: the whole matrices, computed after the answer
    legs_runs: int | None = None  # then: the Dijkstra runs its legs took


def periods(raw: list[dict[str, Any]] | None) -> list[OpeningPeriod]:
    return msgspec.convert(raw or [], list[OpeningPeriod])


async def load_day(
    geo: Geo,
    hub_id: int,
    day: dt.date,
    live: LiveDay | None = None,
    pending: Pending | None = None,
    baseline_closed: np.ndarray | None = None,
    legs_of: list[dict[str, Any]] | None = None,
) -> DayInput:
    """The hub's day as a Problem; with ``live``, what is left of it from now; with
    ``pending``, as it will be with that change written. ``baseline_closed``: the edges
    closed before a closure changed (the hub's and stops' legs are compared with them,
    :attr:`DayInput.baseline`); with it, ``legs_of`` (the routes in force): while the
    closed network's weights are not known, its matrices only at these routes' legs and
    the rows and columns of the hub and of the stops on no route (:attr:`DayInput.legs_only`,
    backend/services/legs_first.py)."""
    hub = await Hub.select().where(Hub.id == hub_id).output(load_json=True).first()
    if hub is None:
        raise NotFound(f"There is no hub with id {hub_id}.")
    day_start = dt.datetime.combine(day, dt.time())
    shifts = await (
        Shift.select(*Shift.all_columns(), Shift.courier.name, Shift.courier.bike, Shift.courier.active)
        .where((Shift.hub == hub_id) & (Shift.start >= day_start) & (Shift.start < day_start + dt.timedelta(days=1)))
        .order_by(Shift.start)
    )
    shifts = [s for s in shifts if s["courier.active"]]
    if not shifts:
        raise Invalid(f"Hub {hub['name']} has no courier shifts on {day}; add shifts first, then plan.")
    bikes = {b["id"]: b for b in await Bike.select()}
    states = [*OPEN_STATES, *(live.extra_states if live else ())]
    stops = await (
        Stop.select()
        .where((Stop.hub == hub_id) & (Stop.plan_date == day) & Stop.status.is_in(states))
        .order_by(Stop.id)
    )
    if pending is not None:
        stops = [*pending.added, *(s for s in stops if s["id"] not in pending.withdrawn)]
    if not stops:
        raise Invalid(f"There are no open orders for hub {hub['name']} on {day}; add orders first, then plan.")
    shops, points = await _places_with_hours()

    hub_hours = windows_on(periods(hub["opening_hours"]), day)
    places = [(hub["lat"], hub["lon"])] + [(s["lat"], s["lon"]) for s in stops]
    start_node: dict[int, int] = {}  # shift id -> node where its bike is now
    for shift_id, place in live.positions.items() if live else ():
        start_node[shift_id] = len(places)
        places.append(place)
    t0 = time.perf_counter()
    # Closures overlapping what is left of the day shut their streets for all of it: the
    # matrices cannot change with the time of day (docs/api.md, "Street and zone closures").
    from_time = at(day, live.now_s) if live is not None else day_start
    closures = await closures_overlapping(hub_id, from_time, day_start + dt.timedelta(days=1))
    closed = edges_of(geo, closures)
    # Pedestrian zones are walked when their no-ride hours meet the planned span (docs/api.md, "Restricted zones").
    zones = await zones_on(hub_id, day)
    day_kinds = {_kind(bikes, s) for s in shifts}
    span = _span(shifts, day, live)
    walked = edges_of(geo, [{"street": "", "zone": z.polygon} for z in walked_zones(zones, span, day_kinds)])
    free = free_places(stops, legs_of) if legs_of is not None else []
    legs_first = legs_of is not None and len(free) <= MAX_FREE
    mats = await day_matrices(geo, places, len(stops) + 1, closed, walked, baseline_closed, legs_first)
    time_m, dist_m, loc, baseline = mats.time, mats.dist, mats.loc, mats.baseline
    matrix_s = time.perf_counter() - t0
    cut = _cut_off(geo, stops, closures, time_m, loc) if len(closed) else {}
    if len(closed):
        # A bike standing where no open street reaches (inside a closure, over SNAP_MAX_M from
        # an open street) is a week from everything: its route could never be re-timed. It
        # is pushed out to the streets; it is planned from the hub, as a bike with no position.
        hub_node = int(loc[0])
        start_node = {s: n for s, n in start_node.items() if time_m[int(loc[n]), hub_node] < UNREACHABLE_S}

    reload_s = None if hub.get("reload_min") is None else round(float(hub["reload_min"]) * 60)
    vehicles, shift_rows = _vehicles(shifts, bikes, hub_hours, day, live, loc, start_node, reload_s)
    # vehicle id -> the kind of its bike: a loading zone's windows may differ per kind
    kinds = {v.id: _kind(bikes, shift_rows[v.id]) for v in vehicles}
    final, pre = _plan_stops(stops, shops, points, day, loc, zones, kinds, cut)
    if live is not None and live.soft:
        if mats.legs is not None:
            await fill_ahead(mats.legs, live.ahead, vehicles, final)
        live = _short_of_range(live, vehicles, final, dist_m)
    if live is not None and (live.locks or live.late):
        # A late stop kept rather than dropped is still served within its loading zone's windows only.
        final, zoned = restrict_stops(_locked(final, vehicles, live), _where(stops), zones, kinds)
        pre += zoned
    on_duty = {v.id for v in vehicles}
    pinned = tuple(
        Sequence(vehicle=f"shift-{shift_id}", stops=tuple(str(s) for s in ids))
        for shift_id, ids in (live.pins.items() if live else ())
        if f"shift-{shift_id}" in on_duty
    )
    problem = Problem(
        # numpy, not lists: nothing for the garbage collector to walk; the kept day
        # matrices are larger than the day (its locations index them) and are handed
        # to the solver's process by name
        time_s=time_m,
        dist_m=dist_m,
        vehicles=tuple(vehicles),
        stops=tuple(final),
        sequences=pinned,
    )
    if mats.legs is not None and legs_of is not None:
        await fill_routes(mats.legs, problem, legs_of)
        await fill_free(mats.legs, free)
    return DayInput(
        problem=problem,
        shifts=shift_rows,
        stops={str(s["id"]): s for s in stops},
        pre_unplanned=pre,
        matrix_s=matrix_s,
        baseline=baseline,
        legs_only=mats.legs is not None,
        complete=mats.complete,
        legs_runs=None if mats.legs is None else mats.legs.pairs.runs,
    )


async def _places_with_hours() -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Shops and pickup points by id, with only what planning reads: a shop's other JSON
    (its packing rules) decoded for every shop cost a re-plan tens of milliseconds."""
    shops = await Shop.select(Shop.id, Shop.name, Shop.opening_hours).output(load_json=True)
    points = await PickupPoint.select(PickupPoint.id, PickupPoint.name, PickupPoint.opening_hours).output(
        load_json=True
    )
    return {s["id"]: s for s in shops}, {p["id"]: p for p in points}


def closure_what(row: dict[str, Any]) -> str:
    """A closure in words for people: what it shuts and why."""
    what = f"{row['street']} (a stretch)" if row["street"] and row["zone"] else row["street"] or "a zone"
    return f"{what}, {row['reason']}"


def _cut_off(
    geo: Geo, stops: list[dict[str, Any]], closures: list[dict[str, Any]], time_m: np.ndarray, loc: np.ndarray
) -> dict[str, str]:
    """Stop id -> why it cannot be planned: no open street leads to it (the hub's own
    reach is checked when a closure is made). A stop the courier stands at stays."""
    hub = int(loc[0])
    idx = [i for i, s in enumerate(stops, start=1) if s.get("status") != "arrived"]
    if not idx:
        return {}
    far = np.asarray(time_m[hub, loc[idx]]) >= UNREACHABLE_S
    cut = [(i, stops[i - 1]) for i, f in zip(idx, far.tolist(), strict=True) if f]
    if not cut:
        return {}
    edge_sets = [geo.closure_edges(r["street"], r["zone"]) for r in closures]
    out = {}
    for _i, s in cut:
        near = closures_near(geo.network, (s["lat"], s["lon"]), edge_sets, SNAP_MAX_M) or range(len(closures))
        named = "; ".join(closure_what(closures[k]) for k in near)
        out[str(s["id"])] = (
            f"Cut off by the street closure {named}: no open street within {SNAP_MAX_M:.0f} m; "
            f"it is planned again when the closure is lifted."
        )
    return out


def _span(shifts: list[dict[str, Any]], day: dt.date, live: LiveDay | None) -> Window:
    """What a plan covers: the first shift's start (or now) to the last one's end."""
    start = min(seconds_of(s["start"], day) for s in shifts)
    end = max(seconds_of(s["end"], day) for s in shifts)
    if live is not None:
        start = max(start, live.now_s)
    return Window(start, max(start, end))


def _kind(bikes: dict[int, dict[str, Any]], shift: dict[str, Any]) -> str:
    """The vehicle kind of a shift's bike (the default kind when it has none yet)."""
    bike = bikes.get(shift["bike"] or shift["courier.bike"]) or {}
    return str(bike.get("kind") or DEFAULT_KIND)


def _where(stops: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    return {str(s["id"]): (s["lat"], s["lon"]) for s in stops}


async def zones_on(hub_id: int, day: dt.date) -> list[DayZone]:
    """The hub's restricted zones with their windows on ``day``."""
    rows = await AccessZone.select().where(AccessZone.hub == hub_id).order_by(AccessZone.id).output(load_json=True)
    zones = []
    for r in rows:
        rules = msgspec.convert(r["windows"], list[ZoneWindow])
        zones.append(
            DayZone(
                id=str(r["id"]),
                name=r["name"],
                kind=r["kind"],
                polygon=tuple((p[0], p[1]) for p in r["polygon"]),
                windows=windows_of([w for w in rules if not w.kinds], day),
                by_kind=kind_windows_of(rules, day),
                exempt=frozenset(r.get("exempt") or ()),
            )
        )
    return zones


def _vehicles(
    shifts: list[dict[str, Any]],
    bikes: dict[int, dict[str, Any]],
    hub_hours: Any,
    day: dt.date,
    live: LiveDay | None,
    loc: np.ndarray,
    start_node: dict[int, int],
    reload_s: int | None = None,
) -> tuple[list[Vehicle], dict[str, dict[str, Any]]]:
    """A vehicle per shift that is still on (with ``live``), and the shift rows by vehicle id.
    ``reload_s``: the hub's reload time between loops (None: one loop a shift)."""
    vehicles = []
    shift_rows: dict[str, dict[str, Any]] = {}
    for s in shifts:
        bike = bikes.get(s["bike"] or s["courier.bike"])
        if bike is None:
            raise Invalid(
                f"Courier {s['courier.name']} has no bike for the shift starting {s['start']}; "
                f"give the shift or the courier a bike, then plan."
            )
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
        vehicles.append(
            Vehicle(
                id=vid,
                start_location=int(loc[start_node.get(s["id"], 0)]),
                end_location=int(loc[0]),
                shift=Window(start, end),
                payload_kg=bike["payload_kg"],
                volume_l=bike["volume_l"],
                # a re-plan: what the battery has left (from where the bike is); a plan: full
                max_distance_m=range_left_m(live.ranges[s["id"]])
                if live is not None and s["id"] in live.ranges
                else int(bike["battery_range_km"] * 1000),
                speed_factor=bike["speed_factor"],
                reload_s=reload_s,
                reload_location=int(loc[0]),  # the hub (a re-plan starts the bike where it is)
            )
        )
    return vehicles, shift_rows


def _plan_stops(
    stops: list[dict[str, Any]],
    shops: dict[int, dict[str, Any]],
    points: dict[int, dict[str, Any]],
    day: dt.date,
    loc: np.ndarray,
    zones: Seq[DayZone] = (),
    kinds: dict[str, str] | None = None,
    cut: dict[str, str] | None = None,
) -> tuple[list[PlanStop], list[Unplanned]]:
    """The stops to plan, and those that cannot be, with the reason (a closed shop, a
    loading zone's windows, streets closed around it (``cut``: stop id -> why), goods
    that cannot be collected, a pickup whose delivery cannot be planned)."""
    plan_stops: list[PlanStop] = []
    pre: list[Unplanned] = []
    midnight = dt.datetime.combine(day, dt.time())
    hours_of: dict[tuple[str, int], tuple[Window, ...] | None] = {}  # a place's hours, once per re-plan
    for i, s in enumerate(stops, start=1):
        sid = str(s["id"])
        if cut and sid in cut:
            pre.append(Unplanned(stop_id=sid, reason="street_closed", detail=cut[sid]))
            continue
        start = int((s["window_start"] - midnight).total_seconds())
        window: tuple[Window, ...] = (Window(start, int((s["window_end"] - midnight).total_seconds())),)
        hours, place, key = None, None, None
        if s["kind"] == "pickup" and s["shop"] in shops:
            place, key = shops[s["shop"]], ("shop", s["shop"])
        elif s["pickup_point"] in points:
            place, key = points[s["pickup_point"]], ("point", s["pickup_point"])
        if place is not None and key is not None:
            if key not in hours_of:
                hours_of[key] = windows_on(periods(place["opening_hours"]), day)
            hours = hours_of[key]
        if hours is not None:
            window = intersect(window, hours)
        if not window:
            pre.append(
                Unplanned(
                    stop_id=sid,
                    reason="window_unreachable",
                    detail=f"{place['name'] if place else 'The place'} is closed during the window on {day:%A %d %B}.",
                )
            )
            continue
        plan_stops.append(
            PlanStop(
                id=sid,
                kind=s["kind"],
                location=int(loc[i]),
                windows=window,
                service_s=s["service_s"],
                weight_kg=s["weight_kg"],
                volume_l=s["volume_l"],
            )
        )
    plan_stops, zoned = restrict_stops(plan_stops, _where(stops), zones, kinds)
    pre += zoned
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
            pre.append(
                Unplanned(
                    stop_id=ps.id,
                    reason="pickup_unplanned",
                    detail="Goods for this delivery cannot be collected at a shop that day.",
                )
            )
            continue
        if mine:
            # Its own load is what leaves the hub; the shops' goods ride in with their pickups.
            ps = msgspec.structs.replace(
                ps,
                pickups=tuple(str(p["id"]) for p in mine),
                weight_kg=max(0.0, ps.weight_kg - sum(p["weight_kg"] for p in mine)),
                volume_l=max(0.0, ps.volume_l - sum(p["volume_l"] for p in mine)),
            )
        final.append(ps)
    # A pickup whose delivery was dropped has nowhere to go. A pickup of an order with no
    # delivery that day at all is a return: brought back to the hub (the core's "return").
    delivering = {order_of[ps.id] for ps in final if ps.kind == "delivery"}
    ordered = {s["order"] for s in stops if s["kind"] == "delivery"}
    for ps in [ps for ps in final if ps.kind == "pickup" and order_of[ps.id] in ordered - delivering]:
        final.remove(ps)
        pre.append(
            Unplanned(
                stop_id=ps.id, reason="pickup_unplanned", detail="The delivery these goods are for cannot be planned."
            )
        )
    return final, pre


def _short_of_range(live: LiveDay, vehicles: list[Vehicle], final: list[PlanStop], dist_m: Any) -> LiveDay:
    """``live`` with the soft locks of every bike that cannot ride its route in force
    on the range it has left taken off: others may take those stops."""
    where = {ps.id: ps.location for ps in final}
    freed: set[int] = set()
    for v in vehicles:
        ahead = live.ahead.get(int(v.id.removeprefix("shift-")), [])
        locations = [where[str(sid)] for sid in ahead if str(sid) in where]
        if over_range(dist_m, v.start_location, locations, v.end_location, v.max_distance_m):
            freed.update(sid for sid in ahead if sid in live.soft)
    if not freed:
        return live
    locks = {sid: shift for sid, shift in live.locks.items() if sid not in freed}
    return msgspec.structs.replace(live, locks=locks, soft=live.soft - freed)


def _locked(final: list[PlanStop], vehicles: list[Vehicle], live: LiveDay) -> list[PlanStop]:
    """Stops that stay with their courier, and late ones kept rather than dropped."""
    on_duty = {v.id for v in vehicles}
    locked = []
    for ps in final:
        shift_id = live.locks.get(int(ps.id))
        if shift_id is not None and f"shift-{shift_id}" in on_duty:
            ps = msgspec.structs.replace(_late_rather_than_dropped(ps), vehicles=(f"shift-{shift_id}",))
        elif int(ps.id) in live.late:
            ps = _late_rather_than_dropped(ps)
        locked.append(ps)
    return locked


def _late_rather_than_dropped(ps: PlanStop) -> PlanStop:
    """Kept even when its window has passed: delivered late, as little late as
    the plan can manage (the window's end becomes a soft due time)."""
    if not ps.windows:
        return ps
    last = ps.windows[-1]
    return msgspec.structs.replace(
        ps, windows=(*ps.windows[:-1], Window(last.start, max(last.end, DAY_END_S))), due_s=last.end
    )


def hub_lock(hub_id: int) -> AbstractAsyncContextManager[None]:
    """Held from reading a hub's day to saving its routes, across server processes:
    two re-plans of one hub at once would both start from the same routes in force
    and the second would overwrite the first; they queue instead."""
    return exclusive("replan-hub", hub_id, what=f"re-plan of hub {hub_id}")


async def closures_overlapping(
    hub_id: int, start: dt.datetime, end: dt.datetime, but: int | None = None
) -> list[dict[str, Any]]:
    """The hub's closure rows overlapping [start, end) (``but``: leave that one out)."""
    query = StreetClosure.select().where(
        (StreetClosure.hub == hub_id) & (StreetClosure.start < end) & (StreetClosure.end > start)
    )
    if but is not None:
        query = query.where(StreetClosure.id != but)
    return await query.order_by(StreetClosure.id).output(load_json=True)


def edges_of(geo: Geo, rows: Seq[dict[str, Any]]) -> np.ndarray:
    """The street edges the closure ``rows`` shut, together."""
    parts = [geo.closure_edges(r["street"], r["zone"]) for r in rows]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


async def closed_edges(geo: Geo, hub_id: int, start: dt.datetime, end: dt.datetime) -> np.ndarray:
    """Edges shut for the hub's planning of [start, end): every closure overlapping it."""
    return edges_of(geo, await closures_overlapping(hub_id, start, end))


async def live_day(
    hub_id: int,
    day: dt.date,
    now: dt.datetime,
    positions: dict[int, tuple[float, float]] | None = None,
    pending: Pending | None = None,
    *,
    latest: Latest | None = None,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[LiveDay, list[dict[str, Any]]]:
    """Locks, bike positions and batteries of the running day; ``positions``: courier id -> last
    known place; ``pending``: a change planned as if written (its new stops locked like written
    ones); ``latest`` and ``max_speed_kmh``: for the km ridden (backend/services/battery.py)."""
    routes = await routes_in_force(hub_id, day)
    # Read by hub and day, not by lists of thousands of ids: building such a query
    # cost more than running it.
    ids = {s["stop_id"] for r in routes for s in r["stops"]}
    stops = {
        r["id"]: r
        for r in await Stop.select(Stop.id, Stop.status, Stop.order, Stop.lat, Stop.lon, Stop.completed_at).where(
            (Stop.hub == hub_id) & (Stop.plan_date == day)
        )
        if r["id"] in ids
    }
    orders = {s["order"] for s in stops.values()}
    on_board = {
        p["order"]
        for p in await Parcel.select(Parcel.order).where(
            Parcel.status.is_in(list(ON_BOARD)) & (Parcel.order.hub == hub_id)
        )
        if p["order"] in orders
    }
    shifts = {
        s["id"]: s
        for s in await Shift.select(Shift.id, Shift.status, Shift.last_lat, Shift.last_lon).where(
            Shift.id.is_in([r["shift"] for r in routes] or [-1])
        )
    }
    locks: dict[int, int] = {}
    riding: dict[int, int] = {}  # order id -> shift whose bike has its goods
    riding_shifts: set[int] = set()
    late: set[int] = set()
    where: dict[int, tuple[float, float]] = {}
    ahead: dict[int, list[int]] = {}
    soft: set[int] = set()
    for route in routes:
        shift = shifts.get(route["shift"])
        acted = any(stops.get(p["stop_id"], {}).get("status") in (*DONE, "arrived") for p in route["stops"])
        if shift is None or shift["status"] in ("ended", "interrupted") or (shift["status"] != "started" and not acted):
            continue  # not on the road (yet): all its stops are free to move
        riding_shifts.add(route["shift"])
        for planned in route["stops"]:
            row = stops.get(planned["stop_id"])
            if row is None or row["status"] in DONE:
                continue
            if planned.get("late") and row["status"] != "arrived" and row["order"] not in on_board:
                late.add(row["id"])  # this courier is behind: someone who can still make the window may take it
                continue
            # Under way, goods on this bike, or just on the route of a courier on the
            # road: it stays with them. Moving stops between riding couriers is
            # churn on two phones for a gain the courier rarely sees.
            locks[row["id"]] = route["shift"]
            ahead.setdefault(route["shift"], []).append(row["id"])
            if row["status"] != "arrived" and row["order"] not in on_board:
                soft.add(row["id"])
            if row["status"] == "arrived":  # the courier stands there
                where[route["shift"]] = (row["lat"], row["lon"])
        for order in {stops[s["stop_id"]]["order"] for s in route["stops"] if s["stop_id"] in stops} & on_board:
            riding[order] = route["shift"]
        if route["shift"] not in where:
            known = (positions or {}).get(route["courier"])
            if known is None and shift["last_lat"] is not None:
                known = (shift["last_lat"], shift["last_lon"])
            if known is None:  # no fix: where they last finished a stop (a failed one too), else the hub
                done = [stops[p["stop_id"]] for p in route["stops"] if p["stop_id"] in stops]
                done = [r for r in done if r["status"] in DONE and r["completed_at"] is not None]
                if done:
                    last = max(done, key=lambda r: r["completed_at"])
                    known = (last["lat"], last["lon"])
            if known is not None:
                where[route["shift"]] = known
    # A dispatcher's hand wins over everything else.
    pins: dict[int, list[int]] = {}
    for lock in (
        await DispatchLock.select(DispatchLock.stop, DispatchLock.shift, DispatchLock.position)
        .where((DispatchLock.stop.hub == hub_id) & (DispatchLock.stop.plan_date == day))
        .order_by(DispatchLock.position)
    ):
        locks[lock["stop"]] = lock["shift"]
        soft.discard(lock["stop"])
        if lock["position"] is not None:
            pins.setdefault(lock["shift"], []).append(lock["stop"])
    if riding:  # their new stops (a redirect, a retry) ride on the same bike
        for row in await Stop.select(Stop.id, Stop.order).where(
            (Stop.hub == hub_id)
            & (Stop.plan_date == day)
            & Stop.status.is_in(["open", "unplanned", "planned"])
            & (Stop.kind == "delivery")
        ):
            if row["order"] in riding:
                locks.setdefault(row["id"], riding[row["order"]])
    if pending is not None:
        locks.update(pending.locks)
        soft -= pending.locks.keys()
        # A stop a pending lock moves leaves any pinned order it had (as its written lock will).
        pins = {shift: [s for s in stops if s not in pending.locks] for shift, stops in pins.items()}
        for row in pending.added:
            if row["kind"] == "delivery" and row["order"] in riding:
                locks.setdefault(row["id"], riding[row["order"]])
    return LiveDay(
        now_s=seconds_of(now, day),
        positions=where,
        locks=locks,
        pins=pins,
        late=frozenset(late - locks.keys()),
        riding=frozenset(riding_shifts),
        ranges=await hub_shift_ranges(hub_id, day, now, max_speed_kmh=max_speed_kmh, latest=latest),
        ahead=ahead,
        soft=frozenset(soft),
    ), routes
