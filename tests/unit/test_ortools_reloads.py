"""OR-Tools reload nodes: days PyVRP cannot express (locks, pins, soft due times) ride loops too.

The tiny day is ``two_loops`` of test_multitrip: four 10 kg parcels, two east and
two north of the hub, one bike of 20 kg that may reload for 10 minutes.
"""

from __future__ import annotations

import msgspec
import pytest

from backend.dispatch import portfolio as F
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Sequence, Stop
from backend.dispatch.solver import solve
from tests.unit.test_multitrip import RELOAD_S, H, loads_within, two_loops


def _with(problem: Problem, **changes: dict[str, object]) -> Problem:
    """``problem`` with some stops changed: stop id -> fields."""
    stops = tuple(msgspec.structs.replace(s, **changes[s.id]) if s.id in changes else s for s in problem.stops)
    return msgspec.structs.replace(problem, stops=stops)


def _loops(plan) -> dict[str, int]:
    return {ps.stop_id: ps.loop for r in plan.routes for ps in r.stops}


def test_a_locked_day_that_needs_two_loops_is_planned_by_ortools_with_a_reload():
    problem = _with(two_loops(), E1={"vehicles": ("bike",)}, N1={"vehicles": ("bike",)})
    plan = solve(problem, 1.0)
    assert plan.unplanned == ()
    assert check(problem, plan) == []
    (route,) = plan.routes
    (rl,) = route.reloads
    assert rl.loop == 2 and rl.departure_s - rl.arrival_s >= RELOAD_S
    assert [ps.loop for ps in route.stops] == [1, 1, 2, 2]
    first = {ps.stop_id for ps in route.stops if ps.loop == 1}
    assert first in ({"E1", "E2"}, {"N1", "N2"})  # one loop east, the other north
    loads_within(plan, problem)
    assert rl.load_kg == 20.0
    assert F.plan_cost(problem, plan) == route.distance_m == 8000


def test_a_pinned_day_pyvrp_cannot_express_is_planned_in_loops_by_the_portfolio():
    # a dispatcher's pin: PyVRP can only relax it, so OR-Tools' plan must carry the loops
    problem = msgspec.structs.replace(two_loops(), sequences=(Sequence(vehicle="bike", stops=("N2", "E2")),))
    assert not F.pyvrp_can_plan(problem)
    # 40 kg on a 20 kg bike: the day needs loops, which the relaxed run's PyVRP does not ride,
    # so OR-Tools cold stays beside it; with room for every parcel in one loop, two relaxed runs
    assert F.engines_for(problem) == ("ortools", "relaxed")
    roomy = msgspec.structs.replace(problem, vehicles=(msgspec.structs.replace(problem.vehicles[0], payload_kg=60.0),))
    assert F.engines_for(roomy) == ("relaxed", "relaxed")
    report: list[dict] = []
    plan = F.solve_best(problem, 1.0, report=report)
    assert plan.unplanned == () and check(problem, plan) == []
    (route,) = plan.routes
    order = [ps.stop_id for ps in route.stops]
    assert order.index("N2") < order.index("E2")
    assert len(route.reloads) == 1
    ortools = next(s for s in report if s["engine"] == "ortools")
    assert ortools["unplanned"] == 0 and ortools["violations"] == 0


def test_a_soft_due_time_rides_its_loop_first():
    # N2 should be served by 08:30: the north loop goes first and nobody is late
    problem = _with(two_loops(), N2={"due_s": 8 * H + 30 * 60})
    plan = solve(problem, 1.0)
    assert plan.unplanned == () and check(problem, plan) == []
    loops = _loops(plan)
    assert loops["N1"] == loops["N2"] == 1 and loops["E1"] == loops["E2"] == 2
    assert F.plan_cost(problem, plan) == 8000  # no lateness: 8 km only


def test_a_shop_and_its_door_ride_one_loop_and_every_load_fits():
    # a shop at E1 hands 10 kg over at the door at E2; the north parcels are hub goods
    base = two_loops()
    stops = [s for s in base.stops if s.id in ("N1", "N2")]
    stops += [
        Stop(id="shop", kind="pickup", location=1, weight_kg=10.0, volume_l=10.0, service_s=60),
        Stop(id="door", kind="delivery", location=2, pickups=("shop",), service_s=60),
        Stop(id="parcel", kind="delivery", location=2, weight_kg=10.0, volume_l=10.0, service_s=60),
    ]
    problem = msgspec.structs.replace(base, stops=tuple(stops))
    plan = solve(problem, 1.0)
    assert plan.unplanned == () and check(problem, plan) == []
    loops = _loops(plan)
    assert loops["shop"] == loops["door"]
    assert max(loops.values()) >= 2
    loads_within(plan, problem)


