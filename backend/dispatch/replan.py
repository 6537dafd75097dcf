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
"""

from __future__ import annotations

import itertools

import msgspec

from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Problem, Route, Vehicle
from backend.dispatch.solver import _merge_windows, _route, solve, travel_time

__all__ = ["ReplanResult", "changed_vehicles", "replan", "route_orders"]

DEFAULT_MIN_GAIN_S = 120


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
    return {
        vid
        for vid in before.keys() | after.keys()
        if list(before.get(vid, ())) != list(after.get(vid, ()))
    }


def _in_force(problem: Problem, routes_in_force: dict[str, list[str]]) -> dict[str, list[str]]:
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


def _arc_cost(problem: Problem, v: Vehicle, stop_ids: list[str]) -> int:
    """What the solver's objective charges for riding ``stop_ids`` in order (no fixed cost)."""
    loc = {s.id: s.location for s in problem.stops}
    path = [v.start_location, *(loc[s] for s in stop_ids), v.end_location]
    if problem.cost == "distance":
        return sum(problem.dist_m[a][b] for a, b in itertools.pairwise(path))
    T = problem.time_s
    return sum(travel_time(T[a][b], v.speed_factor) for a, b in itertools.pairwise(path))


def _with_route(problem: Problem, plan: Plan, route: Route) -> Plan:
    """``plan`` with the route of ``route.vehicle_id`` replaced and its totals updated."""
    vehicle = next(v for v in problem.vehicles if v.id == route.vehicle_id)
    old = next(r for r in plan.routes if r.vehicle_id == route.vehicle_id)
    routes = tuple(route if r.vehicle_id == route.vehicle_id else r for r in plan.routes)
    delta = _arc_cost(problem, vehicle, [s.stop_id for s in route.stops]) - _arc_cost(
        problem, vehicle, [s.stop_id for s in old.stops]
    )
    return msgspec.structs.replace(
        plan,
        routes=routes,
        cost=plan.cost + delta,
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
    )


def replan(
    problem: Problem,
    routes_in_force: dict[str, list[str]],
    *,
    time_limit_s: float,
    min_gain_s: int = DEFAULT_MIN_GAIN_S,
) -> ReplanResult:
    """Re-plan ``problem`` from ``routes_in_force`` (vehicle id -> stop ids in order).

    The solver is warm-started from the routes in force. Then, for each
    vehicle whose new route has exactly the stops it had but in another order,
    the old order is scheduled again (the solver's own schedule: earliest
    feasible, no needless waiting at the start); if the new route is not at
    least ``min_gain_s`` seconds shorter in duration (end minus start, what
    the courier feels, whatever the problem's cost), and the plan with the old
    order passes :func:`~backend.dispatch.feasibility.check`, the old order is
    kept (``kept_order``). The returned plan's cost and totals are updated.
    ``changed`` lists the vehicles whose stop sequence differs from the routes
    in force (restricted to the problem's vehicles and stops): the routes to
    publish.
    """
    in_force = _in_force(problem, routes_in_force)
    plan = solve(problem, time_limit_s, initial_routes=in_force)
    kept: set[str] = set()
    new = route_orders(plan)
    vehicles = {v.id: v for v in problem.vehicles}
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    windows = [_merge_windows(s.windows) for s in problem.stops]
    for vid, old_ids in in_force.items():
        new_ids = new.get(vid, [])
        if not old_ids or new_ids == old_ids or set(new_ids) != set(old_ids):
            continue
        current = next(r for r in plan.routes if r.vehicle_id == vid)
        old_route = _route(
            problem, vehicles[vid], [pos[s] for s in old_ids], windows, current.start_s
        )
        if old_route.duration_s - current.duration_s >= min_gain_s:
            continue  # worth the reshuffle
        candidate = _with_route(problem, plan, old_route)
        if check(problem, candidate):
            continue  # the old order no longer fits (windows, loads, range...)
        plan = candidate
        kept.add(vid)
    changed = changed_vehicles(in_force, route_orders(plan))
    return ReplanResult(plan=plan, changed=frozenset(changed), kept_order=frozenset(kept))
