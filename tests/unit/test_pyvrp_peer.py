"""PyVRP, engine and peer: our problem to PyVRP and back, judged by our own checker."""

from __future__ import annotations

import random
import sys

import msgspec
import numpy as np
import pytest

from backend.bench import pyvrp_peer as P
from backend.bench.plan_bench import run_plan_bench
from backend.dispatch import benchmarks as B
from backend.dispatch import pyvrp_engine as E
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from tests.unit.tiny_instances import SOLOMON_TEXT

pyvrp = pytest.importorskip("pyvrp", reason="PyVRP is not installed")


# Two pairs: 1 -> 2 and 3 -> 4 (a pickup names its delivery, a delivery its pickup).
LILIM_TEXT = "\n".join(
    "\t".join(row.split())
    for row in (
        "2 50 1",
        "0 0 0 0 0 1000 0 0 0",
        "1 3 4 10 0 500 10 0 2",
        "2 6 8 -10 0 500 10 1 0",
        "3 -5 0 20 0 500 10 0 4",
        "4 -8 3 -20 0 500 10 3 0",
    )
)


def _instance(tmp_path, text: str, name: str) -> B.Instance:
    f = tmp_path / name
    f.write_text(text)
    return B.read_instance(f)


def _pairs_ok(problem: Problem, plan) -> list[str]:
    """Each delivery's pickups earlier on the same route (independently of the checker)."""
    where = {ps.stop_id: (ri, pi) for ri, r in enumerate(plan.routes) for pi, ps in enumerate(r.stops)}
    bad = []
    for s in problem.stops:
        for p in s.pickups:
            if s.id in where and (p not in where or where[p][0] != where[s.id][0] or where[p][1] >= where[s.id][1]):
                bad.append(f"{p}->{s.id}")
    return bad


def test_solomon_like_instance_converts_field_by_field(tmp_path):
    inst = _instance(tmp_path, SOLOMON_TEXT, "TINY.txt")
    problem = B.to_problem(inst)
    data, mapping = E.to_pyvrp(problem)
    assert (data.num_clients, data.num_shipments, data.num_depots) == (3, 0, 1)
    assert data.num_vehicle_types == 1 and data.num_vehicles == 2
    vt = data.vehicle_type(0)
    assert vt.capacity == [50] and (vt.tw_early, vt.tw_late) == (0, 1_000_000)
    assert vt.fixed_cost == 0
    c2 = data.client(mapping.clients.index(1))  # customer 2: window [50, 200], service 10, demand 20
    assert (c2.tw_early, c2.tw_late, c2.service_duration, c2.delivery) == (
        50_000,
        200_000,
        10_000,
        [20],
    )
    # the very matrices of our problem: distances x1000 truncated, times rounded up
    assert np.array_equal(data.distance_matrix(0), np.asarray(problem.dist_m))
    assert np.array_equal(data.duration_matrix(0), np.asarray(problem.time_s))
    with_xy, _ = E.to_pyvrp(problem, [(c.x, c.y) for c in inst.nodes])
    assert (with_xy.location(2).x, with_xy.location(2).y) == (6, 8)
    # "vehicles": the fixed cost goes along, so PyVRP minimises bikes first
    data_v, _ = E.to_pyvrp(B.to_problem(inst, "vehicles"))
    assert data_v.vehicle_type(0).fixed_cost == B.VEHICLE_FIXED_COST


def test_round_trip_of_a_pyvrp_solution_into_a_checked_plan(tmp_path):
    inst = _instance(tmp_path, SOLOMON_TEXT, "TINY.txt")
    problem = B.to_problem(inst)
    data, mapping = E.to_pyvrp(problem)
    # client indices: mapping.clients[i] is the stop index of client i
    c = {problem.stops[k].id: i for i, k in enumerate(mapping.clients)}
    sol = pyvrp.Solution(data, [[c["1"], c["2"]], [c["3"]]])
    seqs = E.sequences_from_solution(sol, mapping)
    assert [[problem.stops[k].id for k in seq] for seq in seqs.values()] == [["1", "2"], ["3"]]
    plan = E.plan_from_sequences(problem, seqs)
    assert check(problem, plan) == [] and plan.unplanned == ()
    assert plan.distance_m == sol.distance()  # same integer matrix, same routes
    # customer 2 opens at 50,000 (scaled): the bike waits for it
    r = plan.routes[0]
    assert r.stops[1].arrival_s < 50_000 == r.stops[1].start_s
    assert B.exact_distance(inst, plan) == pytest.approx(5 + 5 + 10 + 5 + 5)


