"""Solve a :class:`~backend.dispatch.model.Problem` with OR-Tools routing.

Pure: no web, database or network imports. ``solve`` is synchronous and holds
the GIL for the whole search, so a server must call it through
:func:`solve_async` / :func:`solve_in_pool` (a process pool), never on the
event loop or in a thread.

Model in short
--------------
* One routing node per plannable stop, plus one depot node per distinct hub
  location used as a start or end (vehicles may start and end at different
  hubs). All arc data are node-indexed matrices registered with
  ``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector`` (no Python
  callbacks in the search loop).
* Time: one transit matrix per distinct ``speed_factor``
  (``round(time / factor)`` + service time of the *from* node), waiting allowed
  (slack), service-start windows on the stop cumuls (hull + removed gaps for
  several windows), shifts on the route start/end cumuls.
* Loads (payload in grams, volume in decilitres): a hub-loaded delivery has a
  negative demand and the start cumul is free, so the start load is what the
  route will hand over; a pickup is positive; a delivery with pickups unloads
  what its pickups collected *plus* its own ``weight_kg``/``volume_l``, which
  (as for every delivery) is loaded at the hub. A pickup that no
  delivery names is a return and stays on board to the end hub. With returns
  and hub-loaded deliveries on one route, the free start cumul could
  under-state the start load (a return collected before a hub parcel is handed
  over lowers the minimum start load). An extra "returns" dimension and the
  constraint ``load(end) >= returns(end)`` (which is ``load(start) >= hub
  goods of the route``) closes that gap.
* Pickup and delivery: OR-Tools 9.15 keeps one pickup/delivery position per
  node, so a node must not be in several ``AddPickupAndDelivery`` pairs (the
  second pair silently overwrites the first position; debug builds abort), and
  ``AddPickupAndDeliverySets`` means *alternatives*, not "all of". Extra
  same-vehicle/same-activity constraints on a third node were tried: no
  insertion heuristic or local-search move can then activate or move the
  group (3+ nodes at once), so whole groups got dropped. What works: the
  shops feeding one door become one *chain node* (entered at the first shop,
  left at the last; its transit carries the inner services and rides; its
  window is the set of start times that fit every shop's window, with the
  waits of an anchored schedule kept as fixed offsets), paired natively with
  the door. The order of the shops is the shortest one that fits (exhaustive
  up to 6 shops, nearest neighbour beyond). Limitation: no other stop between
  the shops of one door. Every pair also gets the explicit ``ActiveVar`` and
  ``VehicleVar`` equalities and a time precedence (``AddPickupAndDelivery``
  alone did not keep a pair's activity equal in a test with returns).
* First solution: ``PATH_CHEAPEST_ARC`` (better than
  ``PARALLEL_CHEAPEST_INSERTION`` on Solomon at 10 s: 2.1% vs 2.5% mean gap on
  8 instances), falling back to other strategies when it leaves stops out
  (it fails with the returns constraint); the metaheuristic then starts from
  the best first solution. Guided local search, lambda 0.3. With
  ``initial_routes`` (re-planning) the routes in force are restored with
  ``ReadAssignmentFromRoutes`` and are the first solution instead.
* Every stop is optional (disjunction with a large penalty); stops that no
  vehicle could serve even alone are diagnosed before the solve and never
  enter the model. Groups (pickups + their delivery) stay whole.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import itertools
import math
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from backend.dispatch.model import (
    Plan,
    PlannedStop,
    Problem,
    Route,
    Stop,
    Unplanned,
    UnplannedReason,
    Vehicle,
    Window,
)

__all__ = [
    "DEFAULT_FIRST_SOLUTION",
    "DEFAULT_METAHEURISTIC",
    "diagnose",
    "get_pool",
    "shutdown_pool",
    "solve",
    "solve_async",
    "solve_in_pool",
    "travel_time",
]

DEFAULT_FIRST_SOLUTION = "PATH_CHEAPEST_ARC"
GLS_LAMBDA = 0.3
# tried in this order when no first_solution is given, until one plans every stop
FALLBACK_FIRST_SOLUTIONS = (DEFAULT_FIRST_SOLUTION, "PARALLEL_CHEAPEST_INSERTION", "SAVINGS")
DEFAULT_METAHEURISTIC = "GUIDED_LOCAL_SEARCH"

GRAMS_PER_KG = 1000
DL_PER_L = 10
_BIG = 1 << 40  # "unlimited" for capacities, comfortably inside int64 sums
_MAX_GROUP_PERMUTATIONS = 720  # groups of up to 6 pickups are checked exactly

_STATUS_WORDS = {
    0: "not solved",
    1: "feasible",
    2: "feasible",
    3: "no solution",
    4: "no solution (time limit)",
    5: "invalid model",
    6: "infeasible",
    7: "optimal",
}


def travel_time(time_s: int, speed_factor: float) -> int:
    """Travel time of a bike with ``speed_factor`` over a matrix time (rounded half up)."""
    if speed_factor == 1.0:
        return int(time_s)
    return math.floor(time_s / speed_factor + 0.5)


def _scaled(value: float, unit: int) -> int:
    if math.isinf(value) or value * unit >= _BIG:
        return _BIG
    return round(value * unit)


def _merge_windows(windows: tuple[Window, ...]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        if w.end < w.start:
            continue
        if out and w.start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], w.end))
        else:
            out.append((w.start, w.end))
    return out


def _earliest_start(windows: list[tuple[int, int]], t: int) -> int | None:
    """Earliest service start >= t inside one of the merged windows (None if none)."""
    if not windows:
        return t
    for a, b in windows:
        if t <= b:
            return max(t, a)
    return None


def _latest_start(windows: list[tuple[int, int]], t: int) -> int | None:
    """Latest service start <= t inside one of the merged windows (None if none)."""
    if not windows:
        return t
    for a, b in reversed(windows):
        if t >= a:
            return min(t, b)
    return None


# --------------------------------------------------------------------------- #
# Problem analysis: groups and the solver-independent diagnosis
# --------------------------------------------------------------------------- #


@dataclass
class _Group:
    """Stops that must be planned together: pickups then their delivery, or one stop."""

    members: list[int]  # stop positions; for a pickup group the delivery is last
    delivery: int | None = None  # position of the delivery fed by pickups
    pickups: list[int] = field(default_factory=list)
    vehicles: list[int] = field(default_factory=list)  # allowed by the problem
    feasible: list[int] = field(default_factory=list)  # could serve the group alone
    reason: UnplannedReason | None = None
    detail: str = ""
    reason_stop: int | None = None  # the stop the reason is about


def _validate(problem: Problem) -> None:
    n = len(problem.time_s)
    if (
        len(problem.dist_m) != n
        or any(len(r) != n for r in problem.time_s)
        or any(len(r) != n for r in problem.dist_m)
    ):
        raise ValueError("time_s and dist_m must be square matrices of the same size")
    ids = [s.id for s in problem.stops]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate stop ids: {dup[:5]}")
    vids = [v.id for v in problem.vehicles]
    if len(set(vids)) != len(vids):
        raise ValueError("duplicate vehicle ids")
    for s in problem.stops:
        if not 0 <= s.location < n:
            raise ValueError(f"stop {s.id}: location {s.location} outside the matrix")
        if s.kind == "pickup" and s.pickups:
            raise ValueError(f"stop {s.id}: a pickup cannot name pickups")
        if s.service_s < 0 or s.weight_kg < 0 or s.volume_l < 0:
            raise ValueError(f"stop {s.id}: negative service time, weight or volume")
    for v in problem.vehicles:
        for loc in (v.start_location, v.end_location):
            if not 0 <= loc < n:
                raise ValueError(f"vehicle {v.id}: location {loc} outside the matrix")
        if v.speed_factor <= 0:
            raise ValueError(f"vehicle {v.id}: speed_factor must be positive")
    named: dict[str, str] = {}
    for s in problem.stops:
        for p in s.pickups:
            if p in named and named[p] != s.id:
                raise ValueError(f"pickup {p} is named by two deliveries ({named[p]}, {s.id})")
            named[p] = s.id


def _vehicle_check(
    problem: Problem,
    stops: list[Stop],
    orders: list[list[int]],
    windows: list[list[tuple[int, int]]],
    v: Vehicle,
    peak_g: int,
    peak_dl: int,
) -> list[str]:
    """Why vehicle ``v`` cannot serve the group alone (empty list: it can)."""
    fails: list[str] = []
    if peak_g > _scaled(v.payload_kg, GRAMS_PER_KG):
        fails.append("too_heavy")
    if peak_dl > _scaled(v.volume_l, DL_PER_L):
        fails.append("too_big")
    T, D = problem.time_s, problem.dist_m
    range_any = time_any = both = False
    for order in orders:
        prev = v.start_location
        dist = 0
        t = v.shift.start
        ok_time = True
        for k in order:
            s = stops[k]
            dist += D[prev][s.location]
            t += travel_time(T[prev][s.location], v.speed_factor)
            st = _earliest_start(windows[k], t)
            if st is None:
                ok_time = False
                break
            t = st + s.service_s
            prev = s.location
        if ok_time:
            dist += D[prev][v.end_location]
            t += travel_time(T[prev][v.end_location], v.speed_factor)
            ok_time = t <= v.shift.end
        else:
            dist = sum(
                D[a][b]
                for a, b in itertools.pairwise(
                    [v.start_location] + [stops[k].location for k in order] + [v.end_location]
                )
            )
        ok_range = v.max_distance_m is None or dist <= v.max_distance_m
        range_any |= ok_range
        time_any |= ok_time
        if ok_range and ok_time:
            both = True
            break
    if not both:
        if not range_any:
            fails.append("beyond_range")
        if not time_any:
            fails.append("window_unreachable")
        if range_any and time_any:
            fails.append("window_unreachable")  # not both within one visit order
    return fails


_REASON_ORDER: tuple[UnplannedReason, ...] = (
    "too_heavy",
    "too_big",
    "beyond_range",
    "window_unreachable",
)
_REASON_WORDS = {
    "too_heavy": "heavier than the payload",
    "too_big": "more volume than the box",
    "beyond_range": "round trip beyond the battery range",
    "window_unreachable": "cannot be served within its window and the shift",
}


def _build_groups(problem: Problem) -> list[_Group]:
    """Groups with allowed and feasible vehicles and, for hopeless ones, a reason."""
    stops = list(problem.stops)
    vehicles = problem.vehicles
    pos = {s.id: i for i, s in enumerate(stops)}
    vpos = {v.id: i for i, v in enumerate(vehicles)}
    named = {p for s in stops for p in s.pickups}
    windows = [_merge_windows(s.windows) for s in stops]
    groups: list[_Group] = []
    for i, s in enumerate(stops):
        if s.kind == "pickup" and s.id in named:
            continue  # joins its delivery's group
        if s.kind == "delivery" and s.pickups:
            known = [pos[p] for p in s.pickups if p in pos and stops[pos[p]].kind == "pickup"]
            g = _Group(members=known + [i], delivery=i, pickups=known)
            unknown = [p for p in s.pickups if p not in pos or stops[pos[p]].kind != "pickup"]
            if unknown:
                g.reason, g.reason_stop = "pickup_unplanned", i
                g.detail = f"pickup {unknown[0]} is not a pickup stop of this problem"
                groups.append(g)
                continue
        else:
            g = _Group(members=[i])
        groups.append(g)

    for g in groups:
        if g.reason is not None:
            continue
        allowed = set(range(len(vehicles)))
        for k in g.members:
            if stops[k].vehicles:
                allowed &= {vpos[v] for v in stops[k].vehicles if v in vpos}
        g.vehicles = sorted(allowed)
        if not g.vehicles:
            g.reason, g.reason_stop = "no_vehicle", g.members[-1]
            g.detail = (
                "no vehicle is allowed to serve it"
                if len(g.members) == 1
                else "its pickups and delivery allow no common vehicle"
            )
            continue
        # Per stop first (so the reason names the stop that is hopeless), then the group.
        members_to_check = [[k] for k in g.members] if len(g.members) > 1 else []
        members_to_check.append(g.members)
        for sub in members_to_check:
            if len(sub) == 1:
                s = stops[sub[0]]
                peak_g = _scaled(s.weight_kg, GRAMS_PER_KG)
                peak_dl = _scaled(s.volume_l, DL_PER_L)
                orders = [sub]
            else:
                peak_g = sum(_scaled(stops[k].weight_kg, GRAMS_PER_KG) for k in g.members)
                peak_dl = sum(_scaled(stops[k].volume_l, DL_PER_L) for k in g.members)
                if math.factorial(len(g.pickups)) <= _MAX_GROUP_PERMUTATIONS:
                    orders = [list(p) + [g.delivery] for p in itertools.permutations(g.pickups)]
                else:
                    orders = []  # too many orders to check: let the solver decide
            if len(sub) == 1 and stops[sub[0]].kind == "delivery" and stops[sub[0]].pickups:
                # the shops' goods are checked with the group; alone it carries its own part
                peak_g = _scaled(stops[sub[0]].weight_kg, GRAMS_PER_KG)
                peak_dl = _scaled(stops[sub[0]].volume_l, DL_PER_L)
            per_vehicle: dict[int, list[str]] = {}
            for vi in g.vehicles:
                if orders:
                    fails = _vehicle_check(
                        problem, stops, orders, windows, vehicles[vi], peak_g, peak_dl
                    )
                else:
                    fails = []
                per_vehicle[vi] = fails
            ok = [vi for vi, f in per_vehicle.items() if not f]
            if ok:
                if sub is g.members:
                    g.feasible = ok
                continue
            counts = {r: sum(r in f for f in per_vehicle.values()) for r in _REASON_ORDER}
            universal = [r for r in _REASON_ORDER if counts[r] == len(per_vehicle)]
            reason = universal[0] if universal else max(_REASON_ORDER, key=lambda r: counts[r])
            who = (
                f"stop {stops[sub[0]].id}"
                if len(sub) == 1
                else f"pickups {', '.join(stops[k].id for k in g.pickups)} with delivery "
                f"{stops[g.delivery].id}"  # type: ignore[index]
            )
            parts = "; ".join(
                f"{vehicles[vi].id}: {', '.join(f)}" for vi, f in list(per_vehicle.items())[:5]
            )
            g.reason = reason  # type: ignore[assignment]
            g.reason_stop = sub[0] if len(sub) == 1 else g.delivery
            g.detail = f"{who}: {_REASON_WORDS[reason]} for every allowed bike ({parts})"
            break
    return groups


def _unplanned_for_group(stops: list[Stop], g: _Group) -> list[Unplanned]:
    out = []
    for k in g.members:
        s = stops[k]
        if g.reason == "pickup_unplanned" or k == g.reason_stop or len(g.members) == 1:
            reason = g.reason
            detail = g.detail
        elif s.kind == "delivery":
            reason = "pickup_unplanned"
            detail = f"depends on {stops[g.reason_stop].id}: {g.detail}"  # type: ignore[index]
        else:
            reason = g.reason if g.reason_stop == g.delivery else "pickup_unplanned"
            detail = f"planned together with {stops[g.reason_stop].id}: {g.detail}"  # type: ignore[index]
        out.append(Unplanned(stop_id=s.id, reason=reason, detail=detail))  # type: ignore[arg-type]
    return out


def diagnose(problem: Problem) -> list[Unplanned]:
    """The stops no allowed vehicle could serve even alone, with a reason (solver-free)."""
    _validate(problem)
    stops = list(problem.stops)
    out: list[Unplanned] = []
    for g in _build_groups(problem):
        if g.reason is not None:
            out.extend(_unplanned_for_group(stops, g))
    return out


# --------------------------------------------------------------------------- #
# The OR-Tools model
# --------------------------------------------------------------------------- #


def _enum(enum_type: Any, name: str) -> int:
    try:
        return int(enum_type.Value.Value(name.upper()))
    except ValueError as exc:
        raise ValueError(f"unknown OR-Tools strategy {name!r}") from exc


def _schedule(
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
            st = _earliest_start(windows[k], arr)
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
        ls = _latest_start(windows[k], latest - stops[k].service_s)
        if ls is None:
            return v.shift.start, first[0], end  # keep the earliest schedule
        latest = ls - legs[j]
    dep = max(v.shift.start, latest)
    second = forward(dep)
    if second is None or second[1] > end:
        return v.shift.start, first[0], end
    return dep, second[0], second[1]


@dataclass
class _Node:
    """A routing node: one stop, a chain of shops visited back to back, or a hub."""

    members: list[int]  # stop positions in visiting order (empty for a hub)
    entry: int  # location where the node is entered
    exit: int  # location where it is left
    inner_t: dict[float, int]  # time from service start at entry to leaving, per speed factor
    inner_travel: dict[float, int] = field(default_factory=dict)  # travel part of inner_t
    inner_d: int = 0  # distance ridden inside the node
    windows: list[tuple[int, int]] = field(default_factory=list)  # service start at entry
    dem_g: int = 0
    dem_dl: int = 0
    kind: str = "hub"  # hub_delivery | pickup_delivery | pickup | return | chain | hub
    group: _Group | None = None


def _simple_node(
    stops: list[Stop], k: int, windows: list[list[tuple[int, int]]], factors: list[float]
) -> _Node:
    s = stops[k]
    if s.kind == "pickup":
        kind = "pickup"  # set to "return" below when no delivery names it
        g, dl = _scaled(s.weight_kg, GRAMS_PER_KG), _scaled(s.volume_l, DL_PER_L)
    elif s.pickups:
        kind = "pickup_delivery"
        by_id = {st.id: st for st in stops}
        # Hands over the shops' goods and its own hub-loaded part.
        g = -sum(_scaled(by_id[p].weight_kg, GRAMS_PER_KG) for p in s.pickups) - _scaled(
            s.weight_kg, GRAMS_PER_KG
        )
        dl = -sum(_scaled(by_id[p].volume_l, DL_PER_L) for p in s.pickups) - _scaled(
            s.volume_l, DL_PER_L
        )
    else:
        kind = "hub_delivery"
        g, dl = -_scaled(s.weight_kg, GRAMS_PER_KG), -_scaled(s.volume_l, DL_PER_L)
    return _Node(
        members=[k],
        entry=s.location,
        exit=s.location,
        inner_t={f: s.service_s for f in factors},
        windows=list(windows[k]),
        dem_g=g,
        dem_dl=dl,
        kind=kind,
    )


_OPEN = [(-_BIG, _BIG)]


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _chain(
    problem: Problem,
    pickups: list[int],
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    domain_factors: set[float] | None = None,
) -> _Node | None:
    """The shops of one door as one node, visited back to back in the best order.

    OR-Tools pairs one pickup with one delivery; a door fed by several shops
    becomes a native pair (chain node, door). The chain's order is the shortest
    one whose windows leave a common start time for every speed factor; inside
    it the bike does not wait. None if no order fits.
    """
    stops = problem.stops
    T, D = problem.time_s, problem.dist_m
    if math.factorial(len(pickups)) <= _MAX_GROUP_PERMUTATIONS:
        orders = [list(p) for p in itertools.permutations(pickups)]
    else:  # nearest neighbour from the first shop
        order = [pickups[0]]
        rest = set(pickups[1:])
        while rest:
            here = stops[order[-1]].location
            nxt = min(rest, key=lambda k: D[here][stops[k].location])
            order.append(nxt)
            rest.remove(nxt)
        orders = [order]
    first_starts = sorted({a for k in pickups for a, _ in windows[k]}) or [0]
    best: tuple[int, _Node] | None = None
    for order, anchor in itertools.product(orders, [None, *first_starts]):
        # anchor None: no waiting inside the chain; else the waits of the earliest
        # schedule that starts at ``anchor`` are kept as fixed offsets
        domain = list(_OPEN)
        inner_t: dict[float, int] = {}
        inner_travel: dict[float, int] = {}
        for f in factors:
            off = 0
            travel = 0
            t = anchor
            for j, k in enumerate(order):
                if j:
                    leg = travel_time(T[stops[order[j - 1]].location][stops[k].location], f)
                    off += stops[order[j - 1]].service_s + leg
                    travel += leg
                if t is not None:
                    st = _earliest_start(windows[k], anchor + off)
                    if st is None:
                        domain = []
                        break
                    off = st - anchor
                if windows[k] and (domain_factors is None or f in domain_factors):
                    domain = _intersect(domain, [(a - off, b - off) for a, b in windows[k]])
            inner_t[f] = off + stops[order[-1]].service_s
            inner_travel[f] = travel
        if not domain:
            continue
        dist = sum(D[stops[a].location][stops[b].location] for a, b in itertools.pairwise(order))
        score = inner_t[factors[0]] * 1_000_000 + dist
        if best is None or score < best[0]:
            node = _Node(
                members=order,
                entry=stops[order[0]].location,
                exit=stops[order[-1]].location,
                inner_t=inner_t,
                inner_travel=inner_travel,
                inner_d=dist,
                windows=[] if domain == _OPEN else domain,
                dem_g=sum(_scaled(stops[k].weight_kg, GRAMS_PER_KG) for k in order),
                dem_dl=sum(_scaled(stops[k].volume_l, DL_PER_L) for k in order),
                kind="chain",
            )
            best = (score, node)
    return None if best is None else best[1]


def _nothing_to_route(unplanned: list[Unplanned], t0: float) -> Plan:
    return Plan(routes=(), unplanned=tuple(unplanned), cost=0, distance_m=0, duration_s=0,
                solve_s=time.perf_counter() - t0, status="optimal")


def solve(
    problem: Problem,
    time_limit_s: float = 10.0,
    *,
    first_solution: str | None = None,
    metaheuristic: str | None = None,
    search_overrides: str | None = None,
    log_search: bool = False,
    initial_routes: dict[str, list[str]] | None = None,
) -> Plan:
    """Plan ``problem`` within about ``time_limit_s`` seconds (wall clock, model build included).

    ``first_solution`` / ``metaheuristic`` name OR-Tools ``FirstSolutionStrategy`` /
    ``LocalSearchMetaheuristic`` values (defaults: ``DEFAULT_FIRST_SOLUTION``,
    ``DEFAULT_METAHEURISTIC``). ``search_overrides`` is merged into the
    ``RoutingSearchParameters`` as protobuf text (e.g.
    ``"guided_local_search_lambda_coefficient: 0.2"``), for tuning and portfolios.

    ``initial_routes`` (vehicle id -> stop ids in visiting order, e.g. the routes
    in force) warm-starts the search: the routes are restored as the first
    solution (see :func:`_initial_node_sequences`) and the metaheuristic runs from
    there for the remaining time, instead of the first-solution strategies.
    Unknown vehicles or stops, and stops that cannot be planned, are ignored.
    If OR-Tools rejects the routes (e.g. a window can no longer be met), the
    solve falls back to the usual first-solution strategies.
    """
    t0 = time.perf_counter()
    _validate(problem)
    stops = list(problem.stops)
    vehicles = list(problem.vehicles)
    groups = _build_groups(problem)
    unplanned: list[Unplanned] = []
    plannable: list[_Group] = []
    for g in groups:
        if g.reason is not None:
            unplanned.extend(_unplanned_for_group(stops, g))
        else:
            plannable.append(g)

    if not plannable or not vehicles:
        return _nothing_to_route(unplanned, t0)

    windows = [_merge_windows(s.windows) for s in stops]
    factors = sorted({v.speed_factor for v in vehicles})
    T_full = np.asarray(problem.time_s, dtype=np.int64)
    D_full = np.asarray(problem.dist_m, dtype=np.int64)

    # ---- nodes: one per plannable stop, except that the shops feeding one door are
    # visited back to back as one "chain" node (see _chain); then one node per hub
    nodes: list[_Node] = []
    pair_nodes: list[tuple[int, int]] = []  # (pickup node, delivery node)
    for g in plannable:
        if g.delivery is not None and len(g.pickups) > 1:
            chain = _chain(
                problem, g.pickups, windows, factors, {vehicles[v].speed_factor for v in g.feasible}
            )
            if chain is None:
                g.reason, g.reason_stop = "window_unreachable", g.delivery
                g.detail = (
                    f"the shops {', '.join(stops[k].id for k in g.pickups)} cannot be visited"
                    f" back to back within their windows"
                )
                unplanned.extend(_unplanned_for_group(stops, g))
                continue
            nodes.append(chain)
            pair_nodes.append((len(nodes) - 1, len(nodes)))
            nodes.append(_simple_node(stops, g.delivery, windows, factors))
            nodes[-1].group = g
            nodes[-2].group = g
            continue
        first = len(nodes)
        for k in g.members:
            nodes.append(_simple_node(stops, k, windows, factors))
            nodes[-1].group = g
            if g.delivery is None and nodes[-1].kind == "pickup":
                nodes[-1].kind = "return"  # no delivery names it: back to the end hub
        if g.delivery is not None:
            pair_nodes.append((first, first + 1))
    if not nodes:
        return _nothing_to_route(unplanned, t0)
    n_stop_nodes = len(nodes)
    hub_locs = sorted({v.start_location for v in vehicles} | {v.end_location for v in vehicles})
    hub_node = {loc: n_stop_nodes + i for i, loc in enumerate(hub_locs)}
    for loc in hub_locs:
        nodes.append(_Node(members=[], entry=loc, exit=loc, inner_t={f: 0 for f in factors}))
    n_nodes = len(nodes)
    entry = np.array([nd.entry for nd in nodes], dtype=np.int64)
    exit_ = np.array([nd.exit for nd in nodes], dtype=np.int64)
    inner_d = np.array([nd.inner_d for nd in nodes], dtype=np.int64)
    T = T_full[np.ix_(exit_, entry)]
    D = D_full[np.ix_(exit_, entry)] + inner_d[:, None]

    manager = pywrapcp.RoutingIndexManager(
        n_nodes,
        len(vehicles),
        [hub_node[v.start_location] for v in vehicles],
        [hub_node[v.end_location] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    # ---- time: one matrix per speed factor (travel + time spent at the from-node)
    travel_by_factor: dict[float, np.ndarray] = {}
    time_cb: dict[float, int] = {}
    for f in factors:
        tf = T if f == 1.0 else np.floor(T / f + 0.5).astype(np.int64)
        travel_by_factor[f] = tf
        inner = np.array([nd.inner_t[f] for nd in nodes], dtype=np.int64)
        time_cb[f] = routing.RegisterTransitMatrix((tf + inner[:, None]).tolist())
    dist_cb = routing.RegisterTransitMatrix(D.tolist())

    # ---- arc costs
    if problem.cost == "distance":
        routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
        max_arc = int(D.max()) if D.size else 0
    else:
        cost_cb = {}
        for f in factors:
            # the travel inside a chain node is part of its cost, its service times are not
            inner_travel = np.array([nd.inner_travel.get(f, 0) for nd in nodes], dtype=np.int64)
            cost_cb[f] = routing.RegisterTransitMatrix(
                (travel_by_factor[f] + inner_travel[:, None]).tolist()
            )
        for vi, v in enumerate(vehicles):
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[v.speed_factor], vi)
        max_arc = int(max(m.max() for m in travel_by_factor.values())) if T.size else 0
        max_arc += int(max((max(nd.inner_travel.values(), default=0) for nd in nodes), default=0))
    max_fixed = 0
    for vi, v in enumerate(vehicles):
        if v.fixed_cost:
            routing.SetFixedCostOfVehicle(int(v.fixed_cost), vi)
            max_fixed = max(max_fixed, int(v.fixed_cost))

    horizon = max(v.shift.end for v in vehicles)
    horizon = max(horizon, max((w[-1][1] for w in windows if w), default=0))
    routing.AddDimensionWithVehicleTransits(
        [time_cb[v.speed_factor] for v in vehicles], horizon, horizon, False, "Time"
    )
    time_dim = routing.GetDimensionOrDie("Time")
    for vi, v in enumerate(vehicles):
        lo, hi = max(0, v.shift.start), max(0, min(v.shift.end, horizon))
        time_dim.CumulVar(routing.Start(vi)).SetRange(lo, max(lo, hi))
        time_dim.CumulVar(routing.End(vi)).SetRange(lo, max(lo, hi))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(vi)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(vi)))
    for node in range(n_stop_nodes):
        w = [(max(0, a), min(horizon, b)) for a, b in nodes[node].windows]
        w = [(a, b) for a, b in w if a <= b]
        if not nodes[node].windows:
            continue
        cumul = time_dim.CumulVar(manager.NodeToIndex(node))
        if not w:  # cannot happen after the diagnosis; keep the model valid
            w = [(horizon, horizon)]
        cumul.SetRange(w[0][0], w[-1][1])
        for (_, b), (a, _) in itertools.pairwise(w):
            if b + 1 <= a - 1:
                cumul.RemoveInterval(b + 1, a - 1)

    # ---- loads: payload (g) and volume (dL)
    for name, cap_attr, dem_attr in (
        ("Payload", "payload_kg", "dem_g"),
        ("Volume", "volume_l", "dem_dl"),
    ):
        dem = [getattr(nd, dem_attr) for nd in nodes]
        if not any(dem):
            continue
        unit = GRAMS_PER_KG if name == "Payload" else DL_PER_L
        caps = [min(_scaled(getattr(v, cap_attr), unit), _BIG) for v in vehicles]
        cb = routing.RegisterUnaryTransitVector(dem)
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, False, name)
        dim = routing.GetDimensionOrDie(name)
        hub_loaded = any(
            nd.kind in ("hub_delivery", "pickup_delivery") and d
            for nd, d in zip(nodes, dem, strict=True)
        )
        rdem = [d if nd.kind == "return" else 0 for nd, d in zip(nodes, dem, strict=True)]
        if hub_loaded and any(rdem):
            # load(end) >= returns(end)  <=>  load(start) >= the route's hub-loaded goods
            rcb = routing.RegisterUnaryTransitVector(rdem)
            routing.AddDimensionWithVehicleCapacity(rcb, 0, caps, True, name + "Returns")
            rdim = routing.GetDimensionOrDie(name + "Returns")
            for vi in range(len(vehicles)):
                end = routing.End(vi)
                solver.Add(dim.CumulVar(end) >= rdim.CumulVar(end))

    # ---- battery range
    if any(v.max_distance_m is not None for v in vehicles):
        caps = [_BIG if v.max_distance_m is None else int(v.max_distance_m) for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(dist_cb, 0, caps, True, "Distance")

    # ---- penalties, allowed vehicles, pickup and delivery
    penalty = min(100 * (2 * max_arc + max_fixed) + 100_000, (1 << 62) // max(1, n_stop_nodes * 4))
    all_vehicles = set(range(len(vehicles)))
    for node in range(n_stop_nodes):
        i = manager.NodeToIndex(node)
        routing.AddDisjunction([i], penalty * len(nodes[node].members))
        g = nodes[node].group
        if g is not None and set(g.feasible) != all_vehicles:
            # SetAllowedVehiclesForIndex does not accept Python sequences in 9.15
            # (absl::Span typemap missing); removing values is equivalent.
            routing.VehicleVar(i).RemoveValues(sorted(all_vehicles - set(g.feasible)))
    for pn, dn in pair_nodes:
        p, d = manager.NodeToIndex(pn), manager.NodeToIndex(dn)
        routing.AddPickupAndDelivery(p, d)
        solver.Add(routing.ActiveVar(p) == routing.ActiveVar(d))
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))

    # ---- empty routes between different hubs still ride home
    for vi, v in enumerate(vehicles):
        if v.start_location != v.end_location:
            leg_t = travel_time(problem.time_s[v.start_location][v.end_location], v.speed_factor)
            leg_d = problem.dist_m[v.start_location][v.end_location]
            fits = v.shift.start + leg_t <= v.shift.end and (
                v.max_distance_m is None or leg_d <= v.max_distance_m
            )
            if fits:
                routing.SetVehicleUsedWhenEmpty(True, vi)

    # ---- search: cheap first solutions from one or more strategies, then the
    # metaheuristic from the best of them (a strategy can fail where another
    # succeeds, e.g. PATH_CHEAPEST_ARC with the returns constraint)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.local_search_metaheuristic = _enum(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic or DEFAULT_METAHEURISTIC
    )
    # measured on 8 Solomon instances at 10 s: mean gap 2.4% at 0.1 (the default),
    # 1.7% at 0.2, 1.2% at 0.3, 1.5% at 0.5
    params.guided_local_search_lambda_coefficient = GLS_LAMBDA
    params.log_search = log_search
    if search_overrides:
        text_format.Merge(search_overrides, params)
    strategies = [first_solution] if first_solution else list(FALLBACK_FIRST_SOLUTIONS)
    first_sol = None
    first_obj = None
    if initial_routes is not None:
        stop_node = {
            stops[k].id: node for node in range(n_stop_nodes) for k in nodes[node].members
        }
        node_seqs = _initial_node_sequences(
            vehicles, nodes, stop_node, pair_nodes, initial_routes
        )
        left = max(0.02, time_limit_s - (time.perf_counter() - t0) - 0.05)
        params.time_limit.FromMilliseconds(int(left * 1000))  # set again below
        routing.CloseModelWithParameters(params)
        restored = routing.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(n) for n in seq] for seq in node_seqs], True
        )
        if restored is not None:
            # a copy: the model's own assignment is reused by later solves
            first_sol = solver.Assignment(restored)
            strategies = []  # start from the routes in force, not from a heuristic
    for name in strategies:
        fp = pywrapcp.DefaultRoutingSearchParameters()
        fp.CopyFrom(params)
        fp.first_solution_strategy = _enum(routing_enums_pb2.FirstSolutionStrategy, name)
        fp.solution_limit = 1
        left = time_limit_s - (time.perf_counter() - t0)
        fp.time_limit.FromMilliseconds(int(max(0.02, left * 0.3) * 1000))
        sol = routing.SolveWithParameters(fp)
        if sol is not None:
            obj = sol.ObjectiveValue()
            if first_obj is None or obj < first_obj:
                first_sol, first_obj = routing.solver().Assignment(sol), obj
            stop_indices = (manager.NodeToIndex(n) for n in range(n_stop_nodes))
            if all(sol.Value(routing.NextVar(i)) != i for i in stop_indices):
                break  # nothing dropped: good enough to start from
    remaining = max(0.02, time_limit_s - (time.perf_counter() - t0) - 0.05)
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    if first_sol is not None:
        solution = routing.SolveFromAssignmentWithParameters(first_sol, params)
        if solution is None:
            solution = first_sol
    else:
        params.first_solution_strategy = _enum(
            routing_enums_pb2.FirstSolutionStrategy, strategies[-1]
        )
        solution = routing.SolveWithParameters(params)
    status = _STATUS_WORDS.get(routing.status(), f"status {routing.status()}")

    modelled = [g for g in plannable if g.reason is None]
    if solution is None:
        for g in modelled:
            for k in g.members:
                unplanned.append(
                    Unplanned(
                        stop_id=stops[k].id,
                        reason="no_capacity",
                        detail=f"the solver found no plan ({status})",
                    )
                )
        return Plan(
            routes=(),
            unplanned=tuple(unplanned),
            cost=0,
            distance_m=0,
            duration_s=0,
            solve_s=time.perf_counter() - t0,
            status=status,
        )

    # ---- read the answer
    routes: list[Route] = []
    planned: set[int] = set()
    for vi, v in enumerate(vehicles):
        seq: list[int] = []
        i = solution.Value(routing.NextVar(routing.Start(vi)))
        while not routing.IsEnd(i):
            seq.extend(nodes[manager.IndexToNode(i)].members)
            i = solution.Value(routing.NextVar(i))
        if not seq and v.start_location == v.end_location:
            continue
        if not seq and not routing.IsVehicleUsedWhenEmpty(vi):
            continue
        planned.update(seq)
        dep = solution.Value(time_dim.CumulVar(routing.Start(vi)))
        routes.append(_route(problem, v, seq, windows, dep))

    dropped = 0
    for g in modelled:
        for k in g.members:
            if k not in planned:
                dropped += 1
                unplanned.append(
                    Unplanned(
                        stop_id=stops[k].id,
                        reason="no_capacity",
                        detail="feasible alone, but no room left in the plan",
                    )
                )
    cost = int(solution.ObjectiveValue()) - dropped * penalty
    return Plan(
        routes=tuple(routes),
        unplanned=tuple(unplanned),
        cost=cost,
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=time.perf_counter() - t0,
        status=status,
    )


def _initial_node_sequences(
    vehicles: list[Vehicle],
    nodes: list[_Node],
    stop_node: dict[str, int],
    pair_nodes: list[tuple[int, int]],
    initial_routes: dict[str, list[str]],
) -> list[list[int]]:
    """Per vehicle (in problem order), the routing nodes of ``initial_routes``.

    Stop ids map to their node (the shops of one door share a chain node, which
    is kept once, where its first shop appears). Unknown vehicles and stop ids,
    stops that were not modelled (diagnosed unplannable), nodes seen before
    (on this or an earlier vehicle) and nodes on a vehicle that may not serve
    them are skipped; a pickup/delivery pair is kept only when both are on the
    same vehicle, pickup first. What is left is a partial solution whose
    missing stops start unperformed.
    """
    vpos = {v.id: vi for vi, v in enumerate(vehicles)}
    seqs: list[list[int]] = [[] for _ in vehicles]
    seen: set[int] = set()
    for vid, ids in initial_routes.items():
        vi = vpos.get(vid)
        if vi is None:
            continue
        for sid in ids:
            node = stop_node.get(sid)
            if node is None or node in seen:
                continue
            g = nodes[node].group
            if g is not None and vi not in g.feasible:
                continue
            seen.add(node)
            seqs[vi].append(node)
    where = {node: (vi, j) for vi, seq in enumerate(seqs) for j, node in enumerate(seq)}
    broken: set[int] = set()
    for pn, dn in pair_nodes:
        p, d = where.get(pn), where.get(dn)
        if p is None or d is None or p[0] != d[0] or p[1] > d[1]:
            broken.update((pn, dn))
    return [[n for n in seq if n not in broken] for seq in seqs]


def _route(
    problem: Problem,
    v: Vehicle,
    seq: list[int],
    windows: list[list[tuple[int, int]]],
    solver_departure: int,
) -> Route:
    stops = problem.stops
    D = problem.dist_m
    sched = _schedule(problem, v, seq, windows)
    if sched is None:  # should not happen: keep the solver's departure, report as is
        times = []
        t = solver_departure
        prev = v.start_location
        for k in seq:
            arr = t + travel_time(problem.time_s[prev][stops[k].location], v.speed_factor)
            st = _earliest_start(windows[k], arr)
            st = arr if st is None else st
            t = st + stops[k].service_s
            times.append((arr, st, t))
            prev = stops[k].location
        end = t + travel_time(problem.time_s[prev][v.end_location], v.speed_factor)
        sched = (solver_departure, times, end)
    dep, times, end = sched
    by_id = {s.id: s for s in stops}
    load_kg = sum(stops[k].weight_kg for k in seq if stops[k].kind == "delivery")
    load_l = sum(stops[k].volume_l for k in seq if stops[k].kind == "delivery")
    dist = 0
    prev = v.start_location
    out: list[PlannedStop] = []
    for k, (arr, st, dp) in zip(seq, times, strict=True):
        s = stops[k]
        dist += D[prev][s.location]
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
    dist += D[prev][v.end_location]
    return Route(
        vehicle_id=v.id,
        stops=tuple(out),
        start_s=dep,
        end_s=end,
        distance_m=dist,
        duration_s=end - dep,
    )


# --------------------------------------------------------------------------- #
# Process pool: OR-Tools holds the GIL, so never solve on the event loop
# --------------------------------------------------------------------------- #

_POOL: concurrent.futures.ProcessPoolExecutor | None = None


def get_pool(max_workers: int | None = None) -> concurrent.futures.ProcessPoolExecutor:
    """The module's solver pool (spawn context), created on first use."""
    global _POOL
    if _POOL is None:
        _POOL = concurrent.futures.ProcessPoolExecutor(
            max_workers=max_workers or os.cpu_count() or 1,
            mp_context=multiprocessing.get_context("spawn"),
        )
    return _POOL


def shutdown_pool(wait: bool = True) -> None:
    """Stop the module's pool (e.g. in the app's shutdown hook)."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=wait, cancel_futures=True)
        _POOL = None


def solve_in_pool(
    problem: Problem,
    time_limit_s: float = 10.0,
    *,
    executor: concurrent.futures.Executor | None = None,
    max_workers: int | None = None,
    **kwargs: Any,
) -> concurrent.futures.Future[Plan]:
    """Submit ``solve`` to a process pool; returns a concurrent Future of the Plan."""
    pool = executor or get_pool(max_workers)
    return pool.submit(solve, problem, time_limit_s, **kwargs)


async def solve_async(
    problem: Problem,
    time_limit_s: float = 10.0,
    executor: concurrent.futures.Executor | None = None,
    **kwargs: Any,
) -> Plan:
    """Await a plan computed in a process pool (the module pool unless one is given)."""
    loop = asyncio.get_running_loop()
    pool = executor or get_pool()
    return await loop.run_in_executor(
        pool, functools.partial(solve, problem, time_limit_s, **kwargs)
    )
