"""PyVRP as the planner's second engine (see :mod:`backend.dispatch.portfolio`).

`PyVRP <https://pyvrp.org>`_ 0.14 solves the very :class:`~backend.dispatch.model.Problem`
OR-Tools gets, for the problems it can express; :func:`unsupported` names the
first feature it cannot, and such problems stay with OR-Tools alone. The
translation:

* every matrix place is a PyVRP ``Location`` (:func:`solve_pyvrp` and
  :func:`backend.dispatch.reloads.solve_reloads` first cut the matrices to the
  places used: :mod:`backend.dispatch.used_places`); the matrices are handed over as
  they are (distance matrix = distance, time matrix = duration), one routing
  profile per distinct ``speed_factor`` (times divided by it, rounded half up,
  as the OR-Tools model does). ``cost="distance"`` costs each metre;
  ``cost="time"`` each second of travel, as OR-Tools and ``plan_cost`` count
  it (waiting for a window costs nothing): each profile's travel times are
  PyVRP's distances there, and a battery range in metres becomes a bound in
  seconds that no route within it exceeds (range x the least seconds per
  metre of any leg, legs of a few metres aside: :func:`range_bound`), so a plan
  PyVRP calls feasible keeps its range;
* a delivery without pickups is a ``Client`` with a ``delivery`` load (loaded
  at the start depot); a pickup no delivery names (a return) is a ``Client``
  with a ``pickup`` load (brought to the end depot);
* a pickup and the delivery that names it (Li & Lim pairs, a shop basket) are
  one PyVRP ``Shipment``: its pickup and delivery steps carry their own
  location, window and service time. PyVRP 0.14 enforces that a shipment's
  delivery follows its pickup on the same route, and the load rides between them;
* vehicles with the same start, end, shift, capacities, range, fixed cost and
  speed are one ``VehicleType`` (``num_available`` = fleet size); the shift is
  the vehicle type's ``tw_early``/``tw_late``, the battery range its
  ``max_distance``, the fixed cost its ``fixed_cost``;
* loads are integers: weights (and volumes, when any stop has one) are used as
  they are when they are all whole numbers (the benchmarks), else in grams
  and decilitres;
* with ``optional=True`` every client and shipment may be left out at a prize
  above anything serving it could cost, so a day with too little room still
  gets the best plan of what fits (the bench's peer keeps every visit required);
* a delivery or return locked on some bikes carries a unit in each load
  dimension of its lock's code, which only its bikes have room in
  (:mod:`backend.dispatch.lock_codes`); where such codes are not exact, it gets
  a place of its own that the other bikes' routing profiles block
  (:func:`backend.dispatch.pyvrp_translate.lock_profiles`);
* a delivery or return of several windows is one ``Client`` per window at its
  place, in a mutually exclusive ``ClientGroup`` (exactly one served, or at
  most one when visits are optional):
  :func:`backend.dispatch.pyvrp_translate.window_groups`.

What PyVRP cannot express is refused, never approximated: several windows or
locks on a stop of a shop pair, a delivery with several pickups or with a
pickup and hub-loaded goods of its own, pinned sequences and soft due times.
The portfolio hands such days to PyVRP as a relaxation whose plan warm-starts
OR-Tools (:mod:`backend.dispatch.pyvrp_translate`).

The routes come back as stop orders per vehicle and are re-timed on our
matrices (leaving the hub at the shift start, waiting for windows), into a
:class:`~backend.dispatch.model.Plan` that the independent checker
(:func:`backend.dispatch.feasibility.check`) judges like any plan of ours.
Stops PyVRP leaves out are reported unplanned (``no_capacity``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import msgspec
import numpy as np

from backend.dispatch.model import Plan, PlannedStop, Problem, Route, Stop, Unplanned, Vehicle
from backend.dispatch.pyvrp_search import Watch, search, search_required_first, solve_params
from backend.dispatch.scheduling import schedule
from backend.dispatch.used_places import used_places

PYVRP_REQUIREMENT = "pyvrp>=0.14,<0.15"
INSTALL_HINT = f'PyVRP is not installed: pip install -e . (or pip install "{PYVRP_REQUIREMENT}")'
UNLIMITED_CAPACITY = 1 << 40  # "no limit" for a load dimension, well inside PyVRP's int64 sums
_BIG_LOAD = 1e8  # a capacity at or above this (kg or L) is "unlimited" (the benchmarks' volume)
# A leg of a few metres may round to 0 s (the city day of 2,000 stops has 21 of 1-3 m),
# which left no bound in seconds for a range and PyVRP costing route durations instead:
# waiting counted, and a quarter of the iterations (issue #15, session 22). Legs shorter
# than this are left out of the seconds a metre (range_bound), and the metres they may ride
# beyond it are kept aside from the range for this many legs a route; the checker judges
# every plan against the range in metres
SHORT_LEG_M = 10
RANGE_LEGS = 100


class PyVRPUnavailable(RuntimeError):
    """PyVRP is not installed, or has the wrong version."""


def require_pyvrp() -> Any:
    """The ``pyvrp`` module, or :class:`PyVRPUnavailable` with how to install it."""
    try:
        import pyvrp
    except ImportError as exc:
        raise PyVRPUnavailable(INSTALL_HINT) from exc
    version = pyvrp_version()
    if version is not None and not version.startswith("0.14."):
        raise PyVRPUnavailable(f"PyVRP {version} is installed, Laadbak needs {PYVRP_REQUIREMENT}: pip install -e .")
    return pyvrp


def pyvrp_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("pyvrp")
    except Exception:  # noqa: BLE001 - metadata missing: trust the import
        return None


class Mapping(msgspec.Struct, kw_only=True):
    """How PyVRP's indices map back to the problem's stops and vehicles."""

    clients: list[int]  # client index -> stop index
    shipments: list[tuple[int, int]]  # shipment index -> (pickup stop index, delivery stop index)
    vehicle_types: list[list[str]]  # vehicle type index -> ids of its vehicles, in order
    load_units: tuple[int, ...]  # per load dimension: PyVRP units per kg (or per L)
    lock_dims: int = 0  # load dimensions after those that keep locks (lock_codes.lock_loads)


# --------------------------------------------------------------------------- #
# Problem -> PyVRP
# --------------------------------------------------------------------------- #


def unsupported(problem: Problem) -> str | None:
    """The first feature of ``problem`` PyVRP 0.14 cannot model, in words, or None."""
    if problem.sequences:
        return "pinned sequences (PyVRP has no precedence between separate visits)"
    by_id = {s.id: s for s in problem.stops}
    paired = {p for s in problem.stops for p in s.pickups}
    for s in problem.stops:
        if len(s.windows) > 1 and (s.kind == "pickup" and s.id in paired or s.pickups):
            # a client's windows are a mutually exclusive group (pyvrp_translate.window_groups)
            return f"stop {s.id} of a shop pair has {len(s.windows)} windows (PyVRP: one per shipment step)"
        if s.vehicles and (s.kind == "pickup" and s.id in paired or s.pickups):
            # a lone visit's lock is a routing profile (pyvrp_translate.lock_profiles)
            return f"stop {s.id} of a shop pair may be served by some vehicles only"
        if s.due_s is not None:
            return f"stop {s.id} has a soft due time (PyVRP windows are hard)"
        if s.kind == "delivery" and len(s.pickups) > 1:
            return f"delivery {s.id} collects from {len(s.pickups)} pickups (a shipment has one)"
        if s.kind == "delivery" and s.pickups and (s.weight_kg > 0 or s.volume_l > 0):
            return f"delivery {s.id} has a pickup and hub-loaded goods of its own"
        for p in s.pickups:
            if p not in by_id or by_id[p].kind != "pickup":
                return f"delivery {s.id} names {p}, which is not a pickup of the problem"
    from backend.dispatch.pyvrp_translate import locks_kept

    if not locks_kept(problem):
        return "locks on too many groups of bikes for a day this size (a routing profile each)"
    return None


def _load_units(problem: Problem) -> tuple[int, ...]:
    """PyVRP units per kg (and per L, when any stop has a volume): 1 if all are whole numbers."""

    def unit(values: list[float]) -> int:
        finite = [v for v in values if v < _BIG_LOAD]
        return 1 if all(float(v).is_integer() for v in finite) else 1000

    weights = [s.weight_kg for s in problem.stops] + [v.payload_kg for v in problem.vehicles]
    units = [unit(weights)]
    if any(s.volume_l > 0 for s in problem.stops):
        volumes = [s.volume_l for s in problem.stops] + [v.volume_l for v in problem.vehicles]
        units.append(10 if unit(volumes) > 1 else 1)  # decilitres
    return tuple(units)


def _amount(values: tuple[float, ...], units: tuple[int, ...]) -> list[int]:
    return [round(v * u) for v, u in zip(values, units, strict=False)]


def _capacity(v: Vehicle, units: tuple[int, ...]) -> list[int]:
    out = []
    for cap, u in zip((v.payload_kg, v.volume_l), units, strict=False):
        out.append(UNLIMITED_CAPACITY if cap >= _BIG_LOAD else math.floor(cap * u + 1e-9))
    return out


def _travel(time_s: np.ndarray, speed_factor: float) -> np.ndarray:
    if speed_factor == 1.0:
        return time_s
    return np.floor(time_s / speed_factor + 0.5).astype(np.int64)


def range_bound(t: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """``(ratio, excess)``: the least seconds per metre of any leg of ``SHORT_LEG_M`` or
    more, and the most metres a shorter leg rides beyond its seconds / ratio. A route of
    at most ``RANGE_LEGS`` legs and ``(range - RANGE_LEGS * excess) * ratio`` seconds of
    riding rides at most ``range`` metres."""
    long = d >= SHORT_LEG_M
    ratio = float((t[long] / d[long]).min()) if long.any() else 1.0
    short = (d > 0) & ~long
    if not short.any() or ratio <= 0:
        return ratio, 0.0
    return ratio, max(0.0, float((d[short] - t[short] / ratio).max()))


def to_pyvrp(
    problem: Problem, coords: list[tuple[float, float]] | None = None, *, optional: bool = False
) -> tuple[Any, Mapping]:
    """``problem`` as PyVRP ``ProblemData``, and the way back (see the module docstring).

    ``coords`` (x, y per matrix place, e.g. a benchmark's) go to PyVRP's
    locations for what may use them; the matrices alone decide distances and
    times. ``optional`` lets PyVRP leave visits out (at :func:`_prize` each).
    Raises ValueError for what :func:`unsupported` names.
    """
    why = unsupported(problem)
    if why:
        raise ValueError(f"PyVRP cannot model this problem: {why}")
    pyvrp = require_pyvrp()
    T = np.asarray(problem.time_s, dtype=np.int64)
    D = np.asarray(problem.dist_m, dtype=np.int64)
    n = len(T)
    units = _load_units(problem)
    if coords is not None and len(coords) != n:
        raise ValueError(f"coords has {len(coords)} places, the matrices {n}")
    xy = coords if coords is not None else [(0.0, 0.0)] * n
    locations = [pyvrp.Location(float(x), float(y), name=str(i)) for i, (x, y) in enumerate(xy)]

    # Depots: one per place a vehicle starts or ends at.
    depot_places = sorted({v.start_location for v in problem.vehicles} | {v.end_location for v in problem.vehicles})
    depot_of = {loc: k for k, loc in enumerate(depot_places)}
    depots = [pyvrp.Depot(loc, name=f"hub@{loc}") for loc in depot_places]

    # Profiles: one per speed factor.
    factors = sorted({v.speed_factor for v in problem.vehicles}, key=lambda f: (f != 1.0, f))
    profile_of = {f: k for k, f in enumerate(factors)}
    durations = [_travel(T, f) for f in factors]
    distances = [D] * len(factors)

    by_time = problem.cost == "time"
    range_scale: dict[float, tuple[float, float]] | None = None
    if by_time:
        # The objective is travel time (what plan_cost and OR-Tools count), not the route's
        # duration, which would count waiting for windows too: PyVRP gets each profile's
        # travel times as its distances. A range in metres becomes a bound in seconds that
        # no route within it exceeds (range_bound).
        range_scale = {f: range_bound(t, D) for f, t in zip(factors, durations, strict=True)}
        if any(v.max_distance_m is not None for v in problem.vehicles) and min(r for r, _ in range_scale.values()) <= 0:
            range_scale = None  # a long leg of no time: duration costed instead, range exact
        else:
            distances = durations
    vehicle_types, type_vehicles = _vehicle_types(pyvrp, problem, units, depot_of, profile_of, range_scale)

    prize = _prize(problem, durations if by_time else [D]) if optional else 0
    visit: dict[str, Any] = {"required": False, "prize": prize} if optional else {}
    index = {s.id: i for i, s in enumerate(problem.stops)}
    paired = {p for s in problem.stops for p in s.pickups}
    clients = []
    client_stops: list[int] = []
    shipments = []
    shipment_stops: list[tuple[int, int]] = []
    for i, s in enumerate(problem.stops):
        if s.id in paired:
            continue  # part of its delivery's shipment
        if s.kind == "delivery" and s.pickups:
            p = problem.stops[index[s.pickups[0]]]
            pe, pl = _window(p)
            de, dl = _window(s)
            shipments.append(
                pyvrp.Shipment(
                    pickup_location=p.location,
                    delivery_location=s.location,
                    pickup_tw_early=pe,
                    pickup_tw_late=pl,
                    pickup_service_duration=int(p.service_s),
                    delivery_tw_early=de,
                    delivery_tw_late=dl,
                    delivery_service_duration=int(s.service_s),
                    amount=_amount((p.weight_kg, p.volume_l), units),
                    name=f"{p.id}->{s.id}",
                    **visit,
                )
            )
            shipment_stops.append((index[p.id], i))
            continue
        early, late = _window(s)
        load = _amount((s.weight_kg, s.volume_l), units)
        clients.append(
            pyvrp.Client(
                location=s.location,
                delivery=load if s.kind == "delivery" else [0] * len(units),
                pickup=load if s.kind == "pickup" else [0] * len(units),
                service_duration=int(s.service_s),
                tw_early=early,
                tw_late=late,
                name=s.id,
                **visit,
            )
        )
        client_stops.append(i)
    data = pyvrp.ProblemData(locations, clients, depots, vehicle_types, distances, durations, [], shipments)
    mapping = Mapping(
        clients=client_stops,
        shipments=shipment_stops,
        vehicle_types=[[v.id for v in vs] for vs in type_vehicles],
        load_units=units,
    )
    from backend.dispatch.pyvrp_translate import door_visits_together, keep_locks, window_groups

    data, mapping = window_groups(data, mapping, problem, optional=optional)
    return door_visits_together(*keep_locks(data, mapping, problem))


def _vehicle_types(
    pyvrp: Any,
    problem: Problem,
    units: tuple[int, ...],
    depot_of: dict[int, int],
    profile_of: dict[float, int],
    range_scale: dict[float, tuple[float, float]] | None = None,
) -> tuple[list[Any], list[list[Vehicle]]]:
    """PyVRP vehicle types: identical vehicles together, in first-seen order (and those
    vehicles per type)."""
    keys: dict[tuple[Any, ...], int] = {}
    type_vehicles: list[list[Vehicle]] = []
    for v in problem.vehicles:
        key = (
            v.start_location,
            v.end_location,
            v.shift.start,
            v.shift.end,
            v.payload_kg,
            v.volume_l,
            v.max_distance_m,
            v.speed_factor,
            v.fixed_cost,
        )
        if key not in keys:
            keys[key] = len(type_vehicles)
            type_vehicles.append([])
        type_vehicles[keys[key]].append(v)
    by_time = problem.cost == "time"
    vehicle_types = []
    for vs in type_vehicles:
        v = vs[0]
        # by time: travel seconds as PyVRP's distance (range_scale), else the route's duration
        by_duration = by_time and range_scale is None
        extra: dict[str, Any] = {"unit_distance_cost": 0, "unit_duration_cost": 1} if by_duration else {}
        if v.max_distance_m is not None:
            if range_scale:
                ratio, excess = range_scale[v.speed_factor]
                extra["max_distance"] = max(0, int((v.max_distance_m - RANGE_LEGS * excess) * ratio))
            else:
                extra["max_distance"] = int(v.max_distance_m)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(vs),
                capacity=_capacity(v, units),
                start_depot=depot_of[v.start_location],
                end_depot=depot_of[v.end_location],
                fixed_cost=int(v.fixed_cost),
                tw_early=int(v.shift.start),
                tw_late=int(v.shift.end),
                profile=profile_of[v.speed_factor],
                name=v.id,
                **extra,
            )
        )
    return vehicle_types, type_vehicles


def _prize(problem: Problem, costs: list[np.ndarray]) -> int:
    """A prize above what serving any one visit could add: a bike of its own out and back."""
    arc = max((int(c.max()) for c in costs if c.size), default=0)
    service = max((int(s.service_s) for s in problem.stops), default=0)
    fixed = max((int(v.fixed_cost) for v in problem.vehicles), default=0)
    return 4 * (arc + service) + fixed + 1


def _window(s: Stop) -> tuple[int, int]:
    if not s.windows:
        return 0, int(np.iinfo(np.int64).max)
    return int(s.windows[0].start), int(s.windows[0].end)


# --------------------------------------------------------------------------- #
# PyVRP -> Plan
# --------------------------------------------------------------------------- #


def sequences_from_solution(solution: Any, mapping: Mapping) -> dict[str, list[int]]:
    """Vehicle id -> stop indices in visiting order, for every non-empty route."""
    from pyvrp import ActivityType

    used = [0] * len(mapping.vehicle_types)
    out: dict[str, list[int]] = {}
    for route in solution.routes():
        seq: list[int] = []
        for act in route.schedule():
            if act.type == ActivityType.CLIENT:
                seq.append(mapping.clients[act.idx])
            elif act.type == ActivityType.PICKUP:
                seq.append(mapping.shipments[act.idx][0])
            elif act.type == ActivityType.DELIVERY:
                seq.append(mapping.shipments[act.idx][1])
        if not seq:
            continue
        vt = route.vehicle_type()
        vid = mapping.vehicle_types[vt][used[vt]]
        used[vt] += 1
        out[vid] = seq
    return out


def plan_from_sequences(
    problem: Problem,
    sequences: dict[str, list[int]],
    *,
    solve_s: float = 0.0,
    status: str = "feasible",
    unplanned_detail: str = "feasible alone, but no room left in the plan",
) -> Plan:
    """A :class:`Plan` of these stop orders, timed on ``problem``'s matrices.

    Each bike leaves its start hub at the shift start; service starts on arrival
    or when the (first not yet closed) window opens. Nothing is checked here:
    a late arrival, an overload or a broken pair is for the feasibility checker
    to find. Stops in no sequence are reported unplanned (``no_capacity``).
    """
    T, D = problem.time_s, problem.dist_m
    stops = problem.stops
    by_id = {s.id: s for s in stops}
    vehicles = {v.id: v for v in problem.vehicles}
    routes = []
    seen: set[int] = set()
    for v in problem.vehicles:  # the problem's vehicle order
        seq = sequences.get(v.id)
        if not seq:
            continue
        seen.update(seq)
        routes.append(_timed_route(problem, vehicles[v.id], seq, by_id, T, D))
    unplanned = tuple(
        Unplanned(stop_id=s.id, reason="no_capacity", detail=unplanned_detail)
        for i, s in enumerate(stops)
        if i not in seen
    )
    return Plan(
        routes=tuple(routes),
        unplanned=unplanned,
        cost=sum(r.distance_m for r in routes) + sum(vehicles[r.vehicle_id].fixed_cost for r in routes),
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=round(solve_s, 3),
        status=status,
    )


def _timed_route(problem: Problem, v: Vehicle, seq: list[int], by_id: dict[str, Stop], T: Any, D: Any) -> Route:
    stops = problem.stops
    load_kg = sum(stops[k].weight_kg for k in seq if stops[k].kind == "delivery")
    load_l = sum(stops[k].volume_l for k in seq if stops[k].kind == "delivery")
    # on arrival or when the window opens; a late stop is reported as it is
    sched = schedule(problem, v, seq, departure=int(v.shift.start), late=True)
    assert sched is not None
    prev = v.start_location
    dist = 0
    aboard: set[str] = set()
    out = []
    for k, (arrival, start, t) in zip(seq, sched.times, strict=True):
        s = stops[k]
        dist += int(D[prev][s.location])
        if s.kind == "pickup":
            load_kg += s.weight_kg
            load_l += s.volume_l
            aboard.add(s.id)
        elif s.pickups:
            load_kg -= sum(by_id[p].weight_kg for p in s.pickups if p in aboard) + s.weight_kg
            load_l -= sum(by_id[p].volume_l for p in s.pickups if p in aboard) + s.volume_l
        else:
            load_kg -= s.weight_kg
            load_l -= s.volume_l
        out.append(
            PlannedStop(
                stop_id=s.id,
                arrival_s=int(arrival),
                start_s=int(start),
                departure_s=int(t),
                load_kg=round(float(load_kg), 6),
                load_l=round(float(load_l), 6),
                distance_m=dist,
            )
        )
        prev = s.location
    end = sched.end
    dist += int(D[prev][v.end_location])
    start_s = int(v.shift.start)
    return Route(
        vehicle_id=v.id,
        stops=tuple(out),
        start_s=start_s,
        end_s=int(end),
        distance_m=dist,
        duration_s=int(end) - start_s,
    )


# --------------------------------------------------------------------------- #
# Solve
# --------------------------------------------------------------------------- #


def plannable(
    problem: Problem, coords: list[tuple[float, float]] | None = None
) -> tuple[list[Unplanned], Problem, list[tuple[float, float]] | None]:
    """What PyVRP's search gets of ``problem``: the stops no bike could serve even alone
    left out with the reasons :func:`backend.dispatch.solver.diagnose` gives (as the
    OR-Tools engine does), and a pair with them, on the places used
    (:func:`~backend.dispatch.used_places.used_places`, ``coords`` alike). Raises
    ValueError for what :func:`unsupported` names."""
    from backend.dispatch.solver import diagnose

    why = unsupported(problem)
    if why:
        raise ValueError(f"PyVRP cannot model this problem: {why}")
    pre = list(diagnose(problem))
    gone = {u.stop_id for u in pre}
    kept = [s for s in problem.stops if s.id not in gone]
    # a pair travels together: a delivery whose pickup is gone, and the other way round
    orphans = {s.id for s in kept if any(p in gone for p in s.pickups)}
    orphans |= {p for s in problem.stops if s.id in gone for p in s.pickups} - gone
    pre += [
        Unplanned(stop_id=sid, reason="pickup_unplanned", detail="its pair cannot be planned")
        for sid in sorted(orphans)
    ]
    sub = msgspec.structs.replace(problem, stops=tuple(s for s in kept if s.id not in orphans))
    sub, coords = used_places(sub, coords)
    return pre, sub, coords


def solve_pyvrp(
    problem: Problem,
    time_limit_s: float,
    *,
    seed: int = 0,
    coords: list[tuple[float, float]] | None = None,
    optional: bool | None = None,
    warm: Plan | None = None,
    timings: dict[str, float] | None = None,
    watch: Watch | None = None,
) -> Plan:
    """Plan ``problem`` with PyVRP within ``time_limit_s`` of wall clock, hand-over included.

    Stops no bike could serve even alone are left out first, with the reasons
    :func:`backend.dispatch.solver.diagnose` gives (as the OR-Tools engine does);
    the rest go to PyVRP's search for what is left of the limit, starting from
    ``warm``'s routes when given (e.g. OR-Tools' plan): with ``optional`` None every
    visit required first, optional only when that finds no plan
    (:mod:`backend.dispatch.pyvrp_search`); True or False, visits optional or
    required for the whole limit. ``watch``, if given, follows the required search, its
    best solutions shown as plans (:class:`backend.dispatch.pyvrp_search.Watch`).
    A plan PyVRP itself finds infeasible comes back with ``status="infeasible"``
    for the checker to judge. Raises ValueError for what :func:`unsupported` names
    and :class:`PyVRPUnavailable` when PyVRP is not installed.
    """
    require_pyvrp()
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    pre, sub, coords = plannable(problem, coords)
    stats = timings if timings is not None else {}
    if not sub.stops or not problem.vehicles:
        plan = plan_from_sequences(sub, {}, solve_s=time.perf_counter() - t0)
    else:
        if optional is None:  # every visit required first, optional if that finds no plan
            best, mapping = search_required_first(
                lambda opt: to_pyvrp(sub, coords, optional=opt),
                t0 + time_limit_s,
                seed=seed,
                initial=None if warm is None else lambda d, m: initial_solution(d, m, sub, warm),
                stats=stats,
                watch=_plans(watch, sub, t0),
            )
        else:
            data, mapping = to_pyvrp(sub, coords, optional=optional)
            initial = initial_solution(data, mapping, sub, warm) if warm is not None else None
            left = max(0.01, time_limit_s - (time.perf_counter() - t0))
            result = search(
                data, MaxRuntime(left), solve_params(left), seed, initial, mapping.lock_dims, t0 + time_limit_s
            )
            stats["iterations"] = float(result.num_iterations)
            best = result.best
        stats["search"] = time.perf_counter() - t0
        plan = _plan(sub, best, mapping, t0)
    engine = "pyvrp" if warm is None else f"{warm.engine}+pyvrp"
    return msgspec.structs.replace(plan, unplanned=(*pre, *plan.unplanned), engine=engine)


def _plans(watch: Watch | None, problem: Problem, t0: float) -> Watch | None:
    """``watch`` shown the search's solutions as plans of ``problem``."""
    if watch is not None:
        watch.convert = lambda solution: _plan(problem, solution, watch.mapping, t0)
    return watch


