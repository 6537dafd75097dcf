"""Several loops a shift (multi-trip): PyVRP's reload depots, read back as loops.

A bike whose :class:`~backend.dispatch.model.Vehicle` has a ``reload_s`` may
ride back to its hub (``reload_place``) between stops, reload there for ``reload_s``
seconds and ride out on its next loop; its capacity holds per loop. PyVRP 0.14
models this exactly: a ``VehicleType`` with ``reload_depots`` (and
``max_reloads``), a trip per loop. The translation is
:func:`backend.dispatch.pyvrp_engine.to_pyvrp`'s, with, per hub that bikes
reload at, a depot of its own at the hub's place whose ``service_duration`` is the
reload time (PyVRP spends a depot's service duration at the start of each trip
it starts; the first loop leaves from the plain start depot, loaded before the
shift). Vehicle types are split where bikes reload differently.

The routes come back as stop orders with the trip of each visit and are timed
on our matrices by :func:`backend.dispatch.scheduling.loop_route` (one
schedule function); the independent checker judges the plan like any other
(capacity per loop, reload times). OR-Tools plans loops with reload nodes
(:mod:`backend.dispatch.ortools_reloads`), also on a day PyVRP cannot express;
see docs/architecture.md.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec

from backend.dispatch.model import Plan, Problem, Stop, Unplanned, Window
from backend.dispatch.pyvrp_engine import (
    Mapping,
    initial_solution,
    plannable,
    require_pyvrp,
    to_pyvrp,
    unsupported,
)
from backend.dispatch.pyvrp_search import search_required_first
from backend.dispatch.scheduling import loop_route
from backend.dispatch.windows import travel_time

if TYPE_CHECKING:
    from backend.dispatch.replan import ReplanResult

__all__ = ["reloading", "replan_in_loops", "replan_loops", "sequences_with_loops", "solve_reloads", "to_pyvrp_reloads"]


def reloading(problem: Problem) -> bool:
    """Some bike of ``problem`` may ride several loops."""
    return any(v.reload_s is not None for v in problem.vehicles)


def to_pyvrp_reloads(
    problem: Problem, coords: list[tuple[float, float]] | None = None, *, optional: bool = False
) -> tuple[Any, Mapping]:
    """``problem`` as PyVRP data with reload depots for the bikes that may reload."""
    pyvrp = require_pyvrp()
    data, mapping = to_pyvrp(problem, coords, optional=optional)
    vehicles = {v.id: v for v in problem.vehicles}
    depots = list(data.depots())
    reload_depot: dict[tuple[int, int], int] = {}  # (place, reload seconds) -> depot index
    types = []
    type_ids: list[list[str]] = []
    for vt, ids in zip(data.vehicle_types(), mapping.vehicle_types, strict=True):
        kinds: dict[tuple[int | None, int | None, int], list[str]] = {}
        for vid in ids:
            v = vehicles[vid]
            kinds.setdefault((v.reload_s, v.max_reloads, v.reload_place), []).append(vid)
        for (reload_s, max_reloads, place), same in kinds.items():
            extra: dict[str, Any] = {"num_available": len(same), "name": same[0]}
            if reload_s is not None:
                key = (place, int(reload_s))
                if key not in reload_depot:
                    reload_depot[key] = len(depots)
                    depots.append(
                        pyvrp.Depot(place, service_duration=int(reload_s), name=f"reload@{place}/{reload_s}s")
                    )
                extra["reload_depots"] = [reload_depot[key]]
                if max_reloads is not None:
                    extra["max_reloads"] = int(max_reloads)
            types.append(vt.replace(**extra))
            type_ids.append(same)
    data = data.replace(depots=depots, vehicle_types=types)
    return data, msgspec.structs.replace(mapping, vehicle_types=type_ids)


def sequences_with_loops(solution: Any, mapping: Mapping) -> dict[str, tuple[list[int], list[int]]]:
    """Vehicle id -> (stop indices in visiting order, positions that start a new loop)."""
    from pyvrp import ActivityType

    used = [0] * len(mapping.vehicle_types)
    out: dict[str, tuple[list[int], list[int]]] = {}
    for route in solution.routes():
        seq: list[int] = []
        trips: list[int] = []
        for act in route.schedule():
            if act.type == ActivityType.CLIENT:
                seq.append(mapping.clients[act.idx])
            elif act.type == ActivityType.PICKUP:
                seq.append(mapping.shipments[act.idx][0])
            elif act.type == ActivityType.DELIVERY:
                seq.append(mapping.shipments[act.idx][1])
            else:
                continue
            trips.append(int(act.trip))
        if not seq:
            continue
        vt = route.vehicle_type()
        vid = mapping.vehicle_types[vt][used[vt]]
        used[vt] += 1
        out[vid] = (seq, [j for j in range(1, len(seq)) if trips[j] != trips[j - 1]])
    return out


def plan_with_loops(
    problem: Problem, routes: dict[str, tuple[list[int], list[int]]], *, solve_s: float, status: str
) -> Plan:
    """A :class:`Plan` of these loops, timed on ``problem``'s matrices from each shift start;
    stops on no route are unplanned (``no_capacity``)."""
    by_id = {s.id: s for s in problem.stops}
    out = []
    seen: set[int] = set()
    for v in problem.vehicles:
        if v.id not in routes:
            continue
        seq, breaks = routes[v.id]
        seen.update(seq)
        out.append(loop_route(problem, v, seq, breaks, by_id=by_id))
    fixed = {v.id: v.fixed_cost for v in problem.vehicles}
    unplanned = tuple(
        Unplanned(stop_id=s.id, reason="no_capacity", detail="feasible alone, but no room left in the plan")
        for i, s in enumerate(problem.stops)
        if i not in seen
    )
    return Plan(
        routes=tuple(out),
        unplanned=unplanned,
        cost=sum(r.distance_m + fixed[r.vehicle_id] for r in out),
        distance_m=sum(r.distance_m for r in out),
        duration_s=sum(r.duration_s for r in out),
        solve_s=round(solve_s, 3),
        status=status,
    )


def solve_reloads(
    problem: Problem,
    time_limit_s: float,
    *,
    seed: int = 0,
    coords: list[tuple[float, float]] | None = None,
    warm: Plan | None = None,
) -> Plan:
    """Plan ``problem`` with PyVRP's reload depots within ``time_limit_s``.

    As :func:`backend.dispatch.pyvrp_engine.solve_pyvrp` (stops no bike could
    serve alone are diagnosed first; ``warm``'s routes, one loop each, are the
    first solution), with loops: every visit required, optional only when that finds
    no plan by ``REQUIRED_SHARE`` of the limit (:mod:`backend.dispatch.pyvrp_search`). Raises ValueError for
    what :func:`~backend.dispatch.pyvrp_engine.unsupported` names.
    """
    require_pyvrp()
    t0 = time.perf_counter()
    pre, sub, coords = plannable(problem, coords)
    if not sub.stops or not sub.vehicles:
        plan = plan_with_loops(sub, {}, solve_s=time.perf_counter() - t0, status="feasible")
    else:
        # PyVRP's search adds a reload where a route carries too much, but does not make
        # one to serve a visit it may leave out: every visit required first, optional
        # only when that finds no plan by REQUIRED_SHARE of the limit (too little room for all)
        best, mapping = search_required_first(
            lambda optional: to_pyvrp_reloads(sub, coords, optional=optional),
            t0 + time_limit_s,
            seed=seed,
            initial=None if warm is None else lambda data, mapping: initial_solution(data, mapping, sub, warm),
        )
        plan = plan_with_loops(
            sub,
            sequences_with_loops(best, mapping),
            solve_s=time.perf_counter() - t0,
            status="feasible" if best.is_feasible() else "infeasible",
        )
    engine = "pyvrp-reload" if warm is None else f"{warm.engine}+pyvrp-reload"
    return msgspec.structs.replace(plan, unplanned=(*pre, *plan.unplanned), engine=engine)


def replan_loops(
    problem: Problem,
    routes_in_force: dict[str, list[str]],
    *,
    time_limit_s: float,
    seed: int = 1,
    on_board: frozenset[str] | None = None,
) -> Plan | None:
    """Re-plan a running day whose bikes ride loops: what is on a bike stays on its loop.

    A stop locked to a bike that reloads (``Stop.vehicles == (its id,)``) whose
    goods are on board or that is under way (in ``on_board``; every locked stop
    when None) is on the loop the bike is riding now: the bike serves those first,
    in the order of its route in force (``routes_in_force``: vehicle id -> stop
    ids), then rides back to its hub. Other stops locked to a bike that reloads
    (kept with a courier on the road to spare churn) are off that loop, in their own
    windows (a stop kept "late rather than dropped" gets its window back from its
    soft due time): they are not loaded yet. They stay with their courier (as the
    usual re-plan and the checker keep them; freed, they went to other bikes and the
    checker refused the plan), on a later loop. Everything after that (the later
    loops) is planned again by :func:`solve_reloads`, the bike starting at
    the hub when it is back there and has reloaded, with the range that is left.
    The routes are then timed whole from where each bike is now
    (:func:`~backend.dispatch.scheduling.loop_route`); the caller checks the plan.
    None when PyVRP cannot express the rest of the day (a stop locked to a bike
    that rides one loop, pinned orders, a soft due time on a free stop) or when no
    bike reloads: then the day goes to the usual re-plan.
    """
    if not reloading(problem):
        return None
    t0 = time.perf_counter()
    by_id = {s.id: s for s in problem.stops}
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    T, D = problem.time_s, problem.dist_m
    aboard: dict[str, list[str]] = {}
    sub_vehicles = []
    reloads = {v.id for v in problem.vehicles if v.reload_s is not None}

    def loaded(s: Stop) -> bool:
        return on_board is None or s.id in on_board

    freed = {s.id for s in problem.stops if len(s.vehicles) == 1 and s.vehicles[0] in reloads and not loaded(s)}
    locked: dict[str, list[str]] = {}  # bike -> the stops locked to it alone, not freed (one pass, not one a bike)
    for s in problem.stops:
        if len(s.vehicles) == 1 and s.id not in freed:
            locked.setdefault(s.vehicles[0], []).append(s.id)
    for v in problem.vehicles:
        mine = [
            sid
            for sid in routes_in_force.get(v.id, [])
            if sid in by_id and by_id[sid].vehicles == (v.id,) and sid not in freed
        ]
        in_order = set(mine)
        mine += sorted(sid for sid in locked.get(v.id, ()) if sid not in in_order)
        if v.reload_s is None or not mine:
            sub_vehicles.append(v)
            continue
        aboard[v.id] = mine
        current = loop_route(problem, v, [pos[sid] for sid in mine], [])
        last = by_id[mine[-1]].location
        back = current.stops[-1].departure_s + travel_time(T[last][v.reload_place], v.speed_factor)
        ridden = current.stops[-1].distance_m + int(D[last][v.reload_place])
        start = back + v.reload_s
        if start >= v.shift.end:
            continue  # no time for another loop
        sub_vehicles.append(
            msgspec.structs.replace(
                v,
                start_location=v.reload_place,
                shift=msgspec.structs.replace(v.shift, start=start),
                max_distance_m=None if v.max_distance_m is None else max(0, v.max_distance_m - ridden),
                max_reloads=None if v.max_reloads is None else max(0, v.max_reloads - 1),
            )
        )
    riding = {sid for ids in aboard.values() for sid in ids}
    sub = msgspec.structs.replace(
        problem,
        vehicles=tuple(sub_vehicles),
        stops=tuple(_free(s) if s.id in freed else s for s in problem.stops if s.id not in riding),
    )
    if sub.stops and unsupported(sub) is not None:
        return None
    left = max(0.05, time_limit_s - (time.perf_counter() - t0))
    rest = solve_reloads(sub, left, seed=seed)
    later = {r.vehicle_id: r for r in rest.routes}
    routes = []
    for v in problem.vehicles:
        first = aboard.get(v.id, [])
        r = later.get(v.id)
        then = [ps.stop_id for ps in r.stops] if r is not None else []
        if not first and not then:
            continue
        cuts = [len(first)] if first and then else []
        cuts += [
            len(first) + j for j in range(1, len(then)) if r is not None and r.stops[j].loop != r.stops[j - 1].loop
        ]
        routes.append(loop_route(problem, v, [pos[sid] for sid in first + then], cuts, by_id=by_id))
    fixed = {v.id: v.fixed_cost for v in problem.vehicles}
    return Plan(
        routes=tuple(routes),
        unplanned=rest.unplanned,
        cost=sum(r.distance_m + fixed[r.vehicle_id] for r in routes),
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=round(time.perf_counter() - t0, 3),
        status=rest.status,
        engine="pyvrp-reload",
    )


def _free(s: Stop) -> Stop:
    """``s`` off the loop it was on, in its own window again (see the re-plan's "late rather than
    dropped"), still with its courier: kept with a courier on the road to spare churn, as the
    usual re-plan keeps it (and as the checker holds it), on a later loop of that bike."""
    windows = s.windows
    if s.due_s is not None and windows:
        windows = (*windows[:-1], Window(windows[-1].start, max(windows[-1].start, s.due_s)))
    return msgspec.structs.replace(s, due_s=None, windows=windows)


def replan_in_loops(
    problem: Problem,
    routes_in_force: dict[str, list[str]],
    *,
    time_limit_s: float,
    seed: int = 1,
    on_board: frozenset[str] | None = None,
) -> ReplanResult | None:
    """:func:`replan_loops` as a re-plan to publish, or None to leave the day to the usual
    re-plan: PyVRP cannot express it, or its plan breaks a rule of the checker or takes a
    stop off the routes in force. Every bike whose route has several loops, or whose
    order changed, is published again (its loops are part of what it rides)."""
    from backend.dispatch.feasibility import check
    from backend.dispatch.replan import ReplanResult, changed_vehicles, route_orders

    plan = replan_loops(problem, routes_in_force, time_limit_s=time_limit_s, seed=seed, on_board=on_board)
    if plan is None or check(problem, plan):
        return None
    dropped = {u.stop_id for u in plan.unplanned}
    if any(sid in dropped for ids in routes_in_force.values() for sid in ids):
        return None
    changed = changed_vehicles(routes_in_force, route_orders(plan))
    changed |= {r.vehicle_id for r in plan.routes if r.reloads}
    return ReplanResult(plan=plan, changed=frozenset(changed), kept_order=frozenset())
