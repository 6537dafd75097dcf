"""Live re-planning on tiny named instances: warm start, locks, kept orders, changed routes.

Two bikes with their own hubs: "A" east at (2000, 0), "B" west at (-2000, 0).
Stops "e*" lie east of A's hub, "w*" west of B's hub, so each bike has its
own cluster and moving a stop to the other bike costs kilometres.
"""

from __future__ import annotations

import math

import msgspec

from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Problem, Sequence, Stop, Vehicle, Window
from backend.dispatch.replan import ReplanResult, changed_vehicles, replan, route_orders
from backend.dispatch.solver import solve

TL = 0.5  # seconds per solve: these instances are solved in milliseconds
DAY = Window(8 * 3600, 18 * 3600)
HUB_A, HUB_B = (2000, 0), (-2000, 0)


def city(points: list[tuple[float, float]], speed_mps: float = 5.0):
    """Time and distance matrices of straight-line trips between ``points`` (metres)."""
    dist = [[round(math.dist(a, b)) for b in points] for a in points]
    time = [[round(d / speed_mps) for d in row] for row in dist]
    return time, dist


def two_clusters(
    east: list[tuple[float, float]],
    extra: dict[str, tuple[float, float]] | None = None,
    **stop_kw: dict,
) -> Problem:
    """Bikes A and B; stops e1.. at ``east``, w1, w2 west, plus named ``extra`` stops.

    ``stop_kw`` maps a stop id to extra Stop fields (e.g. ``vehicles``).
    """
    extra = extra or {}
    points = [HUB_A, HUB_B, (-3000, 0), (-3000, 100), *east, *extra.values()]
    time, dist = city(points)
    named = {"w1": 2, "w2": 3}
    named.update({f"e{i + 1}": 4 + i for i in range(len(east))})
    named.update({sid: 4 + len(east) + i for i, sid in enumerate(extra)})
    stops = tuple(
        Stop(id=sid, kind="delivery", location=loc, weight_kg=2.0, service_s=60, **stop_kw.get(sid, {}))
        for sid, loc in named.items()
    )
    bikes = tuple(
        Vehicle(id=vid, start_location=loc, end_location=loc, shift=DAY, payload_kg=100.0, volume_l=200.0)
        for vid, loc in (("A", 0), ("B", 1))
    )
    return Problem(time_s=time, dist_m=dist, vehicles=bikes, stops=stops)


def clean(p: Problem, plan: Plan) -> Plan:
    assert check(p, plan) == []
    assert plan.unplanned == ()
    return plan


def vehicle_of(plan: Plan, stop_id: str) -> str:
    (vid,) = [r.vehicle_id for r in plan.routes if stop_id in {s.stop_id for s in r.stops}]
    return vid


# east stops 100 m apart: visiting e2 before e1 costs only ~21 s more than e1, e2, e3
NEAR = [(3000, 0), (3000, 100), (3000, 200)]
# east stops 1 km apart: e2 before e1 costs ~283 s more
FAR = [(3000, 0), (3000, 1000), (3000, 2000)]
BEST = {"A": ["e1", "e2", "e3"], "B": ["w1", "w2"]}
SWAPPED = {"A": ["e2", "e1", "e3"], "B": ["w1", "w2"]}


# ---------------------------------------------------------------- changed_vehicles


def test_changed_vehicles_basic_cases():
    before = {"A": ["s1", "s2"], "B": ["s3"], "C": []}
    assert changed_vehicles(before, before) == set()
    assert changed_vehicles(before, {"A": ["s2", "s1"], "B": ["s3"]}) == {"A"}  # order; C empty
    assert changed_vehicles(before, {"A": ["s1", "s2"], "B": ["s3", "s4"]}) == {"B"}
    assert changed_vehicles(before, {"A": ["s1", "s2"]}) == {"B"}  # B lost its route
    assert changed_vehicles({}, {"D": ["s9"]}) == {"D"}  # a new route
    assert changed_vehicles({"A": ["s1"]}, {"A": ["s1"], "D": []}) == set()


def test_route_orders_reads_vehicle_and_stop_order():
    p = two_clusters(NEAR)
    plan = clean(p, solve(p, TL))
    orders = route_orders(plan)
    assert set(orders) == {"A", "B"}
    assert sorted(orders["A"]) == ["e1", "e2", "e3"] and sorted(orders["B"]) == ["w1", "w2"]
    (a,) = [r for r in plan.routes if r.vehicle_id == "A"]
    assert orders["A"] == [s.stop_id for s in a.stops]


