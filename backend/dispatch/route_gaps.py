"""Where one more stop may go: every gap of every route, judged at once.

Pure, like the rest of :mod:`backend.dispatch`. A quick re-plan puts stops into the
routes in force one at a time (:mod:`backend.dispatch.quick`), and checking a whole
route for each place it tries (:func:`~backend.dispatch.feasibility.check_route`, about
half a millisecond for a route of 50 stops) limited it to the few couriers nearest
a stop: handing out a courier's whole route (out of service), it mostly met a stop that
fits none of them, and the answer waited for the solver.

A route is kept here as its gaps (between the start, each stop, each reload at the
hub and the end hub): per gap the loop a stop put there rides on, when the bike leaves
the place before it at the earliest, the latest it may reach the place after it with
the rest of the route still in its windows and shift (the classic "latest arrival" of
insertion heuristics, over merged windows and through the reloads), the most it
carries in that loop before and after it, and its riding distance. :func:`fitting` tells
at once which gaps of all routes can take a stop on those four counts, and what each
costs; what passes is a necessary condition only (pins and the rest are the
checker's), so the caller checks the cheapest whole route that passes, and the next
if that fails. A shop and its door put in together (:func:`chain_fits`) carry the
shop's delay to the door, less the bike's waiting for windows on the way. The times
are those of :func:`~backend.dispatch.scheduling.schedule` (the earliest start from
the route's start, matrix time over the speed factor, rounded half up), so a gap this
refuses is one the checker would refuse too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backend.dispatch.model import Problem, Route, Stop, Vehicle
from backend.dispatch.windows import latest_start, merge_windows

__all__ = ["Gaps", "chain_detour", "chain_fits", "fitting", "join", "route_gaps"]

_TOL_LOAD = 1e-6  # as the checker's
_NEVER = -(1 << 60)


class Gaps(NamedTuple):
    """The gaps of one or more routes, one entry each, in route order (where a bike reloads
    between two stops, two gaps: the end of the loop before, and the start of the next)."""

    owner: np.ndarray  # which route (its index where routes were joined; 0 for one)
    position: np.ndarray  # where the stop would go in the route's stops
    loop: np.ndarray  # the loop a stop put in this gap rides on
    ridden: np.ndarray  # the route's first loop (the one ridden now); ``last``: its last
    last: np.ndarray
    before: np.ndarray  # the place before the gap (the start, a stop, or the hub after a reload)
    after: np.ndarray  # the place after it (a stop, the hub to reload at, or the end hub)
    ready: np.ndarray  # when the bike leaves ``before`` at the earliest
    latest: np.ndarray  # the latest it may reach ``after`` with the rest still feasible
    waited: np.ndarray  # the route's waiting for windows at its stops before the gap, in all
    load_here: np.ndarray  # (kg, L) on board when the bike leaves the place before the gap: (n, 2)
    load_before: np.ndarray  # (kg, L) the most on board from the loop's start up to the gap: (n, 2)
    load_after: np.ndarray  # (kg, L) the most on board from the gap to the loop's end: (n, 2)
    capacity: np.ndarray  # (kg, L) the bike's: (n, 2)
    riding_m: np.ndarray  # the route's distance
    range_m: np.ndarray  # the bike's range (inf: none)
    speed: np.ndarray  # the bike's speed factor
    fixed: np.ndarray  # the bike's fixed cost when its route is empty (a stop makes it used), else 0


def route_gaps(problem: Problem, v: Vehicle, route: Route, by_id: dict[str, Stop], owner: int = 0) -> Gaps:
    """The gaps of ``route``, timed as :func:`~backend.dispatch.scheduling.loop_route` timed it."""
    T = problem.time_s
    f = v.speed_factor
    seq = [by_id[ps.stop_id] for ps in route.stops]
    n = len(seq)
    loops = [ps.loop for ps in route.stops]
    breaks = {j: k for k, j in enumerate(j for j in range(1, n) if loops[j] != loops[j - 1])}
    hub = v.reload_place
    # backward: the latest arrival at each stop, and at the hub before each reload, that
    # keeps the rest of the route in its windows and its shift
    at_stop = [_NEVER] * n
    at_hub: dict[int, int] = {}
    nxt, nxt_place = v.shift.end, v.end_location
    for j in range(n - 1, -1, -1):
        s = seq[j]
        reach = nxt - _travel(int(T[s.location][nxt_place]), f) - s.service_s
        ls = latest_start(merge_windows(s.windows), reach) if nxt > _NEVER else None
        at_stop[j] = _NEVER if ls is None else ls
        nxt, nxt_place = at_stop[j], s.location
        if j in breaks:
            reach = at_stop[j] - _travel(int(T[hub][s.location]), f) - (v.reload_s or 0)
            at_hub[j] = reach if at_stop[j] > _NEVER else _NEVER
            nxt, nxt_place = at_hub[j], hub
    # what is on board at each point (the start, each reload, after each stop) and its loop
    points: list[tuple[int, float, float]] = [
        (loops[0] if n else 1, *_hub_goods(seq, loops, loops[0] if n else 1)),
    ]
    point_of_stop, point_of_reload = [0] * n, {}
    for j, ps in enumerate(route.stops):
        if j in breaks:
            rl = route.reloads[breaks[j]]
            point_of_reload[j] = len(points)
            points.append((loops[j], rl.load_kg, rl.load_l))
        point_of_stop[j] = len(points)
        points.append((loops[j], ps.load_kg, ps.load_l))
    on_board, pre, suf = _within_loops(points)
    # the gaps: (position, loop, before, after, ready, latest, the point before it)
    rows: list[tuple[int, int, int, int, int, int, int]] = []
    start_loop = loops[0] if n else 1
    first_after = (seq[0].location, at_stop[0]) if n else (v.end_location, v.shift.end)
    rows.append((0, start_loop, v.start_location, *first_after[:1], route.start_s, first_after[1], 0))
    for j in range(1, n + 1):
        prev, dep = seq[j - 1].location, route.stops[j - 1].departure_s
        here = point_of_stop[j - 1]
        if j == n:
            rows.append((j, loops[j - 1], prev, v.end_location, dep, v.shift.end, here))
        elif j in breaks:
            rows.append((j, loops[j - 1], prev, hub, dep, at_hub[j], here))
            out = route.reloads[breaks[j]].departure_s
            rows.append((j, loops[j], hub, seq[j].location, out, at_stop[j], point_of_reload[j]))
        else:
            rows.append((j, loops[j], prev, seq[j].location, dep, at_stop[j], here))
    cols = np.array(rows, dtype=np.int64)
    k = len(rows)
    waited = np.r_[0, np.cumsum([ps.start_s - ps.arrival_s for ps in route.stops], dtype=np.int64)]
    return Gaps(
        owner=np.full(k, owner, dtype=np.int64),
        position=cols[:, 0],
        loop=cols[:, 1],
        ridden=np.full(k, start_loop, dtype=np.int64),
        last=np.full(k, loops[-1] if n else 1, dtype=np.int64),
        before=cols[:, 2],
        after=cols[:, 3],
        ready=cols[:, 4],
        latest=cols[:, 5],
        waited=waited[cols[:, 0]],
        load_here=on_board[cols[:, 6]],
        load_before=pre[cols[:, 6]],
        load_after=suf[cols[:, 6]],
        capacity=np.tile([v.payload_kg, v.volume_l], (k, 1)),
        riding_m=np.full(k, route.distance_m, dtype=np.int64),
        range_m=np.full(k, np.inf if v.max_distance_m is None else v.max_distance_m, dtype=float),
        speed=np.full(k, f, dtype=float),
        fixed=np.full(k, v.fixed_cost if n == 0 else 0, dtype=np.int64),
    )


def _hub_goods(seq: list[Stop], loops: list[int], loop: int) -> tuple[float, float]:
    """What a loop's deliveries load at the hub (on board when it starts)."""
    mine = [s for s, lp in zip(seq, loops, strict=True) if lp == loop and s.kind == "delivery"]
    return sum(s.weight_kg for s in mine), sum(s.volume_l for s in mine)


