"""The OR-Tools search: first solutions (or a warm start), the metaheuristic, the plan read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from backend.dispatch.diagnosis import Group, build_groups, pins, unplanned_for_group, validate
from backend.dispatch.insertion import insert_unperformed
from backend.dispatch.model import (
    Plan,
    Problem,
    Route,
    Unplanned,
)
from backend.dispatch.nodes import make_nodes, pinned_node_sequences
from backend.dispatch.ortools_model import Model, build_model
from backend.dispatch.ortools_reloads import keep_loops, loop_breaks
from backend.dispatch.restore import restore
from backend.dispatch.scheduling import build_route, loop_route
from backend.dispatch.warm_start import initial_node_sequences, repair
from backend.dispatch.windows import Windows, merge_windows, without_gc

DEFAULT_FIRST_SOLUTION = "PATH_CHEAPEST_ARC"
GLS_LAMBDA = 0.3
# tried in this order when no first_solution is given, until one plans every stop
FALLBACK_FIRST_SOLUTIONS = (DEFAULT_FIRST_SOLUTION, "PARALLEL_CHEAPEST_INSERTION", "SAVINGS")
DEFAULT_METAHEURISTIC = "GUIDED_LOCAL_SEARCH"
# also tried on a cold day whose bikes may reload (see solve_problem)
RELOAD_FIRST_SOLUTION = "LOCAL_CHEAPEST_INSERTION"

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


def _enum(enum_type: Any, name: str) -> int:
    try:
        return int(enum_type.Value.Value(name.upper()))
    except ValueError as exc:
        raise ValueError(f"unknown OR-Tools strategy {name!r}") from exc


def _nothing_to_route(unplanned: list[Unplanned], t0: float) -> Plan:
    return Plan(
        routes=(),
        unplanned=tuple(unplanned),
        cost=0,
        distance_m=0,
        duration_s=0,
        solve_s=time.perf_counter() - t0,
        status="optimal",
    )


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
    initial_loops: dict[str, int] | None = None,
    on_board: frozenset[str] | None = None,
) -> Plan:
    """Plan ``problem`` within about ``time_limit_s`` seconds (wall clock, model build included).

    ``first_solution`` / ``metaheuristic`` name OR-Tools ``FirstSolutionStrategy`` /
    ``LocalSearchMetaheuristic`` values (defaults: ``DEFAULT_FIRST_SOLUTION``,
    ``DEFAULT_METAHEURISTIC``). ``search_overrides`` is merged into the
    ``RoutingSearchParameters`` as protobuf text (e.g.
    ``"guided_local_search_lambda_coefficient: 0.2"``), for tuning and portfolios.

    ``initial_routes`` (vehicle id -> stop ids in visiting order, e.g. the routes
    in force) warm-starts the search: the routes are restored as the first
    solution (see :func:`initial_node_sequences`) and the metaheuristic runs from
    there for the remaining time, instead of the first-solution strategies.
    Unknown vehicles or stops, and stops that cannot be planned, are ignored.
    Each route is first made feasible on its own (see :func:`repair`): stops
    it can no longer serve in their place (a window passed, the shift or the
    range exceeded, a pinned order broken...) are taken out; a route that so
    loses stops only its vehicle may serve is re-ordered by a small solve of
    its own (a late courier); then the stops left out, and new ones, are
    inserted where they add least and still fit; the rest start unperformed
    and the search may insert them. If OR-Tools still rejects some routes,
    those vehicles start empty; only if that fails too does the solve start
    cold. ``initial_loops`` (stop id -> its loop in force) keeps the routes' loops in
    the warm start: a reload at the hub between stops of different loops; the stops of
    ``on_board`` (goods on the bike now) stay on the loop it rides, before any reload.

    ``timings``, if given, receives the seconds spent per phase (``build``,
    ``warm_start`` or ``construction`` (a cold start by insertion), ``search``,
    ``read``), ``first_solution``: seconds from the call until the first solution
    (possibly with unperformed stops) was at hand, and
    ``first_solution_unperformed``: how many modelled stops that first solution
    left off the routes (stops diagnosed unplannable before the solve not counted);
    ``first_objective`` and ``objective``: the model's objective of the first solution the
    search started from and of its answer (when the start was a restored assignment);
    ``routes_refused`` (when any): routes OR-Tools refused to restore, their stops started
    unperformed.
    """
    return solve_problem(
        problem,
        time_limit_s,
        first_solution=first_solution,
        metaheuristic=metaheuristic,
        search_overrides=search_overrides,
        log_search=log_search,
        initial_routes=initial_routes,
        initial_loops=initial_loops,
        on_board=on_board,
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
_LS_NEIGHBORS = 40
# up to this many stop nodes the local search looks at every node as a neighbour
_FULL_NEIGHBOURS_MAX_NODES = 1000


def solve_problem(
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
    initial_loops: dict[str, int] | None = None,
    on_board: frozenset[str] | None = None,
) -> Plan:
    """:func:`solve`; ``reorder`` False: routes in force are not re-ordered by solves of
    their own (what such a solve itself uses)."""
    t0 = time.perf_counter()
    timings = {} if timings is None else timings
    validate(problem)
    stops = list(problem.stops)
    vehicles = list(problem.vehicles)
    windows = [merge_windows(s.windows) for s in stops]
    groups = build_groups(problem, windows)
    unplanned: list[Unplanned] = []
    plannable: list[Group] = []
    for g in groups:
        if g.reason is not None:
            unplanned.extend(unplanned_for_group(stops, g))
        else:
            plannable.append(g)

    if not plannable or not vehicles:
        return _nothing_to_route(unplanned, t0)

    factors = sorted({v.speed_factor for v in vehicles})
    pin = pins(problem) if problem.sequences else {}
    nodes, pair_nodes = make_nodes(problem, plannable, windows, factors, pin, unplanned)
    if not nodes:
        return _nothing_to_route(unplanned, t0)
    seq_nodes = pinned_node_sequences(problem, nodes, pin) if pin else []
    in_force = {sid for ids in (initial_routes or {}).values() for sid in ids}
    promised = frozenset(k for k, st in enumerate(stops) if st.id in in_force)
    aboard = frozenset(
        node for node in range(len(nodes)) if any(stops[k].id in (on_board or ()) for k in nodes[node].members)
    )
    m = build_model(problem, nodes, pair_nodes, seq_nodes, windows, factors, promised, aboard)
    timings["build"] = time.perf_counter() - t0

    # ---- search: cheap first solutions from one or more strategies, then the
    # metaheuristic from the best of them (a strategy can fail where another
    # succeeds, e.g. PATH_CHEAPEST_ARC with the returns constraint)
    params = _search_parameters(m.n_stop_nodes, metaheuristic, search_overrides, log_search)
    strategies = [first_solution] if first_solution else list(FALLBACK_FIRST_SOLUTIONS)
    if m.n_stop_nodes > _SAVINGS_MAX_NODES and not first_solution:
        # SAVINGS keeps a matrix of savings (6 GB by default): not on big days
        strategies = [s for s in strategies if s != "SAVINGS"]
    start = _Start()
    # Large or locked days start cold from empty routes filled by insertion (the
    # OR-Tools strategies stall on the returns constraint, pairs and locks there).
    locked = any(nd.group is not None and len(nd.group.feasible) < len(vehicles) for nd in nodes[: m.n_stop_nodes])
    construct = (
        initial_routes is None
        and first_solution is None
        and (m.n_stop_nodes > _COLD_INSERTION_NODES or bool(seq_nodes) or locked)
    )
    if initial_routes is not None or construct:
        t1 = time.perf_counter()
        start = _routes_first(problem, m, params, initial_routes, time_limit_s, t0, reorder, initial_loops)
        if start.sol is not None:
            if initial_routes is not None or m.n_stop_nodes > _COLD_INSERTION_NODES:
                strategies = []  # start from these routes, not from a heuristic
            # A small cold day (locks, pins, or a mixed fleet: some bikes cannot serve
            # some stops) tries the strategies too and starts from the best first
            # solution: from insertion alone GLS stayed ~24 % above them on the demo
            # day with baskets (issue #15).
            timings["first_solution"] = time.perf_counter() - t0
        timings["construction" if construct else "warm_start"] = time.perf_counter() - t1
        if start.refused:
            timings["routes_refused"] = start.refused
    if m.reload_of and initial_routes is None and first_solution is None:
        strategies = _in_loops_cold(m, strategies)
    t1 = time.perf_counter()
    _strategies_first(m, params, strategies, start, time_limit_s, t0, timings)
    solution = _search(m, params, strategies, start, time_limit_s, t0, timings)
    status = _STATUS_WORDS.get(m.routing.status(), f"status {m.routing.status()}")
    if solution is not None and solution is start.sol and status not in ("feasible", "optimal"):
        status = "feasible"  # the first solution, not improved in the time left
    timings["search"] = time.perf_counter() - t1
    if start.obj is not None and solution is not None:
        # the objective of the first solution the search started from, and of its answer
        timings["first_objective"] = float(start.obj)
        timings["objective"] = float(_objective(m, solution) or start.obj)

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
    t1 = time.perf_counter()
    plan = _read_plan(problem, m, solution, windows, modelled, pin, unplanned, status, t0)
    timings["read"] = time.perf_counter() - t1
    return plan


@dataclass
class _Start:
    """The first solution the search starts from (an assignment), if any."""

    sol: Any = None
    obj: int | None = None
    dropped: int | None = None  # stop nodes it leaves unperformed
    refused: int = 0  # routes OR-Tools refused to restore (their vehicles start empty)


def _in_loops_cold(m: Model, strategies: list[str]) -> list[str]:
    """The first-solution strategies of a cold day whose bikes may reload. The local search
    does not add a reload to serve a stop (two moves): a small day also tries OR-Tools' own
    insertion first, which places reload nodes like stops, and starts from the better. Not a
    big day: our insertion plans its loops (``insert_unperformed(loops=True)``), and OR-Tools'
    took ~1 s there and timed out dropping every stop (city 800 with baskets; before our
    insertion rode loops, city 500 multi_trip at 10 s left 229 stops out from ours, 1 from it)."""
    if m.n_stop_nodes > _COLD_INSERTION_NODES:
        return strategies
    return [RELOAD_FIRST_SOLUTION, *(x for x in strategies if x != RELOAD_FIRST_SOLUTION)]


def _search_parameters(
    n_stop_nodes: int, metaheuristic: str | None, search_overrides: str | None, log_search: bool
) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.local_search_metaheuristic = _enum(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic or DEFAULT_METAHEURISTIC
    )
    # measured on 8 Solomon instances at 10 s: mean gap 2.4% at 0.1 (the default),
    # 1.7% at 0.2, 1.2% at 0.3, 1.5% at 0.5
    params.guided_local_search_lambda_coefficient = GLS_LAMBDA
    params.log_search = log_search
    if n_stop_nodes > _FULL_NEIGHBOURS_MAX_NODES:
        # Operators over all nodes as neighbours are quadratic: on a big day the
        # search then hangs in its first neighbourhood, far past its time limit.
        # (With fewer neighbours, OR-Tools 9.15 filters out every move on our days:
        # "filtered neighbors = 0" in its log; on city 500 its plan stayed its first
        # solution for 10 s and for 100 s. Below this size all nodes are neighbours.)
        ratio = min(1.0, _LS_NEIGHBORS / n_stop_nodes)
        params.ls_operator_neighbors_ratio = ratio
        params.ls_operator_min_neighbors = _LS_NEIGHBORS
        gci = params.global_cheapest_insertion_ls_operator_parameters
        gci.neighbors_ratio = ratio
        gci.min_neighbors = _LS_NEIGHBORS
    if search_overrides:
        text_format.Merge(search_overrides, params)
    params.savings_parameters.max_memory_usage_bytes = min(
        params.savings_parameters.max_memory_usage_bytes, _SAVINGS_MAX_MEMORY
    )
    return params


def _routes_first(
    problem: Problem,
    m: Model,
    params: Any,
    initial_routes: dict[str, list[str]] | None,
    time_limit_s: float,
    t0: float,
    reorder: bool,
    initial_loops: dict[str, int] | None = None,
) -> _Start:
    """A first solution from routes: those in force (repaired) or, cold, empty ones,
    filled by insertion and restored into the model (which this closes)."""
    stops, nodes, n_stop_nodes = problem.stops, m.nodes, m.n_stop_nodes
    if initial_routes is not None:
        stop_node = {stops[k].id: node for node in range(n_stop_nodes) for k in nodes[node].members}
        node_seqs = initial_node_sequences(m.vehicles, nodes, stop_node, m.pair_nodes, initial_routes, m.seq_nodes)
        if initial_loops and m.reload_of:  # the loops in force, not one loop a bike
            node_seqs = keep_loops(node_seqs, nodes, [s.id for s in stops], m.reload_of, initial_loops)
        repaired = repair(m, node_seqs)
        if reorder:
            budget = min(0.08, max(0.02, 0.1 * time_limit_s))
            repaired = reorder_broken(problem, m, node_seqs, repaired, budget)
        node_seqs = repaired
        left = time_limit_s - (time.perf_counter() - t0)
        share = 0.25
    else:
        node_seqs = [[] for _ in m.vehicles]
        # most of what is left: a first plan with (nearly) every stop in it
        # is what the search needs; leave it time and the restore its share
        left = time_limit_s - (time.perf_counter() - t0) - 2e-4 * n_stop_nodes
        share = 0.7
    # cold: bikes that may reload ride more loops while stops are left out
    insert_unperformed(
        m, node_seqs, problem.cost, time.perf_counter() + max(0.02, left * share), loops=initial_routes is None
    )
    # Restoring is a small search of its own under the model's limits: it must
    # not inherit a nearly spent time limit (it then fails and the solve starts cold).
    close = pywrapcp.DefaultRoutingSearchParameters()
    close.CopyFrom(params)
    close.time_limit.FromMilliseconds(int(max(1.0, time_limit_s) * 1000))
    m.routing.CloseModelWithParameters(close)
    sol, refused = restore(m, node_seqs)
    if sol is None:
        return _Start(refused=len(refused))
    return _Start(sol=sol, obj=_objective(m, sol), dropped=_dropped_nodes(m, sol), refused=len(refused))


def _objective(m: Model, sol: Any) -> int | None:
    """What a restored assignment costs by the model's objective (None if it does not say)."""
    try:
        return int(sol.ObjectiveValue())
    except Exception:  # noqa: BLE001 - an assignment without the objective bound
        return None


