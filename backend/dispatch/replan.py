"""Live re-planning: start from the routes in force, publish only what changed.

Pure, like the rest of :mod:`backend.dispatch`. :func:`replan` solves a
:class:`~backend.dispatch.model.Problem` warm-started from the routes in force
(``solve(..., initial_routes=...)``), then keeps a courier's old visiting order
when the new one visits the same stops and saves less than ``min_gain_s``
seconds: nobody wants the route reshuffled for a gain of seconds.

Locking needs no extra mechanism; the caller expresses it in the Problem:

* A stop that is *done* is left out of the problem (it is history).
* A stop that is *under way* or whose goods are *already on a bike* gets
  ``Stop.vehicles=(that bike's id,)``: only that courier may serve it. Goods
  on board are modelled as a delivery (hub-loaded goods are loaded at the
  vehicle's start, which is where the courier is now).
* The courier's current position and time are the vehicle's
  ``start_location`` and ``shift.start`` (e.g. the stop being served and the
  time its service ends).

Stop ids in the routes in force that the problem no longer has (done, or
withdrawn by the caller) and vehicles the problem no longer has are ignored,
also when deciding which routes changed: the caller knows what it removed.

Focused re-plan
---------------
In a running day most stops are locked to their courier and only a few are
free (a new order, a redirected parcel, the stops of a courier taken off the
road). Building the OR-Tools model of the whole day then costs more than the
time limit (its matrices alone take seconds at 2,000 stops). With ``focus``
only the couriers that matter are solved again, warm-started, on a problem cut
down to their stops and the free ones; every other courier keeps the route in
force as it is (scheduled again from now). A courier is in focus when:

* its route in force holds a free stop (it may lose it), misses a stop locked
  to it, or is not feasible on its own (a window missed, a pinned order
  broken...: the solver must re-order it);
* its route serves stops after their (soft) due time: the latest couriers
  first, within half the stop budget;
* it is among the ``k`` couriers that can insert a free stop most cheaply
  into their routes in force (travel time of the detour); free stops close
  to each other share couriers: a stop that already has ``k`` couriers in
  focus among its ``2k`` cheapest brings in no more, but a courier counts as
  the taker of at most four free stops, so a cluster of them (a courier out
  of service) brings in enough couriers to absorb it.

With ``focus="auto"`` (the default) this happens for problems of at least
:data:`AUTO_FOCUS_MIN_STOPS` stops, with ``k =`` :data:`DEFAULT_FOCUS_K`;
smaller problems are solved whole as before. ``focus="all"`` always solves the
whole problem, an integer ``k`` always focuses. When the focus covers most
couriers anyway, the whole problem is solved.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Literal

import msgspec
import numpy as np

from backend.dispatch.feasibility import check_route
from backend.dispatch.model import Plan, Problem, Route, Stop, Unplanned, Vehicle
from backend.dispatch.ortools_search import solve
from backend.dispatch.scheduling import build_route, loop_route, tight_schedule
from backend.dispatch.windows import merge_windows, travel_time, without_gc

__all__ = [
    "AUTO_FOCUS_MIN_STOPS",
    "DEFAULT_FOCUS_K",
    "DEFAULT_MIN_GAIN_S",
    "ReplanResult",
    "changed_vehicles",
    "replan",
    "route_orders",
]

DEFAULT_MIN_GAIN_S = 120
# focus="auto" focuses from this many stops on: below it the whole model builds
# and searches well within a second
AUTO_FOCUS_MIN_STOPS = 400
# couriers considered per free stop (by detour); a free stop rarely goes further
DEFAULT_FOCUS_K = 3
# focusing on more than this share of the couriers saves little: solve the whole
_FOCUS_MAX_SHARE = 0.6
# free stops counted per courier in focus: more bring in the next cheapest courier
_FOCUS_FREE_PER_COURIER = 4
# stops a focused model may have per second of time limit (its build and warm
# start take about a quarter of a second at 700 stops); k is lowered to fit
_FOCUS_STOPS_PER_S = 800


class ReplanResult(msgspec.Struct, frozen=True, kw_only=True):
    """The new plan and what a dispatcher has to publish."""

    plan: Plan
    # vehicles whose stop sequence differs from the routes in force: publish these
    changed: frozenset[str]
    # vehicles whose new order (same stops) was rejected as not worth it
    kept_order: frozenset[str]


def route_orders(plan: Plan) -> dict[str, list[str]]:
    """Vehicle id -> its stop ids in visiting order (vehicles without a route are absent)."""
    return {r.vehicle_id: [s.stop_id for s in r.stops] for r in plan.routes}


def changed_vehicles(before: dict[str, list[str]], after: dict[str, list[str]]) -> set[str]:
    """The vehicles whose stop sequence differs; a vehicle missing on one side has no stops."""
    return {vid for vid in before.keys() | after.keys() if list(before.get(vid, ())) != list(after.get(vid, ()))}


def routes_known(problem: Problem, routes_in_force: dict[str, list[str]]) -> dict[str, list[str]]:
    """The routes in force restricted to the problem's vehicles and stops, each stop once."""
    stop_ids = {s.id for s in problem.stops}
    vehicle_ids = {v.id for v in problem.vehicles}
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for vid, ids in routes_in_force.items():
        if vid not in vehicle_ids:
            continue
        kept = []
        for sid in ids:
            if sid in stop_ids and sid not in seen:
                seen.add(sid)
                kept.append(sid)
        out[vid] = kept
    return out


