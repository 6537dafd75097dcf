"""The quick re-plan: the routes in force kept, the stops no route holds inserted where they
add least and fit (backend/dispatch/quick.py), on tiny named instances."""

from __future__ import annotations

import math

import msgspec
import numpy as np

from backend.dispatch.closed_legs import POISON, route_paths
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.quick import check_published, legs_changed, orders_cost, published_part, quick_replan
from backend.dispatch.replan import route_orders

H = 3600
DAY = Window(8 * H, 18 * H)
# hubs A (2000, 0) and B (-2000, 0); e* east of A, w* west of B; "new" near A's stops,
# "beyond" past e2
PTS = {
    "hubA": (2000, 0),
    "hubB": (-2000, 0),
    "e1": (3000, 0),
    "e2": (3000, 1000),
    "w1": (-3000, 0),
    "new": (3000, 500),
    "far": (-3000, 500),
    "beyond": (3000, 2000),
}
NAMES = list(PTS)
DIST = [[round(math.dist(PTS[a], PTS[b])) for b in NAMES] for a in NAMES]
TIME = [[d // 5 for d in row] for row in DIST]


def problem(*, extra: tuple[Stop, ...] = (), payload_a: float = 100.0, reload_a: int | None = None) -> Problem:
    stops = tuple(
        Stop(id=sid, kind="delivery", location=NAMES.index(sid), weight_kg=2.0, service_s=60)
        for sid in ("e1", "e2", "w1")
    )
    bikes = (
        Vehicle(
            id="A", start_location=0, end_location=0, shift=DAY, payload_kg=payload_a, volume_l=200.0, reload_s=reload_a
        ),
        Vehicle(id="B", start_location=1, end_location=1, shift=DAY, payload_kg=100.0, volume_l=200.0),
    )
    return Problem(time_s=TIME, dist_m=DIST, vehicles=bikes, stops=stops + extra)


IN_FORCE = {"A": ["e1", "e2"], "B": ["w1"]}


def new(sid: str = "new", **kw: object) -> Stop:
    return Stop(id=sid, kind="delivery", location=NAMES.index(sid), weight_kg=2.0, service_s=60, **kw)  # type: ignore[arg-type]


def test_a_new_stop_goes_between_the_near_stops_of_the_near_courier_and_nothing_else_moves() -> None:
    p = problem(extra=(new(),))
    result = quick_replan(p, IN_FORCE)
    assert result is not None
    # only the route that changes is in the plan (the others stay in force as they are)
    assert route_orders(result.plan) == {"A": ["e1", "new", "e2"]}
    assert result.changed == {"A"}
    assert check(published_part(p, result.plan), result.plan) == []
    assert result.plan.cost == orders_cost(p, {"A": ["e1", "new", "e2"], "B": ["w1"]})


def test_a_stop_that_does_not_fit_the_cheapest_courier_goes_to_the_next() -> None:
    # A's bike is full (2 x 2 kg of 5 kg): the 2 kg stop near A goes to B, the next cheapest
    p = problem(extra=(new(),), payload_a=5.0)
    result = quick_replan(p, IN_FORCE)
    assert result is not None
    assert "new" in route_orders(result.plan)["B"] and "A" not in route_orders(result.plan)
    assert check(published_part(p, result.plan), result.plan) == []


def test_a_stop_moved_to_another_courier_leaves_its_route_for_theirs() -> None:
    # a dispatcher gives e2 to B (the stop is now locked to B)
    p = problem()
    locked = tuple(
        Stop(id=s.id, kind=s.kind, location=s.location, weight_kg=2.0, service_s=60, vehicles=("B",))
        if s.id == "e2"
        else s
        for s in p.stops
    )
    p = Problem(time_s=TIME, dist_m=DIST, vehicles=p.vehicles, stops=locked)
    result = quick_replan(p, IN_FORCE)
    assert result is not None
    orders = route_orders(result.plan)
    assert orders["A"] == ["e1"] and "e2" in orders["B"]
    assert result.changed == {"A", "B"}
    assert check(p, result.plan) == []  # both routes change: the whole plan


def test_no_quick_answer_when_nothing_is_to_insert_or_when_a_stop_fits_nowhere() -> None:
    assert quick_replan(problem(), IN_FORCE) is None  # a re-plan by hand: the solver's
    # a window that closed before either bike can get there: the solver decides it is unplanned
    late = new("far", windows=(Window(8 * H, 8 * H + 60),))
    assert quick_replan(problem(extra=(late,)), IN_FORCE) is None


def test_on_a_bike_riding_loops_goods_from_the_hub_go_on_a_later_loop() -> None:
    p = problem(extra=(new(),), reload_a=600)
    loops = {"A": [1, 2], "B": [1]}
    result = quick_replan(p, IN_FORCE, loops)
    assert result is not None
    (route,) = [r for r in result.plan.routes if r.vehicle_id == "A"]
    placed = {ps.stop_id: ps.loop for ps in route.stops}
    assert placed["e1"] == 1 and placed["e2"] == 2
    assert placed["new"] == 2  # loaded at the reload, not on the loop already out
    assert len(route.reloads) == 1
    assert check(published_part(p, result.plan), result.plan) == []
    # goods already on the bike may go on the loop it rides now
    on_board = quick_replan(p, IN_FORCE, loops, on_board=frozenset({"new"}))
    assert on_board is not None
    (route,) = [r for r in on_board.plan.routes if r.vehicle_id == "A"]
    # (before e1 or after it costs the same: either way on loop 1, before the reload)
    assert {ps.stop_id: ps.loop for ps in route.stops} == {"e1": 1, "new": 1, "e2": 2}
    assert check(published_part(p, on_board.plan), on_board.plan) == []


def test_orders_cost_counts_the_ride_back_to_the_hub_between_loops() -> None:
    p = problem(reload_a=600)
    one = orders_cost(p, {"A": ["e1", "e2"]})
    two = orders_cost(p, {"A": ["e1", "e2"]}, {"A": [1, 2]})
    back = TIME[2][0] + TIME[0][3] - TIME[2][3]
    assert two - one == back > 0


def test_the_published_part_is_judged_as_a_plan_of_its_own() -> None:
    p = problem(extra=(new(),), payload_a=3.0)
    # put "new" on A, beyond its 3 kg: the checker must refuse the published part
    from backend.dispatch.model import Plan
    from backend.dispatch.scheduling import loop_route

    route = loop_route(p, p.vehicles[0], [0, 3, 1], [])
    bad = Plan(
        routes=(route,),
        unplanned=(),
        cost=0,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        solve_s=0.0,
        status="quick",
    )
    part = published_part(p, bad)
    assert {v.id for v in part.vehicles} == {"A"} and {s.id for s in part.stops} == {"e1", "e2", "new"}
    assert any(v.rule == "payload" for v in check(part, bad))


def test_stops_already_waiting_for_a_courier_come_after_the_change_and_may_stay_waiting() -> None:
    # "far" waits since an earlier re-plan and cannot be reached in its window; "new" is the change
    late = new("far", windows=(Window(8 * H, 8 * H + 60),))
    p = problem(extra=(new(), late))
    result = quick_replan(p, IN_FORCE, waiting=frozenset({"far"}))
    assert result is not None
    assert route_orders(result.plan) == {"A": ["e1", "new", "e2"]}
    ((left),) = result.plan.unplanned
    assert left.stop_id == "far" and "later re-plan" in left.detail
    assert check_published(p, result.plan) == []
    # the change itself must fit: when "new" is the one that cannot, there is no quick answer
    assert quick_replan(p, IN_FORCE, waiting=frozenset({"new"})) is None


def test_a_closure_retimes_the_routes_whose_legs_it_lengthens_and_only_those() -> None:
    base = np.array(TIME, dtype=np.int64)
    closed = base.copy()
    e1, e2 = NAMES.index("e1"), NAMES.index("e2")
    closed[e1, e2] += 400  # the street between e1 and e2 is shut: a detour
    p = msgspec.structs.replace(problem(), time_s=closed)
    same = np.arange(len(NAMES))  # the baseline's places: the same indices
    assert legs_changed(p, IN_FORCE, {}, base, same) == {"A"}
    # a place the baseline does not know (a bike's position) is not compared
    unknown = same.copy()
    unknown[e2] = -1
    assert legs_changed(p, IN_FORCE, {}, base, unknown) == frozenset()
    # a detour of less than a minute in all is left to the ETA updates
    grazed = base.copy()
    grazed[e1, e2] += 30
    assert legs_changed(msgspec.structs.replace(p, time_s=grazed), IN_FORCE, {}, base, same) == frozenset()

    result = quick_replan(p, IN_FORCE, retime=frozenset({"A"}))
    assert result is not None and result.changed == {"A"}
    assert route_orders(result.plan) == {"A": ["e1", "e2"]}  # its order stays, its times change
    arrive = {ps.stop_id: ps.arrival_s for ps in result.plan.routes[0].stops}
    before = quick_replan(problem(), IN_FORCE, retime=frozenset({"A"}))
    assert before is not None
    assert arrive["e2"] - {ps.stop_id: ps.arrival_s for ps in before.plan.routes[0].stops}["e2"] == 400
    assert check_published(p, result.plan) == []


def test_on_a_bike_riding_loops_goods_on_board_stay_on_the_loop_ridden_even_where_a_later_one_is_cheaper() -> None:
    # a parcel already on A's bike for a door past e2: after e2 (loop 2) is the cheapest place,
    # but goods on the bike ride the loop it rides now. On loop 2 the solver's warm start
    # refused A's whole route (goods on board go before the first reload), and every later
    # re-plan with A in it would have taken A's stops off their route (bench replan --multi-trip)
    p = problem(extra=(new("beyond"),), reload_a=600)
    loops = {"A": [1, 2], "B": [1]}
    result = quick_replan(p, IN_FORCE, loops, on_board=frozenset({"beyond"}))
    assert result is not None
    (route,) = [r for r in result.plan.routes if r.vehicle_id == "A"]
    assert {ps.stop_id: ps.loop for ps in route.stops} == {"e1": 1, "beyond": 1, "e2": 2}
    assert check(published_part(p, result.plan), result.plan) == []
    # goods from the hub for that door go on loop 2, after e2
    hub = quick_replan(p, IN_FORCE, loops)
    assert hub is not None
    (route,) = [r for r in hub.plan.routes if r.vehicle_id == "A"]
    # (before e2 or after it costs the same: either way on loop 2)
    assert {ps.stop_id: ps.loop for ps in route.stops} == {"e1": 1, "e2": 2, "beyond": 2}
    assert check(published_part(p, hub.plan), hub.plan) == []


def test_on_a_bike_riding_loops_a_shop_and_its_door_go_on_one_loop() -> None:
    # a basket: the shop at "new" alone fits best on loop 1 (between e1 and e2), its door
    # "beyond" best after e2, on loop 2; a reload between them broke the solver's rule (a shop
    # and its door ride one loop), and its warm start refused A's whole route. The shop at the
    # start of loop 2 and the door after e2 (hub, shop, e2, door) is the cheapest place that
    # keeps the rule; both in loop 2's first gap (hub, shop, door, e2) costs 435 s more, and
    # was tried first while a shop and door in one gap were costed as two detours.
    shop = Stop(id="shop", kind="pickup", location=NAMES.index("new"), weight_kg=2.0, service_s=60)
    door = new("beyond", pickups=("shop",))
    p = problem(extra=(shop, door), reload_a=600)
    result = quick_replan(p, IN_FORCE, {"A": [1, 2], "B": [1]})
    assert result is not None
    (route,) = [r for r in result.plan.routes if r.vehicle_id == "A"]
    assert [(ps.stop_id, ps.loop) for ps in route.stops] == [("e1", 1), ("shop", 2), ("e2", 2), ("beyond", 2)]
    assert check(published_part(p, result.plan), result.plan) == []


def _legs_of(whole: Problem, places: tuple[str, ...] = ()) -> Problem:
    """``whole`` with its matrices filled only at the routes' legs and the rows and columns
    of the hubs and of ``places`` (a closure's legs first, backend/dispatch/closed_legs.py),
    POISON elsewhere."""
    t, d = np.asarray(whole.time_s), np.asarray(whole.dist_m)
    legs_t, legs_d = np.full_like(t, POISON), np.full_like(d, POISON)
    for path in route_paths(whole, IN_FORCE):
        for a, b in zip(path, path[1:], strict=False):
            legs_t[a, b], legs_d[a, b] = t[a, b], d[a, b]
    for i in (NAMES.index("hubA"), NAMES.index("hubB"), *(NAMES.index(x) for x in places)):
        legs_t[i, :], legs_t[:, i], legs_d[i, :], legs_d[:, i] = t[i, :], t[:, i], d[i, :], d[:, i]
    return msgspec.structs.replace(whole, time_s=legs_t, dist_m=legs_d)


def test_a_closure_answered_from_the_legs_alone_equals_the_answer_from_the_whole_matrices() -> None:
    closed = np.array(TIME, dtype=np.int64)
    closed[NAMES.index("e1"), NAMES.index("e2")] += 400
    whole = msgspec.structs.replace(problem(), time_s=closed, dist_m=np.array(DIST, dtype=np.int64))
    legs = _legs_of(whole)
    retime = frozenset({"A"})
    want = quick_replan(whole, IN_FORCE, retime=retime)
    got = quick_replan(legs, IN_FORCE, retime=retime, moves=False)
    assert want is not None and got is not None
    assert got.plan.routes == want.plan.routes and got.changed == want.changed
    assert check_published(legs, got.plan) == []
    # a route that would read an entry not filled cannot pass the checker
    unfilled = np.array(legs.time_s).copy()
    unfilled[NAMES.index("e1"), NAMES.index("e2")] = POISON
    poisoned = msgspec.structs.replace(legs, time_s=unfilled)
    bad = quick_replan(poisoned, IN_FORCE, retime=retime, moves=False)
    assert bad is not None and check_published(poisoned, bad.plan) != []


def test_a_stop_on_no_route_is_put_in_from_the_legs_and_its_own_lines_as_from_the_whole_matrices() -> None:
    # a new order, and one an earlier re-plan left waiting, while a closure's network is not
    # known: their rows and columns filled too, the same answer as from the whole matrices
    closed = np.array(TIME, dtype=np.int64)
    closed[NAMES.index("e1"), NAMES.index("e2")] += 400
    whole = msgspec.structs.replace(
        problem(extra=(new(), new("far"))), time_s=closed, dist_m=np.array(DIST, dtype=np.int64)
    )
    retime, waiting = frozenset({"A"}), frozenset({"far"})
    want = quick_replan(whole, IN_FORCE, retime=retime, waiting=waiting)
    legs = _legs_of(whole, ("new", "far"))
    got = quick_replan(legs, IN_FORCE, retime=retime, waiting=waiting, moves=False)
    assert want is not None and got is not None
    orders = route_orders(got.plan)
    assert orders == route_orders(want.plan) and orders["A"] == ["e1", "new", "e2"] and "far" in orders["B"]
    assert got.plan.routes == want.plan.routes and got.changed == want.changed
    assert check_published(legs, got.plan) == [] and check_published(whole, got.plan) == []
    # without the new stop's lines it fits nowhere: no answer from the legs (the whole matrices' turn)
    assert quick_replan(_legs_of(whole, ("far",)), IN_FORCE, retime=retime, waiting=waiting, moves=False) is None
    # a stop to move to another route reads lines not filled: no answer from the legs either
    locked = tuple(msgspec.structs.replace(s, vehicles=("B",)) if s.id == "e2" else s for s in whole.stops)
    moving = msgspec.structs.replace(whole, stops=locked)
    assert quick_replan(moving, IN_FORCE, retime=retime) is not None
    assert quick_replan(_legs_of(moving, ("new", "far")), IN_FORCE, retime=retime, moves=False) is None
