"""The city scale bench: generated days on the demo map, one fresh process per size."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from backend.bench import city_bench as C
from backend.cli import main as cli_main
from backend.dispatch.feasibility import check
from backend.dispatch.solver import solve


@pytest.fixture(scope="module")
def day60(geo):
    return C.generate_day(geo, 60, hubs=3, returns_share=0.1, seed=11)


def test_the_same_seed_gives_the_same_day_and_another_seed_another(geo, day60):
    again = C.generate_day(geo, 60, hubs=3, returns_share=0.1, seed=11)
    assert again.problem.stops == day60.problem.stops
    assert again.problem.vehicles == day60.problem.vehicles
    assert again.places == day60.places
    assert np.array_equal(again.problem.time_s, day60.problem.time_s)
    other = C.generate_day(geo, 60, hubs=3, returns_share=0.1, seed=12, with_matrices=False)
    assert other.places != day60.places


def test_a_day_has_pairs_windows_returns_and_several_hubs(day60):
    p = day60.problem
    assert len(p.stops) == 60 and day60.counts["stops"] == 60
    n = len(p.stops) + 3
    assert p.time_s.shape == (n, n) and p.dist_m.dtype == np.int64  # hubs first, one place per stop
    by_id = {s.id: s for s in p.stops}
    baskets = [s for s in p.stops if s.pickups]
    assert baskets, "no shop baskets"
    for d in baskets:
        assert d.kind == "delivery"
        for pid in d.pickups:
            shop = by_id[pid]
            assert shop.kind == "pickup" and shop.windows
            # the goods can be collected before the door's window closes
            assert shop.windows[0].start < d.windows[-1].end
    named = {pid for s in p.stops for pid in s.pickups}
    returns = [s for s in p.stops if s.kind == "pickup" and s.id not in named]
    assert returns and day60.counts["returns"] == len(returns)
    assert all(s.windows for s in p.stops)
    assert len({(w.start, w.end) for s in p.stops for w in s.windows}) >= 4  # mixed windows
    hubs = {v.start_location for v in p.vehicles}
    assert hubs == {0, 1, 2} and all(v.end_location == v.start_location for v in p.vehicles)
    assert len(set(day60.hubs)) == 3
    assert {v.shift.start for v in p.vehicles} == {27000, 48600}  # morning and afternoon shifts


def test_exactly_the_requested_stops_and_no_returns_when_asked(geo):
    d = C.generate_day(geo, 37, hubs=1, returns_share=0.0, seed=3, with_matrices=False)
    assert len(d.problem.stops) == 37 and d.counts["returns"] == 0
    assert {v.start_location for v in d.problem.vehicles} == {0}


def test_a_60_stop_day_solves_and_reports_every_field(geo):
    out = C.run_size(60, [0.3, 0.6], hubs=3, seed=11, returns_share=0.1, geo=geo)
    for field in (
        "stops",
        "build_s",
        "first_feasible_s",
        "feasible",
        "peak_rss_mb",
        "cost_0.3s",
        "cost_0.6s",
        "unplanned_0.3s",
        "unplanned_0.6s",
    ):
        assert out.get(field) is not None, field
    assert out["stops"] == 60 and out["feasible"] is True
    assert out["first_feasible_s"] > 0 and out["peak_rss_mb"] > 0
    assert out["first_feasible_limit_s"] == 0.3  # the first solve saw its first solution
    msgspec.json.encode(out)


def test_the_generated_plan_passes_the_checker(day60):
    plan = solve(day60.problem, 0.5)
    assert check(day60.problem, plan) == []
    assert len(plan.unplanned) < 10


def test_each_size_runs_in_a_fresh_process_with_its_own_peak_memory():
    out = C.run_city_bench([40], [0.3], hubs=2, returns_share=0.05, seed=5)
    assert out["suite"] == "city"
    (row,) = out["sizes"]
    assert "error" not in row, row
    assert row["stops"] == 40 and row["peak_rss_mb"] > 0 and row["feasible"] is True
    assert "cost_0.3s" in row and "unplanned_0.3s" in row
    assert out["summary"]["max_peak_rss_mb"] == row["peak_rss_mb"]
    msgspec.json.encode(out)


@pytest.mark.parametrize("text", ["abc", "1000,x", "0", "-5", ""])
def test_bad_sizes_are_refused(text):
    with pytest.raises(C.BenchError, match="--stops"):
        C.parse_sizes(text)


@pytest.mark.parametrize("text", ["abc", "0", "-1", "10,", "nan"])
def test_bad_time_limits_are_refused(text):
    with pytest.raises(C.BenchError, match="--time-limits"):
        C.parse_time_limits(text)


def test_options_parse():
    assert C.parse_sizes("1000, 2_000") == [1000, 2000]
    assert C.parse_time_limits("10,60") == [10.0, 60.0]
    assert C.limit_key(10.0) == "10s" and C.limit_key(0.5) == "0.5s"
    with pytest.raises(C.BenchError, match="--hubs"):
        C.check_options(0, 0.1)
    with pytest.raises(C.BenchError, match="--returns-share"):
        C.check_options(2, 1.0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--suite", "city", "--stops", "abc"], "--stops"),
        (["--suite", "city", "--time-limits", "1,x"], "--time-limits"),
        (["--suite", "city", "--hubs", "0"], "--hubs"),
        (["--suite", "city", "--returns-share", "1.5"], "--returns-share"),
        (["--suite", "city", "--peer", "pyvrp"], "--peer"),
        (["--suite", "city", "--time-limit", "5"], "--time-limits"),
        (["--suite", "solomon", "--stops", "100"], "--suite city"),
        (["--suite", "city", "--engines", "pyvrp"], "--engines applies to the benchmark suites"),
        (["--suite", "solomon", "--engines", "ortools,cplex"], "unknown engines cplex"),
    ],
)
def test_the_cli_refuses_bad_values_with_a_message(argv, message, capsys, monkeypatch):
    monkeypatch.setenv("LAADBAK_SECRET_KEY", "test-key")  # no key file written by the settings
    assert cli_main(["bench", "plan", *argv]) == 2
    assert message in capsys.readouterr().err


def test_the_cli_refuses_an_unknown_peer(capsys, monkeypatch):
    monkeypatch.setenv("LAADBAK_SECRET_KEY", "test-key")
    with pytest.raises(SystemExit) as exc:
        cli_main(["bench", "plan", "--peer", "foo"])
    assert exc.value.code == 2
    assert "invalid choice: 'foo'" in capsys.readouterr().err


def test_a_first_solution_that_leaves_most_stops_out_is_not_a_first_plan(geo, monkeypatch):
    import backend.dispatch.solver as solver

    real = solver.solve

    def hollow_first(problem, limit, **kw):  # the short solve's first solution left nearly all out
        timings = kw["timings"]
        plan = real(problem, limit, **kw)
        if limit == 0.3:
            timings["first_solution_unperformed"] = len(problem.stops) - 1
        return plan

    monkeypatch.setattr(solver, "solve", hollow_first)
    out = C.run_size(60, [0.3, 0.6], hubs=3, seed=11, returns_share=0.1, geo=geo)
    assert out["first_solution_unperformed_0.3s"] == 59
    assert out["first_feasible_limit_s"] == 0.6  # the hollow one did not count
