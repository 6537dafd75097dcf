"""Benchmark readers (Solomon, Li & Lim, bks.csv) and a short solve of a real instance."""

from __future__ import annotations

import math

import msgspec
import pytest

from backend.bench.plan_bench import _gap, _same_vehicles_share, bench_dir, run_plan_bench
from backend.dispatch import benchmarks as B
from backend.dispatch.feasibility import check
from backend.dispatch.solver import solve
from tests.unit.tiny_instances import SOLOMON_TEXT

SOLOMON = bench_dir("solomon")
LILIM = bench_dir("lilim100")
needs_data = pytest.mark.skipif(
    not (SOLOMON / "C101.txt").is_file() or not (LILIM / "lc101.txt").is_file(),
    reason="shared/bench data not found (set LAADBAK_BENCH_DIR)",
)


LILIM_TEXT = "\n".join(
    "\t".join(row.split())
    for row in (
        "2 50 1",
        "0 0 0 0 0 1000 0 0 0",
        "1 3 4 10 0 100 10 0 2",  # pickup, its delivery is node 2
        "2 6 8 -10 0 300 10 1 0",  # delivery, its pickup is node 1
    )
)


def test_parse_tiny_solomon(tmp_path):
    f = tmp_path / "TINY.txt"
    f.write_text(SOLOMON_TEXT)
    inst = B.read_instance(f)
    assert inst.kind == "solomon" and inst.name == "TINY"
    assert (inst.vehicles, inst.capacity, len(inst.customers)) == (2, 50, 3)
    p = B.to_problem(inst)
    assert B.SCALE == 1000
    assert p.dist_m[0][1] == 5000 and p.time_s[0][1] == 5000  # 5.0 scaled by 1000
    assert p.dist_m[1][3] == int(math.dist((3, 4), (0, 5)) * 1000) == 3162  # truncated
    assert p.time_s[1][3] == 3163  # rounded up: never optimistic
    assert B.to_problem(inst, time_rounding="trunc").time_s[1][3] == 3162
    s2 = p.stops[1]
    assert (s2.windows[0].start, s2.windows[0].end, s2.service_s, s2.weight_kg) == (
        50_000,
        200_000,
        10_000,
        20,
    )
    assert all(s.kind == "delivery" and not s.pickups for s in p.stops)
    assert p.vehicles[0].shift.end == 1_000_000 and p.vehicles[0].fixed_cost == 0
    assert B.to_problem(inst, "vehicles").vehicles[0].fixed_cost == B.VEHICLE_FIXED_COST


def test_parse_tiny_lilim_and_solve(tmp_path):
    f = tmp_path / "tiny.txt"
    f.write_text(LILIM_TEXT)
    inst = B.read_instance(f)
    assert inst.kind == "lilim"
    p = B.to_problem(inst)
    assert [s.kind for s in p.stops] == ["pickup", "delivery"]
    # the delivery hands over what its pickup collected; nothing of its own leaves the hub
    assert p.stops[1].pickups == ("1",) and p.stops[1].weight_kg == 0
    plan = solve(p, 0.3)
    assert check(p, plan) == [] and plan.unplanned == ()
    assert [s.stop_id for s in plan.routes[0].stops] == ["1", "2"]
    assert B.exact_distance(inst, plan) == pytest.approx(5 + 5 + 10)


def test_bks_reader(tmp_path):
    f = tmp_path / "bks.csv"
    f.write_text("instance,vehicles,distance,distance_only_vehicles,distance_only\nR101,19,1650.80,20,1642.88\n")
    bk = B.read_bks(f)["R101"]
    assert (bk.vehicles, bk.distance, bk.distance_only_vehicles, bk.distance_only) == (
        19,
        1650.80,
        20,
        1642.88,
    )


@needs_data
def test_solomon_c101_has_100_customers_and_25_vehicles():
    inst = B.read_solomon(SOLOMON / "C101.txt")
    assert inst.name == "C101"
    assert len(inst.customers) == 100 and inst.vehicles == 25 and inst.capacity == 200
    p = B.to_problem(inst)
    assert len(p.stops) == 100 and len(p.vehicles) == 25 and len(p.time_s) == 101
    assert B.read_bks(SOLOMON / "bks.csv")["C101"].distance_only == pytest.approx(828.94)


@needs_data
def test_lilim_lc101_pairs():
    inst = B.read_lilim(LILIM / "lc101.txt")
    p = B.to_problem(inst)
    pickups = [s for s in p.stops if s.kind == "pickup"]
    deliveries = [s for s in p.stops if s.kind == "delivery"]
    assert len(pickups) == len(deliveries) and len(p.stops) == len(inst.customers)
    assert all(len(d.pickups) == 1 for d in deliveries)
    assert {d.pickups[0] for d in deliveries} == {s.id for s in pickups}
    assert "LC101" in B.read_bks(LILIM / "bks.csv")


