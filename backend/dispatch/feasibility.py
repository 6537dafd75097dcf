"""Check a :class:`Plan` against its :class:`Problem`, independently of the solver.

Each route is re-simulated from the matrices (travel time = matrix time /
``speed_factor``; loads from the stops), and the plan's reported figures are
compared with that simulation. The rules are the ``Violation.rule`` values:

* ``unknown_stop``: a planned or unplanned stop id the problem does not have.
* ``duplicate_stop``: planned twice, or both planned and reported unplanned.
* ``missing_stop``: neither planned nor reported unplanned.
* ``wrong_vehicle``: the route's bike is not among the stop's allowed
  vehicles, is unknown, or has two routes.
* ``pickup_delivery``: a delivery's pickups are not all earlier on the same
  route, or a named pickup is planned while its delivery is not.
* ``window``: service starts before arrival or outside every window.
* ``shift``: the bike leaves its start hub before the shift or is back at its
  end hub after it.
* ``payload`` / ``volume``: over capacity (or negative) at some point,
  counting the hub-loaded start load, or a reported load that is wrong.
* ``range``: a route longer than the bike's battery range (reload rides included).
* ``reload``: a reload on a bike that rides one loop (``Vehicle.reload_s`` None)
  or more than its ``max_reloads``, loops not numbered 1, 2, ... in visiting
  order with one reload before each new loop, or a reload shorter than the
  bike's ``reload_s``. Capacity holds per loop (``payload``/``volume``).
* ``timing``: reported arrival, departure, distances or totals that do not
  match the simulation (service time not respected, speed factor ignored...).
* ``sequence``: a stop of a pinned sequence (``Problem.sequences``) planned
  on another bike, or before a stop pinned ahead of it. Pinned stops that are
  unplanned break nothing (they are reported with a reason).

:func:`check_route` applies the rules that one route can break on its own.

Load semantics (shared with the solver's documentation): a delivery without
pickups is loaded at the start hub; a pickup adds its load; a delivery with
pickups unloads what those pickups collected plus its own (hub-loaded) load (earlier on the same route; a
pickup missing there is a ``pickup_delivery`` break, not a negative load); a
pickup that no delivery names is brought back to the end hub.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.dispatch.model import Plan, PlannedStop, Problem, Reload, Route, Stop, Vehicle, Violation
from backend.dispatch.windows import cell

__all__ = ["check", "check_route"]


def check(
    problem: Problem,
    plan: Plan,
    *,
    tol_s: float = 1.0,
    tol_m: int = 1,
    tol_load: float = 1e-6,
) -> list[Violation]:
    """All broken rules of ``plan`` (an empty list means feasible)."""
    out: list[Violation] = []

    def add(rule: str, vehicle: str | None, stop: str | None, detail: str) -> None:
        out.append(Violation(rule=rule, vehicle_id=vehicle, stop_id=stop, detail=detail))  # type: ignore[arg-type]

    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    delivery_of = {p: s.id for s in problem.stops for p in s.pickups}

    # ---- coverage: every stop once, planned or unplanned
    where: dict[str, tuple[int, int]] = {}  # stop id -> (route index, position)
    for ri, r in enumerate(plan.routes):
        for pi, ps in enumerate(r.stops):
            if ps.stop_id not in stops:
                add("unknown_stop", r.vehicle_id, ps.stop_id, "planned stop is not in the problem")
            elif ps.stop_id in where:
                add("duplicate_stop", r.vehicle_id, ps.stop_id, "stop is planned more than once")
            else:
                where[ps.stop_id] = (ri, pi)
    unplanned_ids: set[str] = set()
    for u in plan.unplanned:
        if u.stop_id not in stops:
            add("unknown_stop", None, u.stop_id, "unplanned stop is not in the problem")
        elif u.stop_id in where:
            add("duplicate_stop", None, u.stop_id, "stop is both planned and unplanned")
        elif u.stop_id in unplanned_ids:
            add("duplicate_stop", None, u.stop_id, "stop is reported unplanned twice")
        unplanned_ids.add(u.stop_id)
    for sid in stops:
        if sid not in where and sid not in unplanned_ids:
            add("missing_stop", None, sid, "stop is neither planned nor reported unplanned")

    # ---- pickups and deliveries
    for sid, (ri, pi) in where.items():
        s = stops[sid]
        if s.kind == "delivery":
            for p in s.pickups:
                if p not in where:
                    add(
                        "pickup_delivery",
                        plan.routes[ri].vehicle_id,
                        sid,
                        f"pickup {p} is not planned",
                    )
                elif where[p][0] != ri:
                    add(
                        "pickup_delivery",
                        plan.routes[ri].vehicle_id,
                        sid,
                        f"pickup {p} is on another route ({plan.routes[where[p][0]].vehicle_id})",
                    )
                elif where[p][1] >= pi:
                    add(
                        "pickup_delivery",
                        plan.routes[ri].vehicle_id,
                        sid,
                        f"pickup {p} comes after it",
                    )
        elif sid in delivery_of and delivery_of[sid] not in where:
            add(
                "pickup_delivery",
                plan.routes[ri].vehicle_id,
                sid,
                f"picked up but its delivery {delivery_of[sid]} is not planned",
            )

    # ---- per route
    seen_vehicles: set[str] = set()
    total_d = 0
    total_t = 0
    returns = returns_of(stops) if any(r.reloads for r in plan.routes) else frozenset()
    for r in plan.routes:
        v = vehicles.get(r.vehicle_id)
        if v is None:
            add("wrong_vehicle", r.vehicle_id, None, "route for an unknown vehicle")
            continue
        if r.vehicle_id in seen_vehicles:
            add("wrong_vehicle", r.vehicle_id, None, "vehicle has more than one route")
        seen_vehicles.add(r.vehicle_id)
        d, t = _check_route(problem, v, r, stops, add, tol_s, tol_m, tol_load, returns)
        total_d += d
        total_t += t
    _check_sequences(problem, plan.routes, where, add)
    if abs(plan.distance_m - sum(r.distance_m for r in plan.routes)) > tol_m:
        add("timing", None, None, f"plan distance {plan.distance_m} is not the sum of its routes")
    if abs(plan.duration_s - sum(r.duration_s for r in plan.routes)) > tol_s:
        add("timing", None, None, f"plan duration {plan.duration_s} is not the sum of its routes")
    return out


def check_route(
    problem: Problem,
    route: Route,
    *,
    tol_s: float = 1.0,
    tol_m: int = 1,
    tol_load: float = 1e-6,
    stops_by_id: dict[str, Stop] | None = None,
    returns: frozenset[str] | None = None,
) -> list[Violation]:
    """The broken rules of one route on its own (an empty list: it is feasible alone).

    Timing, windows, shift, loads, range and allowed vehicles as in
    :func:`check`, plus the order within the route: a pickup after its
    delivery, pinned stops out of their order or pinned to another bike.
    Coverage and pairs split over two routes need the whole plan
    (:func:`check`). Cheaper than checking a whole plan again when one route
    changes. ``stops_by_id`` (the problem's stops by id) and ``returns`` (its pickups no
    delivery names, :func:`returns_of`) save building them again when checking many routes
    of one problem.
    """
    out: list[Violation] = []

    def add(rule: str, vehicle: str | None, stop: str | None, detail: str) -> None:
        out.append(Violation(rule=rule, vehicle_id=vehicle, stop_id=stop, detail=detail))  # type: ignore[arg-type]

    stops = stops_by_id if stops_by_id is not None else {s.id: s for s in problem.stops}
    v = next((v for v in problem.vehicles if v.id == route.vehicle_id), None)
    if v is None:
        add("wrong_vehicle", route.vehicle_id, None, "route for an unknown vehicle")
        return out
    if returns is None:
        returns = returns_of(stops) if route.reloads else frozenset()
    _check_route(problem, v, route, stops, add, tol_s, tol_m, tol_load, returns)
    where = {ps.stop_id: (0, pi) for pi, ps in enumerate(route.stops)}
    for sid, (_, pi) in where.items():
        s = stops.get(sid)
        if s is None:
            add("unknown_stop", v.id, sid, "planned stop is not in the problem")
            continue
        for p in s.pickups:
            if p in where and where[p][1] >= pi:
                add("pickup_delivery", v.id, sid, f"pickup {p} comes after it")
    _check_sequences(problem, (route,), where, add)
    return out


def _check_sequences(
    problem: Problem,
    routes: tuple[Route, ...],
    where: dict[str, tuple[int, int]],
    add: Callable[[str, str | None, str | None, str], None],
) -> None:
    """Pinned stops: on their bike, in their order (among those in ``where``)."""
    for q in problem.sequences:
        before: str | None = None
        last = -1
        for sid in q.stops:
            if sid not in where:
                continue
            ri, pi = where[sid]
            vid = routes[ri].vehicle_id
            if vid != q.vehicle:
                add("sequence", vid, sid, f"pinned to {q.vehicle}")
                continue
            if pi < last:
                add("sequence", vid, sid, f"pinned after {before}, but visited before it")
                continue
            before, last = sid, pi


def returns_of(stops: dict[str, Stop]) -> frozenset[str]:
    """Pickups no delivery names: goods brought back to the hub."""
    named = {p for s in stops.values() for p in s.pickups}
    return frozenset(sid for sid, s in stops.items() if s.kind == "pickup" and sid not in named)


def _check_loops(
    v: Vehicle,
    r: Route,
    known: list[PlannedStop],
    add: Callable[[str, str | None, str | None, str], None],
) -> dict[str, Reload]:
    """Loops numbered 1, 2, ... in visiting order, one reload before each new loop, and
    only on a bike that may reload: the reload before each stop that starts a loop."""
    vid = v.id
    if r.reloads and v.reload_s is None:
        add("reload", vid, None, f"reloads {len(r.reloads)} times, but this bike rides one loop")
    if v.max_reloads is not None and len(r.reloads) > v.max_reloads:
        add("reload", vid, None, f"reloads {len(r.reloads)} times, at most {v.max_reloads}")
    by_loop = {rl.loop: rl for rl in r.reloads}
    if len(by_loop) != len(r.reloads):
        add("reload", vid, None, "two reloads start the same loop")
    out: dict[str, Reload] = {}
    loop = 1
    for j, ps in enumerate(known):
        if j == 0 and ps.loop != 1:
            add("reload", vid, ps.stop_id, f"the first stop is on loop {ps.loop}, not 1")
        elif j > 0 and ps.loop != loop:
            if ps.loop != loop + 1:
                add("reload", vid, ps.stop_id, f"on loop {ps.loop} after a stop on loop {loop}")
            elif ps.loop not in by_loop:
                add("reload", vid, ps.stop_id, f"starts loop {ps.loop} without a reload at the hub")
            else:
                out[ps.stop_id] = by_loop[ps.loop]
        loop = ps.loop
    if len(out) != len(r.reloads):
        add("reload", vid, None, f"{len(r.reloads)} reloads for {len(out)} new loops")
    return out


def _check_route(
    problem: Problem,
    v: Vehicle,
    r: Route,
    stops: dict[str, Stop],
    add: Callable[[str, str | None, str | None, str], None],
    tol_s: float,
    tol_m: int,
    tol_load: float,
    returns: frozenset[str],
) -> tuple[int, int]:
    """``returns``: the problem's pickups no delivery names (read only on a route with reloads)."""
    T, D = cell(problem.time_s), cell(problem.dist_m)
    vid = v.id
    known = [ps for ps in r.stops if ps.stop_id in stops]

    # time: leave the start hub within the shift, then leg by leg
    if r.start_s < v.shift.start:
        add("shift", vid, None, f"leaves at {r.start_s}, before the shift starts at {v.shift.start}")
    prev_loc = v.start_location
    prev_dep = float(r.start_s)
    dist = 0
    reload_at = _check_loops(v, r, known, add)
    for ps in known:
        s = stops[ps.stop_id]
        rl = reload_at.get(ps.stop_id)
        if rl is not None:  # back at the hub, reload, out again
            hub = v.reload_place
            leg = T(prev_loc, hub) / v.speed_factor
            if rl.arrival_s < prev_dep + leg - tol_s:
                add("timing", vid, None, f"back for loop {rl.loop} at {rl.arrival_s}, not before {prev_dep + leg:.0f}")
            if rl.start_s < rl.arrival_s or rl.departure_s < rl.start_s + (v.reload_s or 0) - tol_s:
                add(
                    "reload",
                    vid,
                    None,
                    f"reload for loop {rl.loop} from {rl.start_s} to {rl.departure_s}: "
                    f"it takes {v.reload_s or 0} s from arrival {rl.arrival_s}",
                )
            dist += D(prev_loc, hub)
            if abs(rl.distance_m - dist) > tol_m:
                add("timing", vid, None, f"reported distance {rl.distance_m} at reload {rl.loop}, simulated {dist}")
            prev_loc = hub
            prev_dep = float(max(rl.departure_s, rl.arrival_s + (v.reload_s or 0)))
        if s.vehicles and vid not in s.vehicles:
            add("wrong_vehicle", vid, s.id, f"only {', '.join(s.vehicles)} may serve it")
        leg = T(prev_loc, s.location) / v.speed_factor
        if ps.arrival_s < prev_dep + leg - tol_s:
            add(
                "timing",
                vid,
                s.id,
                f"arrives at {ps.arrival_s}, but cannot be there before {prev_dep + leg:.0f}",
            )
        if ps.start_s < ps.arrival_s:
            add(
                "window",
                vid,
                s.id,
                f"service starts at {ps.start_s}, before arrival {ps.arrival_s}",
            )
        if s.windows and not any(w.start <= ps.start_s <= w.end for w in s.windows):
            ws = ", ".join(f"[{w.start}, {w.end}]" for w in s.windows)
            add("window", vid, s.id, f"service starts at {ps.start_s}, outside {ws}")
        if ps.departure_s < ps.start_s + s.service_s - tol_s:
            add(
                "timing",
                vid,
                s.id,
                f"departs at {ps.departure_s}, before service ends at {ps.start_s + s.service_s}",
            )
        dist += D(prev_loc, s.location)
        if abs(ps.distance_m - dist) > tol_m:
            add("timing", vid, s.id, f"reported distance {ps.distance_m}, simulated {dist}")
        prev_loc = s.location
        prev_dep = float(max(ps.departure_s, ps.start_s + s.service_s))
    leg = T(prev_loc, v.end_location) / v.speed_factor
    if r.end_s < prev_dep + leg - tol_s:
        add("timing", vid, None, f"back at {r.end_s}, but cannot be before {prev_dep + leg:.0f}")
    back = max(float(r.end_s), prev_dep + leg)
    if back > v.shift.end + tol_s:
        add(
            "shift",
            vid,
            None,
            f"back at the end hub at {back:.0f}, after the shift ends at {v.shift.end}",
        )
    dist += D(prev_loc, v.end_location)
    if abs(r.distance_m - dist) > tol_m:
        add("timing", vid, None, f"route distance {r.distance_m}, simulated {dist}")
    if r.duration_s != r.end_s - r.start_s:
        add("timing", vid, None, f"duration {r.duration_s} is not end - start {r.end_s - r.start_s}")
    if v.max_distance_m is not None and dist > v.max_distance_m:
        add("range", vid, None, f"route is {dist} m, range {v.max_distance_m} m")

    _check_loads(v, r, known, stops, reload_at, add, tol_load, returns)
    return dist, r.duration_s


