"""PyVRP's search with every visit required first, optional only when that finds no plan."""

from __future__ import annotations

import time

import msgspec
import numpy as np
import pytest

from backend.dispatch import pyvrp_engine as E
from backend.dispatch import pyvrp_search as P
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window

pytest.importorskip("pyvrp", reason="PyVRP is not installed")

_T = np.array([[0, 60, 80, 100], [60, 0, 50, 90], [80, 50, 0, 40], [100, 90, 40, 0]], dtype=np.int64)


def _day(kg: float) -> Problem:
    """Three parcels of ``kg`` on one 10 kg bike."""
    bike = Vehicle(id="v", start_location=0, end_location=0, shift=Window(0, 10_000), payload_kg=10, volume_l=100)
    stops = tuple(Stop(id=f"s{k}", kind="delivery", location=k, weight_kg=kg) for k in (1, 2, 3))
    return Problem(time_s=_T, dist_m=_T, vehicles=(bike,), stops=stops, cost="time")


def test_the_stop_gives_up_only_on_an_infeasible_best_past_its_share():
    now = time.perf_counter()
    infeasible = P._INFEASIBLE
    assert not P.RequiredFirstStop(now + 100, now + 50)(infeasible)  # before giving up
    late = P.RequiredFirstStop(now + 100, now - 1)
    assert not late(1234) and not late.gave_up  # a plan of every visit: on to the deadline
    assert late(infeasible) and late.gave_up
    done = P.RequiredFirstStop(now - 1, now - 2)
    assert done(1234) and not done.gave_up  # the deadline, whatever the best


def test_every_visit_required_when_they_fit_and_optional_when_they_do_not():
    stats: dict[str, float] = {}
    fits = _day(3)  # 9 kg
    plan = E.solve_pyvrp(fits, 0.3, timings=stats)
    assert stats["required"] == 1.0 and plan.unplanned == () and check(fits, plan) == []
    built: list[bool] = []

    def build(optional: bool):  # noqa: ANN202
        built.append(optional)
        return E.to_pyvrp(fits, optional=optional)

    best, _ = P.search_required_first(build, time.perf_counter() + 0.2, seed=1)
    assert best.is_feasible() and built == [False]  # the optional data was never needed
    stats = {}
    full = _day(4)  # 12 kg: one parcel waits
    plan = E.solve_pyvrp(full, 0.3, timings=stats)
    assert stats["required"] == 0.0 and [u.reason for u in plan.unplanned] == ["no_capacity"]
    assert check(full, plan) == [] and sum(len(r.stops) for r in plan.routes) == 2


def test_a_short_run_keeps_a_short_late_acceptance_history():
    lo, hi = P.HISTORY_BOUNDS
    assert P.solve_params(0.5).ils.history_length == lo
    assert P.solve_params(10).ils.history_length == round(10 * P.HISTORY_PER_S) < 300  # PyVRP's default
    assert P.solve_params(3600).ils.history_length == hi


def test_the_first_solution_serves_every_visit_from_an_empty_start():
    from pyvrp.stop import MaxIterations

    # one stop of two windows: PyVRP's client group, of which one client must be served
    bike = Vehicle(id="v", start_location=0, end_location=0, shift=Window(0, 10_000), payload_kg=50, volume_l=100)
    stops = (
        Stop(id="s1", kind="delivery", location=1, weight_kg=1),
        Stop(id="s2", kind="delivery", location=2, weight_kg=1, windows=(Window(0, 30), Window(500, 900))),
        Stop(id="s3", kind="delivery", location=3, weight_kg=1),
    )
    day = Problem(time_s=_T, dist_m=_T, vehicles=(bike,), stops=stops, cost="time")
    data, mapping = E.to_pyvrp(day)
    first = P.search(data, MaxIterations(0), P.solve_params(1.0), seed=1).best  # the start, before any iteration
    assert first.is_feasible() and first.is_complete()
    plan = E.plan_from_sequences(day, E.sequences_from_solution(first, mapping))
    assert sorted(ps.stop_id for r in plan.routes for ps in r.stops) == ["s1", "s2", "s3"]
    assert check(day, plan) == []


def test_the_paced_history_is_a_share_of_the_iterations_to_come_within_bounds():
    lo, hi = P.HISTORY_BOUNDS
    assert P.pace_history(500, 0.5, 5.0) == round(P.PACE_HISTORY_SHARE * 5000) == 200
    assert P.pace_history(3, 1.0, 1.0) == lo
    assert P.pace_history(100_000, 1.0, 60.0) == hi
    assert P.pace_history(10, 0.0, 1.0) == hi  # no time seen: a fast pace, not a division by zero


