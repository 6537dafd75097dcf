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
  the best first solution. Guided local search, lambda 0.3. Big days (more
  than ``_COLD_INSERTION_NODES`` stop nodes) and days with locks or pins start
  instead from empty routes filled by a cheapest insertion in Python
  (:func:`_insert_unperformed`, all places of all routes checked at once with
  numpy): the strategies stall there (the returns constraint, pairs and locks
  left ~1,900 of 2,000 stops out); SAVINGS is skipped on big days (its memory)
  and the local search looks at ``_LS_NEIGHBORS`` neighbours per node (with all
  nodes as neighbours its first neighbourhood on 5,000 stops ran for minutes,
  past the time limit). With
  ``initial_routes`` (re-planning) the routes in force are restored with
  ``ReadAssignmentFromRoutes`` and are the first solution instead. OR-Tools
  refuses the whole assignment when one route breaks one rule, so each route
  is first simulated with the model's rules and repaired (stops it cannot
  serve in place are taken out, a late courier's route re-ordered), stops no
  route holds are inserted where they fit, and routes still refused start
  empty (found by halving the set of vehicles).
* Pinned orders (``Problem.sequences``): the pinned stops' groups may only
  use the pinned vehicle; the order is a node precedence on a visit-counter
  dimension ("Position") between every two pinned nodes of a sequence (the
  routing's precedences are skipped when a node is unperformed, so a dropped
  stop in the middle must not free the others; time cumuls cannot order two
  stops at one door without service time). Pinned stops that no plan could
  serve in their place are diagnosed (``pinned_order``).
* Every stop is optional (disjunction with a large penalty, ``PROMISED_WEIGHT``
  times larger for a stop on a route in force: a re-plan drops a new stop
  rather than one a customer was promised); stops that no
  vehicle could serve even alone are diagnosed before the solve and never
  enter the model. Groups (pickups + their delivery) stay whole.