# ---------------------------------------------------------------- warm start in solve


def test_warm_start_restores_the_routes_in_force():
    p = two_clusters(FAR)
    # one solution only: the search stops at its first solution, which with a warm
    # start is the restored routes (a clearly worse order than the heuristic's)
    first_only = "solution_limit: 1"
    warm = clean(p, solve(p, TL, initial_routes=SWAPPED, search_overrides=first_only))
    assert route_orders(warm) == SWAPPED
    cold = clean(p, solve(p, TL, search_overrides=first_only))
    assert route_orders(cold) != SWAPPED


def test_warm_start_gives_a_feasible_plan_with_the_same_stops():
    p = two_clusters(FAR)
    plan = clean(p, solve(p, TL, initial_routes=SWAPPED))
    orders = route_orders(plan)
    assert {k: sorted(v) for k, v in orders.items()} == {k: sorted(v) for k, v in SWAPPED.items()}
    assert orders["A"] in (["e1", "e2", "e3"], ["e3", "e2", "e1"])  # improved from the warm start


def test_warm_start_skips_unknown_and_misplaced_stops():
    p = two_clusters(FAR, {"lk": (-3000, 200)}, lk={"vehicles": ("A",)})
    # "gone" is not in the problem, "Z" is no vehicle, "lk" is on a bike it is locked away from
    routes = {"A": ["e1", "gone", "e2", "e3"], "B": ["w1", "lk", "w2"], "Z": ["w1"]}
    first = solve(p, TL, initial_routes=routes, search_overrides="solution_limit: 1")
    assert check(p, first) == []
    # the rest of the routes in force was restored; "lk" is taken off B (it may not
    # serve it) and the warm start inserts it on A, where it adds least: at the end
    assert route_orders(first) == {"A": ["e1", "e2", "e3", "lk"], "B": ["w1", "w2"]}
    assert first.unplanned == ()
    plan = clean(p, solve(p, TL, initial_routes=routes))
    assert vehicle_of(plan, "lk") == "A"


def test_warm_start_maps_the_shops_of_one_door_to_their_chain():
    points = [HUB_A, HUB_B, (3000, 0), (3000, 100), (3000, 600), (2500, 300)]
    time, dist = city(points)
    stops = (
        Stop(id="p1", kind="pickup", location=2, weight_kg=3.0),
        Stop(id="p2", kind="pickup", location=3, weight_kg=3.0),
        Stop(id="door", kind="delivery", location=4, pickups=("p1", "p2")),
        Stop(id="x", kind="delivery", location=5, weight_kg=1.0),
    )
    bikes = (
        Vehicle(id="A", start_location=0, end_location=0, shift=DAY, payload_kg=100.0, volume_l=200.0),
        Vehicle(id="B", start_location=1, end_location=1, shift=DAY, payload_kg=100.0, volume_l=200.0),
    )
    p = Problem(time_s=time, dist_m=dist, vehicles=bikes, stops=stops)
    in_force = {"A": ["x", "p1", "p2", "door"]}  # a detour to x first: not the cheapest order
    warm = clean(p, solve(p, TL, initial_routes=in_force, search_overrides="solution_limit: 1"))
    assert route_orders(warm) == in_force
    best = clean(p, solve(p, TL, initial_routes=in_force))
    assert sorted(route_orders(best)["A"]) == ["door", "p1", "p2", "x"]
    assert best.cost < warm.cost


def test_rejected_warm_start_falls_back_to_a_fresh_solve():
    # the routes in force break e3's window (OR-Tools rejects them as a start)
    late = {"windows": (Window(12 * 3600, 13 * 3600),)}
    early = {"windows": (Window(8 * 3600, 8 * 3600 + 1800),)}
    p = two_clusters(NEAR, e1=late, e3=early)
    plan = clean(p, solve(p, TL, initial_routes={"A": ["e1", "e2", "e3"], "B": ["w1", "w2"]}))
    order = route_orders(plan)["A"]
    assert sorted(order) == ["e1", "e2", "e3"] and order.index("e3") < order.index("e1")


# ---------------------------------------------------------------- replan


def test_replan_of_an_unchanged_problem_changes_nothing():
    p = two_clusters(FAR)
    res = replan(p, BEST, time_limit_s=TL)
    assert isinstance(res, ReplanResult)
    clean(p, res.plan)
    assert route_orders(res.plan) == BEST
    assert res.changed == frozenset()