def _plan(problem: Problem, solution: Any, mapping: Mapping, t0: float) -> Plan:
    """PyVRP's ``solution`` of ``problem`` as a plan (timed; the stops it leaves out unplanned)."""
    return plan_from_sequences(
        problem,
        sequences_from_solution(solution, mapping),
        solve_s=time.perf_counter() - t0,
        status="feasible" if solution.is_feasible() else "infeasible",
    )


def initial_solution(data: Any, mapping: Mapping, problem: Problem, plan: Plan) -> Any:
    """``plan``'s routes as a PyVRP ``Solution`` of ``data`` (made by :func:`to_pyvrp`).

    Stops the mapping does not know are skipped; PyVRP judges the rest itself.
    """
    from pyvrp import Activity, ActivityType, Route, Solution

    act: dict[str, Any] = {}
    served = {ps.stop_id: ps.start_s for r in plan.routes for ps in r.stops}
    for ci, k in enumerate(mapping.clients):
        sid = problem.stops[k].id
        c = data.client(ci)
        # a stop of several windows: the client of the window the plan serves it in
        if sid not in act or c.tw_early <= served.get(sid, -1) <= c.tw_late:
            act[sid] = Activity(ActivityType.CLIENT, ci)
    for si, (p, d) in enumerate(mapping.shipments):
        act[problem.stops[p].id] = Activity(ActivityType.PICKUP, si)
        act[problem.stops[d].id] = Activity(ActivityType.DELIVERY, si)
    type_of = {vid: t for t, ids in enumerate(mapping.vehicle_types) for vid in ids}
    routes = []
    for r in plan.routes:
        if r.vehicle_id not in type_of:
            continue
        # a plan in loops (OR-Tools' reload nodes) keeps them where the type has a reload depot
        reload_depots = list(data.vehicle_type(type_of[r.vehicle_id]).reload_depots)
        visits = []
        loop = None
        for ps in r.stops:
            if ps.stop_id not in act:
                continue
            if reload_depots and loop is not None and ps.loop != loop:
                visits.append(Activity(ActivityType.DEPOT, reload_depots[0]))
            visits.append(act[ps.stop_id])
            loop = ps.loop
        if visits:
            routes.append(Route(data, visits, type_of[r.vehicle_id]))
    return Solution(data, routes)
