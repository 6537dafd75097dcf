"""The schedule of a route from the matrices, and the route (times, loads, distances) it gives.

:func:`schedule` is the one simulation of a visiting order in time: the
engines read their routes through it (:func:`build_route`), the diagnosis
tries orders with it, re-planning re-times the routes in force with it and
the benches time their plans with it. The feasibility checker keeps a
simulation of its own on purpose: it checks reported times against the
matrices, independently of what produced them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from backend.dispatch.model import Plan, PlannedStop, Problem, Reload, Route, Stop, Vehicle
from backend.dispatch.windows import (
    Windows,
    cell,
    earliest_start,
    latest_start,
    merge_windows,
    travel_time,
)

__all__ = [
    "Schedule",
    "breaks_of",
    "build_route",
    "earliest_plan",
    "earliest_route",
    "loop_route",
    "schedule",
    "tight_schedule",
]


class Schedule(NamedTuple):
    """When a bike leaves its start hub, per stop (arrival, service start, departure), and
    when it is back at its end hub; per reload at the hub (arrival, start, departure)."""

    departure: int
    times: list[tuple[int, int, int]]
    end: int
    reloads: list[tuple[int, int, int]] = []  # noqa: RUF012 - NamedTuple default, never mutated


def schedule(
    problem: Problem,
    vehicle: Vehicle,
    seq: Sequence[int],
    windows: Sequence[Windows] | None = None,
    *,
    departure: int | None = None,
    late: bool = False,
    breaks: Sequence[int] = (),
) -> Schedule | None:
    """The schedule of ``vehicle`` over the stop positions ``seq``, from the matrices.

    The bike leaves its start hub at ``departure`` (the shift start by default)
    and arrives at each stop as early as the route allows (matrix time divided
    by its speed factor, :func:`~backend.dispatch.windows.travel_time`); it
    waits only for a window to open, and leaves when the service time is over.
    ``windows`` are the stops' merged windows by stop position
    (:func:`~backend.dispatch.windows.merge_windows`; computed when not given).
    A stop reached after its last window has closed makes the order infeasible:
    None, unless ``late``: service then starts on arrival (for a caller that
    reports the route as it is and leaves the verdict to the checker). Shift
    end, range and loads are not checked here.

    ``breaks``: positions in ``seq`` before which the bike rides back to its hub
    (``vehicle.reload_place``) to reload (several loops a shift): it arrives, reloads for the vehicle's
    ``reload_s`` and rides out to the stop at that position.
    """
    T = cell(problem.time_s)
    stops = problem.stops
    f = vehicle.speed_factor
    t = vehicle.shift.start if departure is None else departure
    prev = vehicle.start_location
    times: list[tuple[int, int, int]] = []
    reloads: list[tuple[int, int, int]] = []
    at_hub = set(breaks)
    for j, k in enumerate(seq):
        s = stops[k]
        if j in at_hub:
            hub = vehicle.reload_place
            arr = t + travel_time(T(prev, hub), f)
            t = arr + (vehicle.reload_s or 0)
            reloads.append((arr, arr, t))
            prev = hub
        arr = t + travel_time(T(prev, s.location), f)
        st = earliest_start(merge_windows(s.windows) if windows is None else windows[k], arr)
        if st is None:
            if not late:
                return None
            st = arr
        t = st + s.service_s
        times.append((arr, st, t))
        prev = s.location
    dep = vehicle.shift.start if departure is None else departure
    return Schedule(dep, times, t + travel_time(T(prev, vehicle.end_location), f), reloads)


def tight_schedule(problem: Problem, v: Vehicle, seq: Sequence[int], windows: Sequence[Windows]) -> Schedule | None:
    """:func:`schedule` from the shift start, then left as late as still ends as early.

    Earliest end from the shift start, then the latest departure that still ends
    then (no needless waiting at the start), but never one that serves a stop
    past its soft due time when the earliest schedule serves it by then (nor
    later than the earliest schedule when that is already past it): a stop kept
    "late rather than dropped" has its window stretched to the end of the day,
    and leaving late must not spend that stretch. None if the order is infeasible.
    """
    first = schedule(problem, v, seq, windows)
    if first is None:
        return None
    end = first.end
    stops = problem.stops
    T = cell(problem.time_s)
    locs = [v.start_location] + [stops[k].location for k in seq] + [v.end_location]
    legs = [travel_time(T(a, b), v.speed_factor) for a, b in itertools.pairwise(locs)]
    # backward: latest service starts that still reach the end hub by ``end``
    latest = end - legs[-1]
    for j in range(len(seq) - 1, -1, -1):
        k = seq[j]
        ls = latest_start(windows[k], latest - stops[k].service_s)
        if ls is None:
            return first  # keep the earliest schedule
        due = stops[k].due_s
        if due is not None:  # in a window: the earliest start is, and so is a due time past it
            ls = min(ls, max(due, first.times[j][1]))
        latest = ls - legs[j]
    dep = max(v.shift.start, latest)
    second = schedule(problem, v, seq, windows, departure=dep)
    if second is None or second.end > end:
        return first
    return second


def build_route(
    problem: Problem,
    v: Vehicle,
    seq: Sequence[int],
    windows: Sequence[Windows],
    solver_departure: int,
    by_id: dict[str, Stop] | None = None,
) -> Route:
    """The route of ``v`` over stop positions ``seq``, scheduled by :func:`tight_schedule`."""
    stops = problem.stops
    D = problem.dist_m
    sched = tight_schedule(problem, v, seq, windows)
    if sched is None:  # should not happen: keep the solver's departure, report as is
        sched = schedule(problem, v, seq, windows, departure=solver_departure, late=True)
        assert sched is not None
    dep, times, end = sched.departure, sched.times, sched.end
    if by_id is None:
        by_id = {s.id: s for s in stops}
    load_kg = sum(stops[k].weight_kg for k in seq if stops[k].kind == "delivery")
    load_l = sum(stops[k].volume_l for k in seq if stops[k].kind == "delivery")
    dist = 0
    prev = v.start_location
    out: list[PlannedStop] = []
    for k, (arr, st, dp) in zip(seq, times, strict=True):
        s = stops[k]
        dist += int(D[prev][s.location])
        if s.kind == "pickup":
            load_kg += s.weight_kg
            load_l += s.volume_l
        elif s.pickups:
            load_kg -= sum(by_id[p].weight_kg for p in s.pickups) + s.weight_kg
            load_l -= sum(by_id[p].volume_l for p in s.pickups) + s.volume_l
        else:
            load_kg -= s.weight_kg
            load_l -= s.volume_l
        out.append(
            PlannedStop(
                stop_id=s.id,
                arrival_s=arr,
                start_s=st,
                departure_s=dp,
                load_kg=round(float(load_kg), 6),
                load_l=round(float(load_l), 6),
                distance_m=dist,
            )
        )
        prev = s.location
    dist += int(D[prev][v.end_location])
    return Route(
        vehicle_id=v.id,
        stops=tuple(out),
        start_s=dep,
        end_s=end,
        distance_m=dist,
        duration_s=end - dep,
    )


def breaks_of(route: Route) -> list[int]:
    """The positions in ``route.stops`` before which the bike reloads at its hub (a new loop)."""
    return [j for j in range(1, len(route.stops)) if route.stops[j].loop != route.stops[j - 1].loop]


def loop_route(
    problem: Problem,
    v: Vehicle,
    seq: Sequence[int],
    breaks: Sequence[int],
    *,
    departure: int | None = None,
    by_id: dict[str, Stop] | None = None,
) -> Route:
    """The route of ``v`` over stop positions ``seq`` in loops, timed by :func:`schedule`.

    A reload at the bike's hub comes before each position of ``breaks``. Loads per
    loop: the hub-loaded goods of a loop are on board when it starts; a return
    (a pickup no delivery names) is unloaded at the next hub visit; goods picked up
    for a delivery in a later loop stay on board. Served on arrival when late (the
    checker judges the route).
    """
    stops = problem.stops
    D = problem.dist_m
    sched = schedule(problem, v, seq, departure=departure, late=True, breaks=breaks)
    assert sched is not None  # late=True always answers
    if by_id is None:
        by_id = {s.id: s for s in stops}
    cuts = sorted(set(breaks))
    bounds = [0, *cuts, len(seq)]
    loop_of = [0] * len(seq)
    for li in range(len(bounds) - 1):
        for j in range(bounds[li], bounds[li + 1]):
            loop_of[j] = li + 1
    on_route = [stops[k] for k in seq]
    named = {p for s in on_route for p in s.pickups}  # a pair shares its route: its delivery is here too
    returns = {s.id for s in on_route if s.kind == "pickup" and s.id not in named}

    def hub_goods(loop: int) -> tuple[float, float]:
        ks = [seq[j] for j in range(len(seq)) if loop_of[j] == loop and stops[seq[j]].kind == "delivery"]
        return sum(stops[k].weight_kg for k in ks), sum(stops[k].volume_l for k in ks)

    load_kg, load_l = hub_goods(1)
    aboard: dict[str, tuple[float, float]] = {}
    dist = 0
    prev = v.start_location
    out: list[PlannedStop] = []
    reloads: list[Reload] = []
    for j, (k, (arr, st, dp)) in enumerate(zip(seq, sched.times, strict=True)):
        s = stops[k]
        if j in cuts:
            dist += int(D[prev][v.reload_place])
            for sid in [sid for sid in aboard if sid in returns]:
                aboard.pop(sid)
            kg, litre = hub_goods(loop_of[j])
            load_kg = kg + sum(w for w, _ in aboard.values())
            load_l = litre + sum(x for _, x in aboard.values())
            ra, rs, rd = sched.reloads[len(reloads)]
            reloads.append(
                Reload(
                    loop=loop_of[j],
                    arrival_s=ra,
                    start_s=rs,
                    departure_s=rd,
                    load_kg=round(float(load_kg), 6),
                    load_l=round(float(load_l), 6),
                    distance_m=dist,
                )
            )
            prev = v.reload_place
        dist += int(D[prev][s.location])
        if s.kind == "pickup":
            load_kg += s.weight_kg
            load_l += s.volume_l
            aboard[s.id] = (s.weight_kg, s.volume_l)
        else:
            for p in s.pickups:
                w, x = aboard.pop(p, (0.0, 0.0))
                load_kg -= w
                load_l -= x
            load_kg -= s.weight_kg
            load_l -= s.volume_l
        out.append(
            PlannedStop(
                stop_id=s.id,
                arrival_s=arr,
                start_s=st,
                departure_s=dp,
                load_kg=round(float(load_kg), 6),
                load_l=round(float(load_l), 6),
                distance_m=dist,
                loop=loop_of[j],
            )
        )
        prev = s.location
    dist += int(D[prev][v.end_location])
    return Route(
        vehicle_id=v.id,
        stops=tuple(out),
        start_s=sched.departure,
        end_s=sched.end,
        distance_m=dist,
        duration_s=sched.end - sched.departure,
        reloads=tuple(reloads),
    )


def earliest_route(problem: Problem, route: Route, pos: dict[str, int] | None = None) -> Route:
    """``route`` as it is ridden: the same stops in the same order, timed by :func:`schedule`
    from its vehicle's shift start (in a live problem: now, from where the bike is).

    The engines leave the hub as late as still ends as early (:func:`tight_schedule`);
    what a courier, a dispatcher or a customer is shown is the earliest schedule
    instead: arrive as early as the route allows, wait only for a window. Loads and
    distances do not depend on time and are kept. A stop that cannot be served in its
    window any more is served on arrival (the checker judges the route). ``pos``: stop
    id -> position in ``problem.stops`` (computed when not given).
    """
    v = next(v for v in problem.vehicles if v.id == route.vehicle_id)
    if pos is None:
        pos = {s.id: k for k, s in enumerate(problem.stops)}
    if route.reloads:  # several loops: the same loops, timed again
        return loop_route(problem, v, [pos[ps.stop_id] for ps in route.stops], breaks_of(route))
    sched = schedule(problem, v, [pos[ps.stop_id] for ps in route.stops], late=True)
    assert sched is not None  # late=True always answers
    dep, times, end = sched.departure, sched.times, sched.end
    stops = tuple(
        PlannedStop(
            stop_id=ps.stop_id,
            arrival_s=arr,
            start_s=st,
            departure_s=dp,
            load_kg=ps.load_kg,
            load_l=ps.load_l,
            distance_m=ps.distance_m,
        )
        for ps, (arr, st, dp) in zip(route.stops, times, strict=True)
    )
    return Route(
        vehicle_id=route.vehicle_id,
        stops=stops,
        start_s=dep,
        end_s=end,
        distance_m=route.distance_m,
        duration_s=end - dep,
    )


def earliest_plan(problem: Problem, plan: Plan) -> Plan:
    """``plan`` with every route timed by :func:`earliest_route` (and its duration summed again)."""
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    routes = tuple(earliest_route(problem, r, pos) for r in plan.routes)
    return msgspec.structs.replace(plan, routes=routes, duration_s=sum(r.duration_s for r in routes))