def _arc_cost(problem: Problem, v: Vehicle, locations: list[int]) -> int:
    """What the solver's objective charges for riding to ``locations`` in order (no fixed cost)."""
    path = [v.start_location, *locations, v.end_location]
    if problem.cost == "distance":
        return int(sum(problem.dist_m[a][b] for a, b in itertools.pairwise(path)))
    T = problem.time_s
    return int(sum(travel_time(T[a][b], v.speed_factor) for a, b in itertools.pairwise(path)))


def _lateness(route: Route, by_id: dict[str, Stop]) -> int:
    """Seconds past the (soft) due times of the route's stops, in all."""
    return sum(max(0, ps.start_s - due) for ps in route.stops if (due := by_id[ps.stop_id].due_s) is not None)


def _with_route(problem: Problem, plan: Plan, route: Route, v: Vehicle, loc: dict[str, int]) -> Plan:
    """``plan`` with the route of ``route.vehicle_id`` replaced and its totals updated."""
    old = next(r for r in plan.routes if r.vehicle_id == route.vehicle_id)
    routes = tuple(route if r.vehicle_id == route.vehicle_id else r for r in plan.routes)
    delta = _arc_cost(problem, v, [loc[s.stop_id] for s in route.stops]) - _arc_cost(
        problem, v, [loc[s.stop_id] for s in old.stops]
    )
    return msgspec.structs.replace(
        plan,
        routes=routes,
        cost=plan.cost + delta,
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
    )


# --------------------------------------------------------------------------- #
# Focus: which couriers to solve again
# --------------------------------------------------------------------------- #


@dataclass
class Split:
    """A problem cut down to the couriers in focus, and the routes kept as they are."""

    problem: Problem  # the couriers in focus, their stops and the free ones (same matrices)
    in_force: dict[str, list[str]]  # of the couriers in focus
    kept: dict[str, Route | None]  # courier not in focus -> its route (None: no route)
    # free stops on no route, left out of this re-plan: more than its budget
    deferred: list[str] = field(default_factory=list)


def allowed_groups(problem: Problem) -> tuple[list[list[int]], list[frozenset[str]]]:
    """Groups of stop positions (pickups with their delivery) and the vehicles allowed for each.

    As the solver sees them: the intersection of the members' ``vehicles``
    (within the problem) and of the courier they are pinned to.
    """
    stops = problem.stops
    pos = {s.id: i for i, s in enumerate(stops)}
    vids = frozenset(v.id for v in problem.vehicles)
    pinned = {sid: q.vehicle for q in problem.sequences for sid in q.stops}
    named = {p for s in stops for p in s.pickups}
    groups: list[list[int]] = []
    allowed: list[frozenset[str]] = []
    for i, s in enumerate(stops):
        if s.kind == "pickup" and s.id in named:
            continue  # goes with its delivery
        members = [pos[p] for p in s.pickups if p in pos and stops[pos[p]].kind == "pickup"] if s.pickups else []
        members.append(i)
        ok = vids  # shared, never changed: a new set only where members restrict it
        for k in members:
            st = stops[k]
            if st.vehicles:
                ok = ok.intersection(st.vehicles)
            if st.id in pinned:
                ok = ok & {pinned[st.id]}
        groups.append(members)
        allowed.append(ok)
    return groups, allowed