* Speed: the node matrices are read from the problem's rows and columns of
  the nodes only (a focused re-plan shares a whole day's matrix with a small
  model); the distance matrix is only registered when a cost or range uses
  it; the matrices may be numpy arrays. The cyclic garbage collector is paused
  during a solve (a day's matrix is millions of Python ints it would walk).
  A model of 2,000 nodes still takes seconds to build (each matrix is handed
  over as Python lists): live re-plans of big days go through
  :mod:`backend.dispatch.replan`'s focus.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
import itertools
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar

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
# A second past a stop's ``due_s`` weighs like four seconds of riding: the
# customer waits, but a route that is late anyway should not zigzag for it.
LATE_COST_PER_S = 4
# dropping a stop on a route in force (``initial_routes``) costs this many new ones
PROMISED_WEIGHT = 4
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


_F = TypeVar("_F", bound=Callable[..., Any])


def without_gc(fn: _F) -> _F:
    """Run ``fn`` with the cyclic garbage collector paused.

    A live problem holds its matrices as millions of Python ints in lists; every
    full collection walks them (tens of milliseconds, several times per solve
    as the model build allocates). What a solve allocates is freed by reference
    counting; collection resumes afterwards.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper  # type: ignore[return-value]


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
    if problem.sequences:
        _validate_sequences(problem)


def _validate_sequences(problem: Problem) -> None:
    """A stop is pinned once, and the pinned orders do not contradict each other.

    Pins and "pickup before its delivery" together must not form a cycle (a
    delivery pinned before one of its pickups, directly or through other pins):
    no plan could meet them, and that is the caller's mistake, not a stop to drop.
    """
    known = {s.id for s in problem.stops}
    owner: dict[str, str] = {}
    after: dict[str, list[str]] = {}
    for q in problem.sequences:
        ids = [sid for sid in q.stops if sid in known]
        if len(set(q.stops)) != len(q.stops):
            raise ValueError(f"sequence for {q.vehicle}: a stop is pinned twice")
        for sid in ids:
            if sid in owner:
                raise ValueError(f"stop {sid} is pinned on {owner[sid]} and on {q.vehicle}")
            owner[sid] = q.vehicle
        for a, b in itertools.pairwise(ids):
            after.setdefault(a, []).append(b)
    for s in problem.stops:
        for p in s.pickups:
            if p in known:
                after.setdefault(p, []).append(s.id)
    # iterative depth-first search for a cycle (0 new, 1 on the stack, 2 done)
    state: dict[str, int] = {}
    for root in after:
        if state.get(root):
            continue
        stack = [(root, iter(after.get(root, ())))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise ValueError(
                    f"the pinned orders contradict each other or put a delivery before its "
                    f"pickup (at stop {nxt})"
                )
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(after.get(nxt, ()))))


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


def _alone_ok(
    problem: Problem, stops: list[Stop], windows: list[list[tuple[int, int]]], v: Vehicle
) -> np.ndarray:
    """Per stop: True if ``v`` surely serves it alone (as :func:`_vehicle_check` for a
    one-stop order with the stop's own weight and volume), all stops at once; False
    also where it cannot tell (several windows): the exact check decides those."""
    locs = np.array([s.location for s in stops], dtype=np.int64)
    T, D = problem.time_s, problem.dist_m

    def row(mat: Any, i: int) -> np.ndarray:
        return np.asarray(mat[i], dtype=np.int64)[locs]

    def col(mat: Any, j: int) -> np.ndarray:
        if isinstance(mat, np.ndarray):
            return np.asarray(mat[locs, j], dtype=np.int64)
        return np.array([mat[i][j] for i in locs.tolist()], dtype=np.int64)

    def ride(t: np.ndarray) -> np.ndarray:
        if v.speed_factor == 1.0:
            return t
        return np.floor(t / v.speed_factor + 0.5).astype(np.int64)

    arr = v.shift.start + ride(row(T, v.start_location))
    one = np.array([len(w) <= 1 for w in windows])
    a = np.array([w[0][0] if w else -_BIG for w in windows], dtype=np.int64)
    b = np.array([w[0][1] if w else _BIG for w in windows], dtype=np.int64)
    st = np.maximum(arr, a)
    service = np.array([s.service_s for s in stops], dtype=np.int64)
    ok = one & (arr <= b) & (st + service + ride(col(T, v.end_location)) <= v.shift.end)
    if v.max_distance_m is not None:
        ok &= row(D, v.start_location) + col(D, v.end_location) <= v.max_distance_m
    cap_g, cap_dl = _scaled(v.payload_kg, GRAMS_PER_KG), _scaled(v.volume_l, DL_PER_L)
    ok &= np.array(
        [_scaled(s.weight_kg, GRAMS_PER_KG) <= cap_g and _scaled(s.volume_l, DL_PER_L) <= cap_dl
         for s in stops]
    )
    return ok


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


def _pins(problem: Problem) -> dict[int, tuple[int, int]]:
    """Stop position -> (index of its sequence, rank among the sequence's known stops)."""
    pos = {s.id: i for i, s in enumerate(problem.stops)}
    out: dict[int, tuple[int, int]] = {}
    for qi, q in enumerate(problem.sequences):
        known = [pos[sid] for sid in q.stops if sid in pos]
        for rank, k in enumerate(known):
            out[k] = (qi, rank)
    return out


def _build_groups(
    problem: Problem, windows: list[list[tuple[int, int]]] | None = None
) -> list[_Group]:
    """Groups with allowed and feasible vehicles and, for hopeless ones, a reason."""
    stops = list(problem.stops)
    vehicles = problem.vehicles
    pos = {s.id: i for i, s in enumerate(stops)}
    vpos = {v.id: i for i, v in enumerate(vehicles)}
    named = {p for s in stops for p in s.pickups}
    if windows is None:
        windows = [_merge_windows(s.windows) for s in stops]
    pin = _pins(problem) if problem.sequences else {}
    # what _vehicle_check reads of a vehicle: couriers on the same bike, hubs and
    # shift answer alike (a big day has many couriers of few kinds)
    kinds = [
        (v.start_location, v.end_location, v.shift.start, v.shift.end, v.payload_kg,
         v.volume_l, v.max_distance_m, v.speed_factor)
        for v in vehicles
    ]
    fast: dict[tuple[Any, ...], np.ndarray] = {}

    def alone_ok(sig: tuple[Any, ...], vi: int, k: int) -> bool:
        """Surely feasible alone on this kind of bike (False: let _vehicle_check say)."""
        ok = fast.get(sig)
        if ok is None:
            ok = fast[sig] = _alone_ok(problem, stops, windows, vehicles[vi])
        return bool(ok[k])

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
        pinned_to: str | None = None
        for k in g.members:
            if stops[k].vehicles:
                allowed &= {vpos[v] for v in stops[k].vehicles if v in vpos}
            if k in pin:
                # a pinned stop, and so its whole group, rides with the pinned courier
                pinned_to = problem.sequences[pin[k][0]].vehicle
                allowed &= {vpos[pinned_to]} if pinned_to in vpos else set()
        g.vehicles = sorted(allowed)
        if not g.vehicles:
            g.reason, g.reason_stop = "no_vehicle", g.members[-1]
            if pinned_to is not None:
                g.detail = (
                    f"pinned to {pinned_to}, which is not in the plan"
                    if pinned_to not in vpos
                    else f"pinned to {pinned_to}, which may not serve it"
                )
            else:
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
            seen: dict[tuple[Any, ...], list[str]] = {}  # bikes alike answer alike
            for vi in g.vehicles:
                if orders:
                    sig = kinds[vi]
                    fails = seen.get(sig)
                    if fails is None and len(sub) == 1 and alone_ok(sig, vi, sub[0]):
                        fails = seen[sig] = []
                    if fails is None:
                        fails = _vehicle_check(
                            problem, stops, orders, windows, vehicles[vi], peak_g, peak_dl
                        )
                        seen[sig] = fails
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
    if pin:
        _diagnose_pins(problem, groups, pin, windows)
    return groups


def _diagnose_pins(
    problem: Problem,
    groups: list[_Group],
    pin: dict[int, tuple[int, int]],
    windows: list[list[tuple[int, int]]],
) -> None:
    """Give ``pinned_order`` to the pinned stops that cannot be served in their place.

    The pinned stops alone, in their order, on their courier from the start of
    the shift: a relaxation of any plan (other stops in between only delay), so
    a stop that misses its window, the shift or the range here cannot be met
    in any plan. Earlier stops keep their place; the stop is left out with its
    group. A stop pinned between two shops of one door is left out too: the
    shops of a door are visited back to back (one chain node).
    """
    stops = problem.stops
    T, D = problem.time_s, problem.dist_m
    vpos = {v.id: i for i, v in enumerate(problem.vehicles)}
    group_of = {k: g for g in groups for k in g.members}
    by_seq: dict[int, list[int]] = {}
    for k, (qi, _rank) in sorted(pin.items(), key=lambda item: item[1]):
        by_seq.setdefault(qi, []).append(k)

    def unit(k: int) -> tuple[str, int]:
        """The shops of one door share a unit (their chain node); any other stop is its own."""
        g = group_of[k]
        if k in g.pickups and len(g.pickups) > 1:
            return "chain", g.delivery  # type: ignore[return-value]
        return "stop", k

    for qi, order in by_seq.items():
        q = problem.sequences[qi]
        if q.vehicle not in vpos:
            continue  # already no_vehicle
        order = [k for k in order if group_of[k].reason is None]
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        for j, k in enumerate(order):
            first.setdefault(unit(k), j)
            last[unit(k)] = j
        for u, a in first.items():
            for j in range(a + 1, last[u]):
                k = order[j]
                g = group_of[k]
                if unit(k) != u and g.reason is None:
                    g.reason, g.reason_stop = "pinned_order", k
                    g.detail = (
                        f"stop {stops[k].id}: pinned on {q.vehicle} between shops of the door "
                        f"{stops[u[1]].id}, which are visited back to back"
                    )
        v = problem.vehicles[vpos[q.vehicle]]
        t, prev, dist = v.shift.start, v.start_location, 0
        before: str | None = None
        for k in order:
            g = group_of[k]
            if g.reason is not None:
                continue
            s = stops[k]
            arr = t + travel_time(T[prev][s.location], v.speed_factor)
            st = _earliest_start(windows[k], arr)
            d = dist + D[prev][s.location]
            home = travel_time(T[s.location][v.end_location], v.speed_factor)
            on_time = st is not None and st + s.service_s + home <= v.shift.end
            in_range = v.max_distance_m is None or d + D[s.location][v.end_location] <= (
                v.max_distance_m
            )
            if on_time and in_range:
                assert st is not None
                t, prev, dist, before = st + s.service_s, s.location, d, s.id
                continue
            where = f"after {before}" if before else "first"
            why = "within its window and the shift" if not on_time else "within the battery range"
            g.reason, g.reason_stop = "pinned_order", k
            g.detail = f"stop {s.id}: pinned {where} on {q.vehicle}, it cannot be served {why}"


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
    hub_g: int = 0  # of what it hands over, the part loaded at the start hub
    hub_dl: int = 0
    kind: str = "hub"  # hub_delivery | pickup_delivery | pickup | return | chain | hub
    group: _Group | None = None


def _simple_node(
    stops: list[Stop],
    k: int,
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    by_id: dict[str, Stop],
) -> _Node:
    s = stops[k]
    own_g, own_dl = _scaled(s.weight_kg, GRAMS_PER_KG), _scaled(s.volume_l, DL_PER_L)
    hub_g = hub_dl = 0
    if s.kind == "pickup":
        kind = "pickup"  # set to "return" below when no delivery names it
        g, dl = own_g, own_dl
    elif s.pickups:
        kind = "pickup_delivery"
        # Hands over the shops' goods and its own hub-loaded part.
        g = -sum(_scaled(by_id[p].weight_kg, GRAMS_PER_KG) for p in s.pickups) - own_g
        dl = -sum(_scaled(by_id[p].volume_l, DL_PER_L) for p in s.pickups) - own_dl
        hub_g, hub_dl = own_g, own_dl
    else:
        kind = "hub_delivery"
        g, dl = -own_g, -own_dl
        hub_g, hub_dl = own_g, own_dl
    return _Node(
        members=[k],
        entry=s.location,
        exit=s.location,
        inner_t={f: s.service_s for f in factors},
        windows=list(windows[k]),
        dem_g=g,
        dem_dl=dl,
        hub_g=hub_g,
        hub_dl=hub_dl,
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
    pin: dict[int, tuple[int, int]] | None = None,
) -> _Node | None:
    """The shops of one door as one node, visited back to back in the best order.

    OR-Tools pairs one pickup with one delivery; a door fed by several shops
    becomes a native pair (chain node, door). The chain's order is the shortest
    one whose windows leave a common start time for every speed factor; inside
    it the bike does not wait; shops pinned in a sequence keep their pinned
    order. None if no order fits.
    """
    stops = problem.stops
    T, D = problem.time_s, problem.dist_m
    pin = pin or {}
    if math.factorial(len(pickups)) <= _MAX_GROUP_PERMUTATIONS:
        orders = [list(p) for p in itertools.permutations(pickups)]
        if any(k in pin for k in pickups):
            orders = [
                o
                for o in orders
                if all(
                    pin[a][1] < pin[b][1]
                    for a, b in itertools.combinations([k for k in o if k in pin], 2)
                    if pin[a][0] == pin[b][0]
                )
            ]
    else:  # nearest neighbour from the first shop
        order = [pickups[0]]
        rest = set(pickups[1:])
        while rest:
            here = stops[order[-1]].location
            nxt = min(rest, key=lambda k: D[here][stops[k].location])
            order.append(nxt)
            rest.remove(nxt)
        # pinned shops take the slots of pinned shops in their pinned order
        slots = [j for j, k in enumerate(order) if k in pin]
        for j, k in zip(slots, sorted((order[j] for j in slots), key=lambda k: pin[k]),
                        strict=True):
            order[j] = k
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


@dataclass
class _Model:
    """The OR-Tools model of a problem and the node data the warm start needs."""

    vehicles: list[Vehicle]
    nodes: list[_Node]
    n_stop_nodes: int
    pair_nodes: list[tuple[int, int]]
    seq_nodes: list[tuple[int, list[int]]]  # (vehicle, its pinned nodes in order)
    node_windows: list[list[tuple[int, int]]]  # as set on the time cumuls; [] = any time
    horizon: int
    travel: dict[float, np.ndarray]  # node to node travel time per speed factor
    inner: dict[float, np.ndarray]  # time from service start at a node to leaving it
    dist: np.ndarray  # node to node distance (with the distance ridden inside the from-node)
    loads: list[tuple[np.ndarray, np.ndarray, list[int]]]  # (demand, hub-loaded part, caps)
    manager: Any
    routing: Any
    time_dim: Any
    penalty: int
    node_penalties: list[int]  # per stop node: what leaving it out costs
    due: np.ndarray | None = None  # per stop node: soft due time of its start (_BIG: none)
    time: np.ndarray | None = None  # node to node matrix time (before the speed factors)


def _make_nodes(
    problem: Problem,
    plannable: list[_Group],
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    pin: dict[int, tuple[int, int]],
    unplanned: list[Unplanned],
) -> tuple[list[_Node], list[tuple[int, int]]]:
    """One node per plannable stop, except that the shops feeding one door are
    visited back to back as one "chain" node (see :func:`_chain`)."""
    stops = list(problem.stops)
    vehicles = problem.vehicles
    by_id = {s.id: s for s in stops}
    nodes: list[_Node] = []
    pair_nodes: list[tuple[int, int]] = []  # (pickup node, delivery node)
    for g in plannable:
        if g.delivery is not None and len(g.pickups) > 1:
            chain = _chain(
                problem,
                g.pickups,
                windows,
                factors,
                {vehicles[v].speed_factor for v in g.feasible},
                pin,
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
            nodes.append(_simple_node(stops, g.delivery, windows, factors, by_id))
            nodes[-1].group = g
            nodes[-2].group = g
            continue
        first = len(nodes)
        for k in g.members:
            nodes.append(_simple_node(stops, k, windows, factors, by_id))
            nodes[-1].group = g
            if g.delivery is None and nodes[-1].kind == "pickup":
                nodes[-1].kind = "return"  # no delivery names it: back to the end hub
        if g.delivery is not None:
            pair_nodes.append((first, first + 1))
    return nodes, pair_nodes


def _node_matrix(
    full: list[list[int]] | np.ndarray, exit_: list[int], entry: list[int]
) -> tuple[np.ndarray, list[Any] | None]:
    """``full[exit_[i]][entry[j]]`` as an int64 array, without converting all of ``full``.

    A focused re-plan shares the whole day's matrix (thousands of locations) with
    a model of a few hundred nodes: only their rows and columns are read. Also
    returns the rows as Python sequences when ``full`` is a list of lists: they
    can be handed to OR-Tools as they are (``tolist`` costs as much again).
    """
    if isinstance(full, np.ndarray):
        return np.asarray(full[np.ix_(exit_, entry)], dtype=np.int64), None
    if len(entry) == 1:
        rows: list[Any] = [[full[i][entry[0]]] for i in exit_]
    else:
        pick = itemgetter(*entry)
        rows = [pick(full[i]) for i in exit_]
    return np.array(rows, dtype=np.int64), rows


def _build_model(
    problem: Problem,
    nodes: list[_Node],
    pair_nodes: list[tuple[int, int]],
    seq_nodes: list[tuple[int, list[int]]],
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    promised: frozenset[int] = frozenset(),
) -> _Model:
    vehicles = list(problem.vehicles)
    n_stop_nodes = len(nodes)
    hub_locs = sorted({v.start_location for v in vehicles} | {v.end_location for v in vehicles})
    hub_node = {loc: n_stop_nodes + i for i, loc in enumerate(hub_locs)}
    for loc in hub_locs:
        nodes.append(_Node(members=[], entry=loc, exit=loc, inner_t={f: 0 for f in factors}))
    n_nodes = len(nodes)
    entry = [nd.entry for nd in nodes]
    exit_ = [nd.exit for nd in nodes]
    inner_d = np.array([nd.inner_d for nd in nodes], dtype=np.int64)
    # only the rows and columns of the nodes' locations are converted (a live
    # problem's matrix may be much larger than its nodes)
    T, t_rows = _node_matrix(problem.time_s, exit_, entry)
    D, d_rows = _node_matrix(problem.dist_m, exit_, entry)
    if inner_d.any():
        D, d_rows = D + inner_d[:, None], None

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
    inner_by_factor: dict[float, np.ndarray] = {}
    time_cb: dict[float, int] = {}
    for f in factors:
        tf = T if f == 1.0 else np.floor(T / f + 0.5).astype(np.int64)
        travel_by_factor[f] = tf
        inner = np.array([nd.inner_t[f] for nd in nodes], dtype=np.int64)
        inner_by_factor[f] = inner
        time_cb[f] = routing.RegisterTransitMatrix((tf + inner[:, None]).tolist())
    need_dist = problem.cost == "distance" or any(v.max_distance_m is not None for v in vehicles)
    # a matrix of 2,000 nodes costs a few tenths of a second to hand over: only when used
    dist_cb = (
        routing.RegisterTransitMatrix(d_rows if d_rows is not None else D.tolist())
        if need_dist
        else -1
    )

    # ---- arc costs
    if problem.cost == "distance":
        routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
        max_arc = int(D.max()) if D.size else 0
    else:
        cost_cb = {}
        for f in factors:
            # the travel inside a chain node is part of its cost, its service times are not
            inner_travel = np.array([nd.inner_travel.get(f, 0) for nd in nodes], dtype=np.int64)
            if f == 1.0 and t_rows is not None and not inner_travel.any():
                cost_cb[f] = routing.RegisterTransitMatrix(t_rows)  # the matrix as given
            else:
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
    node_windows: list[list[tuple[int, int]]] = []
    due_of = np.full(n_stop_nodes, _BIG, dtype=np.int64)
    for node in range(n_stop_nodes):
        w = [(max(0, a), min(horizon, b)) for a, b in nodes[node].windows]
        w = [(a, b) for a, b in w if a <= b]
        if not nodes[node].windows:
            node_windows.append([])
            continue
        cumul = time_dim.CumulVar(manager.NodeToIndex(node))
        if not w:  # cannot happen after the diagnosis; keep the model valid
            w = [(horizon, horizon)]
        node_windows.append(w)
        cumul.SetRange(w[0][0], w[-1][1])
        for (_, b), (a, _) in itertools.pairwise(w):
            if b + 1 <= a - 1:
                cumul.RemoveInterval(b + 1, a - 1)
        due = problem.stops[nodes[node].members[0]].due_s if len(nodes[node].members) == 1 else None
        if due is not None and due < w[-1][1]:
            time_dim.SetCumulVarSoftUpperBound(manager.NodeToIndex(node), max(0, due), LATE_COST_PER_S)
            due_of[node] = max(0, due)

    # ---- loads: payload (g) and volume (dL)
    loads: list[tuple[np.ndarray, np.ndarray, list[int]]] = []
    for name, cap_attr, dem_attr, hub_attr in (
        ("Payload", "payload_kg", "dem_g", "hub_g"),
        ("Volume", "volume_l", "dem_dl", "hub_dl"),
    ):
        dem = [getattr(nd, dem_attr) for nd in nodes]
        if not any(dem):
            continue
        unit = GRAMS_PER_KG if name == "Payload" else DL_PER_L
        caps = [min(_scaled(getattr(v, cap_attr), unit), _BIG) for v in vehicles]
        loads.append(
            (
                np.array(dem, dtype=np.int64),
                np.array([getattr(nd, hub_attr) for nd in nodes], dtype=np.int64),
                caps,
            )
        )
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
    penalty = min(
        100 * (2 * max_arc + max_fixed) + 100_000,
        (1 << 62) // max(1, n_stop_nodes * 4 * PROMISED_WEIGHT),
    )
    all_vehicles = set(range(len(vehicles)))
    node_penalties: list[int] = []
    for node in range(n_stop_nodes):
        i = manager.NodeToIndex(node)
        members = nodes[node].members
        node_penalties.append(
            penalty * sum(PROMISED_WEIGHT if k in promised else 1 for k in members)
        )
        routing.AddDisjunction([i], node_penalties[-1])
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

    # ---- pinned orders: a visit counter with node precedences. Time cumuls would
    # not order two stops at one door with no service time; the routing's own
    # precedences are known to its local search filters and are not enforced when
    # a node is unperformed, so each pair of a sequence gets one (a dropped stop
    # in the middle must not free the others).
    if seq_nodes:
        pos_cb = routing.RegisterUnaryTransitVector([1] * n_nodes)
        routing.AddDimension(pos_cb, 0, n_nodes + 1, True, "Position")
        pos_dim = routing.GetDimensionOrDie("Position")
        for _vi, seq in seq_nodes:
            for a, b in itertools.combinations(seq, 2):
                pos_dim.AddNodePrecedence(manager.NodeToIndex(a), manager.NodeToIndex(b), 1)

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

    return _Model(
        vehicles=vehicles,
        nodes=nodes,
        n_stop_nodes=n_stop_nodes,
        pair_nodes=pair_nodes,
        seq_nodes=seq_nodes,
        node_windows=node_windows,
        horizon=horizon,
        travel=travel_by_factor,
        inner=inner_by_factor,
        dist=D,
        loads=loads,
        manager=manager,
        routing=routing,
        time_dim=time_dim,
        penalty=penalty,
        node_penalties=node_penalties,
        due=due_of,
        time=T,
    )


def _pinned_node_sequences(
    problem: Problem, nodes: list[_Node], pin: dict[int, tuple[int, int]]
) -> list[tuple[int, list[int]]]:
    """Per sequence of a vehicle in the problem: (vehicle, its modelled nodes in order)."""
    vpos = {v.id: i for i, v in enumerate(problem.vehicles)}
    node_of = {k: n for n, nd in enumerate(nodes) for k in nd.members}
    by_seq: dict[int, list[int]] = {}
    for k, (qi, _rank) in sorted(pin.items(), key=lambda item: item[1]):
        n = node_of.get(k)
        if n is not None and n not in by_seq.get(qi, ()):  # a chain's shops: one node
            by_seq.setdefault(qi, []).append(n)
    return [
        (vpos[problem.sequences[qi].vehicle], seq)
        for qi, seq in by_seq.items()
        if problem.sequences[qi].vehicle in vpos and len(seq) > 1
    ]


@without_gc
def solve(
    problem: Problem,
    time_limit_s: float = 10.0,
    *,
    first_solution: str | None = None,
    metaheuristic: str | None = None,
    search_overrides: str | None = None,
    log_search: bool = False,
    initial_routes: dict[str, list[str]] | None = None,
    timings: dict[str, float] | None = None,
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
    Each route is first made feasible on its own (see :func:`_repair`): stops
    it can no longer serve in their place (a window passed, the shift or the
    range exceeded, a pinned order broken...) are taken out; a route that so
    loses stops only its vehicle may serve is re-ordered by a small solve of
    its own (a late courier); then the stops left out, and new ones, are
    inserted where they add least and still fit; the rest start unperformed
    and the search may insert them. If OR-Tools still rejects some routes,
    those vehicles start empty; only if that fails too does the solve start
    cold.

    ``timings``, if given, receives the seconds spent per phase (``build``,
    ``warm_start`` or ``construction`` (a cold start by insertion), ``search``,
    ``read``), ``first_solution``: seconds from the call until the first solution
    (possibly with unperformed stops) was at hand, and
    ``first_solution_unperformed``: how many modelled stops that first solution
    left off the routes (stops diagnosed unplannable before the solve not counted).
    """
    return _solve(
        problem,
        time_limit_s,
        first_solution=first_solution,
        metaheuristic=metaheuristic,
        search_overrides=search_overrides,
        log_search=log_search,
        initial_routes=initial_routes,
        timings=timings,
        reorder=True,
    )


# vehicles whose broken route in force is re-ordered by a solve of its own, at most
_MAX_REORDERED = 4
# cold solves of more stop nodes than this start from insertion, not OR-Tools strategies
_COLD_INSERTION_NODES = 300
# SAVINGS is skipped above this many stop nodes, and its memory capped
_SAVINGS_MAX_NODES = 1000
_SAVINGS_MAX_MEMORY = 1_000_000_000
# a stop this close to its due time counts as late for the delay an insertion hands on
_NEAR_DUE_S = 300
# nearest neighbours each node's local search moves consider on big days
_LS_NEIGHBORS = 40


def _solve(
    problem: Problem,
    time_limit_s: float,
    *,
    first_solution: str | None,
    metaheuristic: str | None,
    search_overrides: str | None,
    log_search: bool,
    initial_routes: dict[str, list[str]] | None,
    timings: dict[str, float] | None,
    reorder: bool,
) -> Plan:
    t0 = time.perf_counter()
    timings = {} if timings is None else timings
    _validate(problem)
    stops = list(problem.stops)
    vehicles = list(problem.vehicles)
    windows = [_merge_windows(s.windows) for s in stops]
    groups = _build_groups(problem, windows)
    unplanned: list[Unplanned] = []
    plannable: list[_Group] = []
    for g in groups:
        if g.reason is not None:
            unplanned.extend(_unplanned_for_group(stops, g))
        else:
            plannable.append(g)

    if not plannable or not vehicles:
        return _nothing_to_route(unplanned, t0)

    factors = sorted({v.speed_factor for v in vehicles})
    pin = _pins(problem) if problem.sequences else {}
    nodes, pair_nodes = _make_nodes(problem, plannable, windows, factors, pin, unplanned)
    if not nodes:
        return _nothing_to_route(unplanned, t0)
    seq_nodes = _pinned_node_sequences(problem, nodes, pin) if pin else []
    in_force = {sid for ids in (initial_routes or {}).values() for sid in ids}
    promised = frozenset(k for k, st in enumerate(stops) if st.id in in_force)
    m = _build_model(problem, nodes, pair_nodes, seq_nodes, windows, factors, promised)
    manager, routing, time_dim = m.manager, m.routing, m.time_dim
    n_stop_nodes, penalty = m.n_stop_nodes, m.penalty
    timings["build"] = time.perf_counter() - t0

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
    if n_stop_nodes > _COLD_INSERTION_NODES:
        # Operators over all nodes as neighbours are quadratic: on a big day the
        # search then hangs in its first neighbourhood, far past its time limit.
        ratio = min(1.0, _LS_NEIGHBORS / n_stop_nodes)
        params.ls_operator_neighbors_ratio = ratio
        params.ls_operator_min_neighbors = _LS_NEIGHBORS
        gci = params.global_cheapest_insertion_ls_operator_parameters
        gci.neighbors_ratio = ratio
        gci.min_neighbors = _LS_NEIGHBORS
    if search_overrides:
        text_format.Merge(search_overrides, params)
    strategies = [first_solution] if first_solution else list(FALLBACK_FIRST_SOLUTIONS)
    if n_stop_nodes > _SAVINGS_MAX_NODES and not first_solution:
        # SAVINGS keeps a matrix of savings (6 GB by default): not on big days
        strategies = [s for s in strategies if s != "SAVINGS"]
    params.savings_parameters.max_memory_usage_bytes = min(
        params.savings_parameters.max_memory_usage_bytes, _SAVINGS_MAX_MEMORY
    )
    first_sol = None
    first_obj = None
    first_dropped: int | None = None
    # Large or locked days start cold from empty routes filled by insertion (the
    # OR-Tools strategies stall on the returns constraint, pairs and locks there).
    locked = any(
        nd.group is not None and len(nd.group.feasible) < len(vehicles)
        for nd in nodes[:n_stop_nodes]
    )
    construct = (
        initial_routes is None
        and first_solution is None
        and (n_stop_nodes > _COLD_INSERTION_NODES or bool(seq_nodes) or locked)
    )
    if initial_routes is not None or construct:
        t1 = time.perf_counter()
        if initial_routes is not None:
            stop_node = {
                stops[k].id: node for node in range(n_stop_nodes) for k in nodes[node].members
            }
            node_seqs = _initial_node_sequences(
                vehicles, nodes, stop_node, pair_nodes, initial_routes, seq_nodes
            )
            repaired = _repair(m, node_seqs)
            if reorder:
                budget = min(0.08, max(0.02, 0.1 * time_limit_s))
                repaired = _reorder_broken(problem, m, node_seqs, repaired, budget)
            node_seqs = repaired
            left = time_limit_s - (time.perf_counter() - t0)
            share = 0.25
        else:
            node_seqs = [[] for _ in vehicles]
            # most of what is left: a first plan with (nearly) every stop in it
            # is what the search needs; leave it time and the restore its share
            left = time_limit_s - (time.perf_counter() - t0) - 2e-4 * n_stop_nodes
            share = 0.7
        _insert_unperformed(
            m, node_seqs, problem.cost, time.perf_counter() + max(0.02, left * share)
        )
        # Restoring is a small search of its own under the model's limits: it must
        # not inherit a nearly spent time limit (it then fails and the solve starts cold).
        close = pywrapcp.DefaultRoutingSearchParameters()
        close.CopyFrom(params)
        close.time_limit.FromMilliseconds(int(max(1.0, time_limit_s) * 1000))
        routing.CloseModelWithParameters(close)
        first_sol = _restore(m, node_seqs)
        if first_sol is not None:
            first_dropped = _dropped_nodes(m, first_sol)
            if initial_routes is not None or n_stop_nodes > _COLD_INSERTION_NODES or not (
                first_dropped
            ):
                strategies = []  # start from these routes, not from a heuristic
            timings["first_solution"] = time.perf_counter() - t0
        timings["construction" if construct else "warm_start"] = time.perf_counter() - t1
    t1 = time.perf_counter()
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
            dropped = _dropped_nodes(m, sol)
            if first_sol is None or (
                (dropped, obj) < (first_dropped, first_obj if first_obj is not None else obj + 1)
            ):
                first_sol, first_obj = routing.solver().Assignment(sol), obj
                first_dropped = dropped
            timings.setdefault("first_solution", time.perf_counter() - t0)
            if not dropped:
                break  # nothing dropped: good enough to start from
    if first_sol is not None:
        timings["first_solution_unperformed"] = _unperformed_stops(m, first_sol)
    # keep a little for reading the answer (about 10 us per node) and for the
    # search overshooting its limit (it checks the clock between moves; up to tens
    # of milliseconds on models of several hundred nodes)
    remaining = time_limit_s - (time.perf_counter() - t0) - 0.01 - 4e-5 * len(nodes)
    if first_sol is not None and remaining < 0.01:
        solution = first_sol  # no time left to improve it: the build ate the limit
    elif first_sol is not None:
        params.time_limit.FromMilliseconds(int(remaining * 1000))
        solution = routing.SolveFromAssignmentWithParameters(first_sol, params)
        if solution is None:
            solution = first_sol
    else:
        params.time_limit.FromMilliseconds(int(max(0.02, remaining) * 1000))
        params.first_solution_strategy = _enum(
            routing_enums_pb2.FirstSolutionStrategy, strategies[-1]
        )
        solution = routing.SolveWithParameters(params)
    if solution is not None:
        # without a first solution of its own, the search's answer is the first we saw
        timings.setdefault("first_solution", time.perf_counter() - t0)
        timings.setdefault("first_solution_unperformed", _unperformed_stops(m, solution))
    status = _STATUS_WORDS.get(routing.status(), f"status {routing.status()}")
    if solution is not None and solution is first_sol and status not in ("feasible", "optimal"):
        status = "feasible"  # the first solution, not improved in the time left
    timings["search"] = time.perf_counter() - t1

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
    t1 = time.perf_counter()
    by_id = {s.id: s for s in stops}
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
        routes.append(_route(problem, v, seq, windows, dep, by_id))

    pinned_to = {k: problem.sequences[q].vehicle for k, (q, _r) in pin.items()}
    for g in modelled:
        for k in g.members:
            if k not in planned:
                pinned = next((pinned_to[j] for j in g.members if j in pinned_to), None)
                unplanned.append(
                    Unplanned(
                        stop_id=stops[k].id,
                        reason="no_capacity",
                        detail="feasible alone, but no room left in the plan"
                        + (f" (pinned to {pinned})" if pinned else ""),
                    )
                )
    cost = int(solution.ObjectiveValue()) - sum(
        m.node_penalties[n] for n in range(n_stop_nodes)
        if solution.Value(routing.NextVar(manager.NodeToIndex(n))) == manager.NodeToIndex(n)
    )
    timings["read"] = time.perf_counter() - t1
    return Plan(
        routes=tuple(routes),
        unplanned=tuple(unplanned),
        cost=cost,
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=time.perf_counter() - t0,
        status=status,
    )


def _dropped_nodes(m: _Model, sol: Any) -> int:
    """How many stop nodes ``sol`` leaves unperformed."""
    routing, manager = m.routing, m.manager
    return sum(
        1 for n in range(m.n_stop_nodes)
        if sol.Value(routing.NextVar(manager.NodeToIndex(n))) == manager.NodeToIndex(n)
    )


def _unperformed_stops(m: _Model, sol: Any) -> int:
    """How many modelled stops ``sol`` leaves off the routes."""
    routing, manager = m.routing, m.manager
    return sum(
        len(m.nodes[n].members) for n in range(m.n_stop_nodes)
        if sol.Value(routing.NextVar(manager.NodeToIndex(n))) == manager.NodeToIndex(n)
    )


def _initial_node_sequences(
    vehicles: list[Vehicle],
    nodes: list[_Node],
    stop_node: dict[str, int],
    pair_nodes: list[tuple[int, int]],
    initial_routes: dict[str, list[str]],
    seq_nodes: list[tuple[int, list[int]]] | None = None,
) -> list[list[int]]:
    """Per vehicle (in problem order), the routing nodes of ``initial_routes``.

    Stop ids map to their node (the shops of one door share a chain node, which
    is kept once, where its first shop appears). Unknown vehicles and stop ids,
    stops that were not modelled (diagnosed unplannable), nodes seen before
    (on this or an earlier vehicle) and nodes on a vehicle that may not serve
    them are skipped; pinned nodes take the places of the vehicle's pinned
    nodes in their pinned order; a pickup/delivery pair is kept only when both
    are on the same vehicle, pickup first. What is left is a partial solution
    whose missing stops start unperformed.
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
    for vi, pinned in seq_nodes or ():
        rank = {n: r for r, n in enumerate(pinned)}
        slots = [j for j, n in enumerate(seqs[vi]) if n in rank]
        for j, n in zip(slots, sorted((seqs[vi][j] for j in slots), key=rank.__getitem__),
                        strict=True):
            seqs[vi][j] = n
    where = {node: (vi, j) for vi, seq in enumerate(seqs) for j, node in enumerate(seq)}
    broken: set[int] = set()
    for pn, dn in pair_nodes:
        p, d = where.get(pn), where.get(dn)
        if p is None or d is None or p[0] != d[0] or p[1] > d[1]:
            broken.update((pn, dn))
    return [[n for n in seq if n not in broken] for seq in seqs]


def _feasible_subsequence(m: _Model, vi: int, seq: list[int]) -> list[int]:
    """The nodes of ``seq`` that vehicle ``vi`` can serve in this order, greedily.

    Simulates the model's rules from the start of the shift: travel at the
    vehicle's speed, time at each node, windows (waiting allowed), the shift
    end and the range (a node is kept only if the bike can still ride home
    from it in time and within range, so the last one kept closes the route),
    and the loads: with the start load free, a route fits when the hub-loaded
    goods plus the highest rise of the load fit the capacity. A node that
    breaks a rule is skipped; the next ones are tried from the last kept one.
    """
    v = m.vehicles[vi]
    f = v.speed_factor
    tr, inner, D = m.travel[f], m.inner[f], m.dist
    start = m.manager.IndexToNode(m.routing.Start(vi))
    end = m.manager.IndexToNode(m.routing.End(vi))
    lo = max(0, v.shift.start)
    hi = max(lo, min(v.shift.end, m.horizon))
    max_d = v.max_distance_m
    any_time = [(0, m.horizon)]
    t, prev, dist = lo, start, 0
    # per load dimension: (prefix, lowest prefix, highest prefix, hub-loaded so far)
    state = [(0, 0, 0, 0) for _ in m.loads]
    kept: list[int] = []
    for node in seq:
        st = _earliest_start(m.node_windows[node] or any_time, t + tr.item(prev, node))
        if st is None:
            continue
        leave = st + inner.item(node)
        if leave + tr.item(node, end) > hi:
            continue
        d = dist + D.item(prev, node)
        if max_d is not None and d + D.item(node, end) > max_d:
            continue
        new_state = []
        for (dem, hub, caps), (p, low, high, h) in zip(m.loads, state, strict=True):
            p2 = p + dem.item(node)
            low2, high2, h2 = min(low, p2), max(high, p2), h + hub.item(node)
            if max(-low2, h2) + high2 > caps[vi]:
                break
            new_state.append((p2, low2, high2, h2))
        else:
            kept.append(node)
            t, prev, dist, state = leave, node, d, new_state
    return kept


def _repair(m: _Model, seqs: list[list[int]]) -> list[list[int]]:
    """Each vehicle's node sequence made feasible on its own; pairs kept whole.

    OR-Tools refuses a whole warm start when one route breaks a rule; here each
    route keeps what it can serve in its order (:func:`_feasible_subsequence`),
    and a pickup or delivery left out takes its partner with it (then the
    route is simulated again: removing a pickup can change the loads).
    """
    partner: dict[int, int] = {}
    for p, d in m.pair_nodes:
        partner[p], partner[d] = d, p
    out = [_feasible_subsequence(m, vi, seq) if seq else [] for vi, seq in enumerate(seqs)]
    while True:
        kept = {n for seq in out for n in seq}
        orphans = {n for n in kept if n in partner and partner[n] not in kept}
        if not orphans:
            return out
        out = [
            _feasible_subsequence(m, vi, [n for n in seq if n not in orphans])
            if orphans.intersection(seq)
            else seq
            for vi, seq in enumerate(out)
        ]


def _reorder_broken(
    problem: Problem,
    m: _Model,
    before: list[list[int]],
    after: list[list[int]],
    budget_s: float,
) -> list[list[int]]:
    """Re-order the routes whose repair left out stops only their vehicle may serve.

    Taking a stop out is the only repair a route gets, but a late courier's
    route often needs another order instead (the stop whose window is closing
    first). Greedy insertion cannot find that, and the search of a big model
    may not in the time of a re-plan; a solve of the vehicle alone (its stops
    in force, warm-started, ``budget_s`` each) does. At most
    :data:`_MAX_REORDERED` vehicles. Returns the new sequences, repaired.
    """
    def only_here(n: int, vi: int) -> bool:
        g = m.nodes[n].group
        return g is not None and g.feasible == [vi]

    broken = [
        vi
        for vi in range(len(m.vehicles))
        if any(n not in set(after[vi]) and only_here(n, vi) for n in before[vi])
    ][:_MAX_REORDERED]
    if not broken:
        return after
    out = [list(seq) for seq in after]
    node_of = {
        problem.stops[k].id: n for n in range(m.n_stop_nodes) for k in m.nodes[n].members
    }
    for vi in broken:
        v = m.vehicles[vi]
        ids = [problem.stops[k].id for n in before[vi] for k in m.nodes[n].members]
        members = set(ids)
        alone = Problem(
            time_s=problem.time_s,
            dist_m=problem.dist_m,
            vehicles=(v,),
            stops=tuple(s for s in problem.stops if s.id in members),
            cost=problem.cost,
            sequences=tuple(q for q in problem.sequences if q.vehicle == v.id),
        )
        plan = _solve(
            alone,
            budget_s,
            first_solution=None,
            metaheuristic=None,
            search_overrides=None,
            log_search=False,
            initial_routes={v.id: ids},
            timings=None,
            reorder=False,
        )
        order: list[int] = []
        for r in plan.routes:
            for ps in r.stops:
                n = node_of[ps.stop_id]
                if n not in order:
                    order.append(n)
        if len(order) > len(out[vi]):
            out[vi] = order
    return _repair(m, out)


def _pin_order_ok(seq: list[int], pinned: dict[int, tuple[int, int]]) -> bool:
    """Pinned nodes of ``seq`` in their pinned order (per sequence)."""
    last: dict[int, int] = {}
    for n in seq:
        q = pinned.get(n)
        if q is not None:
            if last.get(q[0], -1) > q[1]:
                return False
            last[q[0]] = q[1]
    return True


class _RouteState:
    """Arrays over every insertion place of every route, for :func:`_insert_unperformed`.

    Row ``vi`` holds vehicle ``vi``'s places: place ``j`` is between the ``j``-th
    node of its path (start hub first) and the next one (end hub last). Per
    place: the node before and after, the departure from the node before
    (earliest schedule from the shift start), the latest service start at the
    node after that keeps the rest of the route feasible (the shift end at the
    end hub), and per load dimension the load prefix up to the node before
    with its lowest and highest values before and after the place. Places
    beyond a route's length have ``lat = -_BIG`` (never feasible). A node fits
    at a place iff its own window, the latest start after it, the range and
    the loads allow it: the same rules as :func:`_feasible_subsequence`
    (without its "can still ride home" check at each prefix, which the model
    does not need), in O(1) per place, so all places are checked at once.
    """

    def __init__(self, m: _Model, seqs: list[list[int]]) -> None:
        self.m = m
        self.seqs = seqs
        nv = len(m.vehicles)
        self.nv = nv
        self.start = np.array(
            [m.manager.IndexToNode(m.routing.Start(vi)) for vi in range(nv)], dtype=np.int64
        )
        self.end = np.array(
            [m.manager.IndexToNode(m.routing.End(vi)) for vi in range(nv)], dtype=np.int64
        )
        self.lo = np.array([max(0, v.shift.start) for v in m.vehicles], dtype=np.int64)
        self.hi = np.array(
            [max(max(0, v.shift.start), min(v.shift.end, m.horizon)) for v in m.vehicles],
            dtype=np.int64,
        )
        self.maxd = np.array(
            [_BIG if v.max_distance_m is None else int(v.max_distance_m) for v in m.vehicles],
            dtype=np.int64,
        )
        self.factors = sorted({v.speed_factor for v in m.vehicles})
        self.fac = np.array([self.factors.index(v.speed_factor) for v in m.vehicles])
        self.speed = np.array([v.speed_factor for v in m.vehicles], dtype=np.float64)
        self.caps = [np.array(caps, dtype=np.int64) for _dem, _hub, caps in m.loads]
        self.win = [w or [(0, m.horizon)] for w in m.node_windows]
        self.fixed = np.array([int(v.fixed_cost) for v in m.vehicles], dtype=np.int64)
        self.has_range = any(v.max_distance_m is not None for v in m.vehicles)
        self.has_due = m.due is not None and bool((m.due < _BIG).any())
        self.width = 0
        self._alloc(max(8, max((len(s) for s in seqs), default=0) + 8))
        for vi in range(nv):
            self.update(vi)

    def _alloc(self, width: int) -> None:
        nv, nl = self.nv, len(self.m.loads)
        old = self.width
        self.width = width

        def grow(a: np.ndarray | None, fill: int) -> np.ndarray:
            b = np.full((nv, width), fill, dtype=np.int64)
            if a is not None:
                b[:, :old] = a
            return b

        first = old == 0
        self.pred = grow(None if first else self.pred, 0)
        self.succ = grow(None if first else self.succ, 0)
        self.dep = grow(None if first else self.dep, 0)
        self.lat = grow(None if first else self.lat, -_BIG)
        # stops after the place that are late or nearly so: a delay there costs
        self.late = grow(None if first else self.late, 0)
        self.P = [grow(None if first else self.P[i], 0) for i in range(nl)]
        self.pre_lo = [grow(None if first else self.pre_lo[i], 0) for i in range(nl)]
        self.pre_hi = [grow(None if first else self.pre_hi[i], 0) for i in range(nl)]
        self.suf_lo = [grow(None if first else self.suf_lo[i], 0) for i in range(nl)]
        self.suf_hi = [grow(None if first else self.suf_hi[i], 0) for i in range(nl)]
        if first:
            self.dist = np.zeros(nv, dtype=np.int64)
            self.hub = [np.zeros(nv, dtype=np.int64) for _ in range(nl)]
            self.size = np.zeros(nv, dtype=np.int64)

    def update(self, vi: int) -> None:
        """Recompute vehicle ``vi``'s row from ``seqs[vi]``."""
        m = self.m
        seq = self.seqs[vi]
        n = len(seq)
        if n + 1 > self.width:
            self._alloc(max(2 * self.width, n + 8))
        f = m.vehicles[vi].speed_factor
        tr, inner, D = m.travel[f], m.inner[f], m.dist
        path = [int(self.start[vi]), *seq, int(self.end[vi])]
        dep = [int(self.lo[vi])]
        t = dep[0]
        dist = 0
        due = m.due if self.has_due else None
        late: list[int] = []
        for a, b in itertools.pairwise(path[:-1]):
            st = _earliest_start(self.win[b], t + tr.item(a, b))
            t = (_BIG if st is None else st) + inner.item(b)
            if due is not None:
                late.append(1 if t - inner.item(b) > due.item(b) - _NEAR_DUE_S else 0)
            dep.append(t)
            dist += D.item(a, b)
        dist += D.item(path[-2], path[-1])
        lat = [0] * (n + 1)
        latest = int(self.hi[vi])
        lat[n] = latest
        for j in range(n, 0, -1):
            b, c = path[j], path[j + 1]
            ls = _latest_start(self.win[b], latest - tr.item(b, c) - inner.item(b))
            latest = -_BIG if ls is None else ls
            lat[j - 1] = latest
        self.pred[vi, : n + 1] = path[: n + 1]
        self.succ[vi, : n + 1] = path[1:]
        self.dep[vi, : n + 1] = dep
        self.lat[vi, : n + 1] = lat
        self.lat[vi, n + 1 :] = -_BIG
        if due is not None:
            self.late[vi, : n + 1] = [*itertools.accumulate(late[::-1])][::-1] + [0]
        self.dist[vi] = dist
        self.size[vi] = n
        for i, (dem, hubv, _caps) in enumerate(m.loads):
            P = [0, *itertools.accumulate(dem[seq].tolist())] if n else [0]
            self.P[i][vi, : n + 1] = P
            self.pre_lo[i][vi, : n + 1] = list(itertools.accumulate(P, min))
            self.pre_hi[i][vi, : n + 1] = list(itertools.accumulate(P, max))
            # lowest / highest prefix after the place (none after the last one)
            rest = P[:0:-1]  # P[n], ..., P[1]
            self.suf_lo[i][vi, : n + 1] = [*itertools.accumulate(rest, min)][::-1] + [_BIG]
            self.suf_hi[i][vi, : n + 1] = [*itertools.accumulate(rest, max)][::-1] + [-_BIG]
            self.hub[i][vi] = int(hubv[seq].sum()) if n else 0

    def _matrix(self, rows: np.ndarray, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Travel times ``a`` -> ``b`` at the speed of the vehicles of ``rows`` (one per row)."""
        travel = self.m.travel
        if len(self.factors) == 1:
            return travel[self.factors[0]][a, b]
        fac = self.fac[rows]
        out = travel[self.factors[0]][a, b]
        for fi in range(1, len(self.factors)):
            sel = fac == fi
            if sel.any():
                out = np.where(sel[:, None], travel[self.factors[fi]][a, b], out)
        return out

    def _inner(self, rows: np.ndarray, n: int) -> np.ndarray:
        m = self.m
        if len(self.factors) == 1:
            return np.full(len(rows), m.inner[self.factors[0]].item(n), dtype=np.int64)
        return np.array([m.inner[f].item(n) for f in self.factors], dtype=np.int64)[
            self.fac[rows]
        ]

    def single(
        self, n: int, rows: np.ndarray, cost: str, loads_after: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cost of inserting ``n`` at each place of ``rows`` (inf where it does not fit),
        its service start there, its departure there), each of shape (len(rows), width)."""
        m = self.m
        pred, succ = self.pred[rows], self.succ[rows]
        arr = self.dep[rows] + self._matrix(rows, pred, n)
        st = np.full(arr.shape, _BIG, dtype=np.int64)
        for a, b in reversed(self.win[n]):
            st = np.where(arr <= b, np.maximum(arr, a), st)
        ok = st < _BIG
        leave = st + self._inner(rows, n)[:, None]
        tr_ns = self._matrix(rows, n, succ)
        ok &= leave + tr_ns <= self.lat[rows]
        if self.has_range:
            D = m.dist
            dd = D[pred, n] + D[n, succ] - D[pred, succ]
            ok &= (self.dist[rows][:, None] + dd) <= self.maxd[rows][:, None]
        for i, (dem, hubv, _caps) in enumerate(m.loads):
            q = dem.item(n)
            P = self.P[i][rows] + q
            lo = np.minimum(self.pre_lo[i][rows], P)
            hi = np.maximum(self.pre_hi[i][rows], P)
            if loads_after:
                lo = np.minimum(lo, self.suf_lo[i][rows] + q)
                hi = np.maximum(hi, self.suf_hi[i][rows] + q)
            need = np.maximum(-lo, (self.hub[i][rows] + hubv.item(n))[:, None])
            ok &= need + hi <= self.caps[i][rows][:, None]
        if cost == "distance":
            D = m.dist
            c = D[pred, n] + D[n, succ] - D[pred, succ]
        else:
            c = arr - self.dep[rows] + tr_ns - self._matrix(rows, pred, succ)
        if self.has_due:
            if m.due.item(n) < _BIG:  # type: ignore[union-attr]
                c = c + LATE_COST_PER_S * np.maximum(0, st - m.due.item(n))  # type: ignore[union-attr]
            # the delay handed on to the stops after it that are (nearly) late
            push = np.maximum(0, leave + tr_ns - self.dep[rows] - self._matrix(rows, pred, succ))
            c = c + LATE_COST_PER_S * push * self.late[rows]
        fixed = self.fixed[rows]
        if fixed.any():
            c = c + np.where(self.size[rows] == 0, fixed, 0)[:, None]
        return np.where(ok, c.astype(np.float64), np.inf), st, leave

    def pair(
        self, p: int, d: int, rows: np.ndarray, cost: str, pinned: dict[int, tuple[int, int]],
        tries: int = 40,
        after_first: int = 4,
    ) -> tuple[float, int, int, int] | None:
        """Cheapest (cost, vehicle, pickup place, delivery place) for the pair, or None.

        The pickup's places come from :meth:`single` (time and what comes before it
        only: its delivery unloads again); for the cheapest (up to ``tries``, and
        ``after_first`` more once one fits), the route is walked on with the pickup
        in to find the delivery's best place after it."""
        m = self.m
        c, _st, leave = self.single(p, rows, cost, loads_after=False)
        flat = np.flatnonzero(np.isfinite(c))
        if not len(flat):
            return None
        order = flat[np.argsort(c.ravel()[flat], kind="stable")[:tries]]
        D = m.dist
        due_d = m.due.item(d) if m.due is not None else _BIG
        win_d = self.win[d]
        best: tuple[float, int, int, int] | None = None
        cache: dict[int, tuple[Any, ...]] = {}
        left = tries
        for idx in order.tolist():
            if best is not None:
                left = min(left, after_first)
            left -= 1
            if left < 0:
                break
            r, j = divmod(idx, self.width)
            vi = int(rows[r])
            f = m.vehicles[vi].speed_factor
            tr, inner = m.travel[f], m.inner[f]
            cm = D if cost == "distance" else tr
            seq = self.seqs[vi]
            n_ = len(seq)
            got = cache.get(vi)
            if got is None:
                got = (
                    [int(self.start[vi]), *seq, int(self.end[vi])],
                    self.lat[vi, : n_ + 1].tolist(),
                    [
                        (
                            dem.item(p), dem.item(d),
                            int(self.hub[i][vi]) + hubv.item(p) + hubv.item(d),
                            int(self.caps[i][vi]),
                            self.P[i][vi, : n_ + 1].tolist(),
                            self.pre_lo[i][vi, : n_ + 1].tolist(),
                            self.pre_hi[i][vi, : n_ + 1].tolist(),
                            self.suf_lo[i][vi, : n_ + 1].tolist(),
                            self.suf_hi[i][vi, : n_ + 1].tolist(),
                        )
                        for i, (dem, hubv, _caps) in enumerate(m.loads)
                    ],
                )
                cache[vi] = got
            path, lat, loads = got
            cost_p = float(c[r, j])
            dist0 = int(self.dist[vi])
            maxd = int(self.maxd[vi])
            inner_d = inner.item(d)
            # the pickup's own detour when something comes between it and the delivery
            a, b = path[j], path[j + 1]
            dd_p = D.item(a, p) + D.item(p, b) - D.item(a, b)
            mid_lo = [_BIG] * len(loads)  # lowest / highest prefix between them
            mid_hi = [-_BIG] * len(loads)
            prev, t = p, int(leave[r, j])
            for k in range(j, n_ + 1):
                if k > j:
                    # walk on to path[k] with the pickup in (the delivery not yet)
                    x = path[k]
                    st = _earliest_start(self.win[x], t + tr.item(prev, x))
                    if st is None or st > lat[k - 1]:
                        break
                    t, prev = st + inner.item(x), x
                    for i, ld in enumerate(loads):
                        v = ld[4][k] + ld[0]
                        if v < mid_lo[i]:
                            mid_lo[i] = v
                        if v > mid_hi[i]:
                            mid_hi[i] = v
                nxt = path[k + 1]
                st_d = _earliest_start(win_d, t + tr.item(prev, d))
                if st_d is None or st_d + inner_d + tr.item(d, nxt) > lat[k]:
                    continue
                if k == j:
                    dd = D.item(a, p) + D.item(p, d) + D.item(d, b) - D.item(a, b)
                    cc = cm.item(a, p) + cm.item(p, d) + cm.item(d, b) - cm.item(a, b)
                    total = cc + cost_p - (cm.item(a, p) + cm.item(p, b) - cm.item(a, b))
                else:
                    dd = dd_p + D.item(prev, d) + D.item(d, nxt) - D.item(prev, nxt)
                    total = cost_p + cm.item(prev, d) + cm.item(d, nxt) - cm.item(prev, nxt)
                if due_d < _BIG:
                    total += LATE_COST_PER_S * max(0, st_d - due_d)
                if self.has_due:
                    push = max(0, st_d + inner_d + tr.item(d, nxt) - t - tr.item(prev, nxt))
                    total += LATE_COST_PER_S * push * int(self.late[vi, k])
                if best is not None and total >= best[0]:
                    continue
                if dist0 + dd > maxd:
                    continue
                fits = True
                for i, (qp, qd, h, cap, P, plo, phi, slo, shi) in enumerate(loads):
                    at_p = P[j] + qp
                    at_d = P[k] + qp + qd
                    lo = min(plo[j], at_p, mid_lo[i], at_d, slo[k] + qp + qd)
                    hi = max(phi[j], at_p, mid_hi[i], at_d, shi[k] + qp + qd)
                    if max(-lo, h) + hi > cap:
                        fits = False
                        break
                if not fits:
                    continue
                if pinned and (p in pinned or d in pinned):
                    cand = [*seq[:j], p, *seq[j:k], d, *seq[k:]]
                    if not _pin_order_ok(cand, pinned):
                        continue
                best = (float(total), vi, j, k)
        return best


def _insert_unperformed(
    m: _Model, seqs: list[list[int]], cost: str, deadline: float
) -> None:
    """Insert the stop nodes no route holds, each where it adds least, if that stays feasible.

    A warm start leaves new and repaired-away stops unperformed; a cold start of
    a big or locked day starts from empty routes (the OR-Tools first-solution
    strategies stall there). Nodes go in most constrained first (fewest
    vehicles, then the earliest deadline), each at the place of any allowed
    route where it adds least (detour in the objective's unit, plus lateness
    past its due time), all places checked at once (:class:`_RouteState`); a
    pair goes in with its pickup at one of its cheapest places and its
    delivery at the best place after it. Pinned orders are kept. A stop only
    one vehicle may serve that fits nowhere may push others later
    (:func:`_insert_ejecting`). Stops when the clock passes ``deadline``; what
    is left starts unperformed for the search. Changes ``seqs`` in place.
    """
    where = {n for seq in seqs for n in seq}
    partner: dict[int, int] = {}
    for p, d in m.pair_nodes:
        partner[p], partner[d] = d, p
    pickups = {p for p, _ in m.pair_nodes}
    pinned = {
        n: (qi, r) for qi, (_vi, nodes) in enumerate(m.seq_nodes) for r, n in enumerate(nodes)
    }
    todo = [
        n
        for n in range(m.n_stop_nodes)
        if n not in where and (n not in partner or n in pickups)  # a delivery goes with its pickup
    ]
    if not todo:
        return
    ejecting_s, eject_budget = 0.0, max(0.0, deadline - time.perf_counter()) / 4

    def urgency(n: int) -> tuple[int, int]:
        """The most constrained first: fewest vehicles, then the earliest deadline."""
        g = m.nodes[n].group
        w = m.node_windows[partner.get(n, n)]
        last = w[-1][1] if w else m.horizon
        if m.due is not None:
            last = min(last, int(m.due[partner.get(n, n)]))
        return (len(g.feasible) if g is not None else 0, last)

    todo.sort(key=urgency)
    rs = _RouteState(m, seqs)
    all_rows = np.arange(len(m.vehicles))
    rows_of: dict[tuple[int, ...], np.ndarray] = {}
    for n in todo:
        g = m.nodes[n].group
        if g is None:
            continue
        if time.perf_counter() > deadline:
            break
        key = tuple(g.feasible)
        rows = rows_of.get(key)
        if rows is None:
            rows = (
                all_rows if len(key) == len(m.vehicles)
                else np.array(key, dtype=np.int64)
            )
            rows_of[key] = rows
        d = partner.get(n)
        if d is None:
            c, _st, _leave = rs.single(n, rows, cost)
            if n in pinned:
                c = _pin_places(c, rows, rs, n, pinned)
            idx = int(np.argmin(c))
            if np.isfinite(c.ravel()[idx]):
                r, j = divmod(idx, rs.width)
                vi = int(rows[r])
                seqs[vi].insert(j, n)
                rs.update(vi)
                where.add(n)
            elif len(g.feasible) == 1 and ejecting_s < eject_budget:
                # a stop that fits nowhere on a full bike stays out however it is pushed:
                # at most a quarter of the time goes to pushing, the rest to stops that fit
                t_eject = time.perf_counter()
                vi = g.feasible[0]
                places = _cheapest_places(m, rs, vi, n, cost)[:24]
                new = _insert_ejecting(m, vi, seqs[vi], n, places, partner, pinned,
                                       min(deadline, t_eject + eject_budget - ejecting_s))
                ejecting_s += time.perf_counter() - t_eject
                if new is not None:
                    seqs[vi][:] = new
                    rs.update(vi)
                    where.add(n)
            continue
        best = rs.pair(n, d, rows, cost, pinned)
        if best is not None:
            _c, vi, j, k = best
            seq = seqs[vi]
            seqs[vi][:] = [*seq[:j], n, *seq[j:k], d, *seq[k:]]
            rs.update(vi)
            where.update((n, d))


def _cheapest_places(m: _Model, rs: _RouteState, vi: int, n: int, cost: str) -> list[int]:
    """The places of vehicle ``vi``'s route, cheapest detour for ``n`` first."""
    w = int(rs.size[vi]) + 1
    pred, succ = rs.pred[vi, :w], rs.succ[vi, :w]
    mat = m.dist if cost == "distance" else m.travel[m.vehicles[vi].speed_factor]
    detour = mat[pred, n] + mat[n, succ] - mat[pred, succ]
    return [int(j) for j in np.argsort(detour, kind="stable")]


def _pin_places(
    c: np.ndarray, rows: np.ndarray, rs: _RouteState, n: int, pinned: dict[int, tuple[int, int]]
) -> np.ndarray:
    """``c`` with the places that would break ``n``'s pinned order set to inf."""
    qi, rank = pinned[n]
    c = c.copy()
    for r, vi in enumerate(rows):
        seq = rs.seqs[int(vi)]
        lo, hi = 0, len(seq)
        for j, x in enumerate(seq):
            q = pinned.get(x)
            if q is None or q[0] != qi:
                continue
            if q[1] < rank:
                lo = max(lo, j + 1)
            elif q[1] > rank:
                hi = min(hi, j)
        c[r, :lo] = np.inf
        c[r, hi + 1 :] = np.inf
    return c


def _insert_ejecting(
    m: _Model,
    vi: int,
    seq: list[int],
    n: int,
    places: list[int],
    partner: dict[int, int],
    pinned: dict[int, tuple[int, int]],
    deadline: float = float("inf"),
) -> list[int] | None:
    """``seq`` with ``n`` at one of ``places``, the stops that then no longer fit moved later.

    For a stop only this vehicle may serve whose every place breaks the route
    (a late courier: the stop whose window is closing must come first and
    pushes others back): the stops the simulation then leaves out are put
    back at the first place where everything fits. None if that fails, or
    when the clock passes ``deadline`` (each try simulates the whole route).
    """
    for j in places:
        if time.perf_counter() > deadline:
            return None
        cand = [*seq[:j], n, *seq[j:]]
        if pinned and not _pin_order_ok(cand, pinned):
            continue
        kept = _feasible_subsequence(m, vi, cand)
        if n not in kept:
            continue
        ejected = [x for x in cand if x not in set(kept)]
        if any(x in partner for x in ejected):
            continue
        for x in ejected:
            if time.perf_counter() > deadline:
                return None
            for i in range(len(kept) + 1):
                trial = [*kept[:i], x, *kept[i:]]
                if pinned and not _pin_order_ok(trial, pinned):
                    continue
                if len(_feasible_subsequence(m, vi, trial)) == len(trial):
                    kept = trial
                    break
            else:
                break
        else:
            return kept
    return None


def _restore(m: _Model, seqs: list[list[int]]) -> Any:
    """The routes as an assignment (a copy), leaving out routes OR-Tools refuses.

    Routes are independent of each other in the model (pairs and pins stay on
    one vehicle), so the refused ones are found by halving the set of vehicles.
    None if even that fails (the solve then starts cold).
    """
    routing, manager = m.routing, m.manager
    routes = [[manager.NodeToIndex(n) for n in seq] for seq in seqs]

    def read(vis: set[int]) -> Any:
        return routing.ReadAssignmentFromRoutes(
            [routes[vi] if vi in vis else [] for vi in range(len(routes))], True
        )

    used = [vi for vi, r in enumerate(routes) if r]
    restored = read(set(used))
    if restored is None:
        refused: list[int] = []

        def halve(vis: list[int], known_bad: bool) -> None:
            if not known_bad and read(set(vis)) is not None:
                return
            if len(vis) == 1:
                refused.append(vis[0])
                return
            half = len(vis) // 2
            halve(vis[:half], False)
            halve(vis[half:], False)

        halve(used, True)
        restored = read(set(used) - set(refused))
    # a copy: the model's own assignment is reused by later solves
    return None if restored is None else routing.solver().Assignment(restored)


def _route(
    problem: Problem,
    v: Vehicle,
    seq: list[int],
    windows: list[list[tuple[int, int]]],
    solver_departure: int,
    by_id: dict[str, Stop] | None = None,
) -> Route:
    """The route of ``v`` over stop positions ``seq``, scheduled by :func:`_schedule`."""
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


# --------------------------------------------------------------------------- #
# Process pool: OR-Tools holds the GIL, so never solve on the event loop
# --------------------------------------------------------------------------- #

_POOL: concurrent.futures.ProcessPoolExecutor | None = None


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker when the process that started it is gone.

    A server killed hard leaves its workers to finish whatever solve they hold,
    gigabytes and a core each, with nobody waiting for the answer.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def get_pool(max_workers: int | None = None) -> concurrent.futures.ProcessPoolExecutor:
    """The module's solver pool (spawn context), created on first use."""
    global _POOL
    if _POOL is None:
        _POOL = concurrent.futures.ProcessPoolExecutor(
            max_workers=max_workers or os.cpu_count() or 1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=die_with_parent, initargs=(os.getpid(),),
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
