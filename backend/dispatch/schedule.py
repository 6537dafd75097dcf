"""The schedule of a route from the matrices, and the route (times, loads, distances) it gives."""

from __future__ import annotations

import itertools

from backend.dispatch.model import (
    PlannedStop,
    Problem,
    Route,
    Stop,
    Vehicle,
)
from backend.dispatch.windows import earliest_start, latest_start, travel_time


def tight_schedule(
    problem: Problem, v: Vehicle, seq: list[int], windows: list[list[tuple[int, int]]]
) -> tuple[int, list[tuple[int, int, int]], int] | None:
    """Departure, per-stop (arrival, start, departure) and end arrival for visit order ``seq``.

    Earliest end from the shift start, then the latest departure that still ends
    then (no needless waiting at the start). None if the order is infeasible.
    """
    T = problem.time_s
    stops = problem.stops
    locs = [v.start_location] + [stops[k].location for k in seq] + [v.end_location]
    legs = [travel_time(T[a][b], v.speed_factor) for a, b in itertools.pairwise(locs)]

    def forward(dep: int) -> tuple[list[tuple[int, int, int]], int] | None:
        t = dep
        times = []
        for j, k in enumerate(seq):
            arr = t + legs[j]
            st = earliest_start(windows[k], arr)
            if st is None:
                return None
            t = st + stops[k].service_s
            times.append((arr, st, t))
        return times, t + legs[-1]

    first = forward(v.shift.start)
    if first is None:
        return None
    end = first[1]
    # backward: latest service starts that still reach the end hub by ``end``
    latest = end - legs[-1]
    for j in range(len(seq) - 1, -1, -1):
        k = seq[j]
        ls = latest_start(windows[k], latest - stops[k].service_s)
        if ls is None:
            return v.shift.start, first[0], end  # keep the earliest schedule
        latest = ls - legs[j]
    dep = max(v.shift.start, latest)
    second = forward(dep)
    if second is None or second[1] > end:
        return v.shift.start, first[0], end
    return dep, second[0], second[1]



def build_route(
    problem: Problem,
    v: Vehicle,
    seq: list[int],
    windows: list[list[tuple[int, int]]],
    solver_departure: int,
    by_id: dict[str, Stop] | None = None,
) -> Route:
    """The route of ``v`` over stop positions ``seq``, scheduled by :func:`tight_schedule`."""
    stops = problem.stops
    D = problem.dist_m
    sched = tight_schedule(problem, v, seq, windows)
    if sched is None:  # should not happen: keep the solver's departure, report as is
        times = []
        t = solver_departure
        prev = v.start_location
        for k in seq:
            arr = t + travel_time(problem.time_s[prev][stops[k].location], v.speed_factor)
            st = earliest_start(windows[k], arr)
            st = arr if st is None else st
            t = st + stops[k].service_s
            times.append((arr, st, t))
            prev = stops[k].location
        end = t + travel_time(problem.time_s[prev][v.end_location], v.speed_factor)
        sched = (solver_departure, times, end)
    dep, times, end = sched
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

