"""`laadbak bench checkout` at a small scale, both modes: the JSON it prints, and no promise broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from backend.settings import REPO_ROOT


def _env(tmp_path) -> dict[str, str]:
    env = {**os.environ, "LAADBAK_SECRET_KEY": "bench-test", "LAADBAK_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    cache = REPO_ROOT / "var" / "cache"
    if cache.exists():  # the street network built once, not again for this run
        (tmp_path / "cache").symlink_to(cache)
    return env


def test_checkout_bench_small_run_prints_its_json_and_breaks_no_promise(tmp_path) -> None:
    env = _env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "checkout", "--mode", "demo", "--json", "--seconds", "1"]
        + ["--take", "4"]
        # the day is planned again on one worker, its two runs taking turns: at 1 s (0.5 s a
        # run) a machine busy with the rest of the suite left stops out (5 of 6 runs), which
        # says how fast the planner is, not whether a checkout promise holds
        + ["--time-limit", "5"],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    for key in ("calls_per_s", "p50_ms", "p95_ms", "peer_plan_s", "options_call_vs_plan", "available_share"):
        assert key in result, key
    assert result["calls"] >= 1 and result["options_per_call_on_the_day"] > 0
    assert result["taken"] + result["refused_at_hold"] >= 1
    assert result["promises_broken"] == 0 and result["planned_stops_lost"] == 0


def test_the_load_mode_asks_concurrently_on_a_running_day_and_breaks_no_promise(tmp_path) -> None:
    """A running day of 100 stops, 10 concurrent shops for 3 s, two couriers at work, 4 options taken."""
    args = ["--stops", "100", "--couriers", "5", "--clients", "10", "--load-seconds", "3", "--actors", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "checkout", "--mode", "load", "--json", "--take", "4", *args],
        check=False,
        cwd=REPO_ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["instance"] == "running" and result["stops"] == 100 and result["clients"] == 10
    assert result["calls"] >= 10 and result["errors"] == {}
    for key in ("p50_ms", "p95_ms", "p95_vs_target", "alone_p50_ms", "p50_vs_alone", "load_avg_1m"):
        assert result[key] is not None, key
    # the CPU of each side, per call: what one process carries, and what the bench's own client costs
    assert result["server_cpu_s"] > 0 and result["server_cpu_ms_per_call"] > 0
    assert result["client_cpu_s"] > 0 and result["client_cpu_ms_per_call"] > 0
    assert result["available_share"] > 0  # the running day's evening is still sold at 09:30
    assert result["taken"] + result["refused_at_hold"] >= 1
    assert result["promises_broken"] == 0
