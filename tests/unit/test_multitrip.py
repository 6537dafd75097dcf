"""Several loops a shift: reloads at the hub, capacity per loop, the checker's rules."""

from __future__ import annotations

import math

import msgspec
import pytest

from backend.dispatch import portfolio as F
from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Problem, Reload, Stop, Vehicle, Window
from backend.dispatch.reloads import replan_loops, solve_reloads
from backend.dispatch.scheduling import earliest_route, loop_route, schedule

pytest.importorskip("pyvrp")

H = 3600
RELOAD_S = 600
# "two_loops": hub (0, 0); east E1 (1000, 0), E2 (2000, 0); north N1 (0, 1000), N2 (0, 2000);
# straight lines at 5 m/s. Four parcels of 10 kg, one bike of 20 kg: two loops.
PTS = [(0, 0), (1000, 0), (2000, 0), (0, 1000), (0, 2000)]
DIST = [[round(math.dist(a, b)) for b in PTS] for a in PTS]
TIME = [[d // 5 for d in row] for row in DIST]


def two_loops(reload_s: int | None = RELOAD_S, heavy: float | None = None) -> Problem:
    stops = [
        Stop(id=name, kind="delivery", location=loc, weight_kg=10.0, volume_l=10.0, service_s=60)
        for name, loc in (("E1", 1), ("E2", 2), ("N1", 3), ("N2", 4))
    ]
    if heavy is not None:
        stops.append(Stop(id="piano", kind="delivery", location=1, weight_kg=heavy, volume_l=10.0))
    bike = Vehicle(
        id="bike",
        start_location=0,
        end_location=0,
        shift=Window(8 * H, 12 * H),
        payload_kg=20.0,
        volume_l=100.0,
        reload_s=reload_s,
    )
    return Problem(time_s=TIME, dist_m=DIST, vehicles=(bike,), stops=tuple(stops), cost="distance")


def loads_within(plan: Plan, problem: Problem) -> None:
    """Every load on board, after each stop and leaving each reload, within the bike's capacity."""
    v = problem.vehicles[0]
    for r in plan.routes:
        for ps in r.stops:
            assert -1e-9 <= ps.load_kg <= v.payload_kg + 1e-9, ps
        for rl in r.reloads:
            assert rl.load_kg <= v.payload_kg + 1e-9, rl


def test_a_day_that_needs_two_loops_is_planned_with_a_reload_at_the_hub():
    problem = two_loops()
    plan = solve_reloads(problem, 1.0, seed=1)
    assert check(problem, plan) == []
    assert plan.unplanned == ()
    (route,) = plan.routes
    assert len(route.reloads) == 1
    (rl,) = route.reloads
    assert rl.loop == 2 and rl.departure_s - rl.arrival_s >= RELOAD_S
    assert [ps.loop for ps in route.stops] == [1, 1, 2, 2]
    # the cheapest split: one loop east, the other north
    first = {ps.stop_id for ps in route.stops if ps.loop == 1}
    assert first in ({"E1", "E2"}, {"N1", "N2"})
    assert rl.load_kg == 20.0 and route.stops[0].load_kg == 10.0
    loads_within(plan, problem)
    # ridden: out 2 km and back, out 2 km and back
    assert route.distance_m == 8000
    # the reload is timed by the one schedule: back from the end of loop 1, then 10 minutes
    place = {s.id: s.location for s in problem.stops}
    last, nxt = place[route.stops[1].stop_id], place[route.stops[2].stop_id]
    assert rl.arrival_s == route.stops[1].departure_s + TIME[last][0]
    assert route.stops[2].arrival_s == rl.departure_s + TIME[0][nxt]


def test_the_portfolio_prefers_loops_to_leaving_parcels_out():
    problem = two_loops()
    report: list[dict] = []
    plan = F.solve_best(problem, 1.0, engines=("ortools+pyvrp",), report=report)
    assert plan.unplanned == () and plan.routes[0].reloads
    # both engines ride loops (OR-Tools by its reload nodes, PyVRP by its reload depots)
    ortools = next(s for s in report if s["engine"] == "ortools")
    pyvrp = next(s for s in report if s["engine"].endswith("pyvrp-reload"))
    for score in (ortools, pyvrp):
        assert score["unplanned"] == 0 and score["violations"] == 0 and score["cost"] == 8000
    # and the cost counts the ride back to the hub
    assert F.plan_cost(problem, plan) == 8000


def test_the_checker_rejects_a_plan_that_overloads_a_loop():
    problem = two_loops()
    v = problem.vehicles[0]
    # three parcels on loop 1 (30 kg on a 20 kg bike), one on loop 2
    route = loop_route(problem, v, [0, 1, 2, 3], [3])
    plan = Plan(
        routes=(route,),
        unplanned=(),
        cost=0,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        solve_s=0.0,
        status="hand-made",
    )
    rules = {(x.rule, x.stop_id) for x in check(problem, plan)}
    assert ("payload", None) in rules  # starts with 30 kg
    # the same loops split 2 + 2 pass
    good = loop_route(problem, v, [0, 1, 2, 3], [2])
    ok = msgspec.structs.replace(plan, routes=(good,), distance_m=good.distance_m, duration_s=good.duration_s)
    assert check(problem, ok) == []


def test_the_checker_rejects_reloads_a_bike_may_not_make_or_too_short():
    problem = two_loops()
    v = problem.vehicles[0]
    route = loop_route(problem, v, [0, 1, 2, 3], [2])
    plan = Plan(
        routes=(route,),
        unplanned=(),
        cost=0,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        solve_s=0.0,
        status="hand-made",
    )
    one_loop = two_loops(reload_s=None)
    assert {x.rule for x in check(one_loop, plan)} == {"reload"}
    (rl,) = route.reloads
    short = msgspec.structs.replace(rl, departure_s=rl.arrival_s + RELOAD_S // 2)
    hurried = msgspec.structs.replace(route, reloads=(short,))
    rules = {x.rule for x in check(problem, msgspec.structs.replace(plan, routes=(hurried,)))}
    assert "reload" in rules
    # a new loop without its reload
    lost = msgspec.structs.replace(route, reloads=())
    assert "reload" in {x.rule for x in check(problem, msgspec.structs.replace(plan, routes=(lost,)))}


def test_schedule_rides_back_to_the_hub_and_reloads_between_loops():
    problem = two_loops()
    v = problem.vehicles[0]
    sched = schedule(problem, v, [0, 1, 2, 3], breaks=[2])
    assert sched is not None
    dep = 8 * H
    e2_done = dep + 200 + 60 + 200 + 60
    assert sched.times[1][2] == e2_done
    assert sched.reloads == [(e2_done + 400, e2_done + 400, e2_done + 400 + RELOAD_S)]
    assert sched.times[2][0] == e2_done + 400 + RELOAD_S + 200
    # and the earliest schedule of a route keeps its loops
    route = loop_route(problem, v, [0, 1, 2, 3], [2])
    assert earliest_route(problem, route) == route


def test_an_order_larger_than_any_bike_is_unplanned_with_that_reason():
    problem = two_loops(heavy=25.0)
    plan = solve_reloads(problem, 0.5, seed=1)
    assert check(problem, plan) == []
    (piano,) = [u for u in plan.unplanned if u.stop_id == "piano"]
    assert piano.reason == "too_heavy"
    assert "larger than any bike" in piano.detail
    assert {ps.stop_id for r in plan.routes for ps in r.stops} == {"E1", "E2", "N1", "N2"}


def test_reload_visits_are_plain_data():
    rl = Reload(loop=2, arrival_s=1, start_s=1, departure_s=601, load_kg=20.0, load_l=20.0, distance_m=10)
    assert msgspec.json.decode(msgspec.json.encode(rl), type=Reload) == rl


def test_a_replan_keeps_loaded_goods_on_their_loop_and_plans_later_loops_freely():
    problem = two_loops()
    plan = solve_reloads(problem, 1.0, seed=1)
    (route,) = plan.routes
    done, on_board = route.stops[0], route.stops[1]  # loop 1: one delivered, one still on the bike
    assert (done.loop, on_board.loop) == (1, 1)
    by_id = {s.id: s for s in problem.stops}
    bike = problem.vehicles[0]
    spare = msgspec.structs.replace(bike, id="spare", shift=Window(bike.shift.start, bike.shift.start + 60))
    # live: the bike is where it delivered, now; its goods on board are locked to it; a new
    # parcel came in for the north, and a second bike whose shift is nearly over
    live = msgspec.structs.replace(
        problem,
        vehicles=(
            msgspec.structs.replace(
                bike,
                start_location=by_id[done.stop_id].location,
                shift=Window(done.departure_s, bike.shift.end),
                reload_location=0,
            ),
            spare,
        ),
        stops=(
            *(
                msgspec.structs.replace(s, vehicles=("bike",)) if s.id == on_board.stop_id else s
                for s in problem.stops
                if s.id != done.stop_id
            ),
            Stop(id="N1b", kind="delivery", location=3, weight_kg=10.0, volume_l=10.0, service_s=60),
        ),
    )
    in_force = {"bike": [ps.stop_id for ps in route.stops[1:]]}
    again = replan_loops(live, in_force, time_limit_s=1.0)
    assert again is not None
    assert check(live, again) == []
    assert again.unplanned == ()
    (new,) = [r for r in again.routes if r.vehicle_id == "bike"]
    # still on the loop it is on: first, alone on loop 1 (nothing else was loaded)
    assert (new.stops[0].stop_id, new.stops[0].loop) == (on_board.stop_id, 1)
    assert [ps.stop_id for ps in new.stops if ps.loop == 1] == [on_board.stop_id]
    # the rest in later loops of at most two parcels: 3 parcels, so two more loops
    assert sorted(ps.stop_id for ps in new.stops[1:]) == sorted(
        {"N1", "N2", "N1b", "E1", "E2"} - {done.stop_id, on_board.stop_id}
    )
    assert max(ps.loop for ps in new.stops) == 3 and len(new.reloads) == 2
    loads_within(again, live)


def test_stops_kept_with_a_riding_courier_but_not_loaded_go_to_later_loops():
    problem = two_loops()
    plan = solve_reloads(problem, 1.0, seed=1)
    (route,) = plan.routes
    on_bike = [ps.stop_id for ps in route.stops if ps.loop == 1]
    later = [ps.stop_id for ps in route.stops if ps.loop == 2]
    # every stop locked to the riding courier (as a live day does); a later one kept late
    # rather than dropped: its window stretched, its own end a soft due time
    stops = []
    for s in problem.stops:
        s = msgspec.structs.replace(s, vehicles=("bike",))
        if s.id == later[0]:
            s = msgspec.structs.replace(s, windows=(Window(8 * H, 23 * H),), due_s=11 * H)
        stops.append(s)
    live = msgspec.structs.replace(problem, stops=tuple(stops))
    in_force = {"bike": [ps.stop_id for ps in route.stops]}
    again = replan_loops(live, in_force, time_limit_s=1.0, on_board=frozenset(on_bike))
    assert again is not None and check(live, again) == [] and again.unplanned == ()
    (new,) = again.routes
    assert [ps.stop_id for ps in new.stops if ps.loop == 1] == on_bike
    assert {ps.stop_id for ps in new.stops if ps.loop == 2} == set(later)
    # with nothing said about what is loaded, every locked stop is on the bike: one loop of
    # 40 kg on a 20 kg bike breaks the checker's rules
    assert check(live, replan_loops(live, in_force, time_limit_s=0.5)) != []


def test_a_replan_with_goods_locked_on_a_bike_of_one_loop_is_left_to_the_usual_replan():
    problem = two_loops(reload_s=None)
    locked = msgspec.structs.replace(problem.stops[0], vehicles=("bike",))
    live = msgspec.structs.replace(problem, stops=(locked, *problem.stops[1:]))
    assert replan_loops(live, {"bike": ["E1"]}, time_limit_s=0.5) is None


def test_stops_kept_with_a_riding_courier_stay_with_that_courier_on_a_later_loop():
    # a second bike, idle at the hub: the stops locked to the riding bike but not loaded
    # could go to it, but a re-plan keeps them with their courier (as the usual re-plan and
    # the checker do): the plan passes the checker on the live day with its locks
    problem = two_loops()
    plan = solve_reloads(problem, 1.0, seed=1)
    (route,) = plan.routes
    on_bike = [ps.stop_id for ps in route.stops if ps.loop == 1]
    spare = msgspec.structs.replace(problem.vehicles[0], id="spare")
    stops = tuple(msgspec.structs.replace(s, vehicles=("bike",)) for s in problem.stops)
    live = msgspec.structs.replace(problem, vehicles=(*problem.vehicles, spare), stops=stops)
    in_force = {"bike": [ps.stop_id for ps in route.stops]}
    again = replan_loops(live, in_force, time_limit_s=1.0, on_board=frozenset(on_bike))
    assert again is not None and check(live, again) == [] and again.unplanned == ()
    assert {r.vehicle_id for r in again.routes if r.stops} == {"bike"}
    (new,) = again.routes
    assert [ps.stop_id for ps in new.stops if ps.loop == 1] == on_bike
    assert max(ps.loop for ps in new.stops) == 2