def _strategies_first(
    m: Model,
    params: Any,
    strategies: list[str],
    start: _Start,
    time_limit_s: float,
    t0: float,
    timings: dict[str, float],
) -> None:
    """Keep in ``start`` the best first solution of the strategies (fewest dropped, then
    cheapest), stopping at the first that drops nothing."""
    routing = m.routing
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
            if start.sol is None or ((dropped, obj) < (start.dropped, start.obj if start.obj is not None else obj + 1)):
                start.sol, start.obj = routing.solver().Assignment(sol), obj
                start.dropped = dropped
            timings.setdefault("first_solution", time.perf_counter() - t0)
            if not dropped:
                break  # nothing dropped: good enough to start from
    if start.sol is not None:
        timings["first_solution_unperformed"] = _unperformed_stops(m, start.sol)


def _search(
    m: Model,
    params: Any,
    strategies: list[str],
    start: _Start,
    time_limit_s: float,
    t0: float,
    timings: dict[str, float],
) -> Any:
    """The metaheuristic from the first solution (or from the last strategy) in the time left."""
    routing = m.routing
    # keep a little for reading the answer (about 10 us per node) and for the
    # search overshooting its limit (it checks the clock between moves; up to tens
    # of milliseconds on models of several hundred nodes)
    remaining = time_limit_s - (time.perf_counter() - t0) - 0.01 - 4e-5 * len(m.nodes)
    if start.sol is not None and remaining < 0.01:
        solution = start.sol  # no time left to improve it: the build ate the limit
    elif start.sol is not None:
        params.time_limit.FromMilliseconds(int(remaining * 1000))
        solution = routing.SolveFromAssignmentWithParameters(start.sol, params)
        if solution is None:
            solution = start.sol
    else:
        params.time_limit.FromMilliseconds(int(max(0.02, remaining) * 1000))
        params.first_solution_strategy = _enum(routing_enums_pb2.FirstSolutionStrategy, strategies[-1])
        solution = routing.SolveWithParameters(params)
    if solution is not None:
        # without a first solution of its own, the search's answer is the first we saw
        timings.setdefault("first_solution", time.perf_counter() - t0)
        timings.setdefault("first_solution_unperformed", _unperformed_stops(m, solution))
    return solution


