"""`laadbak bench ws` end to end on a small scale: the JSON it prints, and nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from backend.settings import REPO_ROOT
from tests.api.redis_check import REDIS_URL
from tests.conftest import BASE_POSTGRES_URL
from tests.live.test_several_processes import need_postgres_and_redis


def bench_ws(*args: str) -> dict[str, Any]:
    """``laadbak bench ws --json`` on a small day: 20 couriers acting often, 8 s of riding."""
    env = {**os.environ, "LAADBAK_SECRET_KEY": "bench-test"}
    env.pop("DATABASE_URL", None)
    small = ("--couriers", "20", "--duration", "8", "--action-every", "1.5:3")
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "ws", "--json", *small, *args],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_ws_bench_small_run_prints_its_json_and_loses_nothing() -> None:
    # On a clock of its own (the server too): on the real one, a run after 22:30 found every
    # window closed and every route late.
    result = bench_ws("--clock", "10:00")
    assert result["summary"]["clock"].startswith("shifted to 10:00 (real "), result["summary"]["clock"]
    assert set(result) == {"instances", "summary"}
    summary = result["summary"]
    for key in (
        "couriers",
        "connections_held",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "dispatcher_p99_ms",
        "lost",
        "duplicated",
        "server_rss_mb",
        "actions",
        "duration_s",
        "target_p99_ms",
        "p99_vs_target",
        "ramp_p99_ms",
        "whole_run_p99_ms",
        "longest_loop_stall_ms",
        "longest_gc_ms",
        "longest_writer_hold_ms",
        "longest_writer_hold_in",
    ):
        assert key in summary, key
    # The server's own figures, logged as it stopped: what held the loop and the writer longest.
    assert summary["longest_loop_stall_ms"] is not None and summary["longest_loop_stall_ms"] >= 0
    assert summary["longest_gc_ms"] is not None
    assert summary["longest_writer_hold_ms"] is not None and summary["longest_writer_hold_ms"] > 0
    assert summary["longest_writer_hold_in"]
    assert summary["couriers"] == 20
    assert summary["target_p99_ms"] == 50  # one process
    assert summary["actions"] > 0
    assert summary["lost"] == 0
    assert summary["duplicated"] == 0
    assert summary["connections_held"] == 20 + 1  # every courier and the dispatcher
    assert summary["server_rss_mb"] > 0
    assert summary["p99_ms"] is not None and summary["p99_vs_target"] == round(summary["p99_ms"] / 50, 3)
    phases = [i["phase"] for i in result["instances"]]
    assert phases[:5] == ["seed", "server", "login", "ramp", "run"]
    assert result["instances"][0]["journal_mode"] == "wal"  # as the server opens it
    assert "server_log" in phases
    run = next(i for i in result["instances"] if i["phase"] == "run")
    assert run["http_errors"] == {} and run["lost_courier"] == 0 and run["lost_dispatcher"] == 0
    assert run["positions_at_dispatcher"] > 0


def test_ws_bench_refuses_a_clock_whose_day_runs_past_the_hubs_closing_before_it_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "ws", "--json", "--clock", "21:00"],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "--clock 21:00: a 2.5 h day from then runs past 23:00, when the hub closes" in done.stderr


def test_ws_bench_on_two_processes_reports_each_and_the_same_order_everywhere() -> None:
    need_postgres_and_redis()
    result = bench_ws("--processes", "2", "--postgres", BASE_POSTGRES_URL, "--redis", REDIS_URL)
    summary = result["summary"]
    assert summary["lost"] == 0 and summary["duplicated"] == 0
    assert summary["connections_held"] == 20 + 1
    assert summary["cross_process"]["same_order"] is True
    ends = [i for i in result["instances"] if i["phase"] == "processes_end"]
    assert len(ends) == 1 and len(ends[0]["serving"]) == 2  # read before the processes stopped
    assert all(p["cpu_s"] is not None and p["cpu_s"] > 0 for p in ends[0]["serving"])
