"""The planner's portfolio: which engines run, how their plans are scored, who wins."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math

import msgspec
import numpy as np
import pytest

from backend.dispatch import benchmarks as B
from backend.dispatch import portfolio as F
from backend.dispatch import pyvrp_engine as E
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.solver import solve
from tests.unit.tiny_instances import SOLOMON_TEXT

pyvrp = pytest.importorskip("pyvrp", reason="PyVRP is not installed")


def _tiny(tmp_path, objective: str = "distance") -> tuple[B.Instance, Problem]:
    f = tmp_path / "TINY.txt"
    f.write_text(SOLOMON_TEXT)
    inst = B.read_instance(f)
    return inst, B.to_problem(inst, objective)  # type: ignore[arg-type]


def _bike(**kw) -> Vehicle:
    base = dict(id="v", start_location=0, end_location=0, shift=Window(0, 10_000), payload_kg=10, volume_l=100)
    return Vehicle(**{**base, **kw})


_T = np.array([[0, 60, 80, 100], [60, 0, 50, 90], [80, 50, 0, 40], [100, 90, 40, 0]], dtype=np.int64)


def test_engines_for_keeps_what_only_ortools_models(tmp_path, monkeypatch):
    _, problem = _tiny(tmp_path)
    # a cold day PyVRP can express: the second run is PyVRP cold too (another seed)
    assert F.DEFAULT_ENGINES == ("second", "pyvrp") and F.engines_for(problem) == ("pyvrp", "pyvrp")
    assert F.engines_for(problem, ("ortools+pyvrp", "pyvrp")) == ("ortools+pyvrp", "pyvrp")  # as asked
    assert F.engines_for(problem, ("ortools",)) == ("ortools",)
    # a warm start from the routes in force stays with OR-Tools
    assert F.engines_for(problem, warm=True) == ("ortools",)
    # a soft due time is beyond PyVRP: PyVRP on the relaxation (no due time) warm-starting
    # OR-Tools, twice (two seeds) on a small day, beside OR-Tools cold on a big one; without a
    # PyVRP run asked, one OR-Tools run
    due = msgspec.structs.replace(
        problem, stops=(msgspec.structs.replace(problem.stops[0], due_s=300), *problem.stops[1:])
    )
    assert len(due.stops) <= F.RELAXED_ONLY_MAX_STOPS and F.engines_for(due) == ("relaxed", "relaxed")
    monkeypatch.setattr(F, "RELAXED_ONLY_MAX_STOPS", len(due.stops) - 1)
    assert F.engines_for(due) == ("ortools", "relaxed")
    assert F.engines_for(due, ("pyvrp", "pyvrp")) == ("relaxed", "relaxed")
    assert F.engines_for(due, ("ortools", "ortools+pyvrp")) == ("ortools",)
    assert F.engines_for(due, ("second",)) == ("ortools",)  # as "ortools+pyvrp" where PyVRP relaxes
    assert F.engines_for(due, warm=True) == ("ortools",)
    assert F.engines_for(problem, ("relaxed",)) == ("pyvrp",)  # PyVRP can plan it as it is
    with pytest.raises(ValueError, match="unknown engines gurobi"):
        F.engines_for(problem, ("gurobi",))


def test_plan_cost_is_the_objective_ortools_minimises(tmp_path):
    _, problem = _tiny(tmp_path, "vehicles")  # distance plus a fixed cost per bike
    plan = solve(problem, 0.5)
    assert plan.cost > B.VEHICLE_FIXED_COST and F.plan_cost(problem, plan) == plan.cost
    # riding seconds at the bike's speed, and a fixed cost
    by_time = Problem(
        time_s=_T,
        dist_m=_T * 3,
        vehicles=(_bike(speed_factor=0.8, fixed_cost=500),),
        stops=tuple(Stop(id=f"s{k}", kind="delivery", location=k) for k in (1, 2, 3)),
        cost="time",
    )
    plan = solve(by_time, 0.3)
    assert len(plan.routes) == 1 and F.plan_cost(by_time, plan) == plan.cost
    # half a second rounds up, as everywhere the bike speed divides a time
    assert plan.cost == 500 + sum(math.floor(t / 0.8 + 0.5) for t in (60, 50, 40, 100))


def test_the_checked_plan_with_fewest_stops_left_out_wins_then_the_cheaper(tmp_path):
    _, problem = _tiny(tmp_path)
    ids = [s.id for s in problem.stops]
    seq = {s.id: k for k, s in enumerate(problem.stops)}
    good = E.plan_from_sequences(problem, {"v1": [seq["1"], seq["2"]], "v2": [seq["3"]]})
    # customer 1 closes at 1000 (scaled): after 2 (opens 500) it is late, which is cheaper
    late = E.plan_from_sequences(problem, {"v1": [seq["3"], seq["2"], seq["1"]]})
    short = E.plan_from_sequences(problem, {"v1": [seq["1"], seq["3"]]})
    assert ids == ["1", "2", "3"] and check(problem, good) == [] and check(problem, late)
    assert F.plan_cost(problem, late) < F.plan_cost(problem, good)
    assert F.plan_cost(problem, short) < F.plan_cost(problem, good) and len(short.unplanned) == 1
    plans = [msgspec.structs.replace(p, engine=e) for p, e in ((late, "a"), (short, "b"), (good, "c"))]
    best, scored = F.choose(problem, plans)
    assert best.engine == "c"
    assert [(s["engine"], s["violations"] > 0, s["unplanned"]) for s in scored] == [
        ("a", True, 0),
        ("b", False, 1),
        ("c", False, 0),
    ]
    # between two clean plans the cheaper wins, and on a tie the earlier run
    cheaper = msgspec.structs.replace(good, engine="d")
    assert F.choose(problem, [plans[2], cheaper])[0].engine == "c"


def test_solve_best_runs_every_engine_and_returns_a_checked_plan(tmp_path):
    inst, problem = _tiny(tmp_path)
    report: list[dict] = []
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        plan = F.solve_best(problem, 0.6, executor=pool, engines=("ortools+pyvrp", "pyvrp"), report=report)
    assert [r["engine"] for r in report] == ["ortools", "ortools+pyvrp", "pyvrp"]
    assert plan.engine in {r["engine"] for r in report}
    assert check(problem, plan) == [] and plan.unplanned == ()
    winner = min(report, key=lambda r: (r["violations"] > 0, r["unplanned"], r["cost"]))
    assert F.plan_cost(problem, plan) == winner["cost"]
    assert B.exact_distance(inst, plan) == pytest.approx(30.0)  # 0-1-2-0 and 0-3-0, or better


def test_the_default_runs_on_a_day_pyvrp_expresses_are_two_pyvrp_searches_with_seeds_of_their_own(
    tmp_path, monkeypatch
):
    _, problem = _tiny(tmp_path)
    asked: list[tuple[str, int]] = []

    def run(engine, problem, time_limit_s, seed=1, *args):  # type: ignore[no-untyped-def]
        asked.append((engine, seed))
        return [solve(problem, 0.2)]

    monkeypatch.setattr(F, "run_engine", run)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        F.solve_best(problem, 1.0, executor=pool, seed=5)
    assert sorted(asked) == [("pyvrp", 5), ("pyvrp", 6)]


def test_a_second_run_asked_alone_is_resolved_by_the_day(tmp_path):
    _, problem = _tiny(tmp_path)
    (plan,) = F.run_engine("second", problem, 0.3, seed=3)
    assert plan.engine == "pyvrp" and check(problem, plan) == []
    first = solve(problem, 0.2)
    routes = {r.vehicle_id: [ps.stop_id for ps in r.stops] for r in first.routes}
    (warm,) = F.run_engine("second", problem, 0.3, ortools_kwargs={"initial_routes": routes})
    assert warm.engine.startswith("ortools")  # a warm start stays with OR-Tools


def test_runs_that_take_turns_on_too_few_workers_share_the_limit(tmp_path, monkeypatch):
    # two runs on one solver worker ran one after the other, each for the whole limit
    _, problem = _tiny(tmp_path)
    limits: list[float] = []

    def run(engine, problem, time_limit_s, *args):  # type: ignore[no-untyped-def]
        limits.append(time_limit_s)
        return [solve(problem, 0.2)]

    monkeypatch.setattr(F, "run_engine", run)
    assert len(F.engines_for(problem)) == 2
    with concurrent.futures.ThreadPoolExecutor(1) as one:
        asyncio.run(F.solve_best_async(problem, 6.0, executor=one))
        F.solve_best(problem, 6.0, executor=one)
    with concurrent.futures.ThreadPoolExecutor(2) as two:
        F.solve_best(problem, 6.0, executor=two)
        asyncio.run(F.solve_best_async(problem, 6.0, executor=two))
    assert limits == [3.0] * 4 + [6.0] * 4
    assert F.run_limit(concurrent.futures.ThreadPoolExecutor(2), 5, 6.0) == 2.0  # three turns


def test_solve_best_async_in_the_pool_and_both_engines_for_locks(tmp_path):
    _, problem = _tiny(tmp_path)
    locked = msgspec.structs.replace(
        problem,
        stops=(msgspec.structs.replace(problem.stops[0], vehicles=("v2",)), *problem.stops[1:]),
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        free = asyncio.run(F.solve_best_async(problem, 0.5, executor=pool))
        kept = asyncio.run(F.solve_best_async(locked, 0.5, executor=pool))
    assert free.engine in ("ortools", "ortools+pyvrp", "pyvrp") and check(problem, free) == []
    # a lock is a routing profile in PyVRP: both engines plan the day, and the lock holds
    assert F.engines_for(locked) == ("pyvrp", "pyvrp")
    assert check(locked, kept) == []
    on = {ps.stop_id: r.vehicle_id for r in kept.routes for ps in r.stops}
    assert on["1"] == "v2"


def test_pyvrp_engine_gives_the_reasons_and_leaves_out_only_what_does_not_fit():
    stops = (
        Stop(id="heavy", kind="delivery", location=1, weight_kg=25),  # too heavy for any bike
        Stop(id="p", kind="pickup", location=2, weight_kg=30),  # so is this shop's parcel...
        Stop(id="d", kind="delivery", location=3, pickups=("p",)),  # ...for this delivery
        *(Stop(id=f"s{k}", kind="delivery", location=k, weight_kg=4) for k in (1, 2, 3)),
    )
    problem = Problem(time_s=_T, dist_m=_T, vehicles=(_bike(),), stops=stops)
    plan = E.solve_pyvrp(problem, 0.3)
    reasons = {u.stop_id: u.reason for u in plan.unplanned}
    assert reasons.pop("heavy") == "too_heavy"
    assert reasons.pop("p") == "too_heavy" and reasons.pop("d") in ("too_heavy", "pickup_unplanned")
    # 3 parcels of 4 kg, 10 kg on the bike: one waits, with the reason OR-Tools gives
    assert list(reasons.values()) == ["no_capacity"]
    assert plan.engine == "pyvrp" and check(problem, plan) == []
    assert sum(len(r.stops) for r in plan.routes) == 2


def test_what_pyvrp_plans_leaves_a_pair_out_whole_on_the_places_used():
    stops = (
        Stop(id="p", kind="pickup", location=1, weight_kg=30),  # too heavy: its delivery goes too
        Stop(id="d", kind="delivery", location=3, pickups=("p",)),
        Stop(id="q", kind="pickup", location=2),
        # after every shift: its pickup goes
        Stop(id="e", kind="delivery", location=3, pickups=("q",), windows=(Window(20_000, 21_000),)),
        Stop(id="s", kind="delivery", location=2, weight_kg=4),
    )
    pre, sub, coords = E.plannable(Problem(time_s=_T, dist_m=_T, vehicles=(_bike(),), stops=stops))
    reasons = {u.stop_id: u.reason for u in pre}
    assert set(reasons) == {"p", "d", "q", "e"}  # each once
    assert (reasons["p"], reasons["d"]) == ("too_heavy", "pickup_unplanned")
    assert len(pre) == 4
    assert [s.id for s in sub.stops] == ["s"] and coords is None
    assert len(sub.time_s) == 2 and sub.time_s[0][1] == _T[0][2]  # the hub and the one place used


def test_time_objective_and_warm_start_reach_pyvrp(tmp_path):
    by_time = Problem(
        time_s=_T,
        dist_m=_T * 3,
        vehicles=(_bike(),),
        stops=(Stop(id="a", kind="delivery", location=2),),
        cost="time",
    )
    data, _ = E.to_pyvrp(by_time)
    vt = data.vehicle_type(0)
    # travel seconds are PyVRP's distances: waiting for a window costs nothing, as in plan_cost
    assert (vt.unit_distance_cost, vt.unit_duration_cost) == (1, 0)
    assert np.array_equal(data.distance_matrix(0), np.asarray(_T))
    ranged = msgspec.structs.replace(by_time, vehicles=(_bike(max_distance_m=3_000),))
    data, _ = E.to_pyvrp(ranged)
    assert data.vehicle_type(0).max_distance == 1_000  # 3,000 m at 1/3 s a metre: no route within it rides more
    _, problem = _tiny(tmp_path)
    first = solve(problem, 0.3)
    data, mapping = E.to_pyvrp(problem, optional=True)
    warm = E.initial_solution(data, mapping, problem, first)
    assert warm.distance() == F.plan_cost(problem, first)
    assert sorted(r.num_clients() for r in warm.routes()) == sorted(len(r.stops) for r in first.routes)
    assert warm.is_feasible()
    assert E.solve_pyvrp(problem, 0.2, warm=first).engine == "ortools+pyvrp"


def test_pyvrp_keeps_the_battery_range_and_a_pair_on_one_bike():
    # one bike could carry everything, but its range is one round trip to a far door
    far = Problem(
        time_s=_T,
        dist_m=_T * 10,  # hub to 3 and back: 2,000 m
        vehicles=(_bike(id="a", max_distance_m=2_000), _bike(id="b", max_distance_m=2_000)),
        stops=(
            Stop(id="x", kind="delivery", location=3),
            Stop(id="p", kind="pickup", location=1),
            Stop(id="d", kind="delivery", location=2, pickups=("p",)),
        ),
    )
    plan = E.solve_pyvrp(far, 0.3)
    assert check(far, plan) == [] and plan.unplanned == ()
    on = {ps.stop_id: (r.vehicle_id, k) for r in plan.routes for k, ps in enumerate(r.stops)}
    assert on["x"][0] != on["d"][0]  # x and the pair together would ride 2,500 m
    assert on["p"][0] == on["d"][0] and on["p"][1] < on["d"][1]
    assert all(r.distance_m <= 2_000 for r in plan.routes)


def test_several_windows_are_a_client_group_in_pyvrp_and_it_serves_one():
    # b's morning window closes before any bike can be there (80 s from the hub): only its
    # second window can serve it, which one window per visit (its first) would have lost
    problem = Problem(
        time_s=_T,
        dist_m=_T * 3,
        vehicles=(_bike(),),
        stops=(
            Stop(id="a", kind="delivery", location=1, windows=(Window(0, 5_000),)),
            Stop(id="b", kind="delivery", location=2, windows=(Window(0, 50), Window(3_000, 4_000))),
        ),
        cost="time",
    )
    assert E.unsupported(problem) is None and F.engines_for(problem) == ("pyvrp", "pyvrp")
    assert F.one_window(problem) is problem  # a lone visit keeps its windows
    data, mapping = E.to_pyvrp(problem)
    assert data.num_groups == 1 and list(data.group(0)) == [1, 2] and data.group(0).required
    assert [(data.client(c).tw_early, data.client(c).tw_late) for c in (1, 2)] == [(0, 50), (3_000, 4_000)]
    assert [problem.stops[k].id for k in mapping.clients] == ["a", "b", "b"]
    for plan in [E.solve_pyvrp(problem, 0.3), *F.run_engine("ortools+pyvrp", problem, 0.5)]:
        assert check(problem, plan) == [] and not plan.unplanned
        start = next(ps.start_s for r in plan.routes for ps in r.stops if ps.stop_id == "b")
        assert 3_000 <= start <= 4_000


def test_a_shop_pair_stop_of_several_windows_goes_to_pyvrp_with_one():
    problem = Problem(
        time_s=_T,
        dist_m=_T * 3,
        vehicles=(_bike(),),
        stops=(
            Stop(id="p", kind="pickup", location=1, windows=(Window(0, 100), Window(3_000, 4_000))),
            Stop(id="d", kind="delivery", location=2, pickups=("p",)),
        ),
        cost="time",
    )
    assert E.unsupported(problem) is not None and F.pyvrp_can_plan(problem)
    assert F.one_window(problem).stops[0].windows == (Window(0, 100),)
    first = solve(problem, 0.3)
    served = next(ps.start_s for r in first.routes for ps in r.stops if ps.stop_id == "p")
    kept = F.one_window(problem, first).stops[0].windows
    assert len(kept) == 1 and kept[0].contains(served)
    for plan in F.run_engine("ortools+pyvrp", problem, 0.5) + F.run_engine("pyvrp", problem, 0.3):
        assert check(problem, plan) == [] and not plan.unplanned