def _within_loops(points: list[tuple[int, float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point what is on board (kg, L), the most from its loop's start up to it, and from it to its loop's end."""
    loads = np.array([(kg, lt) for _, kg, lt in points], dtype=float).reshape(-1, 2)
    pre, suf = loads.copy(), loads.copy()
    for i in range(1, len(points)):
        if points[i][0] == points[i - 1][0]:
            pre[i] = np.maximum(pre[i], pre[i - 1])
    for i in range(len(points) - 2, -1, -1):
        if points[i][0] == points[i + 1][0]:
            suf[i] = np.maximum(suf[i], suf[i + 1])
    return loads, pre, suf


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


def chain_fits(problem: Problem, gaps: Gaps, stops: list[Stop], at: list[np.ndarray]) -> np.ndarray:
    """Whether ``stops`` (a shop's pickups and their door, in route order) put in together at
    the gaps ``at`` (an array of candidate places per stop: gaps of one loop in route order,
    equal where two go into one gap) keep every window and the shift, one flag per candidate.

    :func:`fitting` judges each stop alone; together, a pickup's delay reaches its door, less
    what the bike waited for windows on the way (push-forward), and the door's delay every
    stop after it. Where the route's stops have several windows the delay may grow (a window
    missed, the next one waited for), so this is a necessary condition, as ``fitting``'s."""
    T = problem.time_s
    m = len(at[0]) if at else 0
    ok = np.ones(m, dtype=bool)
    depart = carry = np.zeros(m, dtype=np.int64)
    for k, (stop, g) in enumerate(zip(stops, at, strict=True)):
        f = gaps.speed[g]
        x = stop.location
        arrive = gaps.ready[g] + _travels(_column(T, gaps.before[g], x), f)
        if k:
            prev, before = at[k - 1], stops[k - 1].location
            # an earlier arrival (a shorter way round) is passed on whole: a lower bound either way
            gone = gaps.waited[g] - gaps.waited[prev]
            shift = np.where(carry <= 0, carry, np.maximum(0, carry - gone))
            t_prev = _travels(np.full(m, int(T[before][x]), dtype=np.int64), f)
            arrive = np.where(g == prev, depart + t_prev, arrive + shift)
        start = _earliest_starts(merge_windows(stop.windows), arrive)
        ok &= start > _NEVER
        depart = start + stop.service_s
        leaving = at[k + 1] != g if k + 1 < len(at) else np.ones(m, dtype=bool)
        reach = depart + _travels(_row(T, x, gaps.after[g]), f)
        ok &= ~leaving | (reach <= gaps.latest[g])
        was = gaps.ready[g] + _travels(_pairs(T, gaps.before[g], gaps.after[g]), f)
        carry = np.where(leaving, reach - was, carry)
    return ok


def chain_detour(problem: Problem, gaps: Gaps, stops: list[Stop], at: list[np.ndarray]) -> np.ndarray:
    """What ``stops`` put in together at the gaps ``at`` (as :func:`chain_fits`) add to the
    objective beyond the sum of their :func:`fitting` deltas, one figure per candidate.

    Each delta rides from the gap's place before to the stop and on to its place after.
    Where two stops follow each other in one gap the bike rides from the first straight to
    the second instead, and a bike's fixed cost (its first stop) counts once: a shop next
    door to its customer costs one detour, not two."""
    m = len(at[0]) if at else 0
    extra = np.zeros(m, dtype=np.int64)
    for k in range(1, len(stops)):
        g = at[k]
        same = g == at[k - 1]
        if not same.any():
            continue
        p, x = stops[k - 1].location, stops[k].location
        a, b, f = gaps.before[g], gaps.after[g], gaps.speed[g]
        ride = _legs(problem, f, p, x) - _legs(problem, f, p, b) - _legs(problem, f, a, x) + _legs(problem, f, a, b)
        extra += np.where(same, ride - gaps.fixed[g], 0)
    return extra


def _legs(problem: Problem, speed: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """What riding from places ``a`` to ``b`` (arrays as long as ``speed``, or one place)
    adds to the objective at each speed factor: riding seconds, or metres by distance."""
    a, b, _ = np.broadcast_arrays(np.asarray(a), np.asarray(b), speed)
    if problem.cost == "distance":
        return _pairs(problem.dist_m, a, b)
    return _travels(_pairs(problem.time_s, a, b), speed)


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
