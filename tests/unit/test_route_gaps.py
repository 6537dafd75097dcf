"""Every gap of every route judged at once (backend/dispatch/route_gaps.py): a gap it
refuses is one the checker refuses too, and it refuses most of those the checker does."""

from __future__ import annotations

import math
import random

import msgspec
import numpy as np
import pytest

from backend.dispatch.feasibility import check, check_route
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.quick import _NO_GAP, _cheapest_so_far, orders_cost, published_part, quick_replan
from backend.dispatch.replan import route_orders
from backend.dispatch.route_gaps import Gaps, chain_detour, chain_fits, fitting, join, route_gaps
from backend.dispatch.scheduling import loop_route

H = 3600


def _day(seed: int, *, as_array: bool) -> tuple[Problem, dict[str, list[str]], list[Stop]]:
    """A hub, four bikes (one slower, one with a short range, one small), 28 stops on routes
    in windows (some of two windows), returns among them, and 12 stops to place."""
    rng = random.Random(seed)
    pts = [(0.0, 0.0)] + [(rng.uniform(-4000, 4000), rng.uniform(-4000, 4000)) for _ in range(40)]
    dist = [[round(math.dist(a, b) * 1.3) for b in pts] for a in pts]
    time = [[round(d / 4.5) for d in row] for row in dist]
    shift = Window(8 * H, 14 * H)
    bikes = (
        Vehicle(id="b0", start_location=0, end_location=0, shift=shift, payload_kg=60, volume_l=200),
        Vehicle(id="b1", start_location=0, end_location=0, shift=shift, payload_kg=60, volume_l=200, speed_factor=0.8),
        Vehicle(
            id="b2", start_location=0, end_location=0, shift=shift, payload_kg=60, volume_l=200, max_distance_m=30000
        ),
        Vehicle(id="b3", start_location=0, end_location=0, shift=shift, payload_kg=25, volume_l=60, fixed_cost=500),
    )

    def stop(k: int) -> Stop:
        start = rng.choice([8, 9, 10, 11, 12]) * H
        windows = (Window(start, start + 2 * H),)
        if rng.random() < 0.3:
            windows = (*windows, Window(13 * H, 14 * H))
        return Stop(
            id=f"s{k}",
            kind="pickup" if rng.random() < 0.15 else "delivery",
            location=k,
            windows=tuple(sorted(set(windows), key=lambda w: w.start)),
            service_s=rng.choice([60, 120, 180]),
            weight_kg=rng.uniform(1, 8),
            volume_l=rng.uniform(2, 20),
        )

    stops = [stop(k) for k in range(1, 41)]
    in_force: dict[str, list[str]] = {"b0": [], "b1": [], "b2": [], "b3": []}
    for s in sorted(stops[:28], key=lambda s: s.windows[0].start):
        in_force[rng.choice(["b0", "b0", "b1", "b2"])].append(s.id)
    matrix = (lambda m: np.array(m, dtype=np.int64)) if as_array else (lambda m: m)
    problem = Problem(time_s=matrix(time), dist_m=matrix(dist), vehicles=bikes, stops=tuple(stops))
    return problem, in_force, stops[28:]


def _in_loops(problem: Problem, in_force: dict[str, list[str]]) -> tuple[Problem, dict[str, list[int]]]:
    """b0 and b1 reload at the hub (10 minutes), their routes in two loops, half and half."""
    bikes = tuple(msgspec.structs.replace(v, reload_s=600) if v.id in ("b0", "b1") else v for v in problem.vehicles)
    loops = {
        vid: [1 + (2 * j >= len(ids)) if vid in ("b0", "b1") else 1 for j in range(len(ids))]
        for vid, ids in in_force.items()
    }
    return msgspec.structs.replace(problem, vehicles=bikes), loops


def _breaks(loops: list[int]) -> list[int]:
    return [j for j in range(1, len(loops)) if loops[j] != loops[j - 1]]


