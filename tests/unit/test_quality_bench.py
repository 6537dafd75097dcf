"""The real-day quality bench: feature mixes of a day, the product's plan against the best found
with more time, every plan through the checker."""

from __future__ import annotations

import msgspec
import pytest

from backend.bench import city_bench as C
from backend.bench import quality_bench as Q
from backend.cli import main as cli_main
from backend.dispatch.feasibility import check
from backend.dispatch.pool import new_pool
from backend.dispatch.solver import solve


@pytest.fixture(scope="module")
def day(geo):
    return C.generate_day(geo, 60, hubs=2, returns_share=0.1, seed=11).problem


@pytest.fixture(scope="module")
def pool():
    with new_pool(2) as p:
        yield p


def test_each_mix_has_its_feature(day):
    mixes = Q.feature_mixes(day, Q.MIXES)
    plain = mixes["plain"]
    assert isinstance(plain, type(day)) and plain.stops
    assert all(s.kind == "delivery" and not s.pickups and len(s.windows) <= 1 for s in plain.stops)
    baskets = mixes["baskets"]
    assert not isinstance(baskets, str)
    ids = {s.id for s in baskets.stops}
    assert any(s.pickups for s in baskets.stops) and all(p in ids for s in baskets.stops for p in s.pickups)
    windows = mixes["windows"]
    assert not isinstance(windows, str) and any(len(s.windows) == 2 for s in windows.stops)
    for s in windows.stops:  # two windows in order, apart
        assert all(a.end < b.start for a, b in zip(s.windows, s.windows[1:], strict=False))
    locks = mixes["locks"]
    assert not isinstance(locks, str) and any(s.vehicles for s in locks.stops) and locks.sequences
    multi = mixes["multi_trip"]
    assert not isinstance(multi, str) and all(v.reload_s for v in multi.vehicles)
    # the day's goods need about three loops a bike
    assert sum(s.volume_l for s in multi.stops) > 2 * sum(v.volume_l for v in multi.vehicles)
    assert Q.parse_mixes("plain,multitrip") == ("plain", "multi_trip")
    assert mixes["day"] is day
    assert Q.feature_mixes(day, ("plain",), seed=3)["plain"] == plain  # the same day, the same mix


def test_the_report_has_its_fields_and_the_reference_is_never_worse(day, pool):
    out = Q.run_quality(day, 0.3, factor=2, mixes=("plain", "locks", "multi_trip"), pool=pool)
    assert out["multi_trip"]["reloads"] > 0  # the day needs loops, and the product's plan rides them
    for name in ("plain", "locks", "multi_trip"):
        row = out[name]
        for key in ("cost", "unplanned", "violations", "reference_cost", "reference_engine", "ratio_to_reference"):
            assert key in row, (name, key)
        assert row["violations"] == 0 and row["reference_violations"] == 0 and row["feasible"] is True
        assert row["reference_limit_s"] == 0.6 and [r["role"] for r in row["runs"]][0] == "product"
        # the reference runs every kind of run the product makes, with more time
        product_kinds = {"pyvrp"} if name != "locks" else {"relaxed"}
        assert product_kinds <= set(row["reference_engines"]) and "ortools" in row["reference_engines"]
        assert all(r["violations"] == 0 for r in row["runs"])
        # the reference is the best of every run, the product's own included
        assert (row["reference_unplanned"], row["reference_cost"]) <= (row["unplanned"], row["cost"])
        assert min((r["unplanned"], r["cost"]) for r in row["runs"]) == (
            row["reference_unplanned"],
            row["reference_cost"],
        )
        if row["ratio_to_reference"] is not None:
            assert row["ratio_to_reference"] >= 1.0
            assert row["meets_target"] == (row["ratio_to_reference"] <= Q.TARGET_RATIO)
    summary = Q.summarize([out])
    assert set(summary["mixes"]) == {"plain", "locks", "multi_trip"}
    assert summary["mixes"]["multi_trip"].get("available", True) is not False
    msgspec.json.encode(out)


def _late(plan):
    """``plan`` with its first stop served after every window it has: a broken rule."""
    route = next(r for r in plan.routes if r.stops)
    first = route.stops[0]
    moved = msgspec.structs.replace(first, start_s=86_000, departure_s=86_100)
    bad = msgspec.structs.replace(route, stops=(moved, *route.stops[1:]))
    return msgspec.structs.replace(plan, routes=tuple(bad if r is route else r for r in plan.routes))


def test_a_plan_that_breaks_a_rule_is_reported_and_never_the_reference(day):
    problem = Q.feature_mixes(day, ("plain",))["plain"]
    good = solve(problem, 0.3)
    assert check(problem, good) == []
    broken = _late(good)
    assert check(problem, broken)
    ours_broken = Q.judge(problem, broken, [good])
    assert ours_broken["violations"] > 0 and ours_broken["violation_rules"]
    assert ours_broken["reference_is_product"] is False and ours_broken["reference_violations"] == 0
    assert ours_broken["ratio_to_reference"] is None and ours_broken["meets_target"] is False
    assert ours_broken["feasible"] is False
    reference_broken = Q.judge(problem, good, [broken])
    assert reference_broken["runs"][1]["violations"] > 0
    assert reference_broken["reference_is_product"] is True and reference_broken["ratio_to_reference"] == 1.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--suite", "city", "--mixes", "plain,vans"], "--mixes"),
        (["--suite", "demo", "--reference-factor", "0.5"], "--reference-factor"),
        (["--suite", "solomon", "--mixes", "plain"], "--suite city and --suite demo"),
    ],
)
def test_the_cli_refuses_bad_quality_options(argv, message, capsys, monkeypatch):
    monkeypatch.setenv("LAADBAK_SECRET_KEY", "test-key")
    assert cli_main(["bench", "plan", *argv]) == 2
    assert message in capsys.readouterr().err
