"""A quick re-plan: the routes in force, each stop no route holds put in where it adds least.

Pure, like the rest of :mod:`backend.dispatch`. What a live re-plan must answer
within a second is mostly "where does this stop go": a same-day order, a failed
delivery's next try, a stop a dispatcher moves, the stops of a courier taken off
the road. :func:`quick_replan` keeps every route in force in its order (and its
loops), takes a stop off a route that may no longer serve it (moved to another
courier), and inserts each stop on no route (with its shop pickups, in order) at
the cheapest place of any route where it stays feasible (:func:`check_route`:
windows, shift, loads per loop, range, pins; a shop and its door on one loop):
:mod:`backend.dispatch.route_gaps` judges every gap of every route at once by
windows, shift, load and range, and the checker the cheapest that pass. No
solver runs; a better plan, if there is one, is
the solver's to find afterwards (``services/replanning.py``: ``replan_better``).

A street closed or reopened re-times the routes in force whose legs it changes
(``retime``, :func:`legs_changed`): published as they are, once the checker passes
them; the solver's re-ordering comes after, as for the others.

None when a quick answer is not the right one: nothing to insert, move or re-time
(a re-plan asked for by hand: the solver re-orders), a stop in an
order pinned by a dispatcher, a stop that
fits nowhere it is tried (the solver decides what stays unplanned), or a
group of stops partly on a route.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import msgspec
import numpy as np

from backend.dispatch.feasibility import check, check_route, returns_of
from backend.dispatch.model import Plan, Problem, Route, Unplanned, Violation
from backend.dispatch.replan import (
    ReplanResult,
    allowed_groups,
    routes_known,
)
from backend.dispatch.route_gaps import Gaps, chain_detour, chain_fits, fitting, join, route_gaps
from backend.dispatch.scheduling import loop_route
from backend.dispatch.windows import merge_windows, travel_time

__all__ = [
    "QUICK_BUDGET_S",
    "check_published",
    "legs_changed",
    "orders_cost",
    "published_part",
    "quick_replan",
]

WAITING = "not planned yet: more stops wait for a courier than one live re-plan takes; a later re-plan tries again"
# a group's cheapest places that pass the gaps' test, checked whole at most this many (the
# test is necessary only: pins and the rest are the checker's)
GAP_CHECKS = 8
_NO_GAP = 1 << 40  # the cost of no place (objective deltas are far smaller)
# past this, a quick answer is no longer quick: the solver's turn. A courier's whole route to
# hand out (out of service, 2,100 stops, 60 bikes) took 0.12-0.22 s on the bench's loaded
# server: at 0.25 s too close to give up on, with the solver's 0.3 s still to come
QUICK_BUDGET_S = 0.4
RETIME_MIN_S = 60  # a route a closure re-times by less than this (all its legs) is not published


def orders_cost(
    problem: Problem,
    orders: dict[str, list[str]],
    loops: dict[str, list[int]] | None = None,
    *,
    locations: dict[str, int] | None = None,
) -> int:
    """The solver's objective of these visiting orders: per bike the matrix time (distance when
    the problem's cost is distance) from where it is through its stops to its end hub, with
    the rides back to the hub before each stop that starts a new loop (``loops``: per bike
    the loop of each stop), and the fixed cost of a used bike. ``locations`` (stop id ->
    matrix place) saves building that index again for many calls."""
    loc = locations if locations is not None else {s.id: s.location for s in problem.stops}
    total = 0
    for v in problem.vehicles:
        ids = orders.get(v.id, [])
        mine = (loops or {}).get(v.id) or [1] * len(ids)
        path = [v.start_location]
        for j, sid in enumerate(ids):
            if j and mine[j] != mine[j - 1]:
                path.append(v.reload_place)
            path.append(loc[sid])
        path.append(v.end_location)
        for a, b in itertools.pairwise(path):
            total += (
                int(problem.dist_m[a][b])
                if problem.cost == "distance"
                else travel_time(problem.time_s[a][b], v.speed_factor)
            )
        total += v.fixed_cost if ids else 0
    return total


def legs_changed(
    problem: Problem,
    in_force: dict[str, list[str]],
    loops: dict[str, list[int]],
    base_time: np.ndarray,
    base_of: np.ndarray,
    min_s: int | None = None,
) -> frozenset[str]:
    """The bikes whose routes in force ride legs whose times differ from the ``base_time``
    matrix's by ``min_s`` or more in all (``base_of``: per location of the problem its index
    there, -1: not compared): those a closure made or lifted re-times. A smaller change is
    left to the ETA updates as the courier rides (a new route version on every phone
    whose leg a closure grazes cost more to save than it told the courier). ``min_s``:
    None for :data:`RETIME_MIN_S`."""
    least = RETIME_MIN_S if min_s is None else min_s
    loc = {s.id: s.location for s in problem.stops}
    out = set()
    for v in problem.vehicles:
        ids = [sid for sid in in_force.get(v.id, []) if sid in loc]
        if not ids:
            continue
        mine = loops.get(v.id) or [1] * len(ids)
        path = [v.start_location]
        for j, sid in enumerate(ids):
            if j and j < len(mine) and mine[j] != mine[j - 1]:
                path.append(v.reload_place)
            path.append(loc[sid])
        path.append(v.end_location)
        a, b = np.asarray(path[:-1]), np.asarray(path[1:])
        ba, bb = base_of[a], base_of[b]
        known = (ba >= 0) & (bb >= 0)
        diff = np.asarray(problem.time_s)[a[known], b[known]] - base_time[ba[known], bb[known]]
        if int(np.abs(diff).sum()) >= least:
            out.add(v.id)
    return frozenset(out)


class _Routes:
    """The routes being built: per vehicle its stop ids and the loop of each."""

    def __init__(self, problem: Problem, in_force: dict[str, list[str]], loops: dict[str, list[int]]) -> None:
        self.problem = problem
        self.pos = {s.id: k for k, s in enumerate(problem.stops)}
        self.by_id = {s.id: s for s in problem.stops}
        self.locations = {s.id: s.location for s in problem.stops}
        self._returns: frozenset[str] | None = None
        self.vehicles = {v.id: v for v in problem.vehicles}
        self.seq = {v.id: list(in_force.get(v.id, [])) for v in problem.vehicles}
        self.loop = {
            vid: list((loops.get(vid) or [])[: len(ids)]) + [1] * max(0, len(ids) - len(loops.get(vid) or []))
            for vid, ids in self.seq.items()
        }
        self.built: dict[str, Route] = {}
        self._gaps: dict[str, Gaps] = {}

    def remove(self, vid: str, sid: str) -> None:
        j = self.seq[vid].index(sid)
        del self.seq[vid][j]
        del self.loop[vid][j]
        self.built.pop(vid, None)
        self._gaps.pop(vid, None)

    def put(self, vid: str, ids: list[str], loops: list[int], route: Route) -> None:
        self.seq[vid], self.loop[vid], self.built[vid] = ids, loops, route
        self._gaps.pop(vid, None)

    def broken(self, route: Route) -> bool:
        """Whether the checker finds a rule ``route`` breaks on its own."""
        if self._returns is None:
            self._returns = returns_of(self.by_id)
        return bool(check_route(self.problem, route, stops_by_id=self.by_id, returns=self._returns))

    def cost(self, vid: str, ids: list[str] | None = None, loops: list[int] | None = None) -> int:
        """The objective of ``vid``'s route (of ``ids`` in ``loops``; default: as it is)."""
        ids, loops = (self.seq[vid], self.loop[vid]) if ids is None else (ids, loops or [1] * len(ids))
        only = msgspec.structs.replace(self.problem, vehicles=(self.vehicles[vid],))
        return orders_cost(only, {vid: ids}, {vid: loops}, locations=self.locations)

    def gaps(self, vids: list[str]) -> Gaps:
        """The gaps of these bikes' routes, ``owner`` their index in ``vids``."""
        parts = []
        for i, vid in enumerate(vids):
            if vid not in self._gaps:
                route = self.built.get(vid) or self.route(vid, self.seq[vid], self.loop[vid])
                self.built[vid] = route
                self._gaps[vid] = route_gaps(self.problem, self.vehicles[vid], route, self.by_id)
            parts.append(self._gaps[vid]._replace(owner=np.full(len(self._gaps[vid].owner), i, dtype=np.int64)))
        return join(parts)

    def route(self, vid: str, ids: Sequence[str], loops: Sequence[int]) -> Route:
        breaks = [j for j in range(1, len(ids)) if loops[j] != loops[j - 1]]
        return loop_route(self.problem, self.vehicles[vid], [self.pos[s] for s in ids], breaks, by_id=self.by_id)