def _check_loads(
    v: Vehicle,
    r: Route,
    known: list[PlannedStop],
    stops: dict[str, Stop],
    reload_at: dict[str, Reload],
    add: Callable[[str, str | None, str | None, str], None],
    tol_load: float,
    returns: frozenset[str],
) -> None:
    vid = v.id
    # loads, per loop: a loop's hub-loaded deliveries are on board when it starts; a
    # return is unloaded at the next hub visit; goods picked up for a later loop stay on
    # (only a route with reloads unloads returns on the way)
    for rule, attr, cap in (
        ("payload", "weight_kg", v.payload_kg),
        ("volume", "volume_l", v.volume_l),
    ):
        unit = "kg" if rule == "payload" else "L"
        hub_goods: dict[int, float] = {}
        for ps in known:
            if stops[ps.stop_id].kind == "delivery":
                hub_goods[ps.loop] = hub_goods.get(ps.loop, 0.0) + getattr(stops[ps.stop_id], attr)
        aboard: dict[str, float] = {}
        load = 0.0
        loop = None
        for ps in known:
            s = stops[ps.stop_id]
            if ps.loop != loop:
                aboard = {sid: x for sid, x in aboard.items() if sid not in returns}
                load = hub_goods.get(ps.loop, 0.0) + sum(aboard.values())
                where = "starts" if loop is None else f"starts loop {ps.loop}"
                loop = ps.loop
                if load > cap + tol_load:
                    add(rule, vid, None, f"{where} with {load:g} {unit}, capacity {cap:g} {unit}")
                rl = reload_at.get(ps.stop_id)
                if rl is not None:
                    reported = rl.load_kg if rule == "payload" else rl.load_l
                    if abs(reported - load) > max(tol_load, 1e-6 * abs(load)):
                        add(
                            rule,
                            vid,
                            None,
                            f"reported load {reported:g} {unit} at reload {rl.loop}, simulated {load:g}",
                        )
            if s.kind == "pickup":
                load += getattr(s, attr)
                aboard[s.id] = getattr(s, attr)
            elif s.pickups:
                # hands over what its pickups collected; one not collected yet on this
                # route is a pickup_delivery break, not a negative load
                load -= sum(aboard.pop(p) for p in s.pickups if p in aboard)
                load -= getattr(s, attr)  # and its own hub-loaded part
            else:
                load -= getattr(s, attr)
            if load > cap + tol_load:
                add(rule, vid, s.id, f"{load:g} {unit} on board after it, capacity {cap:g} {unit}")
            elif load < -tol_load:
                add(rule, vid, s.id, f"negative load {load:g} {unit} after it")
            reported = ps.load_kg if rule == "payload" else ps.load_l
            if abs(reported - load) > max(tol_load, 1e-6 * abs(load)):
                add(rule, vid, s.id, f"reported load {reported:g} {unit}, simulated {load:g} {unit}")