@needs_data
def test_short_solve_of_c101_is_feasible_and_close():
    inst = B.read_solomon(SOLOMON / "C101.txt")
    p = B.to_problem(inst)
    plan = solve(p, 2.0)
    assert plan.unplanned == () and check(p, plan) == []
    assert B.exact_time_violations(inst, plan) == 0
    bks = B.read_bks(SOLOMON / "bks.csv")["C101"].distance_only
    assert B.exact_distance(inst, plan) <= bks * 1.05


@needs_data
def test_short_solve_of_25_customers_of_r101():
    inst = B.read_solomon(SOLOMON / "R101.txt")
    small = B.Instance(inst.name, inst.kind, inst.vehicles, inst.capacity, inst.nodes[:26])
    p = B.to_problem(small)
    plan = solve(p, 1.0)
    assert plan.unplanned == () and check(p, plan) == []
    # best known for R101 with 25 customers: 617.1 (Solomon's 25-customer set)
    assert B.exact_distance(small, plan) <= 617.1 * 1.05


@needs_data
def test_run_plan_bench_returns_one_json_dict():
    out = run_plan_bench("solomon", ["C101"], None, None, 1.0)
    (row,) = out["instances"]
    assert set(row) >= {
        "instance",
        "vehicles",
        "distance",
        "bks_distance",
        "gap_pct",
        "seconds",
        "feasible",
        "violations",
    }
    assert row["feasible"] is True and row["violations"] == 0
    assert row["bks_distance"] == pytest.approx(828.94)
    s = out["summary"]
    assert s["instances"] == 1 and s["suite"] == "solomon" and s["objective"] == "distance"
    assert s["mean_gap_pct"] == row["gap_pct"] and s["time_limit_s"] == 1.0
    assert s["same_vehicles_share"] == (1.0 if row["vehicles"] == row["bks_vehicles"] else 0.0)
    assert "peer" not in s and "ratio_vs_peer" not in row  # no peer asked for
    msgspec.json.encode(out)  # JSON-able


def test_same_vehicles_share_counts_equal_bike_counts_only():
    rows = [
        {"vehicles": 10, "bks_vehicles": 10},
        {"vehicles": 11, "bks_vehicles": 10},
        {"vehicles": 9, "bks_vehicles": 10},  # fewer is not the same
        {"vehicles": 3, "bks_vehicles": None},  # no best-known value: not counted
    ]
    assert _same_vehicles_share(rows, "vehicles") == round(1 / 3, 3)
    assert _same_vehicles_share([{"vehicles": 1, "bks_vehicles": None}], "vehicles") is None
    assert _gap(101.0, 100.0) == 1.0 and _gap(100.0, 100.0) == 0.0 and _gap(5.0, None) is None


@needs_data
def test_short_solve_of_lilim_lc101_is_feasible_and_close():
    inst = B.read_lilim(LILIM / "lc101.txt")
    p = B.to_problem(inst)
    plan = solve(p, 2.0)
    assert plan.unplanned == () and check(p, plan) == []
    bks = B.read_bks(LILIM / "bks.csv")["LC101"].distance
    assert B.exact_distance(inst, plan) <= bks * 1.05


def test_the_ratio_to_the_peer_compares_by_the_objective():
    from backend.bench.plan_bench import _peer_summary, ratio_fields

    ours = {"feasible": True, "distance": 1016.0, "vehicles": 9}
    # distances alone: always comparable
    assert ratio_fields(ours, 828.0, 10, True, "distance") == {
        "ratio_vs_peer": 1.2271,
        "distance_ratio_vs_peer": 1.2271,
        "vehicles_vs_peer": -1,
    }
    # fewest bikes first: one bike fewer is the better plan, whatever it rides
    fewer = ratio_fields(ours, 828.0, 10, True, "vehicles")
    assert fewer == {"ratio_vs_peer": None, "distance_ratio_vs_peer": 1.2271, "vehicles_vs_peer": -1}
    same = ratio_fields({**ours, "distance": 800.0}, 828.0, 9, True, "vehicles")
    assert same["ratio_vs_peer"] == same["distance_ratio_vs_peer"] == 0.9662
    # an infeasible plan on either side compares nothing
    assert set(ratio_fields(ours, 828.0, 9, False, "vehicles").values()) == {None}
    s = _peer_summary("pyvrp", [{**r, "peer_seconds": 10.0} for r in (fewer, same)])
    assert s["mean_ratio_vs_peer"] == 0.9662 and s["ratio_instances"] == 1
    assert s["mean_distance_ratio_vs_peer"] == round((1.2271 + 0.9662) / 2, 4)
    assert (s["fewer_vehicles_than_peer"], s["more_vehicles_than_peer"]) == (1, 0)