# a group's place: what it adds to the objective, the bike, its stops and loops, the route timed
_Placed = tuple[int, str, list[str], list[int], Route]


def _insert(r: _Routes, members: list[str], allowed: frozenset[str], aboard: bool) -> bool:
    """Put the group into the cheapest place the checker passes (:func:`_cheapest_gap`); False if none."""
    best = _cheapest_gap(r, members, sorted(allowed), aboard)
    if best is None:
        return False
    _d, vid, ids, loops, route = best
    r.put(vid, ids, loops, route)
    return True


def _cheapest_gap(r: _Routes, members: list[str], vids: list[str], aboard: bool) -> _Placed | None:
    """The cheapest place for a group (its pickups in order, its delivery last: ``members``)
    in the routes of ``vids`` that the checker passes. The gaps that can take each stop
    alone by windows, shift, load and range (:mod:`backend.dispatch.route_gaps`; a pickup's
    goods, which ride only to their door, on board where it leaves them at least) are tried
    cheapest first: the delivery at any such gap, each pickup at its cheapest such gap
    before the one after it in the same loop (a shop and its door ride one loop: the
    solver's model holds it, and its warm start refused a route in force that broke it),
    where their delays together keep every window (:func:`~backend.dispatch.route_gaps.chain_fits`),
    costed as one detour where they share a gap (:func:`~backend.dispatch.route_gaps.chain_detour`);
    at most ``GAP_CHECKS`` checked whole. On a bike riding several loops, goods on board
    (``aboard``) stay on the loop ridden now and a delivery of the hub's goods goes on a
    later one (loaded at its reload): the solver's model holds both rules too. None if
    none passes."""
    if not vids:
        return None
    p = r.problem
    gaps = r.gaps(vids)
    owner, position, loop = gaps.owner.tolist(), gaps.position.tolist(), gaps.loop.tolist()
    several = gaps.last > gaps.ridden
    *pickups, door = members
    hub_goods = not pickups and not aboard and r.by_id[door].kind == "delivery"
    if aboard:
        allowed = ~several | (gaps.loop == gaps.ridden)
    elif hub_goods:
        allowed = ~several | (gaps.loop > gaps.ridden)
    else:
        allowed = np.ones(len(owner), dtype=bool)
    # a pickup's goods ride to the door: on board at the pickup and up to the door at least
    goods = np.array([[r.by_id[sid].weight_kg, r.by_id[sid].volume_l] for sid in pickups]).reshape(-1, 2)
    room = gaps.capacity + 1e-6 - gaps.load_here
    # one loop of one route: a run of gaps, in route order
    segment = np.r_[True, (gaps.owner[1:] != gaps.owner[:-1]) | (gaps.loop[1:] != gaps.loop[:-1])]
    # per pickup and gap: its cheapest gap that passes at or before this one in the loop (cost,
    # gap), with room all the way: from a pickup to the next (or the door) the bike carries
    # that pickup's goods, those of the pickups before it and what the door gets from the hub
    # (loaded at the loop's start), so a gap without room for them bars every gap before it
    own = np.array([r.by_id[door].weight_kg, r.by_id[door].volume_l]) if pickups else np.zeros(2)
    upto: list[tuple[np.ndarray, np.ndarray]] = []
    for sid, carried in zip(pickups, own + np.cumsum(goods, axis=0), strict=True):
        goods_free = msgspec.structs.replace(r.by_id[sid], weight_kg=0.0, volume_l=0.0)
        order, delta = fitting(p, gaps, goods_free)
        cost = np.full(len(owner), _NO_GAP, dtype=np.int64)
        cost[order] = delta
        full = ~np.all(room >= carried, axis=1)
        cost[full | ~allowed] = _NO_GAP
        upto.append(_cheapest_so_far(cost, segment | full))
    order, delta = fitting(p, gaps, r.by_id[door])
    keep = (allowed & np.all(room >= own + goods.sum(axis=0), axis=1))[order]
    at, total = [order[keep]], delta[keep].astype(np.int64)
    found = np.ones(len(total), dtype=bool)
    for best, where in reversed(upto):  # the last pickup before the door, each one before the next
        found &= best[at[0]] < _NO_GAP
        total = total + best[at[0]]
        at.insert(0, where[at[0]])
    at, total = [a[found] for a in at], total[found]
    if pickups:  # each stop fits its gap alone; together their delays must fit too
        chain = [r.by_id[sid] for sid in members]
        both = chain_fits(p, gaps, chain, at)
        at, total = [a[both] for a in at], total[both]
        total = total + chain_detour(p, gaps, chain, at)  # one gap: one detour through both
    # cheapest first; ties by route, then by the gaps, as sorting (cost, route, gaps) would
    ranked = np.lexsort((*reversed(at), gaps.owner[at[-1]], total))[:GAP_CHECKS]
    tries = [(int(total[i]), owner[int(at[-1][i])], [int(a[i]) for a in at]) for i in ranked.tolist()]
    for _cost, o, places in tries:
        vid = vids[o]
        ids, loops = list(r.seq[vid]), list(r.loop[vid])
        numbering = list(dict.fromkeys(loops)) or [1]  # the route's loops as r numbers them
        # a gap's place in the route as it was: each stop put in before it moves the later ones on
        for n, (sid, g) in enumerate(zip(members, places, strict=True)):
            ids.insert(position[g] + n, sid)
            loops.insert(position[g] + n, numbering[loop[g] - 1])
        route = r.route(vid, ids, loops)
        if not r.broken(route):
            return r.cost(vid, ids, loops) - r.cost(vid), vid, ids, loops, route
    return None


