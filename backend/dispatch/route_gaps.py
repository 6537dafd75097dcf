"""Where one more stop may go: every gap of every route of one loop, judged at once.

Pure, like the rest of :mod:`backend.dispatch`. A quick re-plan puts stops into the
routes in force one at a time (:mod:`backend.dispatch.quick`), and checking a whole
route for each place it tries (:func:`~backend.dispatch.feasibility.check_route`, about
half a millisecond for a route of 50 stops) limited it to the few couriers nearest
a stop: a courier's whole route to hand out (out of service) ran out of its budget,
or found a stop that fits none of them, and waited for the solver.

A route of one loop is kept here as its gaps (the start, each stop, the end hub):
per gap when the bike leaves the place before it at the earliest, the latest it may
reach the place after it with the rest of the route still in its windows and shift
(the classic "latest arrival" of insertion heuristics, over merged windows), the
most it carries before and after it, and its riding distance. :func:`fitting` tells
at once which gaps of all routes can take a stop on those four counts, and what each
costs; what passes is a necessary condition only (pins and the rest are the
checker's), so the caller checks the cheapest whole route that passes, and the next
if that fails. The times are those of :func:`~backend.dispatch.scheduling.schedule`
(the earliest start from the route's start, matrix time over the speed factor,
rounded half up), so a gap this refuses is one the checker would refuse too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backend.dispatch.model import Problem, Route, Stop, Vehicle
from backend.dispatch.windows import latest_start, merge_windows

__all__ = ["Gaps", "fitting", "join", "route_gaps"]

_TOL_LOAD = 1e-6  # as the checker's
_NEVER = -(1 << 60)


class Gaps(NamedTuple):
    """The gaps of one or more routes, one entry each."""

    owner: np.ndarray  # which route (its index where routes were joined; 0 for one)
    position: np.ndarray  # where the stop would go in the route's stops
    before: np.ndarray  # the place before the gap (the start, or a stop)
    after: np.ndarray  # the place after it (a stop, or the end hub)
    ready: np.ndarray  # when the bike leaves ``before`` at the earliest
    latest: np.ndarray  # the latest it may reach ``after`` with the rest still feasible
    load_before: np.ndarray  # (kg, L) the most on board from the start up to the gap: (n, 2)
    load_after: np.ndarray  # (kg, L) the most on board from the gap to the end: (n, 2)
    capacity: np.ndarray  # (kg, L) the bike's: (n, 2)
    riding_m: np.ndarray  # the route's distance
    range_m: np.ndarray  # the bike's range (inf: none)
    speed: np.ndarray  # the bike's speed factor
    fixed: np.ndarray  # the bike's fixed cost when its route is empty (a stop makes it used), else 0


def route_gaps(problem: Problem, v: Vehicle, route: Route, by_id: dict[str, Stop], owner: int = 0) -> Gaps:
    """The gaps of ``route`` (one loop: no reloads), timed as :func:`loop_route` timed it."""
    T = problem.time_s
    seq = [by_id[ps.stop_id] for ps in route.stops]
    places = [v.start_location, *(s.location for s in seq), v.end_location]
    n = len(seq)
    ready = [route.start_s, *(ps.departure_s for ps in route.stops)]
    latest = [0] * (n + 1)
    latest[n] = v.shift.end
    for j in range(n - 1, -1, -1):
        s = seq[j]
        reach = latest[j + 1] - _travel(int(T[places[j + 1]][places[j + 2]]), v.speed_factor) - s.service_s
        ls = latest_start(merge_windows(s.windows), reach) if latest[j + 1] > _NEVER else None
        latest[j] = _NEVER if ls is None else ls
    start_kg = sum(s.weight_kg for s in seq if s.kind == "delivery")
    start_l = sum(s.volume_l for s in seq if s.kind == "delivery")
    on = np.array([(start_kg, start_l), *((ps.load_kg, ps.load_l) for ps in route.stops)], dtype=float)
    pre = np.maximum.accumulate(on, axis=0)
    suf = np.maximum.accumulate(on[::-1], axis=0)[::-1]
    k = n + 1
    return Gaps(
        owner=np.full(k, owner, dtype=np.int64),
        position=np.arange(k, dtype=np.int64),
        before=np.array(places[:-1], dtype=np.int64),
        after=np.array(places[1:], dtype=np.int64),
        ready=np.array(ready, dtype=np.int64),
        latest=np.array(latest, dtype=np.int64),
        load_before=pre,
        load_after=suf,
        capacity=np.tile([v.payload_kg, v.volume_l], (k, 1)),
        riding_m=np.full(k, route.distance_m, dtype=np.int64),
        range_m=np.full(k, np.inf if v.max_distance_m is None else v.max_distance_m, dtype=float),
        speed=np.full(k, v.speed_factor, dtype=float),
        fixed=np.full(k, v.fixed_cost if n == 0 else 0, dtype=np.int64),
    )


def join(parts: list[Gaps]) -> Gaps:
    """The gaps of several routes as one (each part's ``owner`` kept)."""
    return Gaps(*(np.concatenate(col) for col in zip(*parts, strict=True)))


def fitting(problem: Problem, gaps: Gaps, stop: Stop) -> tuple[np.ndarray, np.ndarray]:
    """The gaps that can take ``stop`` (a delivery of the hub's goods or a pickup brought back)
    by windows, shift, load and range, cheapest first, and what each adds to the objective
    (riding seconds, or metres when the problem costs distance, and a bike's fixed cost)."""
    x = stop.location
    a, b = gaps.before, gaps.after
    t_ax = _travels(_column(problem.time_s, a, x), gaps.speed)
    t_xb = _travels(_row(problem.time_s, x, b), gaps.speed)
    d_ax, d_xb = _column(problem.dist_m, a, x), _row(problem.dist_m, x, b)
    d_ab = _pairs(problem.dist_m, a, b)
    if problem.cost == "distance":
        delta = d_ax + d_xb - d_ab
    else:
        delta = t_ax + t_xb - _travels(_pairs(problem.time_s, a, b), gaps.speed)
    delta = delta + gaps.fixed
    start = _earliest_starts(merge_windows(stop.windows), gaps.ready + t_ax)
    ok = (start > _NEVER) & (start + stop.service_s + t_xb <= gaps.latest)
    goods = np.array([stop.weight_kg, stop.volume_l])
    carried = gaps.load_before if stop.kind == "delivery" else gaps.load_after
    ok &= np.all(carried + goods <= gaps.capacity + _TOL_LOAD, axis=1)
    ok &= gaps.riding_m + d_ax + d_xb - d_ab <= gaps.range_m
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(delta[idx], kind="stable")]
    return order, delta[order]


