"""`laadbak bench ws` end to end on a small scale: the JSON it prints, and nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from backend.settings import REPO_ROOT


def test_ws_bench_small_run_prints_its_json_and_loses_nothing() -> None:
    env = {**os.environ, "LAADBAK_SECRET_KEY": "bench-test"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "bench",
            "ws",
            "--json",
            "--couriers",
            "20",
            "--duration",
            "8",
            "--action-every",
            "1.5:3",
        ],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
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
    assert "server_log" in phases
    run = next(i for i in result["instances"] if i["phase"] == "run")
    assert run["http_errors"] == {} and run["lost_courier"] == 0 and run["lost_dispatcher"] == 0
    assert run["positions_at_dispatcher"] > 0