def _reloading(kg: float) -> Problem:
    day = _day(kg)
    bike = msgspec.structs.replace(day.vehicles[0], reload_s=300)
    return msgspec.structs.replace(day, vehicles=(bike,))


def test_only_a_day_of_single_visits_without_likely_loops_is_paced(monkeypatch: pytest.MonkeyPatch):
    from backend.dispatch.reloads import to_pyvrp_reloads

    assert P.sized_by_pace(E.to_pyvrp(_day(3))[0])
    assert not P.sized_by_pace(E.to_pyvrp(_day(3))[0], lock_dims=1)  # locks kept as load dimensions
    assert not P.sized_by_pace(E.to_pyvrp(_two_windows())[0])  # a stop's windows: a client group
    assert not P.sized_by_pace(E.to_pyvrp(_shop_to_door())[0])  # a pickup and its delivery: a shipment
    # a bike that may reload: paced while its goods fill at most PACE_MAX_FILL of its box
    assert P.sized_by_pace(to_pyvrp_reloads(_reloading(2))[0])  # 6 kg of 10
    assert not P.sized_by_pace(to_pyvrp_reloads(_reloading(3))[0])  # 9 kg of 10: loops likely
    monkeypatch.setattr(P, "PACE_MAX_CLIENTS", 2)
    assert not P.sized_by_pace(E.to_pyvrp(_day(3))[0])  # three visits: past the bound


def _shop_to_door() -> Problem:
    day = _day(1)
    shop = Stop(id="shop", kind="pickup", location=1, weight_kg=1)
    door = msgspec.structs.replace(day.stops[2], pickups=("shop",), weight_kg=0)  # the shop's goods only
    return msgspec.structs.replace(day, stops=(shop, day.stops[1], door))


def _two_windows() -> Problem:
    day = _day(1)
    s2 = msgspec.structs.replace(day.stops[1], windows=(Window(0, 30), Window(500, 900)))
    return msgspec.structs.replace(day, stops=(day.stops[0], s2, day.stops[2]))


class _Runs:
    """pyvrp.IteratedLocalSearch, recording each run's history length and start."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import pyvrp

        self.histories: list[int] = []
        self.starts: list[object] = []
        real = pyvrp.IteratedLocalSearch
        runs = self

        def make(data, penalties, ls, initial, params):  # noqa: ANN001, ANN202
            runs.histories.append(params.history_length)
            runs.starts.append(initial)
            return real(data, penalties, ls, initial, params)

        monkeypatch.setattr(pyvrp, "IteratedLocalSearch", make)


def test_a_paced_search_probes_then_starts_again_with_the_history_its_pace_gives(monkeypatch: pytest.MonkeyPatch):
    from pyvrp.stop import MaxRuntime

    runs = _Runs(monkeypatch)
    monkeypatch.setattr(P, "pace_history", lambda iterations, seconds, left_s: 77)
    data, _ = E.to_pyvrp(_day(3))
    params = P.solve_params(0.3)
    result = P.search(data, MaxRuntime(0.3), params, seed=1, deadline=time.perf_counter() + 0.3)
    assert runs.histories == [params.ils.history_length, 77]
    assert runs.starts[0] is runs.starts[1]  # the search proper from the probe's start, not its best
    assert result.best.is_feasible() and result.num_iterations > 0
    # the pace never shortens the rule's history
    monkeypatch.setattr(P, "pace_history", lambda iterations, seconds, left_s: 1)
    runs.histories.clear()
    P.search(data, MaxRuntime(0.3), P.solve_params(10), seed=1, deadline=time.perf_counter() + 0.3)
    assert runs.histories == [50, 50]


def test_a_search_that_is_not_paced_or_stops_in_its_probe_runs_once(monkeypatch: pytest.MonkeyPatch):
    from pyvrp.stop import MaxIterations, MaxRuntime

    runs = _Runs(monkeypatch)
    params = P.solve_params(0.2)
    P.search(E.to_pyvrp(_two_windows())[0], MaxRuntime(0.2), params, seed=1, deadline=time.perf_counter() + 0.2)
    P.search(E.to_pyvrp(_day(3))[0], MaxRuntime(0.2), params, seed=1)  # no deadline: nothing to pace by
    assert len(runs.histories) == 2
    runs.histories.clear()
    result = P.search(E.to_pyvrp(_day(3))[0], MaxIterations(3), params, seed=1, deadline=time.perf_counter() + 60)
    assert len(runs.histories) == 1 and result.num_iterations == 3  # the caller's stop came first
