"""`laadbak bench picking` run small: its JSON's fields, every order batched once, and on a
mid-size floor the issue's quality targets (the seconds are the full-size run's, docs/warehouse.md)."""

from __future__ import annotations

import json

import pytest

from backend.bench import picking_bench as bench
from backend.bench.picking_bench import make_orders, run_picking_bench
from backend.cli import main
from backend.warehouse.batching import Cart
from backend.warehouse.layout import generated
from backend.warehouse.routing import s_shape

SEARCH = "local_search_3x300_restarts"
REFERENCE = {
    0: {"exact": "ratliff_rosenthal", "search": SEARCH},
    1: {"exact": "roodbergen_de_koster", "search": SEARCH},
    3: {"exact": None, "search": SEARCH},
}


@pytest.mark.parametrize("cross_aisles", list(REFERENCE))
def test_the_bench_runs_small_and_reports_its_figures(cross_aisles: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["bench", "picking", "--orders", "24", "--aisles", "6", "--cross-aisles", str(cross_aisles), "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["orders"] == 24 and out["lines"] == 72 and out["cross_aisles"] == cross_aisles
    assert out["orders_batched"] == 24 and out["orders_batched_once"] is True
    per_line = out["m_per_line"]
    assert per_line["reference"] <= per_line["ours"] < per_line["baseline_single_order_s_shape"]
    assert out["reduction_vs_baseline"] == pytest.approx(
        1 - per_line["ours"] / per_line["baseline_single_order_s_shape"], abs=1e-3
    )
    gap = out["gap_to_reference"]
    assert -1e-9 <= gap["min"] <= gap["mean"] <= gap["max"]
    assert set(out["targets_met"]) == {"reduction", "mean_gap", "max_gap", "seconds"}
    assert out["seconds_batch_and_route"] > 0 and out["cpu_seconds_batch_and_route"] > 0
    assert out["time_vs_bound"] == pytest.approx(out["seconds_batch_and_route"] / 10, abs=1e-3)
    assert ("local_search_gap_to_exact" in out) == ("long_search_gap_to_exact" in out) == (cross_aisles < 3)
    assert out["reference"] == REFERENCE[cross_aisles]


@pytest.mark.parametrize("cross_aisles", [0, 1, 2])
def test_mid_size_batches_walk_half_the_baseline_on_paths_within_the_gap_targets(cross_aisles: int) -> None:
    # 60 orders on 8 aisles: eight carts, so the batching has real choices; the reference is the
    # exact tour of every batch (Ratliff-Rosenthal, or its extension to one or two middle cross
    # aisles), and with two our paths come from the local search, which can miss it
    out = run_picking_bench(orders=60, aisles=8, cross_aisles=cross_aisles)
    assert out["orders_batched_once"] is True and out["batches"] >= 8
    assert out["reference"] == REFERENCE.get(cross_aisles, REFERENCE[1])
    # The reference is independent of our paths (a long search beside the exact programme):
    # a search shorter than the "exact" tour, or our path shorter than it, would be below 0.
    assert out["gap_to_reference"]["min"] >= -1e-9
    assert out["long_search_gap_to_exact"]["min"] >= -1e-9
    assert out["reduction_vs_baseline"] >= 0.5
    assert out["gap_to_reference"]["mean"] <= 0.01
    assert out["gap_to_reference"]["max"] <= 0.03
    met = out["targets_met"]
    assert met["reduction"] and met["mean_gap"] and met["max_gap"]


def test_an_exact_programme_that_misses_the_optimum_shows_as_a_negative_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    # The blocks programme swapped for the S-shape (a tour, not the shortest): the long search
    # finds shorter ones, and the JSON says so instead of a gap of 0 by construction.
    monkeypatch.setattr(bench, "optimal_blocks", lambda layout, bins, bound: s_shape(layout, bins))
    out = bench.run_picking_bench(orders=24, aisles=6, cross_aisles=1)
    assert out["long_search_gap_to_exact"]["min"] < -0.01


def test_the_generated_orders_hold_the_lines_asked_for_and_fit_their_totes() -> None:
    cart = Cart()
    orders = make_orders(generated(aisles=6, bays=40), cart, orders=30, lines=75, seed=3)
    assert len(orders) == 30 and sum(len(o.locations) for o in orders) == 75
    assert len({o.id for o in orders}) == 30
    assert all(1 <= o.totes <= cart.totes and o.volume <= o.totes * cart.tote_volume for o in orders)


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "picking", "--orders", "10", "--lines", "5"]) == 2
    assert "10 orders need at least 10 lines" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at least 1"):
        run_picking_bench(orders=0)