def test_lilim_like_pairs_become_shipments(tmp_path):
    inst = _instance(tmp_path, LILIM_TEXT, "tiny.txt")
    problem = B.to_problem(inst)
    data, mapping = E.to_pyvrp(problem)
    assert (data.num_clients, data.num_shipments) == (0, 2)
    ids = [(problem.stops[p].id, problem.stops[d].id) for p, d in mapping.shipments]
    assert ids == [("1", "2"), ("3", "4")]
    s = data.shipment(1)
    assert s.amount == [20] and (s.pickup.service_duration, s.delivery.service_duration) == (
        10_000,
        10_000,
    )
    assert (s.delivery.tw_early, s.delivery.tw_late) == (0, 500_000)
    # PyVRP itself refuses a delivery ahead of its pickup
    A = pyvrp.ActivityType
    with pytest.raises(Exception, match="pickup"):
        pyvrp.Route(data, [pyvrp.Activity(A.DELIVERY, 0), pyvrp.Activity(A.PICKUP, 0)], 0)


def test_peer_solves_tiny_instances_and_our_checker_agrees(tmp_path):
    for text, name in ((SOLOMON_TEXT, "TINY.txt"), (LILIM_TEXT, "tiny.txt")):
        inst = _instance(tmp_path, text, name)
        problem = B.to_problem(inst)
        res = P.solve_peer(problem, 0.2)
        assert res.status == "feasible" and res.plan is not None
        assert check(problem, res.plan) == [] and res.plan.unplanned == ()
        assert _pairs_ok(problem, res.plan) == []
        assert res.seconds < 30  # a sanity bound, not a timing assertion


def test_pairs_are_kept_where_ignoring_them_would_break_them():
    """Twelve pairs spread at random: were the pairs ignored (plain clients), PyVRP would
    put a fair share of deliveries before their pickups or on other bikes."""
    rng = random.Random(5)
    n_pairs = 12
    pts = [(50.0, 50.0)] + [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(2 * n_pairs)]
    nodes = [B.Customer(0, *pts[0], 0, 0, 10_000, 0)]
    for k in range(n_pairs):
        p, d = 1 + 2 * k, 2 + 2 * k
        nodes.append(B.Customer(p, *pts[p], 5, 0, 10_000, 5, pickup=0, delivery=d))
        nodes.append(B.Customer(d, *pts[d], -5, 0, 10_000, 5, pickup=p, delivery=0))
    inst = B.Instance("pairs", "lilim", 6, 10, tuple(nodes))
    problem = B.to_problem(inst)
    res = P.solve_peer(problem, 0.5)
    plan = res.plan
    assert plan is not None and plan.unplanned == ()
    assert _pairs_ok(problem, plan) == []
    assert [v for v in check(problem, plan) if v.rule == "pickup_delivery"] == []
    # ... and the same check does catch a broken pair: reverse one route
    seqs = {r.vehicle_id: [int(ps.stop_id) - 1 for ps in r.stops] for r in plan.routes}
    vid = next(iter(seqs))
    seqs[vid].reverse()
    reversed_plan = E.plan_from_sequences(problem, seqs)
    assert _pairs_ok(problem, reversed_plan)
    assert any(v.rule == "pickup_delivery" for v in check(problem, reversed_plan))


def test_ratio_and_peer_fields_in_the_plan_bench(tmp_path):
    f = tmp_path / "tiny.txt"
    f.write_text(LILIM_TEXT)
    bks = tmp_path / "bks.csv"
    bks.write_text("instance,vehicles,distance\ntiny,1,40.0\n")
    out = run_plan_bench("lilim100", None, [str(f)], str(bks), 0.3, peer="pyvrp")
    (row,) = out["instances"]
    assert row["feasible"] and row["peer_feasible"] and row["peer_status"] == "feasible"
    assert row["peer_distance"] > 0 and row["peer_vehicles"] >= 1
    assert row["ratio_vs_peer"] == pytest.approx(row["distance"] / row["peer_distance"], abs=1e-4)
    assert row["peer_gap_pct"] == pytest.approx(100 * (row["peer_distance"] - 40.0) / 40.0, abs=1e-3)
    s = out["summary"]
    assert s["peer"] == "pyvrp" and s["peer_version"].startswith("0.14")
    assert s["mean_ratio_vs_peer"] == row["ratio_vs_peer"] and s["peer_mean_gap_pct"] == row["peer_gap_pct"]
    assert s["same_vehicles_share"] == (1.0 if row["vehicles"] == 1 else 0.0)
    # ours is the portfolio: every run's plan scored, the winner named
    assert [e["engine"] for e in row["engines"]] == ["pyvrp", "pyvrp"]  # a day PyVRP can express
    assert row["engine"] in {e["engine"] for e in row["engines"]}
    assert s["engines"] == ["second", "pyvrp"] and s["engine_wins"] == {row["engine"]: 1}
    alone = run_plan_bench("lilim100", None, [str(f)], str(bks), 0.3, engines=("ortools",))
    assert [e["engine"] for e in alone["instances"][0]["engines"]] == ["ortools"]
    with pytest.raises(ValueError, match="unknown engines"):
        run_plan_bench("lilim100", None, [str(f)], str(bks), 0.3, engines=("cplex",))
    msgspec.json.encode(out)


