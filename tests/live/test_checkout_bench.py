"""`laadbak bench checkout` at a small scale: the JSON it prints, and no promise broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from backend.settings import REPO_ROOT


def test_checkout_bench_small_run_prints_its_json_and_breaks_no_promise(tmp_path) -> None:
    env = {**os.environ, "LAADBAK_SECRET_KEY": "bench-test", "LAADBAK_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    cache = REPO_ROOT / "var" / "cache"
    if cache.exists():  # the street network built once, not again for this run
        (tmp_path / "cache").symlink_to(cache)
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "checkout", "--json", "--seconds", "1", "--take", "4"]
        + ["--time-limit", "1"],
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