def test_returns_are_unloaded_at_each_reload():
    # a return collected at E2 (10 kg) and three parcels: the returns restart per loop
    base = two_loops()
    stops = [s for s in base.stops if s.id != "E2"]
    stops.append(Stop(id="return", kind="pickup", location=2, weight_kg=10.0, volume_l=10.0, service_s=60))
    problem = msgspec.structs.replace(base, stops=tuple(stops))
    plan = solve(problem, 1.0)
    assert plan.unplanned == () and check(problem, plan) == []
    loads_within(plan, problem)
    (route,) = plan.routes
    assert route.reloads


def test_no_reload_nodes_for_a_bike_that_rides_one_loop_or_may_not_reload():
    one = two_loops(reload_s=None)
    plan = solve(one, 1.0)
    assert check(one, plan) == [] and len(plan.unplanned) == 2 and not plan.routes[0].reloads
    capped = msgspec.structs.replace(
        two_loops(), vehicles=(msgspec.structs.replace(two_loops().vehicles[0], max_reloads=0),)
    )
    plan = solve(capped, 1.0)
    assert check(capped, plan) == [] and len(plan.unplanned) == 2
    assert {u.reason for u in plan.unplanned} == {"no_capacity"}


@pytest.mark.parametrize("reloads", [1, 2])
def test_max_reloads_bounds_the_loops(reloads: int):
    # six parcels of 10 kg on a 20 kg bike: three loops, two reloads
    base = two_loops()
    extra = tuple(
        Stop(id=f"X{j}", kind="delivery", location=1 + j, weight_kg=10.0, volume_l=10.0, service_s=60) for j in (0, 2)
    )
    bike = msgspec.structs.replace(base.vehicles[0], max_reloads=reloads)
    problem = msgspec.structs.replace(base, stops=base.stops + extra, vehicles=(bike,))
    plan = solve(problem, 1.0)
    assert check(problem, plan) == []
    (route,) = plan.routes
    assert len(route.reloads) <= reloads
    assert len(plan.unplanned) == 2 * (2 - len(route.reloads))


def test_pyvrp_starts_from_ortools_loops_with_its_reload_depot():
    from backend.dispatch.pyvrp_engine import initial_solution
    from backend.dispatch.reloads import to_pyvrp_reloads

    problem = two_loops()
    plan = solve(problem, 0.5)
    assert plan.routes[0].reloads  # OR-Tools rode two loops
    data, mapping = to_pyvrp_reloads(problem)
    start = initial_solution(data, mapping, problem, plan)
    (route,) = start.routes()
    # the loops are kept: two trips, neither over the box (one trip of four parcels would be)
    assert route.num_trips() == 2 and not route.has_excess_load() and start.is_feasible()


def _baskets_on_a_small_bike() -> Problem:
    """``two_loops``' places: a shop at E1 (10 kg) for a door at E2 with 8 kg of hub goods, the
    same north (N1, N2). Whichever shop comes first, 16 kg of hub goods ride there too: over the
    20 kg box in one loop; one basket a loop fits (18 kg)."""
    stops = []
    for side, shop, door in (("E", 1, 2), ("N", 3, 4)):
        stops.append(Stop(id=f"shop{side}", kind="pickup", location=shop, weight_kg=10.0, volume_l=10.0, service_s=60))
        stops.append(
            Stop(
                id=f"door{side}",
                kind="delivery",
                location=door,
                pickups=(f"shop{side}",),
                weight_kg=8.0,
                volume_l=8.0,
                service_s=60,
            )
        )
    return msgspec.structs.replace(two_loops(), stops=tuple(stops))


@pytest.fixture
def insertion_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """``solve`` plans by our cold insertion alone, as a big day starts (over
    ``_COLD_INSERTION_NODES`` stop nodes; OR-Tools' own strategies time out there)."""
    from backend.dispatch import ortools_search

    monkeypatch.setattr(ortools_search, "_COLD_INSERTION_NODES", 0)
    monkeypatch.setattr(ortools_search, "_strategies_first", lambda *a, **k: None)
    # no search after it either: the plan is the insertion's
    monkeypatch.setattr(ortools_search, "_search", lambda m, params, strategies, start, *a: start.sol)


