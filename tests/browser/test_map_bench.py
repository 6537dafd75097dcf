"""`laadbak bench map` in its quick mode: the JSON's shape, and every figure measured.

No timed asserts: the figures depend on the machine. The test checks that they were
measured (frames counted, positions sent and matched to markers) and reported beside their
targets with their ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from backend.bench.map_bench_figures import TARGETS
from backend.settings import REPO_ROOT
from backend.shifted_clock import CLOCK_ENV
from tests.browser.conftest import require_browser


def test_the_quick_map_bench_measures_every_figure(tmp_path: Path) -> None:
    require_browser()
    picture = tmp_path / "map.png"
    # On the real clock, not the suite's: the bench times a position from its own process to
    # the marker in its own Chromium by their wall clocks.
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", CLOCK_ENV)}
    run = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "map", "--couriers", "5", "--stops", "100"]
        + ["--seconds", "10", "--every", "2", "--json", "--screenshot", str(picture)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)

    assert result["config"]["couriers"] == 5 and result["config"]["stops"] == 100
    assert result["targets"] == TARGETS
    assert set(result["summary"]) == set(TARGETS)
    for name, figure in result["summary"].items():
        assert figure["target"] == TARGETS[name]
        assert isinstance(figure["value"], float | int) and figure["value"] > 0, (name, figure)
        assert figure["ratio"] == round(figure["value"] / figure["target"], 3)

    frames = result["frames"]["stream"]
    assert frames["frames"] > 100  # about 60 a second for 10 s
    assert frames["longest_ms"] >= frames["mean_ms"] > 0
    marker = result["position_to_marker"]
    assert marker["sent"] >= 5 * 4  # every courier, every 2 s, for 10 s
    assert marker["matched"] >= marker["sent"] * 0.8, marker
    assert marker["matched"] + marker["missed"] == marker["sent"]
    assert marker["p50_ms"] <= marker["p95_ms"] <= marker["max_ms"]
    assert marker["markers_on_map"] == 5
    assert marker["sent_to_socket"]["p50_ms"] is not None
    assert marker["socket_to_marker"]["p50_ms"] is not None
    assert result["couriers"]["refused"] == {}
    assert result["page"]["screenshot"] == str(picture) and picture.stat().st_size > 1000
