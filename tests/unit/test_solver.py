"""The OR-Tools planning core on tiny named instances (a few stops, 1-2 bikes)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import multiprocessing

import msgspec
import pytest

from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Problem, Sequence, Stop, Vehicle, Window
from backend.dispatch.solver import diagnose, solve, solve_async, solve_in_pool

TL = 0.5  # seconds per solve: these instances are solved in milliseconds
DAY = Window(8 * 3600, 18 * 3600)


def city(points: list[tuple[float, float]], speed_mps: float = 5.0) -> tuple[list[list[int]], list[list[int]]]:
    """Time and distance matrices of straight-line trips between ``points`` (metres)."""
    dist = [[round(math.dist(a, b)) for b in points] for a in points]
    time = [[round(d / speed_mps) for d in row] for row in dist]
    return time, dist


def bike(id: str = "a", start: int = 0, end: int | None = None, **kw) -> Vehicle:
    kw.setdefault("shift", DAY)
    kw.setdefault("payload_kg", 100.0)
    kw.setdefault("volume_l", 200.0)
    return Vehicle(id=id, start_location=start, end_location=start if end is None else end, **kw)


def problem(points, vehicles, stops, **kw) -> Problem:
    time, dist = city(points)
    return Problem(time_s=time, dist_m=dist, vehicles=tuple(vehicles), stops=tuple(stops), **kw)


def route_of(plan: Plan, stop_id: str):
    for r in plan.routes:
        ids = [s.stop_id for s in r.stops]
        if stop_id in ids:
            return r, ids.index(stop_id)
    raise AssertionError(f"{stop_id} not planned")


def assert_clean(p: Problem, plan: Plan) -> None:
    assert check(p, plan) == []
    assert plan.unplanned == ()


# ---------------------------------------------------------------- basics


def test_small_delivery_round_is_planned_and_checked():
    pts = [(0, 0), (1000, 0), (1000, 1000), (0, 1000)]
    stops = [Stop(id=f"s{i}", kind="delivery", location=i, weight_kg=5, service_s=60) for i in (1, 2, 3)]
    p = problem(pts, [bike("a"), bike("b")], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert len(plan.routes) == 1  # one bike does the square
    r = plan.routes[0]
    assert r.distance_m == 4000 == plan.distance_m
    assert r.start_s >= DAY.start and r.end_s <= DAY.end
    assert r.stops[0].load_kg == pytest.approx(10.0)  # 15 kg loaded at the hub, 5 handed over
    assert plan.status in ("feasible", "optimal")
    assert plan.cost == sum(r.duration_s for r in plan.routes) - 3 * 60  # time cost, no service


def test_windows_force_the_far_stop_first():
    # "far" must be served early, "near" late: the short order near -> far is not allowed
    pts = [(0, 0), (500, 0), (3000, 0)]
    stops = [
        Stop(id="near", kind="delivery", location=1, windows=(Window(11 * 3600, 12 * 3600),)),
        Stop(
            id="far",
            kind="delivery",
            location=2,
            windows=(Window(8 * 3600, 9 * 3600),),
            service_s=300,
        ),
    ]
    p = problem(pts, [bike("a")], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    (r,) = plan.routes
    assert [s.stop_id for s in r.stops] == ["far", "near"]
    near = r.stops[1]
    assert near.start_s == 11 * 3600 and near.arrival_s <= near.start_s  # waited for the window
    assert r.stops[0].departure_s == r.stops[0].start_s + 300


def test_second_window_is_used_when_the_first_is_missed():
    pts = [(0, 0), (9000, 0)]  # 1800 s away
    w = (Window(8 * 3600, 8 * 3600 + 600), Window(10 * 3600, 10 * 3600 + 600))
    stops = [Stop(id="x", kind="delivery", location=1, windows=w)]
    p = problem(pts, [bike("a", shift=Window(8 * 3600 + 60, 18 * 3600))], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert plan.routes[0].stops[0].start_s >= 10 * 3600
    # no needless waiting at the start: leave just in time for the second window
    assert plan.routes[0].start_s == 10 * 3600 - 1800


def test_capacity_with_hub_loaded_deliveries_needs_two_bikes():
    pts = [(0, 0), (1000, 0), (1100, 0), (0, 1000), (0, 1100)]
    stops = [Stop(id=f"s{i}", kind="delivery", location=i, weight_kg=40.0) for i in range(1, 5)]
    p = problem(pts, [bike("a"), bike("b")], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert len(plan.routes) == 2
    for r in plan.routes:
        loaded = 40.0 * len(r.stops)
        assert loaded <= 100.0
        assert r.stops[0].load_kg == pytest.approx(loaded - 40.0)
        assert r.stops[-1].load_kg == pytest.approx(0.0)


def test_volume_is_a_capacity_too():
    pts = [(0, 0), (1000, 0), (1100, 0)]
    stops = [Stop(id=f"s{i}", kind="delivery", location=i, weight_kg=1, volume_l=120) for i in (1, 2)]
    p = problem(pts, [bike("a"), bike("b")], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert len(plan.routes) == 2  # 240 L does not fit in one 200 L box


def test_return_collected_before_hub_parcel_would_overload():
    # Hub parcel (40 kg) and a return (30 kg) on a 50 kg bike: the return must come after
    # the parcel is handed over, although collecting it first is shorter.
    pts = [(0, 0), (0, 100), (1000, 0), (1000, 200)]
    stops = [
        Stop(id="return", kind="pickup", location=1, weight_kg=30),
        Stop(id="parcel", kind="delivery", location=2, weight_kg=40),
    ]
    p = problem(pts, [bike("a", start=0, end=3, payload_kg=50)], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert [s.stop_id for s in plan.routes[0].stops] == ["parcel", "return"]
    assert [s.load_kg for s in plan.routes[0].stops] == [0.0, 30.0]


def test_pickup_before_delivery_on_one_bike():
    # the door is nearer the hub than the shop: still shop first, same bike
    pts = [(0, 0), (2000, 0), (500, 0)]
    stops = [
        Stop(id="shop", kind="pickup", location=1, weight_kg=10, service_s=120),
        Stop(id="door", kind="delivery", location=2, weight_kg=0, pickups=("shop",)),
    ]
    p = problem(pts, [bike("a"), bike("b")], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    (r,) = plan.routes
    assert [s.stop_id for s in r.stops] == ["shop", "door"]
    assert [s.load_kg for s in r.stops] == [10.0, 0.0]


def test_several_shops_feed_one_door():
    pts = [(0, 0), (1500, 0), (0, 1500), (1500, 1500), (200, 200), (-1500, 0)]
    stops = [
        Stop(id="bakery", kind="pickup", location=1, weight_kg=3),
        Stop(id="florist", kind="pickup", location=2, weight_kg=4),
        Stop(id="deli", kind="pickup", location=3, weight_kg=5),
        Stop(
            id="door",
            kind="delivery",
            location=4,
            weight_kg=0,  # nothing from the hub: only the shops' goods
            pickups=("bakery", "florist", "deli"),
        ),
        Stop(id="other", kind="delivery", location=5, weight_kg=2),
    ]
    p = problem(pts, [bike("a"), bike("b")], stops)
    plan = solve(p, 1.0)
    assert_clean(p, plan)
    r, door = route_of(plan, "door")
    for shop in ("bakery", "florist", "deli"):
        r2, i = route_of(plan, shop)
        assert r2.vehicle_id == r.vehicle_id and i < door
    # the door gets what the three shops collected (12 kg)
    assert r.stops[door - 1].load_kg - r.stops[door].load_kg == pytest.approx(12.0)


def test_several_pickups_split_over_bikes_by_payload():
    # two groups of two shops each; one bike can carry one group only
    pts = [(0, 0), (1000, 0), (1000, 100), (1100, 50), (0, 1000), (100, 1000), (50, 1100)]
    stops = [
        Stop(id="a1", kind="pickup", location=1, weight_kg=30),
        Stop(id="a2", kind="pickup", location=2, weight_kg=30),
        Stop(id="A", kind="delivery", location=3, pickups=("a1", "a2")),
        Stop(id="b1", kind="pickup", location=4, weight_kg=30),
        Stop(id="b2", kind="pickup", location=5, weight_kg=30),
        Stop(id="B", kind="delivery", location=6, pickups=("b1", "b2")),
    ]
    p = problem(pts, [bike("a", payload_kg=70), bike("b", payload_kg=70)], stops)
    plan = solve(p, 1.0)
    assert_clean(p, plan)
    assert route_of(plan, "A")[0].vehicle_id == route_of(plan, "a2")[0].vehicle_id


def test_per_vehicle_start_hubs():
    west, east = (0, 0), (20000, 0)
    pts = [west, east, (500, 0), (0, 500), (19500, 0), (20000, 500)]
    stops = [Stop(id=f"s{i}", kind="delivery", location=i) for i in range(2, 6)]
    p = problem(pts, [bike("w", start=0), bike("e", start=1)], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert {s.stop_id for s in route_of(plan, "s2")[0].stops} == {"s2", "s3"}
    assert route_of(plan, "s2")[0].vehicle_id == "w"
    assert route_of(plan, "s4")[0].vehicle_id == "e"


def test_empty_route_between_different_hubs_still_rides_home():
    pts = [(0, 0), (3000, 0), (100, 0)]
    stops = [Stop(id="s", kind="delivery", location=2)]
    vehicles = [bike("a", start=0, end=0), bike("b", start=0, end=1)]
    p = problem(pts, vehicles, stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    b = next(r for r in plan.routes if r.vehicle_id == "b")
    assert b.distance_m >= 3000
    assert plan.cost >= 3000 / 5  # the ride home of b is costed


def test_battery_range_chooses_the_long_range_bike():
    pts = [(0, 0), (4000, 0)]
    stops = [Stop(id="far", kind="delivery", location=1)]
    p = problem(pts, [bike("short", max_distance_m=5000), bike("long", max_distance_m=10000)], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert route_of(plan, "far")[0].vehicle_id == "long"


def test_battery_range_splits_routes():
    pts = [(0, 0), (2000, 0), (-2000, 0)]
    stops = [Stop(id="e", kind="delivery", location=1), Stop(id="w", kind="delivery", location=2)]
    p = problem(pts, [bike("a", max_distance_m=5000), bike("b", max_distance_m=5000)], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert len(plan.routes) == 2 and all(r.distance_m <= 5000 for r in plan.routes)


def test_allowed_vehicles_are_respected():
    pts = [(0, 0), (5000, 0), (100, 0)]
    stops = [Stop(id="locked", kind="delivery", location=2, vehicles=("far",))]
    p = problem(pts, [bike("near", start=0), bike("far", start=1)], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert route_of(plan, "locked")[0].vehicle_id == "far"


def test_speed_factor_scales_travel_times():
    pts = [(0, 0), (3000, 0)]  # 600 s at matrix speed
    stops = [Stop(id="x", kind="delivery", location=1)]
    p = problem(pts, [bike("slow", speed_factor=0.5)], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    r = plan.routes[0]
    assert r.stops[0].arrival_s - r.start_s == 1200
    assert r.duration_s == 2400


def test_distance_cost_and_fixed_costs():
    pts = [(0, 0), (1000, 0), (0, 1000)]
    stops = [Stop(id="a", kind="delivery", location=1), Stop(id="b", kind="delivery", location=2)]
    p = problem(pts, [bike("a", fixed_cost=10_000), bike("b", fixed_cost=10_000)], stops, cost="distance")
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert len(plan.routes) == 1  # a second bike costs more than the detour
    assert plan.cost == plan.distance_m + 10_000


# ---------------------------------------------------------------- unplanned reasons


def reasons(plan: Plan) -> dict[str, str]:
    return {u.stop_id: u.reason for u in plan.unplanned}


def test_unplanned_too_heavy_and_too_big():
    pts = [(0, 0), (1000, 0)]
    stops = [
        Stop(id="piano", kind="delivery", location=1, weight_kg=300),
        Stop(id="sofa", kind="delivery", location=1, weight_kg=20, volume_l=900),
        Stop(id="ok", kind="delivery", location=1, weight_kg=20),
    ]
    p = problem(pts, [bike("a"), bike("b", payload_kg=150)], stops)
    plan = solve(p, TL)
    assert reasons(plan) == {"piano": "too_heavy", "sofa": "too_big"}
    assert check(p, plan) == []


def test_unplanned_too_heavy_counts_only_allowed_bikes():
    pts = [(0, 0), (1000, 0)]
    stops = [Stop(id="x", kind="delivery", location=1, weight_kg=120, vehicles=("small",))]
    p = problem(pts, [bike("small"), bike("big", payload_kg=200)], stops)
    assert reasons(solve(p, TL)) == {"x": "too_heavy"}


def test_unplanned_no_vehicle():
    pts = [(0, 0), (1000, 0), (0, 1000)]
    stops = [
        Stop(id="ghost", kind="delivery", location=1, vehicles=("nobody",)),
        Stop(id="s", kind="pickup", location=1, vehicles=("a",)),
        Stop(id="d", kind="delivery", location=2, pickups=("s",), vehicles=("b",)),
    ]
    p = problem(pts, [bike("a"), bike("b")], stops)
    plan = solve(p, TL)
    got = reasons(plan)
    assert got["ghost"] == "no_vehicle"
    assert got["d"] == "no_vehicle"  # its pickup and it share no bike
    assert check(p, plan) == []


def test_unplanned_window_unreachable():
    pts = [(0, 0), (18000, 0)]  # one hour each way
    early = Stop(id="early", kind="delivery", location=1, windows=(Window(8 * 3600, 8 * 3600 + 1800),))
    late = Stop(id="late", kind="delivery", location=1, windows=(Window(17 * 3600 + 1800, 18 * 3600),))
    p = problem(pts, [bike("a")], [early, late])
    plan = solve(p, TL)
    assert reasons(plan) == {"early": "window_unreachable", "late": "window_unreachable"}
    assert check(p, plan) == []


def test_unplanned_window_unreachable_considers_service_time():
    pts = [(0, 0), (9000, 0)]  # 30 min each way
    long = Stop(id="long", kind="delivery", location=1, service_s=4 * 3600)
    p = problem(pts, [bike("a", shift=Window(8 * 3600, 12 * 3600))], [long])
    assert reasons(solve(p, TL)) == {"long": "window_unreachable"}


def test_unplanned_beyond_range():
    pts = [(0, 0), (6000, 0)]
    stops = [Stop(id="far", kind="delivery", location=1)]
    p = problem(pts, [bike("a", max_distance_m=10_000), bike("b", max_distance_m=11_000)], stops)
    plan = solve(p, TL)
    assert reasons(plan) == {"far": "beyond_range"}
    assert "range" in plan.unplanned[0].detail


def test_unplanned_pickup_unplanned():
    pts = [(0, 0), (1000, 0), (0, 1000)]
    stops = [
        Stop(id="shop", kind="pickup", location=1, weight_kg=500),
        Stop(id="door", kind="delivery", location=2, pickups=("shop",)),
        Stop(id="door2", kind="delivery", location=2, pickups=("nowhere",)),
    ]
    p = problem(pts, [bike("a")], stops)
    plan = solve(p, TL)
    assert reasons(plan) == {
        "shop": "too_heavy",
        "door": "pickup_unplanned",
        "door2": "pickup_unplanned",
    }
    assert diagnose(p) == list(plan.unplanned)


def test_unplanned_no_capacity_and_pairs_dropped_together():
    # one bike, two stops both only reachable in the same half hour, far apart
    pts = [(0, 0), (4500, 0), (-4500, 0), (0, 4500), (300, 4500)]
    w = (Window(9 * 3600, 9 * 3600 + 600),)
    stops = [
        Stop(id="east", kind="delivery", location=1, windows=w),
        Stop(id="west", kind="delivery", location=2, windows=w),
        Stop(id="shop", kind="pickup", location=3, windows=w),
        Stop(id="door", kind="delivery", location=4, windows=w, pickups=("shop",)),
    ]
    p = problem(pts, [bike("a")], stops)
    plan = solve(p, TL)
    assert check(p, plan) == []
    got = reasons(plan)
    assert set(got.values()) == {"no_capacity"}
    assert len(got) in (2, 3)  # east, west or the pair: one of them only
    assert ("shop" in got) == ("door" in got)  # a pair is planned or dropped as a whole


def test_diagnose_is_empty_for_a_feasible_problem():
    pts = [(0, 0), (1000, 0)]
    p = problem(pts, [bike("a")], [Stop(id="x", kind="delivery", location=1)])
    assert diagnose(p) == []


def test_bad_input_is_a_value_error():
    pts = [(0, 0), (1000, 0)]
    with pytest.raises(ValueError, match="location"):
        solve(problem(pts, [bike("a")], [Stop(id="x", kind="delivery", location=7)]), TL)
    with pytest.raises(ValueError, match="duplicate"):
        solve(
            problem(
                pts,
                [bike("a")],
                [
                    Stop(id="x", kind="delivery", location=1),
                    Stop(id="x", kind="delivery", location=1),
                ],
            ),
            TL,
        )


def test_no_vehicles_and_no_stops():
    pts = [(0, 0), (1000, 0)]
    plan = solve(problem(pts, [], [Stop(id="x", kind="delivery", location=1)]), TL)
    assert reasons(plan) == {"x": "no_vehicle"}
    plan = solve(problem(pts, [bike("a")], []), TL)
    assert plan.routes == () and plan.unplanned == ()


# ---------------------------------------------------------------- process pool


def test_solve_async_in_a_process_pool():
    pts = [(0, 0), (1000, 0), (0, 1000)]
    p = problem(pts, [bike("a")], [Stop(id=f"s{i}", kind="delivery", location=i) for i in (1, 2)])
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        plan = asyncio.run(solve_async(p, 0.3, executor=pool))
        assert_clean(p, plan)
        again = solve_in_pool(p, 0.3, executor=pool).result(timeout=60)
        assert again.routes == plan.routes


def test_shops_of_one_door_follow_their_opening_hours():
    # the far shop opens first: the chain must start there although it is a detour
    pts = [(0, 0), (3000, 0), (300, 0), (600, 0)]
    stops = [
        Stop(id="early", kind="pickup", location=1, windows=(Window(9 * 3600, 9 * 3600 + 900),)),
        Stop(id="late", kind="pickup", location=2, windows=(Window(10 * 3600, 11 * 3600),)),
        Stop(id="door", kind="delivery", location=3, pickups=("early", "late")),
    ]
    p = problem(pts, [bike("a")], stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert [s.stop_id for s in plan.routes[0].stops] == ["early", "late", "door"]


def test_bikes_of_different_speeds_share_one_problem():
    pts = [(0, 0), (3000, 0), (0, 3000)]
    w = (Window(8 * 3600, 8 * 3600 + 700),)  # 600 s away at matrix speed
    stops = [
        Stop(id="x", kind="delivery", location=1, windows=w),
        Stop(id="y", kind="delivery", location=2, windows=w),
    ]
    vehicles = [bike("fast", speed_factor=1.0), bike("slow", speed_factor=0.5), bike("fast2")]
    p = problem(pts, vehicles, stops)
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert {r.vehicle_id for r in plan.routes} == {"fast", "fast2"}  # the slow one is too late


def test_mixed_day_with_shop_groups_returns_and_hub_parcels():
    """Regression: groups of shops, returns and hub parcels together, nothing lost."""
    import random

    rnd = random.Random(7)
    pts: list[tuple[float, float]] = [(0, 0)]

    def place() -> int:
        pts.append((rnd.uniform(-4000, 4000), rnd.uniform(-4000, 4000)))
        return len(pts) - 1

    H = 3600
    stops = []
    for g in range(5):
        shops = []
        for j in range(rnd.choice([1, 2, 3])):
            shops.append(f"g{g}s{j}")
            stops.append(
                Stop(
                    id=shops[-1],
                    kind="pickup",
                    location=place(),
                    weight_kg=rnd.choice([3, 5, 8]),
                    service_s=120,
                    windows=(Window(9 * H, 14 * H),),
                )
            )
        a = rnd.randint(11, 15) * H
        stops.append(
            Stop(
                id=f"g{g}door",
                kind="delivery",
                location=place(),
                pickups=tuple(shops),
                service_s=180,
                windows=(Window(a, a + 2 * H),),
            )
        )
    for i in range(12):
        a = rnd.randint(8, 15) * H
        stops.append(
            Stop(
                id=f"h{i}",
                kind="delivery",
                location=place(),
                service_s=120,
                weight_kg=rnd.choice([2, 5, 10, 15]),
                windows=(Window(a, a + 2 * H),),
            )
        )
    for i in range(3):
        stops.append(Stop(id=f"r{i}", kind="pickup", location=place(), weight_kg=10, service_s=60))
    vehicles = [bike(f"b{i}", payload_kg=60, max_distance_m=60_000, shift=Window(8 * H, 19 * H)) for i in range(3)]
    p = problem(pts, vehicles, stops)
    plan = solve(p, 1.5)
    assert_clean(p, plan)


# ---------------------------------------------------------------- mixed baskets


def test_a_basket_door_carries_its_own_hub_parcels_too():
    # The door gets 50 kg from the hub and 60 kg from a shop: 110 kg on board
    # between the shop and the door, so a 100 kg bike cannot take it.
    pts = [(0, 0), (800, 0), (1600, 0)]
    shop = Stop(id="shop", kind="pickup", location=1, weight_kg=60)
    door = Stop(id="door", kind="delivery", location=2, weight_kg=50, pickups=("shop",))
    small = problem(pts, [bike("small", payload_kg=100.0)], [shop, door])
    plan = solve(small, TL)
    assert {u.stop_id for u in plan.unplanned} == {"shop", "door"}
    assert check(small, plan) == []

    big = problem(pts, [bike("big", payload_kg=120.0)], [shop, door])
    plan = solve(big, TL)
    assert_clean(big, plan)
    r, _ = route_of(plan, "door")
    loads = {s.stop_id: s.load_kg for s in r.stops}
    assert loads["shop"] == pytest.approx(110.0)  # 50 from the hub + 60 collected
    assert loads["door"] == pytest.approx(0.0)


# ---------------------------------------------------------------- pinned orders

# a line of stops from the start hub (0, 0) towards the end hub (4000, 0): without
# pins the cheapest order is s1, s2, s3 (no going back)
LINE = [(0, 0), (1000, 0), (2000, 0), (3000, 0), (4000, 0)]


def line_problem(*sequences: Sequence, **stop_kw: dict) -> Problem:
    stops = [
        Stop(id=f"s{i}", kind="delivery", location=i, **{"service_s": 60, "weight_kg": 5.0, **stop_kw.get(f"s{i}", {})})
        for i in (1, 2, 3)
    ]
    bikes = [bike("x", start=0, end=4), bike("y", start=0, end=4)]
    return problem(LINE, bikes, stops, sequences=tuple(sequences))


def order_of(plan: Plan, vehicle_id: str) -> list[str]:
    (r,) = [r for r in plan.routes if r.vehicle_id == vehicle_id]
    return [s.stop_id for s in r.stops]


def test_a_pinned_order_is_followed_even_when_it_costs_more():
    free = solve(line_problem(), TL)
    assert_clean(line_problem(), free)
    (r,) = [r for r in free.routes if r.stops]  # the other rides to the end hub empty
    assert [s.stop_id for s in r.stops] == ["s1", "s2", "s3"]
    p = line_problem(Sequence(vehicle="y", stops=("s3", "s1")))
    plan = solve(p, TL)
    assert_clean(p, plan)
    order = order_of(plan, "y")
    assert order.index("s3") < order.index("s1")
    assert plan.cost > free.cost


def test_pinned_stops_ride_with_their_courier():
    # y starts 10 km away: without the pin x serves everything
    pts = [(0, 0), (1000, 0), (1100, 0), (10000, 0)]
    stops = [Stop(id=f"s{i}", kind="delivery", location=i) for i in (1, 2)]
    bikes = [bike("x"), bike("y", start=3)]
    assert [r.vehicle_id for r in solve(problem(pts, bikes, stops), TL).routes] == ["x"]
    p = problem(pts, bikes, stops, sequences=(Sequence(vehicle="y", stops=("s2",)),))
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert route_of(plan, "s2")[0].vehicle_id == "y"


def test_a_pinned_order_holds_at_one_door_without_service_time():
    # two parcels for one door, no service time: their times are equal, only the
    # visiting order can tell them apart
    pts = [(0, 0), (1000, 0)]
    stops = [Stop(id=f"q{i}", kind="delivery", location=1) for i in (1, 2)]
    for pinned in (("q2", "q1"), ("q1", "q2")):
        p = problem(pts, [bike("a")], stops, sequences=(Sequence(vehicle="a", stops=pinned),))
        plan = solve(p, TL)
        assert_clean(p, plan)
        assert order_of(plan, "a") == list(pinned)


def test_a_dropped_pinned_stop_does_not_free_the_others():
    # s2 is too heavy for any bike; s3 must still come before s1
    p = line_problem(Sequence(vehicle="y", stops=("s3", "s2", "s1")), s2={"weight_kg": 500.0})
    plan = solve(p, TL)
    assert check(p, plan) == []
    assert reasons(plan) == {"s2": "too_heavy"}
    assert order_of(plan, "y") == ["s3", "s1"]


def test_a_pinned_stop_that_cannot_be_served_in_its_place():
    # s1 must be served early, s3 late; pinned s3 before s1, s1 cannot be met
    early = {"windows": (Window(8 * 3600, 8 * 3600 + 1800),)}
    late = {"windows": (Window(12 * 3600, 13 * 3600),)}
    assert solve(line_problem(s1=early, s3=late), TL).unplanned == ()
    p = line_problem(Sequence(vehicle="y", stops=("s3", "s1")), s1=early, s3=late)
    plan = solve(p, TL)
    assert check(p, plan) == []
    assert reasons(plan) == {"s1": "pinned_order"}
    (u,) = plan.unplanned
    assert "pinned after s3 on y" in u.detail
    assert diagnose(p) == list(plan.unplanned)


def test_a_pin_to_a_courier_not_in_the_problem_is_no_vehicle():
    p = line_problem(Sequence(vehicle="gone", stops=("s2",)))
    plan = solve(p, TL)
    assert check(p, plan) == []
    assert reasons(plan) == {"s2": "no_vehicle"}
    assert "pinned to gone" in plan.unplanned[0].detail


def test_unknown_stops_in_a_pin_are_ignored():
    p = line_problem(Sequence(vehicle="y", stops=("done", "s3", "withdrawn", "s1")))
    plan = solve(p, TL)
    assert_clean(p, plan)
    order = order_of(plan, "y")
    assert order.index("s3") < order.index("s1")


def test_contradictory_pins_are_a_value_error():
    pts = [(0, 0), (1000, 0), (2000, 0), (3000, 0), (4000, 0)]
    stops = [
        Stop(id="p1", kind="pickup", location=1),
        Stop(id="d1", kind="delivery", location=2, pickups=("p1",)),
        Stop(id="p2", kind="pickup", location=3),
        Stop(id="d2", kind="delivery", location=4, pickups=("p2",)),
    ]
    bad = [
        (Sequence(vehicle="a", stops=("p1", "p1")),),  # pinned twice
        (Sequence(vehicle="a", stops=("p1",)), Sequence(vehicle="b", stops=("p1",))),
        (Sequence(vehicle="a", stops=("d1", "p1")),),  # delivery before its pickup
        # d1 < p2 < d2 < p1 < d1 through both pins and the pickups
        (Sequence(vehicle="a", stops=("d1", "p2")), Sequence(vehicle="a", stops=("d2", "p1"))),
    ]
    for sequences in bad:
        with pytest.raises(ValueError):
            solve(problem(pts, [bike("a"), bike("b")], stops, sequences=sequences), TL)
    ok = problem(pts, [bike("a"), bike("b")], stops, sequences=(Sequence(vehicle="a", stops=("p1", "p2", "d1", "d2")),))
    assert_clean(ok, solve(ok, TL))


def test_pinned_shops_of_one_door_keep_their_order():
    # shop1 is on the way, shop2 beyond it: unpinned the bike takes shop1 first
    pts = [(0, 0), (1000, 0), (2000, 0), (500, 500)]
    stops = [
        Stop(id="shop1", kind="pickup", location=1, weight_kg=2),
        Stop(id="shop2", kind="pickup", location=2, weight_kg=2),
        Stop(id="door", kind="delivery", location=3, pickups=("shop1", "shop2")),
    ]
    free = solve(problem(pts, [bike("a")], stops), TL)
    assert order_of(free, "a") == ["shop1", "shop2", "door"]
    p = problem(pts, [bike("a")], stops, sequences=(Sequence(vehicle="a", stops=("shop2", "shop1")),))
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert order_of(plan, "a") == ["shop2", "shop1", "door"]


def test_a_stop_pinned_between_the_shops_of_one_door():
    # the shops of one door are visited back to back: x cannot be between them
    pts = [(0, 0), (1000, 0), (2000, 0), (500, 500), (1500, 0)]
    stops = [
        Stop(id="shop1", kind="pickup", location=1, weight_kg=2),
        Stop(id="shop2", kind="pickup", location=2, weight_kg=2),
        Stop(id="door", kind="delivery", location=3, pickups=("shop1", "shop2")),
        Stop(id="x", kind="delivery", location=4),
    ]
    p = problem(pts, [bike("a")], stops, sequences=(Sequence(vehicle="a", stops=("shop1", "x", "shop2")),))
    plan = solve(p, TL)
    assert check(p, plan) == []
    assert reasons(plan) == {"x": "pinned_order"}
    # between the shops and their door is fine
    p = problem(pts, [bike("a")], stops, sequences=(Sequence(vehicle="a", stops=("shop1", "shop2", "x", "door")),))
    plan = solve(p, TL)
    assert_clean(p, plan)
    assert order_of(plan, "a") == ["shop1", "shop2", "x", "door"]


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_numpy_matrices_plan_like_lists(dtype: str):
    # a big day's matrices are cheaper to build, pickle and read as one array
    import msgspec
    import numpy as np

    pts = [(0, 0), (1000, 0), (1000, 1000), (0, 1000), (500, 1500)]
    stops = [
        Stop(id="p", kind="pickup", location=1, weight_kg=3),
        Stop(id="d", kind="delivery", location=2, weight_kg=2, pickups=("p",)),
        Stop(id="x", kind="delivery", location=3, weight_kg=4, windows=(Window(9 * 3600, 10 * 3600),)),
        Stop(id="y", kind="delivery", location=4, weight_kg=4),
    ]
    bikes = [bike("a", max_distance_m=20_000), bike("b", speed_factor=1.25)]
    as_lists = problem(pts, bikes, stops)
    as_arrays = msgspec.structs.replace(
        as_lists,
        time_s=np.array(as_lists.time_s, dtype=dtype),
        dist_m=np.array(as_lists.dist_m, dtype=dtype),
    )
    first = "solution_limit: 1"
    plan = solve(as_arrays, TL, search_overrides=first)
    assert_clean(as_arrays, plan)
    same = solve(as_lists, TL, search_overrides=first)
    assert (plan.routes, plan.unplanned, plan.cost) == (same.routes, same.unplanned, same.cost)
    msgspec.json.encode(plan)  # plain ints, no numpy scalars


def test_a_soft_due_time_is_kept_when_it_can_be_and_broken_rather_than_dropping_a_stop() -> None:
    from backend.dispatch.model import Problem, Stop, Vehicle, Window

    # Hub 0, a (1) and b (2); riding a then b is 1300 s in all, b then a 1400 s.
    t = [[0, 300, 600], [300, 0, 400], [600, 500, 0]]
    v = Vehicle(id="v", start_location=0, end_location=0, shift=Window(0, 20_000), payload_kg=100, volume_l=100)
    # b is due first: visiting b before a costs more riding but no lateness.
    stops = (
        Stop(id="a", kind="delivery", location=1, windows=(Window(0, 20_000),)),
        Stop(id="b", kind="delivery", location=2, windows=(Window(0, 20_000),), due_s=600),
    )
    plan = solve(Problem(time_s=t, dist_m=t, vehicles=(v,), stops=stops), 1.0)
    assert [s.stop_id for s in plan.routes[0].stops] == ["b", "a"]
    # Without the due time the shorter order (a, then b) wins.
    plain = tuple(msgspec.structs.replace(s, due_s=None) for s in stops)
    plan = solve(Problem(time_s=t, dist_m=t, vehicles=(v,), stops=plain), 1.0)
    assert [s.stop_id for s in plan.routes[0].stops] == ["a", "b"]
    # Due long gone: still planned (late), not dropped.
    late = (stops[0], msgspec.structs.replace(stops[1], due_s=10))
    plan = solve(Problem(time_s=t, dist_m=t, vehicles=(v,), stops=late), 1.0)
    assert not plan.unplanned and len(plan.routes[0].stops) == 2


def test_pool_workers_end_when_their_parent_is_killed(tmp_path) -> None:
    import os
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import concurrent.futures, multiprocessing, os, sys, time\n"
        "from backend.dispatch.solver import die_with_parent\n"
        "if __name__ == '__main__':\n"
        "    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'),\n"
        "        initializer=die_with_parent, initargs=(os.getpid(),))\n"
        "    print(pool.submit(os.getpid).result(timeout=30), flush=True)\n"
        "    pool.submit(time.sleep, 60)  # a long solve, under way\n"
        "    time.sleep(1)\n"
        "    os._exit(9)  # killed hard: no shutdown of the pool\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=os.getcwd())
    worker = int(out.stdout.strip())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(worker, 9)
    raise AssertionError("the pool worker outlived its parent")


# ---------------------------------------------------------------- big and locked days, cold


def generated_day(
    n_orders: int,
    n_bikes: int,
    *,
    seed: int = 3,
    locked_share: float = 0.0,
    running: bool = False,
) -> Problem:
    """A day on a 6 km square around one hub: hub parcels in windows, returns, and
    shops feeding a door (pairs); ``locked_share`` of the stops locked to one courier.
    ``running``: the day as a re-plan sees it at 11:00 (couriers under way, hub
    parcels promised by the end of their slot: ``due_s``, open until the evening)."""
    import random

    rng = random.Random(seed)
    pts = [(3000.0, 3000.0)] + [(rng.uniform(0, 6000), rng.uniform(0, 6000)) for _ in range(2 * n_orders)]
    shift = Window(11 * 3600, 20 * 3600) if running else DAY
    bikes = [
        bike(f"b{i}", payload_kg=150.0, volume_l=600.0, max_distance_m=60_000, shift=shift) for i in range(n_bikes)
    ]
    slots = [
        Window(8 * 3600, 12 * 3600),
        Window(11 * 3600, 15 * 3600),
        Window(14 * 3600, 18 * 3600),
        Window(8 * 3600, 18 * 3600),
    ]
    stops: list[Stop] = []
    loc = 1
    for i in range(n_orders):
        lock = (f"b{rng.randrange(n_bikes)}",) if rng.random() < locked_share else ()
        r = rng.random()
        if r < 0.1:  # a return, back to the hub
            stops.append(
                Stop(
                    id=f"r{i}",
                    kind="pickup",
                    location=loc,
                    service_s=60,
                    weight_kg=rng.uniform(1, 4),
                    volume_l=10,
                    vehicles=lock,
                    windows=(rng.choice(slots),),
                )
            )
            loc += 1
        elif r < 0.22:  # a shop, then its door
            stops.append(
                Stop(
                    id=f"s{i}",
                    kind="pickup",
                    location=loc,
                    service_s=120,
                    weight_kg=rng.uniform(1, 6),
                    volume_l=20,
                    vehicles=lock,
                    windows=(Window(10 * 3600, 17 * 3600),),
                )
            )
            stops.append(
                Stop(
                    id=f"d{i}",
                    kind="delivery",
                    location=loc + 1,
                    service_s=60,
                    pickups=(f"s{i}",),
                    vehicles=lock,
                    windows=(slots[3],),
                )
            )
            loc += 2
        else:
            slot = rng.choice(slots)
            if running:
                due = max(slot.end, 12 * 3600)
                slot = Window(11 * 3600, 20 * 3600)
            stops.append(
                Stop(
                    id=f"h{i}",
                    kind="delivery",
                    location=loc,
                    service_s=60,
                    weight_kg=rng.uniform(1, 5),
                    volume_l=15,
                    vehicles=lock,
                    windows=(slot,),
                    due_s=due if running else None,
                )
            )
            loc += 1
    time, dist = city(pts[:loc])
    return Problem(time_s=time, dist_m=dist, vehicles=tuple(bikes), stops=tuple(stops))


def test_cold_solve_of_a_day_locked_to_its_couriers_plans_every_stop():
    # most stops locked to one courier each, due times, couriers under way (a
    # running day, as a re-plan sees it): such days start cold from insertion,
    # which must plan them all, each on its own courier
    p = generated_day(120, 4, locked_share=0.9, running=True)
    timings: dict[str, float] = {}
    plan = solve(p, 1.5, timings=timings)
    assert check(p, plan) == []
    assert plan.unplanned == ()
    assert timings["first_solution_unperformed"] == 0
    by_id = {s.id: s for s in p.stops}
    for r in plan.routes:
        for ps in r.stops:
            assert not by_id[ps.stop_id].vehicles or by_id[ps.stop_id].vehicles == (r.vehicle_id,)


def test_cold_solve_of_a_mid_size_day_starts_from_a_nearly_full_plan():
    # pairs, returns and hub parcels together stall the OR-Tools strategies on big
    # days (the returns constraint): the cold construction leaves (nearly) none out
    p = generated_day(400, 14)
    timings: dict[str, float] = {}
    plan = solve(p, 2.0, timings=timings)
    assert check(p, plan) == []
    assert timings["first_solution_unperformed"] <= 0.02 * len(p.stops)
    assert len(plan.unplanned) <= 0.02 * len(p.stops)