def test_a_locked_stop_stays_on_its_bike():
    extra = {"lk": (-3000, 200)}  # next to B's stops, far from A's hub
    p = two_clusters(FAR, extra, lk={"vehicles": ("A",)})
    in_force = {"A": ["e1", "e2", "e3", "lk"], "B": ["w1", "w2"]}
    res = replan(p, in_force, time_limit_s=TL)
    clean(p, res.plan)
    assert vehicle_of(res.plan, "lk") == "A"
    # control: without the lock B takes it, so the lock is what keeps it on A
    free = two_clusters(FAR, extra)
    res_free = replan(free, in_force, time_limit_s=TL)
    clean(free, res_free.plan)
    assert vehicle_of(res_free.plan, "lk") == "B"
    assert res_free.changed == {"A", "B"}


def test_small_gain_keeps_the_order_in_force():
    p = two_clusters(NEAR)
    best = clean(p, solve(p, TL))
    res = replan(p, SWAPPED, time_limit_s=TL)
    clean(p, res.plan)
    assert route_orders(res.plan) == SWAPPED
    assert res.kept_order == {"A"}
    assert res.changed == frozenset()
    # the kept order really is a little worse, and the plan's cost says so
    assert 0 < res.plan.cost - best.cost < 120
    (a,) = [r for r in res.plan.routes if r.vehicle_id == "A"]
    assert a.duration_s == next(r for r in best.routes if r.vehicle_id == "A").duration_s + (res.plan.cost - best.cost)


def test_small_gain_is_taken_below_a_smaller_threshold():
    p = two_clusters(NEAR)
    res = replan(p, SWAPPED, time_limit_s=TL, min_gain_s=10)
    clean(p, res.plan)
    assert route_orders(res.plan)["A"] in (["e1", "e2", "e3"], ["e3", "e2", "e1"])
    assert res.changed == {"A"} and res.kept_order == frozenset()


def test_large_gain_takes_the_new_order():
    p = two_clusters(FAR)
    res = replan(p, SWAPPED, time_limit_s=TL)
    clean(p, res.plan)
    assert route_orders(res.plan)["A"] in (["e1", "e2", "e3"], ["e3", "e2", "e1"])
    assert res.changed == {"A"}
    assert res.kept_order == frozenset()


def test_old_order_is_not_kept_when_it_breaks_a_window():
    # e1 must now be served late and e3 early: the order in force (e1 first) no longer fits
    late = {"windows": (Window(12 * 3600, 13 * 3600),)}
    early = {"windows": (Window(8 * 3600, 8 * 3600 + 1800),)}
    p = two_clusters(NEAR, e1=late, e3=early)
    in_force = {"A": ["e1", "e2", "e3"], "B": ["w1", "w2"]}
    # a huge threshold: only the feasibility check can reject the old order
    res = replan(p, in_force, time_limit_s=TL, min_gain_s=3600)
    clean(p, res.plan)
    assert res.kept_order == frozenset()
    order = route_orders(res.plan)["A"]
    assert order.index("e3") < order.index("e1")
    assert res.changed == {"A"}


def test_a_new_stop_changes_only_the_bike_that_gets_it():
    base = two_clusters(FAR)
    in_force = route_orders(clean(base, solve(base, TL)))
    p = two_clusters(FAR, {"new": (-3000, 300)})
    res = replan(p, in_force, time_limit_s=TL)
    clean(p, res.plan)
    assert vehicle_of(res.plan, "new") == "B"
    assert res.changed == {"B"}
    assert route_orders(res.plan)["A"] == in_force["A"]


# ---------------------------------------------------------------- robust warm start


# B's route in force is an order the cold heuristic would not choose (w1 is nearer
# its hub), so B keeping it shows that the warm start was used
ODD_B = ["w2", "w1"]
H8 = 8 * 3600


def late_courier() -> Problem:
    """A's route in force e1, e2, e3 misses e3's window: only e3, e2, e1 fits now.

    e3 must start within 250 s of the shift start (served first it does, at 204 s;
    third it would be at 360 s), e2 within 340 s (so e3, e1, e2 does not fit).
    """
    return two_clusters(
        NEAR,
        e2={"windows": (Window(H8, H8 + 340),)},
        e3={"windows": (Window(H8, H8 + 250),)},
    )


def test_a_route_in_force_that_broke_a_window_still_warm_starts():
    p = late_courier()
    in_force = {"A": ["e1", "e2", "e3"], "B": ODD_B}
    first = solve(p, TL, initial_routes=in_force, search_overrides="solution_limit: 1")
    # the first solution is the routes in force, A's re-ordered so that all fit
    assert check(p, first) == [] and first.unplanned == ()
    assert route_orders(first) == {"A": ["e3", "e2", "e1"], "B": ODD_B}