def _read_plan(
    problem: Problem,
    m: Model,
    solution: Any,
    windows: list[Windows],
    modelled: list[Group],
    pin: dict[int, tuple[int, int]],
    unplanned: list[Unplanned],
    status: str,
    t0: float,
) -> Plan:
    """The plan of ``solution``: its routes, and the modelled stops it left out."""
    stops, vehicles, nodes = problem.stops, m.vehicles, m.nodes
    routing, manager, time_dim = m.routing, m.manager, m.time_dim
    by_id = {s.id: s for s in stops}
    routes: list[Route] = []
    planned: set[int] = set()
    for vi, v in enumerate(vehicles):
        seq: list[int] = []
        at_reloads: list[int] = []  # stops seen when the bike is back at its hub to reload
        i = solution.Value(routing.NextVar(routing.Start(vi)))
        while not routing.IsEnd(i):
            node = manager.IndexToNode(i)
            if node in m.reload_of:
                at_reloads.append(len(seq))
            seq.extend(nodes[node].members)
            i = solution.Value(routing.NextVar(i))
        if not seq and v.start_location == v.end_location:
            continue
        if not seq and not routing.IsVehicleUsedWhenEmpty(vi):
            continue
        planned.update(seq)
        dep = solution.Value(time_dim.CumulVar(routing.Start(vi)))
        breaks = loop_breaks(at_reloads, len(seq))
        if breaks:
            # from the shift start, as early as the loops allow (the solver leaves as late as it may)
            routes.append(loop_route(problem, v, seq, breaks, by_id=by_id))
        else:
            routes.append(build_route(problem, v, seq, windows, dep, by_id))

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
        m.node_penalties[n]
        for n in range(m.n_stop_nodes)
        if solution.Value(routing.NextVar(manager.NodeToIndex(n))) == manager.NodeToIndex(n)
    )
    return Plan(
        routes=tuple(routes),
        unplanned=tuple(unplanned),
        cost=cost,
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=time.perf_counter() - t0,
        status=status,
    )


def _dropped_nodes(m: Model, sol: Any) -> int:
    """How many stop nodes ``sol`` leaves unperformed."""
    routing, manager = m.routing, m.manager
    return sum(
        1 for n in range(m.n_stop_nodes) if sol.Value(routing.NextVar(manager.NodeToIndex(n))) == manager.NodeToIndex(n)
    )


def _unperformed_stops(m: Model, sol: Any) -> int:
    """How many modelled stops ``sol`` leaves off the routes."""
    routing, manager = m.routing, m.manager
    return sum(
        len(m.nodes[n].members)
        for n in range(m.n_stop_nodes)
        if sol.Value(routing.NextVar(manager.NodeToIndex(n))) == manager.NodeToIndex(n)
    )


def reorder_broken(
    problem: Problem,
    m: Model,
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
        vi for vi in range(len(m.vehicles)) if any(n not in set(after[vi]) and only_here(n, vi) for n in before[vi])
    ][:_MAX_REORDERED]
    if not broken:
        return after
    out = [list(seq) for seq in after]
    node_of = {problem.stops[k].id: n for n in range(m.n_stop_nodes) for k in m.nodes[n].members}
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
        plan = solve_problem(
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
    return repair(m, out)