def _travel(t: int, f: float) -> int:
    return t if f == 1.0 else int(np.floor(t / f + 0.5))


def _travels(t: np.ndarray, f: np.ndarray) -> np.ndarray:
    """:func:`~backend.dispatch.windows.travel_time` of each matrix time over its speed factor."""
    return np.where(f == 1.0, t, np.floor(t / f + 0.5)).astype(np.int64)


def _earliest_starts(windows: list[tuple[int, int]], arrive: np.ndarray) -> np.ndarray:
    """:func:`~backend.dispatch.windows.earliest_start` of each arrival (``_NEVER``: none)."""
    if not windows:
        return arrive
    out = np.full(arrive.shape, _NEVER, dtype=np.int64)
    for lo, hi in reversed(windows):  # the first window still open wins: fill from the last
        out = np.where(arrive <= hi, np.maximum(arrive, lo), out)
    return out


def _column(m: Any, rows: np.ndarray, col: int) -> np.ndarray:
    if isinstance(m, np.ndarray):
        return np.asarray(m[rows, col], dtype=np.int64)
    return np.array([m[r][col] for r in rows.tolist()], dtype=np.int64)


def _row(m: Any, row: int, cols: np.ndarray) -> np.ndarray:
    if isinstance(m, np.ndarray):
        return np.asarray(m[row, cols], dtype=np.int64)
    line = m[row]
    return np.array([line[c] for c in cols.tolist()], dtype=np.int64)


def _pairs(m: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if isinstance(m, np.ndarray):
        return np.asarray(m[rows, cols], dtype=np.int64)
    return np.array([m[r][c] for r, c in zip(rows.tolist(), cols.tolist(), strict=True)], dtype=np.int64)