def _cheapest_so_far(cost: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per gap the least ``cost`` at it or before it in its run of gaps (runs begin where
    ``starts``), and the first gap with that cost. Each run is shifted below the ones before
    it, so one running minimum over all of them never reaches back into an earlier run."""
    n = len(cost)
    key = cost - np.cumsum(starts, dtype=np.int64) * (4 * _NO_GAP)
    low = np.minimum.accumulate(key)
    new = np.ones(n, dtype=bool)
    new[1:] = key[1:] < low[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return cost[first], first


def quick_replan(
    problem: Problem,
    routes_in_force: dict[str, list[str]],
    loops_in_force: dict[str, list[int]] | None = None,
    *,
    on_board: frozenset[str] = frozenset(),
    budget_s: float = QUICK_BUDGET_S,
    waiting: frozenset[str] = frozenset(),
    retime: frozenset[str] = frozenset(),
    moves: bool = True,
) -> ReplanResult | None:
    """The routes in force with the stops no route holds inserted (see the module docstring);
    ``loops_in_force``: per vehicle the loop of each stop of its route in force (1 when
    absent); ``on_board``: stops whose goods are on a bike already (on a bike riding loops
    they go on the loop it rides now). None when a quick answer is not the right one, or
    not found within ``budget_s`` (the solver's work).
    ``waiting``: stops an earlier re-plan left waiting for a courier; they are put in after
    the others as far as they fit within the budget, and stay unplanned otherwise.
    ``retime``: bikes whose routes are published re-timed even when their order stays (a
    closure lengthened a leg, a stop was withdrawn from them): with these, a quick answer
    needs nothing to insert. ``moves`` False: the matrices are exact only at the routes'
    legs and the rows and columns of the hubs and of the stops on no route (a closure's
    legs first, backend/dispatch/closed_legs.py): None when a stop is to move to another
    route (its lines were not read)."""
    in_force = routes_known(problem, routes_in_force)
    loops: dict[str, list[int]] = {}
    for vid, ids in in_force.items():
        of = dict(zip(routes_in_force[vid], (loops_in_force or {}).get(vid, []), strict=False))
        loops[vid] = [of.get(sid, 1) for sid in ids]
    r = _Routes(problem, in_force, loops)
    groups, allowed = allowed_groups(problem)
    where = {sid: vid for vid, ids in r.seq.items() for sid in ids}
    moved_ids: set[str] = set()
    for members, ok in zip(groups, allowed, strict=True):
        ids = [problem.stops[m].id for m in members]
        on = {where[sid] for sid in ids if sid in where}
        if on and not on <= ok:  # on a route that may no longer serve it (moved to another courier)
            for sid in ids:
                if sid in where:
                    r.remove(where.pop(sid), sid)
            moved_ids.update(ids)
    moved = bool(moved_ids)
    free = []
    for members, ok in zip(groups, allowed, strict=True):
        ids = [problem.stops[m].id for m in members]
        placed = sum(sid in where for sid in ids)
        if placed == 0:
            free.append((ids, ok))
        elif placed < len(ids):
            return None  # a basket half on a route: the solver's
    if not free and not moved and not retime:
        return None
    if moved and not moves:
        return None
    pinned = {sid for q in problem.sequences for sid in q.stops}
    if pinned & ({sid for ids, _ in free for sid in ids} | moved_ids):
        return None  # an order pinned by a dispatcher: the solver keeps it whole
    windows = {s.id: merge_windows(s.windows) for s in problem.stops}

    def urgency(group: tuple[list[str], frozenset[str]]) -> tuple[int, int]:
        w = windows[group[0][-1]]
        return (len(group[1]), w[-1][1] if w else 1 << 40)

    stop_at = time.perf_counter() + budget_s
    left: list[str] = []
    # the stops of this change first (they must fit); those already waiting for a courier
    # (left unplanned by an earlier re-plan) after them, as far as they fit and time allows
    for ids, ok in sorted(free, key=lambda g: (g[0][-1] in waiting, *urgency(g))):
        late = time.perf_counter() > stop_at
        if ids[-1] in waiting:
            if late or not ok or not _insert(r, ids, ok, ids[-1] in on_board):
                left.extend(ids)
        elif late or not ok or not _insert(r, ids, ok, ids[-1] in on_board):
            return None
    return _result(problem, in_force, r, left, retime)


def _result(
    problem: Problem, in_force: dict[str, list[str]], r: _Routes, left: list[str], retime: frozenset[str]
) -> ReplanResult:
    """The plan of the routes that changed or are ``retime``d (the others stay in force as
    they are: nothing of them is published), with the objective of all of them."""
    changed = {vid for vid, ids in r.seq.items() if ids != in_force.get(vid, []) or vid in retime}
    routes = [r.built.get(vid) or r.route(vid, r.seq[vid], r.loop[vid]) for vid in sorted(changed)]
    routes = [x for x in routes if x.stops or in_force.get(x.vehicle_id)]
    plan = Plan(
        routes=tuple(routes),
        unplanned=tuple(Unplanned(stop_id=sid, reason="no_capacity", detail=WAITING) for sid in left),
        cost=orders_cost(problem, r.seq, r.loop),
        distance_m=sum(x.distance_m for x in routes),
        duration_s=sum(x.duration_s for x in routes),
        solve_s=0.0,
        status="quick",
    )
    return ReplanResult(plan=plan, changed=frozenset(changed), kept_order=frozenset())


def published_part(problem: Problem, plan: Plan) -> Problem:
    """``problem`` cut down to what a quick plan publishes: its routes' bikes and stops (and
    the orders pinned to those bikes), so that the checker judges the routes that change
    as a whole plan (:func:`~backend.dispatch.feasibility.check`)."""
    vids = {x.vehicle_id for x in plan.routes}
    sids = {ps.stop_id for x in plan.routes for ps in x.stops}
    return msgspec.structs.replace(
        problem,
        vehicles=tuple(v for v in problem.vehicles if v.id in vids),
        stops=tuple(s for s in problem.stops if s.id in sids),
        sequences=tuple(q for q in problem.sequences if q.vehicle in vids),
    )


def check_published(problem: Problem, plan: Plan) -> list[Violation]:
    """The checker's verdict on what a quick plan publishes: its routes as a plan of their own
    (:func:`published_part`); the stops it leaves waiting are not published."""
    return check(published_part(problem, plan), msgspec.structs.replace(plan, unplanned=()))
