"""`laadbak bench positions` run small: what a flush writes once the trails are long."""

from __future__ import annotations

import json

import pytest

from backend.cli import main


def test_the_bench_runs_small_and_the_shift_rows_keep_only_the_standing_part(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "positions", "--shifts", "6", "--trail", "80", "--flushes", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shifts"] == 6 and len(out["flush_cpu_s"]) == len(out["flush_wall_s"]) == 2
    # Riding 20 m a position: every point is kept in trail_point, the morning's and the timed flushes'.
    assert out["trail_points_stored"] == 6 * (80 + 2 * 3)
    # The rows hold the last 50 m (3 points of about 40 bytes), not the 80 points in memory.
    assert 6 * 3 * 30 < out["shift_trail_bytes"] < 6 * 3 * 60
    assert out["core_share"] == pytest.approx(sum(out["flush_cpu_s"]) / 2 / 15.0, abs=1e-4)
    assert out["core_share_vs_bound"] == pytest.approx(out["core_share"] / out["core_share_bound"], abs=2e-3)


def test_bad_sizes_are_refused_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "positions", "--shifts", "0", "--json"]) == 2
    assert "--shifts, --trail, --points and --flushes must be at least 1" in capsys.readouterr().err
