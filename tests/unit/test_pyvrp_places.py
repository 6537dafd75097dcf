"""What PyVRP is handed: only the places used, and a range it can bound in seconds."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from backend.dispatch import pyvrp_engine as E
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.portfolio import plan_cost
from backend.dispatch.used_places import used_places

pyvrp = pytest.importorskip("pyvrp", reason="PyVRP is not installed")

# six places: the hub (0), doors at 2, 3 and 5; nothing uses 1 or 4
_T = np.array(
    [
        [0, 30, 60, 80, 50, 100],
        [30, 0, 40, 60, 20, 90],
        [60, 40, 0, 50, 30, 90],
        [80, 60, 50, 0, 45, 40],
        [50, 20, 30, 45, 0, 70],
        [100, 90, 90, 40, 70, 0],
    ],
    dtype=np.int64,
)


def _bike(**kw) -> Vehicle:
    base = dict(id="v", start_location=0, end_location=0, shift=Window(0, 10_000), payload_kg=50, volume_l=100)
    return Vehicle(**{**base, **kw})


def _day(**bike) -> Problem:
    stops = tuple(Stop(id=f"s{k}", kind="delivery", location=k, weight_kg=1) for k in (2, 3, 5))
    return Problem(time_s=_T, dist_m=_T * 5, vehicles=(_bike(**bike),), stops=stops)


def test_the_problem_is_cut_to_the_places_its_stops_and_bikes_use():
    problem = _day(reload_location=4, reload_s=60)
    cut, coords = used_places(problem, [(float(k), 0.0) for k in range(6)])
    kept = [0, 2, 3, 4, 5]  # 4: where the bike reloads
    assert np.array_equal(cut.time_s, _T[np.ix_(kept, kept)]) and np.array_equal(cut.dist_m, _T[np.ix_(kept, kept)] * 5)
    assert [s.location for s in cut.stops] == [1, 2, 4]
    assert (cut.vehicles[0].start_location, cut.vehicles[0].reload_location) == (0, 3)
    assert coords == [(float(k), 0.0) for k in kept]
    assert used_places(cut)[0] is cut  # every place used: as it is


def test_a_plan_on_the_cut_places_is_a_plan_of_the_day_timed_the_same():
    problem = _day()
    plan = E.solve_pyvrp(problem, 0.3)
    assert check(problem, plan) == [] and plan.unplanned == ()
    cut, _ = used_places(problem)
    assert plan_cost(problem, plan) == plan_cost(cut, plan)


def test_a_leg_of_a_few_metres_in_no_time_keeps_the_range_in_seconds():
    T = _T.copy()
    D = _T * 5  # 0.2 s a metre
    T[2, 4] = T[4, 2] = 0
    D[2, 4] = D[4, 2] = 2  # two doors 2 m apart, rounded to 0 s
    stops = tuple(Stop(id=f"s{k}", kind="delivery", location=k, weight_kg=1) for k in (2, 3, 4, 5))
    problem = Problem(time_s=T, dist_m=D, vehicles=(_bike(max_distance_m=3_000),), stops=stops)
    assert E.range_bound(T, D) == (0.2, 2.0)
    data, _ = E.to_pyvrp(problem)
    vt = data.vehicle_type(0)
    # travel seconds stay PyVRP's distances (not route durations, waiting included)
    assert (vt.unit_distance_cost, vt.unit_duration_cost) == (1, 0)
    # 3,000 m less 2 m for each of RANGE_LEGS legs, at 0.2 s a metre
    assert vt.max_distance == int((3_000 - E.RANGE_LEGS * 2) * 0.2)
    plan = E.solve_pyvrp(problem, 0.3)
    assert check(problem, plan) == [] and plan.unplanned == ()


def test_a_long_leg_in_no_time_costs_durations_and_keeps_the_range_in_metres():
    T = _T.copy()
    T[2, 3] = T[3, 2] = 0  # 250 m in no time: no bound in seconds holds
    problem = msgspec.structs.replace(_day(max_distance_m=3_000), time_s=T)
    data, _ = E.to_pyvrp(problem)
    vt = data.vehicle_type(0)
    assert (vt.unit_distance_cost, vt.unit_duration_cost, vt.max_distance) == (0, 1, 3_000)
