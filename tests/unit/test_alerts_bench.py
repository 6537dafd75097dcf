"""`laadbak bench alerts` run small: a late hub's routes raised, updated, then left alone."""

from __future__ import annotations

import json

import pytest

from backend.cli import main


def test_the_bench_raises_updates_then_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "alerts", "--routes", "30", "--trail", "150", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["routes"] == 30 and out["alerts_stored"] == 30
    assert [out[step]["written"] for step in ("raise", "update", "again")] == [30, 30, 0]
    assert out["events_written"] == 60  # one alert.raised and one alert.updated a route
    share = (out["raise"]["cpu_s"] + out["update"]["cpu_s"]) / 2 / 60
    assert out["core_share"] == pytest.approx(share, abs=2e-4)
    assert out["core_share_vs_bound"] == pytest.approx(out["core_share"] / out["core_share_bound"], abs=2e-2)

    # The whole check on a live day: one courier in ten has stood still for 12 minutes of a
    # 15-minute trail (over the 10 that raise it); the others ride on.
    check = out["check"]
    assert (check["couriers"], check["trail"]) == (30, 150)
    assert check["raised_kinds"] == {"standing_still": 3} and check["raised"] == 3
    assert 0 < check["loop_cpu_s"] <= check["cpu_s"]
    assert out["check_core_share"] == pytest.approx(check["cpu_s"] / 60, abs=2e-4)


def test_a_bad_size_is_refused_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "alerts", "--routes", "0", "--json"]) == 2
    assert "--routes must be at least 1" in capsys.readouterr().err
    assert main(["bench", "alerts", "--trail", "0", "--json"]) == 2
    assert "--trail must be at least 1 position" in capsys.readouterr().err