def test_our_cold_insertion_plans_a_basket_day_in_loops(insertion_only: None):
    # issue #15: the replan bench's multi-trip day (baskets, 2,000 stops) left stops out
    # instead of riding loops: the insertion planned one loop a bike
    problem = _baskets_on_a_small_bike()
    plan = solve(problem, 1.0)
    assert plan.unplanned == () and check(problem, plan) == []
    (route,) = plan.routes
    assert len(route.reloads) == 1
    loops = _loops(plan)
    assert loops["shopE"] == loops["doorE"] != loops["shopN"] == loops["doorN"]  # goods picked ride their loop
    loads_within(plan, problem)
    assert max(ps.load_kg for ps in route.stops) == 18.0


def test_the_portfolio_plans_a_basket_day_in_loops():
    problem = _baskets_on_a_small_bike()
    plan = F.solve_best(problem, 1.0)
    assert plan.unplanned == () and check(problem, plan) == []
    (route,) = plan.routes
    assert len(route.reloads) == 1
    loads_within(plan, problem)


def test_our_cold_insertion_keeps_a_return_on_board_through_the_later_loops(insertion_only: None):
    # three parcels of 10 kg and a return of 10 kg at N2 on a 20 kg bike: two loops, and the
    # return (on board to the end) only where the loops after it have room for it
    base = two_loops()
    stops = [s for s in base.stops if s.id != "N2"]
    stops.append(Stop(id="return", kind="pickup", location=4, weight_kg=10.0, volume_l=10.0, service_s=60))
    problem = msgspec.structs.replace(base, stops=tuple(stops))
    plan = solve(problem, 1.0)
    assert plan.unplanned == () and check(problem, plan) == []
    (route,) = plan.routes
    assert route.reloads
    loads_within(plan, problem)


@pytest.mark.parametrize("problem", [two_loops(), _baskets_on_a_small_bike()], ids=["parcels", "baskets"])
def test_a_warm_start_from_routes_in_loops_keeps_its_loops(monkeypatch: pytest.MonkeyPatch, problem: Problem):
    # a re-plan starts from the routes in force: in loops, not one loop a bike (whose repair
    # dropped what did not fit in one loop, and the search did not ride a loop to take it back)
    from backend.dispatch import ortools_search

    plan = solve(problem, 1.0)
    (route,) = plan.routes
    assert route.reloads
    in_force = {"bike": [ps.stop_id for ps in route.stops]}
    loops = {ps.stop_id: ps.loop for ps in route.stops}
    monkeypatch.setattr(ortools_search, "_search", lambda m, params, strategies, start, *a: start.sol)
    one_loop = solve(problem, 1.0, initial_routes=in_force)
    assert one_loop.unplanned  # the start without the loops
    again = solve(problem, 1.0, initial_routes=in_force, initial_loops=loops)
    assert again.unplanned == () and check(problem, again) == []
    assert [ps.stop_id for ps in again.routes[0].stops] == in_force["bike"]
    assert _loops(again) == loops


def test_goods_on_board_stay_on_the_loop_the_bike_rides():
    # in force: east first, then north; a re-plan learns that N1's parcel is on the bike
    # already (loaded by mistake): it is served before the next reload, on this loop
    problem = _with(two_loops(), N1={"vehicles": ("bike",)})
    in_force = {"bike": ["E1", "E2", "N1", "N2"]}
    loops = {"E1": 1, "E2": 1, "N1": 2, "N2": 2}
    plan = solve(problem, 1.0, initial_routes=in_force, initial_loops=loops)
    assert _loops(plan)["N1"] == 2  # nothing to gain from a new order: the loops in force
    plan = solve(problem, 1.0, initial_routes=in_force, initial_loops=loops, on_board=frozenset({"N1"}))
    assert plan.unplanned == () and check(problem, plan) == []
    assert _loops(plan)["N1"] == 1
    loads_within(plan, problem)


@pytest.mark.parametrize(
    "in_force",
    [
        {"E1": 1, "E2": 1, "N1": 2, "N2": 2},  # a quick answer put the goods on board on the next loop
        {"E1": 1, "E2": 1, "N2": 2},  # the goods on board are new to the route: our insertion places them
    ],
    ids=["in-force-on-a-later-loop", "inserted"],
)
def test_goods_on_board_are_started_on_the_loop_ridden_not_the_whole_route_refused(
    monkeypatch: pytest.MonkeyPatch, in_force: dict[str, int]
):
    # OR-Tools holds goods on board before the first reload (Loop cumul 0) and refuses a whole
    # route that breaks it: every stop of the bike then started unperformed, the re-plan would
    # have taken them all off their route and was not applied (bench replan --multi-trip: 13
    # timeouts, new orders refused). The warm start's repair and insertion keep that rule too:
    # N1 (5 kg, on the bike) goes on the loop ridden now, where it fits (10 + 5 + 5 kg of 20).
    from backend.dispatch import ortools_search

    problem = _with(two_loops(), E2={"weight_kg": 5.0}, N1={"weight_kg": 5.0, "vehicles": ("bike",)})
    monkeypatch.setattr(ortools_search, "_search", lambda m, params, strategies, start, *a: start.sol)
    timings: dict[str, float] = {}
    plan = solve(
        problem,
        1.0,
        initial_routes={"bike": list(in_force)},
        initial_loops=in_force,
        on_board=frozenset({"N1"}),
        timings=timings,
    )
    assert "routes_refused" not in timings
    assert plan.unplanned == () and check(problem, plan) == []
    loops = _loops(plan)
    assert loops["N1"] == 1 and loops["N2"] == 2 and loops["E1"] == 1
    loads_within(plan, problem)