def _gaps(problem: Problem, in_force: dict[str, list[str]], loop_of: dict[str, list[int]] | None = None) -> Gaps:
    """The gaps of the routes in force, timed (``loop_of``: each stop's loop, else one loop),
    joined in the order of the bikes."""
    by_id = {s.id: s for s in problem.stops}
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    routes = {
        v.id: loop_route(
            problem, v, [pos[sid] for sid in in_force[v.id]], _breaks(loop_of[v.id]) if loop_of else [], by_id=by_id
        )
        for v in problem.vehicles
    }
    return join([route_gaps(problem, v, routes[v.id], by_id, owner=i) for i, v in enumerate(problem.vehicles)])


@pytest.mark.parametrize("loops", [False, True], ids=["one-loop", "two-loops"])
@pytest.mark.parametrize("as_array", [True, False], ids=["numpy", "lists"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_gap_refused_is_one_the_checker_refuses(seed: int, as_array: bool, loops: bool) -> None:
    problem, in_force, free = _day(seed, as_array=as_array)
    loop_of = {vid: [1] * len(ids) for vid, ids in in_force.items()}
    if loops:
        problem, loop_of = _in_loops(problem, in_force)
    by_id = {s.id: s for s in problem.stops}
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    gaps = _gaps(problem, in_force, loop_of)
    if loops:  # where a bike reloads, a gap ends the loop before and another starts the next
        assert len(gaps.owner) == sum(len(ids) + 1 + len(_breaks(loop_of[vid])) for vid, ids in in_force.items())
    passed = refused = refused_by_checker = 0
    for s in free:
        order, delta = fitting(problem, gaps, s)
        fits = set(order.tolist())
        assert list(delta) == sorted(delta)
        for g in range(len(gaps.owner)):
            v = problem.vehicles[int(gaps.owner[g])]
            ids, lps = list(in_force[v.id]), list(loop_of[v.id])
            ids.insert(int(gaps.position[g]), s.id)
            lps.insert(int(gaps.position[g]), int(gaps.loop[g]))
            route = loop_route(problem, v, [pos[sid] for sid in ids], _breaks(lps), by_id=by_id)
            broken = check_route(problem, route, stops_by_id=by_id)
            refused_by_checker += bool(broken)
            if g not in fits:
                refused += 1
                assert broken, f"{s.id} into {v.id} at {int(gaps.position[g])}: refused, but the checker passes it"
            else:
                passed += 1
    # the test refuses what the checker refuses (windows, shift, loads, range: nothing else here)
    assert refused == refused_by_checker
    assert passed and refused, "the day should have gaps that fit and gaps that do not"


def test_what_a_gap_costs_is_what_the_objective_adds() -> None:
    problem, in_force, free = _day(4, as_array=True)
    gaps = _gaps(problem, in_force)
    before = orders_cost(problem, in_force)
    s = free[0]
    order, delta = fitting(problem, gaps, s)
    assert len(order)
    for g, d in zip(order.tolist(), delta.tolist(), strict=True):
        v = problem.vehicles[int(gaps.owner[g])]
        after = {vid: list(ids) for vid, ids in in_force.items()}
        after[v.id].insert(int(gaps.position[g]), s.id)
        assert orders_cost(problem, after) - before == d  # b3's fixed cost counted when it gets its first stop


def test_a_courier_out_of_service_has_all_their_stops_placed_beyond_the_nearest_couriers() -> None:
    # the stops of b0 go to the others; with only the k nearest couriers tried (k=1 here) a
    # stop that fits none of them left the whole answer to the solver
    problem, in_force, _free = _day(5, as_array=True)
    gone = in_force.pop("b0")
    problem = msgspec.structs.replace(
        problem,
        vehicles=tuple(v for v in problem.vehicles if v.id != "b0"),
        stops=tuple(s for s in problem.stops if s.id in gone or any(s.id in ids for ids in in_force.values())),
    )
    result = quick_replan(problem, in_force, budget_s=30)
    assert result is not None
    placed = {sid for ids in route_orders(result.plan).values() for sid in ids}
    assert set(gone) <= placed
    assert result.plan.unplanned == ()
    assert check(published_part(problem, result.plan), result.plan) == []


def test_the_goods_on_a_bike_out_of_service_are_collected_where_it_stands_and_brought_to_their_doors() -> None:
    # b0 breaks down at place 1 with its deliveries on board: each becomes a transfer (a
    # pickup where the bike stands, the delivery after it on the same route)
    problem, in_force, _free = _day(6, as_array=True)
    gone = in_force.pop("b0")
    by_id = {s.id: s for s in problem.stops}
    transfers, doors = [], []
    for sid in gone:
        s = by_id[sid]
        if s.kind != "delivery":
            continue
        pickup = Stop(
            id=f"t-{sid}", kind="pickup", location=1, service_s=60, weight_kg=s.weight_kg, volume_l=s.volume_l
        )
        transfers.append(pickup)
        doors.append(msgspec.structs.replace(s, pickups=(pickup.id,), weight_kg=0.0, volume_l=0.0))
    keep = [s for s in problem.stops if any(s.id in ids for ids in in_force.values())]
    problem = msgspec.structs.replace(
        problem,
        vehicles=tuple(v for v in problem.vehicles if v.id != "b0"),
        stops=(*keep, *transfers, *doors),
    )
    result = quick_replan(problem, in_force, budget_s=30)
    assert result is not None
    orders = route_orders(result.plan)
    for door in doors:
        route = next(ids for ids in orders.values() if door.id in ids)
        assert route.index(door.pickups[0]) < route.index(door.id)
    assert result.plan.unplanned == ()
    assert check(published_part(problem, result.plan), result.plan) == []


@pytest.mark.parametrize("seed", range(20))
def test_the_cheapest_gap_so_far_stays_within_its_loop_and_takes_the_first_of_equal_ones(seed: int) -> None:
    """A pickup goes at its cheapest passing gap before its door, in the door's loop of the
    same route: the running minimum restarts at every run of gaps, ties to the earliest."""
    rng = random.Random(seed)
    n = rng.randint(1, 60)
    cost = np.array([rng.choice([_NO_GAP, -3, 0, 5, 5, 9, 40]) for _ in range(n)], dtype=np.int64)
    starts = np.array([i == 0 or rng.random() < 0.2 for i in range(n)])
    best, first = _cheapest_so_far(cost, starts)
    line: list[tuple[int, int]] = []
    for g in range(n):  # the plain loop it replaces
        here = (int(cost[g]), g)
        line.append(here if starts[g] else min(line[-1], here))
    assert list(zip(best.tolist(), first.tolist(), strict=True)) == line


def test_a_shops_goods_ride_only_where_the_bike_has_room_for_them_all_the_way_to_the_door(monkeypatch) -> None:
    # on a line: the hub at 0, a new basket's shop at 1000 and door at 3000; the route in force
    # collects 25 kg at 1500 and hands them over at 2500. The shop is cheapest on the way out
    # (before 1500) and the door on the way back (1,000 m more), or both between 1500 and
    # 2500: but then 10 + 25 kg > 30 kg ride between them. Both on the way out, before
    # 1500 (3,000 m more), the goods fit: that place is the first one tried.
    monkeypatch.setattr("backend.dispatch.quick.GAP_CHECKS", 1)
    at = [0, 1000, 1500, 2500, 3000]
    dist = [[abs(a - b) for b in at] for a in at]
    bike = Vehicle(id="b0", start_location=0, end_location=0, shift=Window(8 * H, 18 * H), payload_kg=30, volume_l=500)
    stops = (
        Stop(id="S0", kind="pickup", location=2, weight_kg=25.0),
        Stop(id="X0", kind="delivery", location=3, pickups=("S0",)),
        Stop(id="S", kind="pickup", location=1, weight_kg=10.0),
        Stop(id="X", kind="delivery", location=4, pickups=("S",)),
    )
    problem = Problem(time_s=np.array(dist) // 4, dist_m=np.array(dist), vehicles=(bike,), stops=stops)
    result = quick_replan(problem, {"b0": ["S0", "X0"]}, budget_s=30)
    assert result is not None
    assert route_orders(result.plan)["b0"] == ["S", "X", "S0", "X0"]
    assert check(problem, result.plan) == []
    assert (
        orders_cost(problem, {"b0": ["S", "X", "S0", "X0"]}) - orders_cost(problem, {"b0": ["S0", "X0"]}) == 3000 // 4
    )


@pytest.mark.parametrize("one_window", [True, False], ids=["one-window", "several-windows"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_shop_and_its_door_put_in_together_are_refused_only_where_the_checker_refuses_them(
    seed: int, one_window: bool
) -> None:
    # each fits its gap alone; together the shop's delay reaches the door, less the waiting
    # on the way, and both delays the stops after: chain_fits judges that
    problem, in_force, free = _day(seed, as_array=True)
    stops = list(problem.stops)
    if one_window:
        stops = [msgspec.structs.replace(s, windows=s.windows[:1]) for s in stops]
    k_shop, k_door = (next(k for k, s in enumerate(stops) if s.id == f.id) for f in free[:2])
    # weightless: windows and the shift alone decide
    shop = stops[k_shop] = msgspec.structs.replace(stops[k_shop], kind="pickup", weight_kg=0.0, volume_l=0.0)
    door = stops[k_door] = msgspec.structs.replace(
        stops[k_door], kind="delivery", weight_kg=0.0, volume_l=0.0, pickups=(shop.id,)
    )
    problem = msgspec.structs.replace(problem, stops=tuple(stops))
    by_id = {s.id: s for s in problem.stops}
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    gaps = _gaps(problem, in_force)
    alone_shop, alone_door = fitting(problem, gaps, shop)[0].tolist(), fitting(problem, gaps, door)[0].tolist()
    pairs = [(a, b) for a in alone_shop for b in alone_door if gaps.owner[a] == gaps.owner[b] and a <= b]
    assert pairs
    together = chain_fits(
        problem, gaps, [shop, door], [np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])]
    )
    refused = checker_refused = 0
    for (a, b), ok in zip(pairs, together.tolist(), strict=True):
        v = problem.vehicles[int(gaps.owner[a])]
        ids = list(in_force[v.id])
        ids.insert(int(gaps.position[a]), shop.id)
        ids.insert(int(gaps.position[b]) + 1, door.id)
        route = loop_route(problem, v, [pos[sid] for sid in ids], [], by_id=by_id)
        late = {x.rule for x in check_route(problem, route, stops_by_id=by_id)} & {"window", "shift"}
        refused += not ok
        checker_refused += bool(late)
        if not ok:
            assert late, (
                f"shop at {int(gaps.position[a])}, door at {int(gaps.position[b])} of {v.id}: refused, but on time"
            )
    assert refused or not checker_refused, "pairs that each fit alone but are late together went unseen"
    if one_window:  # no window to skip to: the delay carried is the delay, and the test exact
        assert refused == checker_refused


def test_a_shop_and_its_door_go_where_their_delays_together_keep_the_stops_after_them_on_time(monkeypatch) -> None:
    # on a line: the hub at 0, a new basket's shop at 500 and door at 1500; the route in force
    # serves A at 1000 and B at 2000, where B can be at most 400 s late. The shop's five minutes
    # on the way out and the door's between A and B each fit alone; together B is late. With
    # the door on the way back (no riding more) both fit: that place is the first one tried.
    monkeypatch.setattr("backend.dispatch.quick.GAP_CHECKS", 1)
    at = [0, 500, 1000, 1500, 2000]
    dist = [[abs(a - b) for b in at] for a in at]
    day = Window(8 * H, 18 * H)
    bike = Vehicle(id="b0", start_location=0, end_location=0, shift=day, payload_kg=30, volume_l=500)
    b_arrives = 8 * H + 250 + 60 + 250  # hub -> A (1000 m in 250 s), A's minute, A -> B
    stops = (
        Stop(id="A", kind="delivery", location=2, windows=(day,), service_s=60, weight_kg=1.0),
        Stop(id="B", kind="delivery", location=4, windows=(Window(8 * H, b_arrives + 400),), service_s=60),
        Stop(id="S", kind="pickup", location=1, windows=(day,), service_s=300, weight_kg=2.0),
        Stop(id="X", kind="delivery", location=3, windows=(day,), service_s=300, pickups=("S",)),
    )
    problem = Problem(time_s=np.array(dist) // 4, dist_m=np.array(dist), vehicles=(bike,), stops=stops)
    result = quick_replan(problem, {"b0": ["A", "B"]}, budget_s=30)
    assert result is not None
    assert route_orders(result.plan)["b0"] == ["S", "A", "B", "X"]
    assert check(problem, result.plan) == []


@pytest.mark.parametrize("cost", ["time", "distance"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_what_a_shop_and_its_door_cost_together_is_what_the_objective_adds(seed: int, cost: str) -> None:
    # the quick answer tries places cheapest first, so their cost must be the objective's:
    # in one gap the bike rides shop to door (one detour, not two), and a bike's fixed cost
    # (b3's 500, its route empty) counts once
    problem, in_force, free = _day(seed, as_array=seed % 2 == 0)
    stops = list(problem.stops)
    k_shop, k_door = (next(k for k, s in enumerate(stops) if s.id == f.id) for f in free[:2])
    # a shop next door to its customer, no windows: every pair of gaps is a place
    shop = stops[k_shop] = msgspec.structs.replace(stops[k_shop], kind="pickup", windows=(), weight_kg=0.0)
    door = stops[k_door] = msgspec.structs.replace(stops[k_door], kind="delivery", windows=(), pickups=(shop.id,))
    problem = msgspec.structs.replace(problem, stops=tuple(stops), cost=cost)
    gaps = _gaps(problem, in_force)
    shop_at, shop_delta = fitting(problem, gaps, shop)
    door_at, door_delta = fitting(problem, gaps, door)
    pairs = [
        (a, b, da + db)
        for a, da in zip(shop_at.tolist(), shop_delta.tolist(), strict=True)
        for b, db in zip(door_at.tolist(), door_delta.tolist(), strict=True)
        if gaps.owner[a] == gaps.owner[b] and a <= b
    ]
    assert sum(a == b for a, b, _ in pairs) >= 4 and any(a < b for a, b, _ in pairs)
    extra = chain_detour(
        problem, gaps, [shop, door], [np.array([a for a, _, _ in pairs]), np.array([b for _, b, _ in pairs])]
    )
    before = orders_cost(problem, in_force)
    for (a, b, alone), more in zip(pairs, extra.tolist(), strict=True):
        v = problem.vehicles[int(gaps.owner[a])]
        after = {vid: list(ids) for vid, ids in in_force.items()}
        after[v.id].insert(int(gaps.position[a]), shop.id)
        after[v.id].insert(int(gaps.position[b]) + 1, door.id)
        assert orders_cost(problem, after) - before == alone + more, (v.id, a, b)
        if a != b:
            assert more == 0


def test_a_shop_next_door_to_its_customer_goes_in_with_it_as_one_detour(monkeypatch) -> None:
    # a triangle round: the hub, A 2 km east, B 2 km north of A. A new basket's shop and door
    # lie side by side beyond A. Costed alone, the shop is cheapest on the way to A and the
    # door on the way to B (1,162 m); ridden one after the other in one gap they cost 722 m.
    # That place is the first one tried.
    monkeypatch.setattr("backend.dispatch.quick.GAP_CHECKS", 1)
    pts = [(0, 0), (2000, 0), (2000, 2000), (2200, -300), (2300, -200)]
    dist = np.array([[round(math.dist(a, b)) for b in pts] for a in pts])
    day = Window(8 * H, 18 * H)
    bike = Vehicle(id="b0", start_location=0, end_location=0, shift=day, payload_kg=30, volume_l=500)
    stops = (
        Stop(id="A", kind="delivery", location=1, service_s=60, weight_kg=1.0),
        Stop(id="B", kind="delivery", location=2, service_s=60, weight_kg=1.0),
        Stop(id="S", kind="pickup", location=3, service_s=120, weight_kg=2.0),
        Stop(id="X", kind="delivery", location=4, service_s=60, pickups=("S",)),
    )
    problem = Problem(time_s=dist, dist_m=dist, vehicles=(bike,), stops=stops, cost="distance")
    result = quick_replan(problem, {"b0": ["A", "B"]}, budget_s=30)
    assert result is not None and check(problem, result.plan) == []
    order = route_orders(result.plan)["b0"]
    assert order.index("X") == order.index("S") + 1, order
    assert orders_cost(problem, {"b0": order}) - orders_cost(problem, {"b0": ["A", "B"]}) == 722
