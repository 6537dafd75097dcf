"""`laadbak bench alerts` run small: a late hub's routes raised, updated, then left alone."""

from __future__ import annotations

import json

import pytest

from backend.cli import main


def test_the_bench_raises_updates_then_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "alerts", "--routes", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["routes"] == 30 and out["alerts_stored"] == 30
    assert [out[step]["written"] for step in ("raise", "update", "again")] == [30, 30, 0]
    assert out["events_written"] == 60  # one alert.raised and one alert.updated a route
    share = (out["raise"]["cpu_s"] + out["update"]["cpu_s"]) / 2 / 60
    assert out["core_share"] == pytest.approx(share, abs=2e-4)
    assert out["core_share_vs_bound"] == pytest.approx(out["core_share"] / out["core_share_bound"], abs=2e-2)


def test_a_bad_size_is_refused_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "alerts", "--routes", "0", "--json"]) == 2
    assert "--routes must be at least 1" in capsys.readouterr().err