def test_a_late_stop_goes_first_and_pushes_the_others_back(monkeypatch):
    # without re-ordering the route by a solve of its own, the insertion alone puts
    # e3 first and moves e2 (which then misses its window) to where it fits again
    import backend.dispatch.ortools_search as search_module

    monkeypatch.setattr(search_module, "reorder_broken", lambda p, m, before, after, s: after)
    p = late_courier()
    first = solve(p, TL, initial_routes={"A": ["e1", "e2", "e3"], "B": ODD_B}, search_overrides="solution_limit: 1")
    assert check(p, first) == [] and first.unplanned == ()
    assert route_orders(first) == {"A": ["e3", "e2", "e1"], "B": ODD_B}


def test_a_broken_route_changes_only_its_courier_in_a_replan():
    p = late_courier()
    res = replan(p, {"A": ["e1", "e2", "e3"], "B": ODD_B}, time_limit_s=TL)
    clean(p, res.plan)
    assert route_orders(res.plan) == {"A": ["e3", "e2", "e1"], "B": ODD_B}
    assert res.changed == {"A"}


def test_routes_or_tools_refuses_start_empty_the_others_stay(monkeypatch):
    # without the repair A's broken route reaches OR-Tools, which refuses the whole
    # warm start; the refused route is found and left out, B's is still restored
    import backend.dispatch.ortools_search as search_module

    monkeypatch.setattr(search_module, "repair", lambda m, seqs: seqs)
    p = late_courier()
    first = solve(p, TL, initial_routes={"A": ["e1", "e2", "e3"], "B": ODD_B}, search_overrides="solution_limit: 1")
    assert check(p, first) == []
    assert route_orders(first) == {"B": ODD_B}
    assert sorted(u.stop_id for u in first.unplanned) == ["e1", "e2", "e3"]


def test_a_new_stop_is_in_the_first_solution():
    # the warm start inserts a stop no route holds where it adds least (here next
    # to w1 and w2), not leaving it to the search
    p = two_clusters(FAR, {"new": (-3000, 50)})
    first = solve(
        p, TL, initial_routes={"A": ["e1", "e2", "e3"], "B": ["w1", "w2"]}, search_overrides="solution_limit: 1"
    )
    assert check(p, first) == [] and first.unplanned == ()
    assert route_orders(first) == {"A": ["e1", "e2", "e3"], "B": ["w1", "new", "w2"]}


def test_a_late_courier_in_a_busy_day_loses_no_stop():
    # 8 couriers, 300 stops locked to them, one courier late (a stop in the middle
    # of his route must now come first): every stop in force stays planned
    from tests.unit.test_replan_live import live_day

    p, in_force = live_day(8, 300, n_new=0, n_redirect=0, n_out_of_service=0, n_late=1)
    res = replan(p, in_force, time_limit_s=1.0, focus="all")
    assert check(p, res.plan) == []
    assert res.plan.unplanned == ()
    assert res.changed  # the late courier's route, at least


# ---------------------------------------------------------------- pinned orders in a re-plan


def test_the_warm_start_follows_a_new_pin():
    # the dispatcher pins e3 before e1 on A: the routes in force are restored with
    # the pinned stops swapped in their places
    p = msgspec.structs.replace(two_clusters(FAR), sequences=(Sequence(vehicle="A", stops=("e3", "e1")),))
    first = solve(p, TL, initial_routes=BEST, search_overrides="solution_limit: 1")
    assert check(p, first) == [] and first.unplanned == ()
    assert route_orders(first) == {"A": ["e3", "e2", "e1"], "B": ["w1", "w2"]}


def test_a_small_gain_does_not_bring_back_an_order_the_pin_forbids():
    # pinning e2 before e1 costs nothing here (e3, e2, e1 is as short as the order in
    # force), so the "keep the old order" rule would restore e1, e2, e3: the pin wins
    p = msgspec.structs.replace(two_clusters(NEAR), sequences=(Sequence(vehicle="A", stops=("e2", "e1")),))
    res = replan(p, BEST, time_limit_s=TL, min_gain_s=3600)
    clean(p, res.plan)
    order = route_orders(res.plan)["A"]
    assert order.index("e2") < order.index("e1")
    assert res.kept_order == frozenset() and res.changed == {"A"}