def insertion_costs(problem: Problem, paths: list[list[int]], targets: list[int]) -> np.ndarray:
    """Cheapest detour (matrix time) to visit each of ``targets`` on each path of locations.

    Shape (len(targets), len(paths)). Only the matrix rows and columns needed
    are read: the full matrix of a live day has millions of entries.
    """
    T = problem.time_s
    a = [p[j] for p in paths for j in range(len(p) - 1)]
    b = [p[j + 1] for p in paths for j in range(len(p) - 1)]
    starts = np.r_[0, np.cumsum([len(p) - 1 for p in paths])[:-1]]
    if isinstance(T, np.ndarray):  # the live day's matrices: gathered in numpy
        ai, bi, ti = np.array(a), np.array(b), np.array(targets)
        detour = T[np.ix_(ai, ti)].T.astype(np.int64) + T[np.ix_(ti, bi)] - T[ai, bi][None, :]
        return np.minimum.reduceat(detour, starts, axis=1)
    if len(targets) == 1:
        into = np.array([[T[x][targets[0]]] for x in a], dtype=np.int64).T
    else:
        pick = itemgetter(*targets)
        into = np.array([pick(T[x]) for x in a], dtype=np.int64).T
    rows = np.array([T[t] for t in targets], dtype=np.int64)
    out_of = rows[:, b]
    direct = np.array([T[x][y] for x, y in zip(a, b, strict=True)], dtype=np.int64)
    detour = into + out_of - direct[None, :]
    # the arcs of one path are contiguous: the cheapest per path
    return np.minimum.reduceat(detour, starts, axis=1)


def _kept_route(
    problem: Problem,
    v: Vehicle,
    seq: list[int],
    windows: list[list[tuple[int, int]]],
    by_id: dict[str, Stop],
    breaks: list[int] | None = None,
) -> tuple[Route | None, bool]:
    """The route in force of ``v`` scheduled from now as the solver would, and if it is feasible.

    An empty route is None unless the bike has to ride between two hubs (as
    in the solver's plans). ``breaks``: the positions that start a loop, on a bike riding
    loops; its route is kept with its reloads (scheduled as one loop it broke its capacity,
    so every bike riding loops was in focus: 21 couriers and ~650 stops on the bench's day
    for a single new order).
    """
    if breaks:
        route = loop_route(problem, v, seq, breaks, by_id=by_id)
        return route, not check_route(problem, route, stops_by_id=by_id)
    if not seq:
        if v.start_location == v.end_location:
            return None, True
        leg_t = travel_time(problem.time_s[v.start_location][v.end_location], v.speed_factor)
        leg_d = problem.dist_m[v.start_location][v.end_location]
        fits = v.shift.start + leg_t <= v.shift.end and (v.max_distance_m is None or leg_d <= v.max_distance_m)
        if not fits:
            return None, True  # the solver leaves such a bike without a route
    if tight_schedule(problem, v, seq, windows) is None:
        return None, False
    route = build_route(problem, v, seq, windows, v.shift.start, by_id)
    return route, not check_route(problem, route, stops_by_id=by_id)


def _breaks(v: Vehicle, ids: list[str], loops: dict[str, int] | None) -> list[int]:
    """The positions of ``ids`` that start another loop than the stop before on bike ``v``
    (``loops``: stop id -> its loop in force)."""
    if not loops or v.reload_s is None:
        return []
    return [j for j in range(1, len(ids)) if loops.get(ids[j], 1) != loops.get(ids[j - 1], 1)]


