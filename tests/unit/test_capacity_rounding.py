"""A fractional capacity is rounded down into the solver's units: OR-Tools never plans a load
the independent checker refuses (a 74.6 L parcel on a 74.5667 L bike)."""

from __future__ import annotations

from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.solver import solve
from backend.dispatch.windows import DL_PER_L, scaled, scaled_capacity

T = [[0, 300, 300], [300, 0, 200], [300, 200, 0]]


def test_capacities_round_down_and_loads_as_before() -> None:
    assert scaled_capacity(74.5667, DL_PER_L) == 745 and scaled(74.5667, DL_PER_L) == 746
    assert scaled_capacity(74.6, DL_PER_L) == 746 == scaled(74.6, DL_PER_L)  # whole units stay exact
    assert scaled_capacity(30.0, 1000) == 30_000


def test_a_load_just_over_a_fractional_capacity_is_left_out_not_planned_over() -> None:
    bike = Vehicle(
        id="bike", start_location=0, end_location=0, shift=Window(0, 10_000), payload_kg=100, volume_l=74.5667
    )
    stops = (
        Stop(id="big", kind="delivery", location=1, weight_kg=1, volume_l=74.6, service_s=60),
        Stop(id="small", kind="delivery", location=2, weight_kg=1, volume_l=10, service_s=60),
    )
    problem = Problem(time_s=T, dist_m=T, vehicles=(bike,), stops=stops)
    plan = solve(problem, 1.0)
    assert check(problem, plan) == []
    assert [u.stop_id for u in plan.unplanned] == ["big"]