def test_a_focused_replan_keeps_a_bike_riding_loops_as_it_is_when_nothing_of_it_changes():
    # every stop is the bike's (goods on board, or kept with a riding courier); nothing is free.
    # Scheduled as one loop its route in force carries 40 kg on a 20 kg bike: it was "not
    # feasible on its own", so every bike riding loops was solved again in every re-plan (21
    # couriers and ~650 stops on the bench day for one new order, or the whole day).
    from backend.dispatch.feasibility import check_route
    from backend.dispatch.replan import focus_split

    problem = _with(two_loops(), **{sid: {"vehicles": ("bike",)} for sid in ("E1", "E2", "N1", "N2")})
    in_force = {"bike": ["E1", "E2", "N1", "N2"]}
    loops = {"E1": 1, "E2": 1, "N1": 2, "N2": 2}
    split = focus_split(problem, in_force, 3, loops=loops)
    assert split is not None and split.problem.vehicles == () and split.deferred == []
    kept = split.kept["bike"]
    assert kept is not None and [ps.stop_id for ps in kept.stops] == in_force["bike"]
    assert len(kept.reloads) == 1 and check_route(problem, kept) == []
    assert focus_split(problem, in_force, 3) is None  # as one loop: the whole day again


@pytest.mark.parametrize("big", [False, True], ids=["small-day", "big-day"])
def test_ortools_own_insertion_is_tried_on_a_small_cold_day_in_loops_only(monkeypatch: pytest.MonkeyPatch, big: bool):
    # on a big day our insertion plans the loops; OR-Tools' LOCAL_CHEAPEST_INSERTION took ~1 s
    # of the limit there and was never the start (it timed out dropping every stop)
    from backend.dispatch import ortools_search

    tried: list[list[str]] = []
    strategies_first = ortools_search._strategies_first

    def record(m, params, strategies, *a, **k):  # noqa: ANN001, ANN202
        tried.append(list(strategies))
        return strategies_first(m, params, strategies, *a, **k)

    monkeypatch.setattr(ortools_search, "_strategies_first", record)
    if big:  # what a day over this many stop nodes does, on the tiny day
        monkeypatch.setattr(ortools_search, "_COLD_INSERTION_NODES", 0)
    problem = two_loops()
    plan = solve(problem, 1.0)
    assert plan.unplanned == () and check(problem, plan) == [] and plan.routes[0].reloads
    (strategies,) = tried
    assert (ortools_search.RELOAD_FIRST_SOLUTION in strategies) is not big


def test_a_basket_across_a_reload_in_force_is_started_on_one_loop_not_the_whole_route_refused(
    monkeypatch: pytest.MonkeyPatch,
):
    # in force: the north shop on loop 1, its door on loop 2 (the checker lets picked goods ride
    # on; OR-Tools holds a shop and its door on one loop and refused the whole route: every stop
    # of the bike started unperformed). The repair takes the pair out, the insertion puts it
    # back on one loop (loop 2: on loop 1 the east basket leaves no room).
    from backend.dispatch import ortools_search

    problem = _baskets_on_a_small_bike()
    in_force = {"shopE": 1, "doorE": 1, "shopN": 1, "doorN": 2}
    monkeypatch.setattr(ortools_search, "_search", lambda m, params, strategies, start, *a: start.sol)
    timings: dict[str, float] = {}
    plan = solve(problem, 1.0, initial_routes={"bike": list(in_force)}, initial_loops=in_force, timings=timings)
    assert "routes_refused" not in timings
    assert plan.unplanned == () and check(problem, plan) == []
    loops = _loops(plan)
    assert loops["shopE"] == loops["doorE"] == 1 and loops["shopN"] == loops["doorN"] == 2
    loads_within(plan, problem)