def test_what_pyvrp_cannot_model_is_reported_not_approximated():
    T = [[0, 10, 10], [10, 0, 10], [10, 10, 0]]
    v = Vehicle(id="v", start_location=0, end_location=0, shift=Window(0, 1000), payload_kg=10, volume_l=10)
    two_windows = Problem(
        time_s=T,
        dist_m=T,
        vehicles=(v,),
        stops=(Stop(id="a", kind="delivery", location=1, windows=(Window(0, 10), Window(50, 60))),),
    )
    # a delivery's two windows are a client group: the peer plans it, in one of them
    res = P.solve_peer(two_windows, 0.1)
    assert res.status == "feasible" and res.plan is not None and check(two_windows, res.plan) == []
    assert any(w.contains(res.plan.routes[0].stops[0].start_s) for w in two_windows.stops[0].windows)
    # a shipment step has one window: a shop of two windows is refused, not narrowed
    shop = Problem(
        time_s=T,
        dist_m=T,
        vehicles=(v,),
        stops=(
            Stop(id="p", kind="pickup", location=1, windows=(Window(0, 10), Window(50, 60))),
            Stop(id="d", kind="delivery", location=2, pickups=("p",)),
        ),
    )
    res = P.solve_peer(shop, 0.1)
    assert res.status == "unavailable" and res.plan is None and "windows" in res.reason
    baskets = Problem(
        time_s=T,
        dist_m=T,
        vehicles=(v,),
        stops=(
            Stop(id="p1", kind="pickup", location=1),
            Stop(id="p2", kind="pickup", location=2),
            Stop(id="d", kind="delivery", location=1, pickups=("p1", "p2")),
        ),
    )
    assert "2 pickups" in E.unsupported(baskets)
    with pytest.raises(ValueError, match="cannot model"):
        E.to_pyvrp(baskets)


def test_fractional_loads_speeds_and_returns():
    T = np.array([[0, 90, 90], [90, 0, 90], [90, 90, 0]], dtype=np.int64)
    vs = (
        Vehicle(
            id="fast",
            start_location=0,
            end_location=0,
            shift=Window(0, 10_000),
            payload_kg=10.5,
            volume_l=100,
        ),
    )
    vs = (*vs, msgspec.structs.replace(vs[0], id="slow", speed_factor=0.9))
    stops = (
        Stop(id="d", kind="delivery", location=1, weight_kg=2.25, volume_l=1.5),
        Stop(id="r", kind="pickup", location=2, weight_kg=1.0, volume_l=3.0),
    )  # a return
    problem = Problem(time_s=T, dist_m=T, vehicles=vs, stops=stops)
    data, mapping = E.to_pyvrp(problem)
    assert mapping.load_units == (1000, 10)  # grams, decilitres
    assert data.num_vehicle_types == 2 and data.num_profiles == 2
    assert data.duration_matrix(1)[0, 1] == 100  # 90 / 0.9
    clients = {problem.stops[k].id: data.client(i) for i, k in enumerate(mapping.clients)}
    assert clients["d"].delivery == [2250, 15] and clients["r"].pickup == [1000, 30]
    res = P.solve_peer(problem, 0.2)
    assert res.status == "feasible" and check(problem, res.plan) == []


def test_a_missing_pyvrp_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvrp", None)  # import pyvrp now raises ImportError
    with pytest.raises(P.PeerUnavailable, match=r"pip install -e \."):
        P.require_pyvrp()
    with pytest.raises(P.PeerUnavailable):
        run_plan_bench("solomon", ["C101"], None, None, 1.0, peer="pyvrp")
    with pytest.raises(ValueError, match="unknown peer"):
        run_plan_bench("solomon", ["C101"], None, None, 1.0, peer="foo")
