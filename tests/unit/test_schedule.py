"""The one schedule of a route (backend/dispatch/scheduling.py), pinned on a tiny instance.

Solomon TINY as the benchmarks read it (times and distances scaled by 1000):
the depot at (0, 0), stop 1 at (3, 4) (window [0, 100000], 10000 s service),
stop 2 at (6, 8) (window [50000, 200000], 10000 s). The depot to 1 and 1 to 2
are 5000 s each; 2 back to the depot is 10000 s.
"""

from __future__ import annotations

import msgspec

from backend.dispatch import benchmarks as B
from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan
from backend.dispatch.scheduling import Schedule, build_route, schedule, tight_schedule
from backend.dispatch.windows import merge_windows
from tests.unit.tiny_instances import SOLOMON_TEXT


def tiny(tmp_path, speed_factor: float = 1.0):
    f = tmp_path / "tiny.txt"
    f.write_text(SOLOMON_TEXT)
    p = B.to_problem(B.read_instance(f))
    v = msgspec.structs.replace(p.vehicles[0], speed_factor=speed_factor)
    return p, v


def test_it_arrives_as_early_as_the_route_allows_and_waits_only_for_a_window(tmp_path):
    p, v = tiny(tmp_path)
    assert [(s.id, s.location) for s in p.stops[:2]] == [("1", 1), ("2", 2)]
    # stop 1 on arrival, stop 2 reached at 20000 waits for its window (50000)
    assert schedule(p, v, [0, 1]) == Schedule(0, [(5000, 5000, 15000), (20000, 50000, 60000)], 70000)
    # given windows are the same thing as the stops' own, merged
    windows = [merge_windows(s.windows) for s in p.stops]
    assert schedule(p, v, [0, 1], windows) == schedule(p, v, [0, 1])
    # an empty order rides from hub to hub
    assert schedule(p, v, []) == Schedule(0, [], 0)


def test_a_stop_past_its_window_makes_the_order_infeasible_unless_late_is_asked(tmp_path):
    p, v = tiny(tmp_path)
    on_time = Schedule(95000, [(100000, 100000, 110000)], 115000)
    assert schedule(p, v, [0], departure=95000) == on_time
    assert schedule(p, v, [0], departure=95001) is None  # stop 1's window closes at 100000
    late = schedule(p, v, [0], departure=95001, late=True)
    assert late == Schedule(95001, [(100001, 100001, 110001)], 115001)  # served on arrival


def test_the_speed_factor_divides_every_leg_rounding_half_up(tmp_path):
    p, v = tiny(tmp_path, speed_factor=2.0)
    assert schedule(p, v, [0, 1]) == Schedule(0, [(2500, 2500, 12500), (15000, 50000, 60000)], 65000)
    p, v = tiny(tmp_path, speed_factor=3.0)  # 5000 / 3 -> 1667, 10000 / 3 -> 3333
    assert schedule(p, v, [0, 1]) == Schedule(0, [(1667, 1667, 11667), (13334, 50000, 60000)], 63333)


def test_the_tight_schedule_leaves_as_late_as_still_ends_as_early(tmp_path):
    p, v = tiny(tmp_path)
    windows = [merge_windows(s.windows) for s in p.stops]
    # no waiting at stop 2: leave at 30000 and still be back at 70000
    assert tight_schedule(p, v, [0, 1], windows) == Schedule(
        30000, [(35000, 35000, 45000), (50000, 50000, 60000)], 70000
    )
    route = build_route(p, v, [0, 1], windows, v.shift.start)
    assert (route.start_s, route.end_s, route.duration_s) == (30000, 70000, 40000)
    assert [(s.arrival_s, s.start_s, s.departure_s) for s in route.stops] == [
        (35000, 35000, 45000),
        (50000, 50000, 60000),
    ]
    assert [s.distance_m for s in route.stops] == [5000, 10000] and route.distance_m == 20000
    plan = Plan(
        routes=(route,),
        unplanned=(),
        cost=0,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        solve_s=0.0,
        status="feasible",
    )
    problem = msgspec.structs.replace(p, vehicles=(v,), stops=p.stops[:2])
    assert check(problem, plan) == []  # the checker agrees with the schedule


def test_both_engines_time_their_routes_with_it(tmp_path):
    from backend.dispatch.pyvrp_engine import plan_from_sequences
    from backend.dispatch.solver import solve

    p, v = tiny(tmp_path)
    problem = msgspec.structs.replace(p, vehicles=(v,), stops=p.stops[:2])
    (route,) = plan_from_sequences(problem, {v.id: [0, 1]}).routes  # from the shift start
    sched = schedule(problem, v, [0, 1])
    assert sched is not None
    assert [(s.arrival_s, s.start_s, s.departure_s) for s in route.stops] == sched.times
    assert (route.start_s, route.end_s) == (sched.departure, sched.end)
    plan = solve(problem, 1.0)  # OR-Tools: the tight schedule of the order it found
    (route,) = plan.routes
    order = [int(s.stop_id) - 1 for s in route.stops]
    windows = [merge_windows(s.windows) for s in problem.stops]
    tight = tight_schedule(problem, v, order, windows)
    assert tight is not None
    assert [(s.arrival_s, s.start_s, s.departure_s) for s in route.stops] == tight.times
    assert (route.start_s, route.end_s) == (tight.departure, tight.end)
