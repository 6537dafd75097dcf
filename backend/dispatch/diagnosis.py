"""Groups of stops and the solver-independent diagnosis of stops no bike could serve.

A group is what must be planned together (the shops feeding one door, then the
door; or one stop). Before any solve, each group is checked against every
allowed bike alone: a group no bike could serve even alone is reported with a
reason (:data:`~backend.dispatch.model.UnplannedReason`) and never modelled.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.dispatch.model import (
    Problem,
    Stop,
    Unplanned,
    UnplannedReason,
    Vehicle,
)
from backend.dispatch.scheduling import schedule
from backend.dispatch.windows import (
    BIG,
    DL_PER_L,
    GRAMS_PER_KG,
    earliest_start,
    merge_windows,
    scaled,
    scaled_capacity,
    travel_time,
)

MAX_GROUP_PERMUTATIONS = 720  # groups of up to 6 pickups are checked exactly


@dataclass
class Group:
    """Stops that must be planned together: pickups then their delivery, or one stop."""

    members: list[int]  # stop positions; for a pickup group the delivery is last
    delivery: int | None = None  # position of the delivery fed by pickups
    pickups: list[int] = field(default_factory=list)
    vehicles: list[int] = field(default_factory=list)  # allowed by the problem
    feasible: list[int] = field(default_factory=list)  # could serve the group alone
    reason: UnplannedReason | None = None
    detail: str = ""
    reason_stop: int | None = None  # the stop the reason is about


def validate(problem: Problem) -> None:
    n = len(problem.time_s)
    if len(problem.dist_m) != n or any(len(r) != n for r in problem.time_s) or any(len(r) != n for r in problem.dist_m):
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
                    f"the pinned orders contradict each other or put a delivery before its pickup (at stop {nxt})"
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
    if peak_g > scaled_capacity(v.payload_kg, GRAMS_PER_KG):
        fails.append("too_heavy")
    if peak_dl > scaled_capacity(v.volume_l, DL_PER_L):
        fails.append("too_big")
    D = problem.dist_m
    range_any = time_any = both = False
    for order in orders:
        sched = schedule(problem, v, order, windows)
        ok_time = sched is not None and sched.end <= v.shift.end
        dist = sum(
            D[a][b]
            for a, b in itertools.pairwise([v.start_location] + [stops[k].location for k in order] + [v.end_location])
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


def _alone_ok(problem: Problem, stops: list[Stop], windows: list[list[tuple[int, int]]], v: Vehicle) -> np.ndarray:
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
    a = np.array([w[0][0] if w else -BIG for w in windows], dtype=np.int64)
    b = np.array([w[0][1] if w else BIG for w in windows], dtype=np.int64)
    st = np.maximum(arr, a)
    service = np.array([s.service_s for s in stops], dtype=np.int64)
    ok = one & (arr <= b) & (st + service + ride(col(T, v.end_location)) <= v.shift.end)
    if v.max_distance_m is not None:
        ok &= row(D, v.start_location) + col(D, v.end_location) <= v.max_distance_m
    cap_g, cap_dl = scaled_capacity(v.payload_kg, GRAMS_PER_KG), scaled_capacity(v.volume_l, DL_PER_L)
    ok &= np.array(
        [scaled(s.weight_kg, GRAMS_PER_KG) <= cap_g and scaled(s.volume_l, DL_PER_L) <= cap_dl for s in stops]
    )
    return np.asarray(ok, dtype=bool)


_REASON_ORDER: tuple[UnplannedReason, ...] = (
    "too_heavy",
    "too_big",
    "beyond_range",
    "window_unreachable",
)
_REASON_WORDS = {
    # one stop's goods ride in one loop: no split into loops carries them either
    "too_heavy": "larger than any bike (heavier than the payload of one loop)",
    "too_big": "larger than any bike (more volume than the box holds in one loop)",
    "beyond_range": "round trip beyond the battery range",
    "window_unreachable": "cannot be served within its window and the shift",
}


def pins(problem: Problem) -> dict[int, tuple[int, int]]:
    """Stop position -> (index of its sequence, rank among the sequence's known stops)."""
    pos = {s.id: i for i, s in enumerate(problem.stops)}
    out: dict[int, tuple[int, int]] = {}
    for qi, q in enumerate(problem.sequences):
        known = [pos[sid] for sid in q.stops if sid in pos]
        for rank, k in enumerate(known):
            out[k] = (qi, rank)
    return out


def _group_stops(stops: list[Stop]) -> list[Group]:
    """One group per door fed by pickups (the pickups, then the door) and per other stop."""
    pos = {s.id: i for i, s in enumerate(stops)}
    named = {p for s in stops for p in s.pickups}
    groups: list[Group] = []
    for i, s in enumerate(stops):
        if s.kind == "pickup" and s.id in named:
            continue  # joins its delivery's group
        if s.kind == "delivery" and s.pickups:
            known = [pos[p] for p in s.pickups if p in pos and stops[pos[p]].kind == "pickup"]
            g = Group(members=known + [i], delivery=i, pickups=known)
            unknown = [p for p in s.pickups if p not in pos or stops[pos[p]].kind != "pickup"]
            if unknown:
                g.reason, g.reason_stop = "pickup_unplanned", i
                g.detail = f"pickup {unknown[0]} is not a pickup stop of this problem"
                groups.append(g)
                continue
        else:
            g = Group(members=[i])
        groups.append(g)
    return groups


def _give_reason(
    g: Group,
    sub: list[int],
    per_vehicle: dict[int, list[str]],
    stops: list[Stop],
    vehicles: tuple[Vehicle, ...],
) -> None:
    """Mark ``g`` hopeless: ``sub`` (one stop or the whole group) fails on every bike."""
    counts = {r: sum(r in f for f in per_vehicle.values()) for r in _REASON_ORDER}
    universal = [r for r in _REASON_ORDER if counts[r] == len(per_vehicle)]
    reason = universal[0] if universal else max(_REASON_ORDER, key=lambda r: counts[r])
    who = (
        f"stop {stops[sub[0]].id}"
        if len(sub) == 1
        else f"pickups {', '.join(stops[k].id for k in g.pickups)} with delivery {stops[g.delivery].id}"  # type: ignore[index]
    )
    parts = "; ".join(f"{vehicles[vi].id}: {', '.join(f)}" for vi, f in list(per_vehicle.items())[:5])
    g.reason = reason
    g.reason_stop = sub[0] if len(sub) == 1 else g.delivery
    g.detail = f"{who}: {_REASON_WORDS[reason]} for every allowed bike ({parts})"


def build_groups(problem: Problem, windows: list[list[tuple[int, int]]] | None = None) -> list[Group]:
    """Groups with allowed and feasible vehicles and, for hopeless ones, a reason."""
    stops = list(problem.stops)
    vehicles = problem.vehicles
    vpos = {v.id: i for i, v in enumerate(vehicles)}
    if windows is None:
        windows = [merge_windows(s.windows) for s in stops]
    pin = pins(problem) if problem.sequences else {}
    # what _vehicle_check reads of a vehicle: couriers on the same bike, hubs and
    # shift answer alike (a big day has many couriers of few kinds)
    kinds = [
        (
            v.start_location,
            v.end_location,
            v.shift.start,
            v.shift.end,
            v.payload_kg,
            v.volume_l,
            v.max_distance_m,
            v.speed_factor,
        )
        for v in vehicles
    ]
    fast: dict[tuple[Any, ...], np.ndarray] = {}

    def alone_ok(sig: tuple[Any, ...], vi: int, k: int) -> bool:
        """Surely feasible alone on this kind of bike (False: let _vehicle_check say)."""
        ok = fast.get(sig)
        if ok is None:
            ok = fast[sig] = _alone_ok(problem, stops, windows, vehicles[vi])
        return bool(ok[k])

    groups = _group_stops(stops)
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
                peak_g = scaled(s.weight_kg, GRAMS_PER_KG)
                peak_dl = scaled(s.volume_l, DL_PER_L)
                orders = [sub]
            else:
                peak_g = sum(scaled(stops[k].weight_kg, GRAMS_PER_KG) for k in g.members)
                peak_dl = sum(scaled(stops[k].volume_l, DL_PER_L) for k in g.members)
                door = g.delivery
                assert door is not None  # a group of several stops is a door and its shops
                if math.factorial(len(g.pickups)) <= MAX_GROUP_PERMUTATIONS:
                    orders = [list(p) + [door] for p in itertools.permutations(g.pickups)]
                else:
                    orders = []  # too many orders to check: let the solver decide
            if len(sub) == 1 and stops[sub[0]].kind == "delivery" and stops[sub[0]].pickups:
                # the shops' goods are checked with the group; alone it carries its own part
                peak_g = scaled(stops[sub[0]].weight_kg, GRAMS_PER_KG)
                peak_dl = scaled(stops[sub[0]].volume_l, DL_PER_L)
            per_vehicle: dict[int, list[str]] = {}
            seen: dict[tuple[Any, ...], list[str]] = {}  # bikes alike answer alike
            for vi in g.vehicles:
                if orders:
                    sig = kinds[vi]
                    fails = seen.get(sig)
                    if fails is None and len(sub) == 1 and alone_ok(sig, vi, sub[0]):
                        fails = seen[sig] = []
                    if fails is None:
                        fails = _vehicle_check(problem, stops, orders, windows, vehicles[vi], peak_g, peak_dl)
                        seen[sig] = fails
                else:
                    fails = []
                per_vehicle[vi] = fails
            ok = [vi for vi, f in per_vehicle.items() if not f]
            if ok:
                if sub is g.members:
                    g.feasible = ok
                continue
            _give_reason(g, sub, per_vehicle, stops, vehicles)
            break
    if pin:
        _diagnose_pins(problem, groups, pin, windows)
    return groups


def _diagnose_pins(
    problem: Problem,
    groups: list[Group],
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
            st = earliest_start(windows[k], arr)
            d = dist + D[prev][s.location]
            home = travel_time(T[s.location][v.end_location], v.speed_factor)
            on_time = st is not None and st + s.service_s + home <= v.shift.end
            in_range = v.max_distance_m is None or d + D[s.location][v.end_location] <= (v.max_distance_m)
            if on_time and in_range:
                assert st is not None
                t, prev, dist, before = st + s.service_s, s.location, d, s.id
                continue
            where = f"after {before}" if before else "first"
            why = "within its window and the shift" if not on_time else "within the battery range"
            g.reason, g.reason_stop = "pinned_order", k
            g.detail = f"stop {s.id}: pinned {where} on {q.vehicle}, it cannot be served {why}"


def unplanned_for_group(stops: list[Stop], g: Group) -> list[Unplanned]:
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
    validate(problem)
    stops = list(problem.stops)
    out: list[Unplanned] = []
    for g in build_groups(problem):
        if g.reason is not None:
            out.extend(unplanned_for_group(stops, g))
    return out