def _locked_and_free(groups: list[list[int]], allowed: list[frozenset[str]]) -> tuple[dict[int, str], list[int]]:
    """Stop position -> the one courier that may serve it, and the groups not locked so."""
    locked_to: dict[int, str] = {}
    free: list[int] = []
    for gi, (members, ok) in enumerate(zip(groups, allowed, strict=True)):
        if len(ok) == 1:
            (vid,) = ok
            for m in members:
                locked_to[m] = vid
        else:
            free.append(gi)
    return locked_to, free


def _rank_couriers(
    problem: Problem,
    in_force: dict[str, list[str]],
    groups: list[list[int]],
    allowed: list[frozenset[str]],
    free: list[int],
) -> tuple[list[list[str]], list[float]]:
    """Per free group: the couriers allowed, cheapest first by the detour into their
    routes in force, and its cheapest detour."""
    stops = problem.stops
    vehicles = problem.vehicles
    pos = {s.id: i for i, s in enumerate(stops)}
    vindex = {v.id: i for i, v in enumerate(vehicles)}
    ranked: list[list[str]] = []  # per free group: the couriers allowed, cheapest first
    best: list[float] = []  # per free group: its cheapest detour
    if free:
        members = sorted({m for gi in free for m in groups[gi]})
        targets = sorted({stops[m].location for m in members})
        paths = [
            [v.start_location, *(stops[pos[sid]].location for sid in in_force.get(v.id, [])), v.end_location]
            for v in vehicles
        ]
        cost = insertion_costs(problem, paths, targets).astype(np.float64)
        cost /= np.array([v.speed_factor for v in vehicles])[None, :]
        row = {loc: r for r, loc in enumerate(targets)}
        for gi in free:
            cand = sorted(vindex[vid] for vid in allowed[gi]) if allowed[gi] else []
            if not cand:
                ranked.append([])  # no courier may take it: the solver reports it
                best.append(0.0)
                continue
            c = sum(cost[row[stops[m].location], cand] for m in groups[gi])
            ranked.append([vehicles[cand[int(j)]].id for j in np.argsort(c, kind="stable")])
            best.append(float(np.min(c)))
    return ranked, best


def _choose_focus(
    required: set[str],
    chosen: list[int],
    ranked: list[list[str]],
    k: int,
    n_free: int,
    n_locked: dict[str, int],
    idle: set[str],
    budget: int,
) -> set[str]:
    """The couriers in focus: ``required`` and, per chosen free group, couriers of its
    cheapest (``k`` of its ``2k`` cheapest, lowering ``k`` while over ``budget`` stops)."""

    def n_locked_in(vids: set[str]) -> int:
        return sum(n_locked.get(vid, 0) for vid in vids)

    focus = set(required)
    # below 2, free stops near each other would all share one courier
    for kk in range(k, min(k, 2) - 1, -1):
        focus = set(required)
        size = n_free + n_locked_in(focus)  # stops of the focused model
        taken: dict[str, int] = {}

        for i in chosen:
            top = ranked[i]
            # the cheapest courier with room left takes it (in the count): a cluster
            # of free stops (a courier out of service) needs several couriers; and a
            # courier with nothing to do, if there is one: busy couriers near the stop
            # may have no time left for it (one costs the model no stops)
            for only_idle in (False, True):
                vid = next(
                    (
                        v
                        for v in top
                        if (not only_idle or v in idle)
                        and (v in focus or size + n_locked.get(v, 0) <= budget)
                        and taken.get(v, 0) < _FOCUS_FREE_PER_COURIER
                    ),
                    None,
                )
                if vid is not None:
                    if vid not in focus:
                        focus.add(vid)
                        size += n_locked.get(vid, 0)
                    taken[vid] = taken.get(vid, 0) + 1
            # and kk couriers among its 2kk cheapest: free stops close to each other
            # share them instead of each bringing kk more into the model
            near = top[: 2 * kk]
            need = kk - sum(vid in focus for vid in near)
            for vid in near:
                if need <= 0:
                    break
                if vid not in focus and size + n_locked.get(vid, 0) <= budget:
                    focus.add(vid)
                    size += n_locked.get(vid, 0)
                    need -= 1
        if size <= budget:
            break
    return focus


