"""The OR-Tools routing model of a problem: matrices, dimensions, penalties, pairs, pins."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp

from backend.dispatch.model import (
    Problem,
    Vehicle,
)
from backend.dispatch.nodes import Node
from backend.dispatch.ortools_reloads import (
    add_reload_nodes,
    constrain_reloads,
    only_reloads_slack,
    reload_slack,
)
from backend.dispatch.windows import BIG, DL_PER_L, GRAMS_PER_KG, Windows, scaled_capacity, travel_time

# A second past a stop's ``due_s`` weighs like four seconds of riding: the
# customer waits, but a route that is late anyway should not zigzag for it.
LATE_COST_PER_S = 4
# dropping a stop on a route in force (``initial_routes``) costs this many new ones
PROMISED_WEIGHT = 4


@dataclass
class Model:
    """The OR-Tools model of a problem and the node data the warm start needs."""

    vehicles: list[Vehicle]
    nodes: list[Node]
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
    due: np.ndarray | None = None  # per stop node: soft due time of its start (BIG: none)
    time: np.ndarray | None = None  # node to node matrix time (before the speed factors)
    # reload node -> its bike's index (several loops a shift, :mod:`ortools_reloads`)
    reload_of: dict[int, int] = field(default_factory=dict)
    # stop nodes whose goods are on a bike now: before its first reload (the loop it rides)
    first_loop: frozenset[int] = frozenset()


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


def build_model(
    problem: Problem,
    nodes: list[Node],
    pair_nodes: list[tuple[int, int]],
    seq_nodes: list[tuple[int, list[int]]],
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    promised: frozenset[int] = frozenset(),
    first_loop: frozenset[int] = frozenset(),
) -> Model:
    vehicles = list(problem.vehicles)
    n_stop_nodes = len(nodes)
    hub_locs = sorted({v.start_location for v in vehicles} | {v.end_location for v in vehicles})
    hub_node = {loc: n_stop_nodes + i for i, loc in enumerate(hub_locs)}
    for loc in hub_locs:
        nodes.append(Node(members=[], entry=loc, exit=loc, inner_t={f: 0 for f in factors}))
    reload_of = add_reload_nodes(vehicles, nodes, n_stop_nodes, factors)
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
    dist_cb = routing.RegisterTransitMatrix(d_rows if d_rows is not None else D.tolist()) if need_dist else -1

    max_arc, max_fixed = _arc_costs(problem, routing, vehicles, nodes, factors, T, t_rows, D, travel_by_factor, dist_cb)
    horizon, time_dim, node_windows, due_of = _time_dimension(
        problem, routing, manager, vehicles, nodes, n_stop_nodes, windows, time_cb
    )
    loads = _load_dimensions(routing, manager, vehicles, nodes, reload_of)
    # ---- battery range
    if any(v.max_distance_m is not None for v in vehicles):
        caps = [BIG if v.max_distance_m is None else int(v.max_distance_m) for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(dist_cb, 0, caps, True, "Distance")

    penalty, node_penalties = _penalties_and_pairs(
        routing,
        manager,
        time_dim,
        vehicles,
        nodes,
        n_stop_nodes,
        pair_nodes,
        promised,
        max_arc,
        max_fixed,
    )
    constrain_reloads(routing, manager, vehicles, n_nodes, reload_of, pair_nodes, first_loop)
    _pinned_orders(routing, manager, seq_nodes, n_nodes)
    _empty_routes_ride_home(problem, routing, vehicles)

    return Model(
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
        reload_of=reload_of,
        first_loop=first_loop if reload_of else frozenset(),
    )


def _arc_costs(
    problem: Problem,
    routing: Any,
    vehicles: list[Vehicle],
    nodes: list[Node],
    factors: list[float],
    T: np.ndarray,
    t_rows: list[Any] | None,
    D: np.ndarray,
    travel_by_factor: dict[float, np.ndarray],
    dist_cb: int,
) -> tuple[int, int]:
    """Arc costs (distance, or travel time at each bike's speed) and fixed costs;
    returns the largest arc and the largest fixed cost."""
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
                cost_cb[f] = routing.RegisterTransitMatrix((travel_by_factor[f] + inner_travel[:, None]).tolist())
        for vi, v in enumerate(vehicles):
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[v.speed_factor], vi)
        max_arc = int(max(m.max() for m in travel_by_factor.values())) if T.size else 0
        max_arc += int(max((max(nd.inner_travel.values(), default=0) for nd in nodes), default=0))
    max_fixed = 0
    for vi, v in enumerate(vehicles):
        if v.fixed_cost:
            routing.SetFixedCostOfVehicle(int(v.fixed_cost), vi)
            max_fixed = max(max_fixed, int(v.fixed_cost))
    return max_arc, max_fixed


def _time_dimension(
    problem: Problem,
    routing: Any,
    manager: Any,
    vehicles: list[Vehicle],
    nodes: list[Node],
    n_stop_nodes: int,
    windows: list[Windows],
    time_cb: dict[float, int],
) -> tuple[int, Any, list[Windows], np.ndarray]:
    """Shifts, windows and due times on the time cumuls: (horizon, the dimension, the
    windows as set per stop node, the due times per stop node)."""
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
    due_of = np.full(n_stop_nodes, BIG, dtype=np.int64)
    for node in range(n_stop_nodes):
        w = [(max(0, a), min(horizon, b)) for a, b in nodes[node].windows]
        w = [(a, b) for a, b in w if a <= b]
        due = problem.stops[nodes[node].members[0]].due_s if len(nodes[node].members) == 1 else None
        if not nodes[node].windows:
            node_windows.append([])
            w = [(0, horizon)]  # a due time binds a stop of any time too
        else:
            cumul = time_dim.CumulVar(manager.NodeToIndex(node))
            if not w:  # cannot happen after the diagnosis; keep the model valid
                w = [(horizon, horizon)]
            node_windows.append(w)
            cumul.SetRange(w[0][0], w[-1][1])
            for (_, b), (a, _) in itertools.pairwise(w):
                if b + 1 <= a - 1:
                    cumul.RemoveInterval(b + 1, a - 1)
        if due is not None and due < w[-1][1]:
            time_dim.SetCumulVarSoftUpperBound(manager.NodeToIndex(node), max(0, due), LATE_COST_PER_S)
            due_of[node] = max(0, due)
    return horizon, time_dim, node_windows, due_of


def _load_dimensions(
    routing: Any, manager: Any, vehicles: list[Vehicle], nodes: list[Node], reload_of: dict[int, int]
) -> list[tuple[np.ndarray, np.ndarray, list[int]]]:
    """Payload (g) and volume (dL) dimensions: (demand, hub-loaded part, capacities) each;
    loads reset at the reload nodes (:mod:`backend.dispatch.ortools_reloads`)."""
    solver = routing.solver()
    loads: list[tuple[np.ndarray, np.ndarray, list[int]]] = []
    for name, cap_attr, dem_attr, hub_attr in (
        ("Payload", "payload_kg", "dem_g", "hub_g"),
        ("Volume", "volume_l", "dem_dl", "hub_dl"),
    ):
        dem = [getattr(nd, dem_attr) for nd in nodes]
        if not any(dem):
            continue
        unit = GRAMS_PER_KG if name == "Payload" else DL_PER_L
        caps = [min(scaled_capacity(getattr(v, cap_attr), unit), BIG) for v in vehicles]
        loads.append(
            (
                np.array(dem, dtype=np.int64),
                np.array([getattr(nd, hub_attr) for nd in nodes], dtype=np.int64),
                caps,
            )
        )
        cb = routing.RegisterUnaryTransitVector(dem)
        routing.AddDimensionWithVehicleCapacity(cb, reload_slack(caps, reload_of), caps, False, name)
        dim = routing.GetDimensionOrDie(name)
        if reload_of:
            only_reloads_slack(routing, manager, dim, reload_of)
        hub_loaded = any(nd.kind in ("hub_delivery", "pickup_delivery") and d for nd, d in zip(nodes, dem, strict=True))
        rdem = [d if nd.kind == "return" else 0 for nd, d in zip(nodes, dem, strict=True)]
        if hub_loaded and any(rdem):
            # load(end) >= returns(end)  <=>  load(start) >= the route's hub-loaded goods
            # (and at each reload: what was loaded so far covers the hub goods handed over)
            rcb = routing.RegisterUnaryTransitVector(rdem)
            routing.AddDimensionWithVehicleCapacity(rcb, 0, caps, True, name + "Returns")
            rdim = routing.GetDimensionOrDie(name + "Returns")
            ends = [routing.End(vi) for vi in range(len(vehicles))]
            for i in ends + [manager.NodeToIndex(n) for n in reload_of]:
                solver.Add(dim.CumulVar(i) >= rdim.CumulVar(i))
    return loads


def _penalties_and_pairs(
    routing: Any,
    manager: Any,
    time_dim: Any,
    vehicles: list[Vehicle],
    nodes: list[Node],
    n_stop_nodes: int,
    pair_nodes: list[tuple[int, int]],
    promised: frozenset[int],
    max_arc: int,
    max_fixed: int,
) -> tuple[int, list[int]]:
    """Every stop optional at a penalty, allowed vehicles, pickup and delivery pairs."""
    solver = routing.solver()
    penalty = min(
        100 * (2 * max_arc + max_fixed) + 100_000,
        (1 << 62) // max(1, n_stop_nodes * 4 * PROMISED_WEIGHT),
    )
    all_vehicles = set(range(len(vehicles)))
    node_penalties: list[int] = []
    for node in range(n_stop_nodes):
        i = manager.NodeToIndex(node)
        members = nodes[node].members
        node_penalties.append(penalty * sum(PROMISED_WEIGHT if k in promised else 1 for k in members))
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
    return penalty, node_penalties


def _pinned_orders(routing: Any, manager: Any, seq_nodes: list[tuple[int, list[int]]], n_nodes: int) -> None:
    """Pinned orders: a visit counter with node precedences.

    Time cumuls would not order two stops at one door with no service time; the
    routing's own precedences are known to its local search filters and are not
    enforced when a node is unperformed, so each pair of a sequence gets one (a
    dropped stop in the middle must not free the others).
    """
    if seq_nodes:
        pos_cb = routing.RegisterUnaryTransitVector([1] * n_nodes)
        routing.AddDimension(pos_cb, 0, n_nodes + 1, True, "Position")
        pos_dim = routing.GetDimensionOrDie("Position")
        for _vi, seq in seq_nodes:
            for a, b in itertools.combinations(seq, 2):
                pos_dim.AddNodePrecedence(manager.NodeToIndex(a), manager.NodeToIndex(b), 1)


def _empty_routes_ride_home(problem: Problem, routing: Any, vehicles: list[Vehicle]) -> None:
    """Empty routes between different hubs still ride home (when the shift and range allow)."""
    for vi, v in enumerate(vehicles):
        if v.start_location != v.end_location:
            leg_t = travel_time(problem.time_s[v.start_location][v.end_location], v.speed_factor)
            leg_d = problem.dist_m[v.start_location][v.end_location]
            fits = v.shift.start + leg_t <= v.shift.end and (v.max_distance_m is None or leg_d <= v.max_distance_m)
            if fits:
                routing.SetVehicleUsedWhenEmpty(True, vi)