def _free_taken(
    order: list[int], members: list[list[int]], on_route: set[int], room: int
) -> tuple[list[int], list[int], int]:
    """(free groups taken into the re-plan, those left waiting, stops taken), in ``order``.

    A group on a route in force is always taken; those on no route as far as ``room``
    stops, counted apart: on a day not loaded yet the free stops on routes are most of the
    budget, and a redirect behind them would wait for a later re-plan."""
    chosen: list[int] = []
    deferred: list[int] = []
    n_free = n_off_route = 0
    for i in order:
        size = len(members[i])
        if any(m in on_route for m in members[i]):
            chosen.append(i)
            n_free += size
        elif n_off_route + size <= room:
            chosen.append(i)
            n_free += size
            n_off_route += size
        else:
            deferred.append(i)
    return chosen, deferred, n_free


def focus_split(
    problem: Problem,
    in_force: dict[str, list[str]],
    k: int,
    max_stops: int | None = None,
    loops: dict[str, int] | None = None,
) -> Split | None:
    """The couriers to solve again (see the module docstring); None: solve the whole problem.

    With ``max_stops``, ``k`` is lowered (down to 2) while the cut-down problem
    would have more stops than that: its model must build within the time limit.
    ``loops``: stop id -> its loop in force (a route kept keeps its reloads).
    """
    stops = problem.stops
    vehicles = problem.vehicles
    pos = {s.id: i for i, s in enumerate(stops)}
    by_id = {s.id: s for s in stops}
    windows = [merge_windows(s.windows) for s in stops]
    groups, allowed = allowed_groups(problem)
    locked_to, free = _locked_and_free(groups, allowed)
    vindex = {v.id: i for i, v in enumerate(vehicles)}
    focus: set[str] = set()
    # a pinned stop its courier may not serve: the solver explains why, with that courier
    pinned = {sid: q.vehicle for q in problem.sequences for sid in q.stops}
    for gi in free:
        if not allowed[gi]:
            focus.update(
                pinned[stops[m].id] for m in groups[gi] if stops[m].id in pinned and pinned[stops[m].id] in vindex
            )
    kept: dict[str, Route | None] = {}
    behind: list[tuple[int, str]] = []  # (seconds late in all, courier) of kept routes past due times
    missing: list[tuple[int, str]] = []  # (stops, courier): locked stops not on a kept route yet
    n_locked: dict[str, int] = {}
    for vid in locked_to.values():
        n_locked[vid] = n_locked.get(vid, 0) + 1
    for v in vehicles:
        ids = in_force.get(v.id, [])
        seq = [pos[sid] for sid in ids]
        if v.id in focus or any(locked_to.get(m) != v.id for m in seq):
            focus.add(v.id)  # holds a free stop (or one locked elsewhere)
            continue
        route, ok = _kept_route(problem, v, seq, windows, by_id, _breaks(v, ids, loops))
        if not ok:
            focus.add(v.id)  # the solver must re-order (or drop from) it
            continue
        kept[v.id] = route
        if len(seq) != n_locked.get(v.id, 0):
            # a stop locked to it is not on its route yet: solved again within the
            # budget (one that never fits, e.g. on a full bike, must not make every
            # later re-plan big), else the stop waits and the route stays
            missing.append((n_locked.get(v.id, 0) - len(seq), v.id))
            continue
        if route is not None:
            late = _lateness(route, by_id)
            if late > 0:
                behind.append((late, v.id))
    ranked, best = _rank_couriers(problem, in_force, groups, allowed, free)

    def n_locked_in(vids: set[str]) -> int:
        return sum(n_locked.get(vid, 0) for vid in vids)

    idle = {v.id for v in vehicles if not in_force.get(v.id)}
    # Free stops on no route and beyond the budget wait for a later re-plan: the
    # cheapest to insert first (a backlog of hundreds must not make every re-plan slow).
    on_route = {pos[sid] for ids in in_force.values() for sid in ids}
    order = sorted(range(len(free)), key=lambda i: (not any(m in on_route for m in groups[free[i]]), best[i]))
    budget = max_stops if max_stops is not None else len(stops)
    chosen, deferred, n_free = _free_taken(order, [groups[g] for g in free], on_route, budget // 2)
    required = set(focus)
    # Couriers running late (stops past their due time, kept rather than dropped) are
    # re-ordered too, the latest first, within half the budget: another order of
    # their stops may make fewer customers wait.
    size = n_free + n_locked_in(required)
    for _n, vid in sorted(missing, reverse=True):
        if size + n_locked.get(vid, 0) <= budget:
            required.add(vid)
            size += n_locked.get(vid, 0)
    for _late, vid in sorted(behind, reverse=True):
        if size + n_locked.get(vid, 0) <= budget // 2:
            required.add(vid)
            size += n_locked.get(vid, 0)
    focus = _choose_focus(required, chosen, ranked, k, n_free, n_locked, idle, budget)
    if n_free + n_locked_in(focus) > _FOCUS_MAX_SHARE * len(stops):
        return None
    kept = {vid: r for vid, r in kept.items() if vid not in focus}
    sub_vehicles = [v for v in vehicles if v.id in focus]
    waiting = {m for i in deferred for m in groups[free[i]]}
    # locked stops of couriers kept as they are, not on their route: they wait too
    on_route_ids = {sid for vid in kept if vid not in focus for sid in in_force.get(vid, [])}
    waiting |= {
        m for m, vid in locked_to.items() if vid in kept and vid not in focus and stops[m].id not in on_route_ids
    }
    sub_stops = [s for i, s in enumerate(stops) if locked_to.get(i) not in kept and i not in waiting]
    # the matrices are shared, not cut down: the solver reads only the rows and
    # columns of its nodes' locations
    sub = Problem(
        time_s=problem.time_s,
        dist_m=problem.dist_m,
        vehicles=tuple(sub_vehicles),
        stops=tuple(sub_stops),
        cost=problem.cost,
        sequences=tuple(q for q in problem.sequences if q.vehicle not in kept),
    )
    return Split(
        problem=sub,
        in_force={vid: ids for vid, ids in in_force.items() if vid in focus},
        kept=kept,
        deferred=[stops[m].id for m in sorted(waiting)],
    )


def _merge(problem: Problem, split: Split, sub_plan: Plan, t0: float) -> Plan:
    """The plan of the whole problem: the focus's new routes and the kept ones."""
    by_vehicle = {r.vehicle_id: r for r in sub_plan.routes}
    loc = {s.id: s.location for s in problem.stops}
    routes: list[Route] = []
    cost = sub_plan.cost
    for v in problem.vehicles:
        if v.id in split.kept:
            r = split.kept[v.id]
            if r is None:
                continue
            cost += _arc_cost(problem, v, [loc[s.stop_id] for s in r.stops]) + v.fixed_cost
            routes.append(r)
        elif v.id in by_vehicle:
            routes.append(by_vehicle[v.id])
    waiting = tuple(
        Unplanned(
            stop_id=sid,
            reason="no_capacity",
            detail="not planned yet: more stops wait for a courier than one live re-plan takes; "
            "a later re-plan tries again",
        )
        for sid in split.deferred
    )
    return Plan(
        routes=tuple(routes),
        unplanned=sub_plan.unplanned + waiting,
        cost=cost,
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=time.perf_counter() - t0,
        status=sub_plan.status,
    )


@without_gc
def replan(
    problem: Problem,
    routes_in_force: dict[str, list[str]],
    *,
    time_limit_s: float,
    min_gain_s: int = DEFAULT_MIN_GAIN_S,
    focus: int | Literal["auto", "all"] = "auto",
    timings: dict[str, float] | None = None,
    loops: dict[str, int] | None = None,
    on_board: frozenset[str] | None = None,
) -> ReplanResult:
    """Re-plan ``problem`` from ``routes_in_force`` (vehicle id -> stop ids in order;
    ``loops``: stop id -> the loop it rides in force, on a day in loops; ``on_board``: stops
    whose goods are on a bike, kept on the loop it rides).

    The solver is warm-started from the routes in force. Then, for each
    vehicle whose new route has exactly the stops it had but in another order,
    the old order is scheduled again (the solver's own schedule: earliest
    feasible, no needless waiting at the start); if the new route is not at
    least ``min_gain_s`` seconds shorter in duration (end minus start, what
    the courier feels, whatever the problem's cost), not less late past the
    stops' soft due times, and the old order is
    feasible (:func:`~backend.dispatch.feasibility.check_route`: windows,
    loads, range, pinned orders...), the old order is kept (``kept_order``).
    The returned plan's cost and totals are updated. ``changed`` lists the
    vehicles whose stop sequence differs from the routes in force (restricted
    to the problem's vehicles and stops): the routes to publish.

    ``focus`` chooses between solving every courier again (``"all"``) and a
    focused re-plan of the couriers that matter (an integer: couriers per free
    stop; ``"auto"``: focused for large problems), see the module docstring.
    ``time_limit_s`` covers everything (model build, search, this function's
    own checks). ``timings``, if given, receives seconds per phase.
    """
    t0 = time.perf_counter()
    timings = {} if timings is None else timings
    in_force = routes_known(problem, routes_in_force)
    k: int | None
    if focus == "all":
        k = None
    elif focus == "auto":
        k = DEFAULT_FOCUS_K if len(problem.stops) >= AUTO_FOCUS_MIN_STOPS else None
    else:
        k = max(1, int(focus))
    split = None
    if k is not None and problem.vehicles:
        max_stops = max(100, int(_FOCUS_STOPS_PER_S * time_limit_s))
        split = focus_split(problem, in_force, k, max_stops, loops)
    timings["focus"] = time.perf_counter() - t0
    if split is not None:  # counts, for the log
        timings["n.focus_couriers"] = len(split.problem.vehicles)
        timings["n.focus_stops"] = len(split.problem.stops)
        timings["n.deferred"] = len(split.deferred)
    # keep some time for the merge and the order check after the solve
    reserve = 0.005 + 1e-5 * len(problem.stops)
    left = max(0.05, time_limit_s - (time.perf_counter() - t0) - reserve)
    solve_timings: dict[str, float] = {}
    if split is not None:
        sub_plan = solve(
            split.problem,
            left,
            initial_routes=split.in_force,
            timings=solve_timings,
            initial_loops=loops,
            on_board=on_board,
        )
        t1 = time.perf_counter()
        plan = _merge(problem, split, sub_plan, t0)
        timings["merge"] = time.perf_counter() - t1
    else:
        plan = solve(
            problem, left, initial_routes=in_force, timings=solve_timings, initial_loops=loops, on_board=on_board
        )
    timings.update({f"solve.{name}": s for name, s in solve_timings.items()})

    t1 = time.perf_counter()
    kept: set[str] = set()
    new = route_orders(plan)
    vehicles = {v.id: v for v in problem.vehicles}
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    loc = {s.id: s.location for s in problem.stops}
    by_id = {s.id: s for s in problem.stops}
    windows: list[list[tuple[int, int]]] | None = None
    for vid, old_ids in in_force.items():
        new_ids = new.get(vid, [])
        if not old_ids or new_ids == old_ids or set(new_ids) != set(old_ids):
            continue
        if windows is None:
            windows = [merge_windows(s.windows) for s in problem.stops]
        current = next(r for r in plan.routes if r.vehicle_id == vid)
        old_route = build_route(problem, vehicles[vid], [pos[s] for s in old_ids], windows, current.start_s, by_id)
        if old_route.duration_s - current.duration_s >= min_gain_s:
            continue  # worth the reshuffle
        if _lateness(old_route, by_id) > _lateness(current, by_id):
            continue  # customers waiting past their due time are served sooner
        if check_route(problem, old_route, stops_by_id=by_id):
            continue  # the old order no longer fits (windows, loads, range, pins...)
        plan = _with_route(problem, plan, old_route, vehicles[vid], loc)
        kept.add(vid)
    changed = changed_vehicles(in_force, route_orders(plan))
    timings["min_gain"] = time.perf_counter() - t1
    return ReplanResult(plan=plan, changed=frozenset(changed), kept_order=frozenset(kept))
