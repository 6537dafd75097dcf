"""`laadbak bench plan --suite demo`: the demo day planned end to end (matrices included)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from backend.services.day import load_day
from backend.services.demo_run import prepare_demo
from backend.settings import Settings


async def run_demo_bench(
    settings: Settings, time_limit_s: float, quality: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The demo day planned as the product does; with ``quality`` (``limit_s``, ``factor``,
    ``mixes``) also the real-day quality bench on the demo day's problem
    (:mod:`backend.bench.quality_bench`), in the instance's ``quality``."""
    with tempfile.TemporaryDirectory(prefix="laadbak-bench-") as tmp:
        # A throw-away database, so the benchmark never touches real data.
        bench_settings = msgspec.structs.replace(settings, database_url=f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        geo, city, run = await prepare_demo(bench_settings, fresh=True, time_limit_s=time_limit_s)
        problem = (await load_day(geo, city.hub_id, city.day)).problem if quality else None
    f = run["figures"]
    instance = {
        "instance": "demo",
        "stops": f["stops"],
        "couriers": f["couriers"],
        "couriers_used": f["couriersUsed"],
        "unplanned": f["unplanned"],
        "distance_m": f["distanceM"],
        "duration_s": f["durationS"],
        "matrix_s": f["matrixS"],
        "solve_s": f["solveS"],
        "plan_seconds": f["totalS"],
        "violations": f["violations"],
        "unplanned_reasons": _count(run["unplanned"]),
    }
    summary_quality = None
    if quality and problem is not None:
        from backend.bench.quality_bench import run_quality, summarize

        instance["quality"] = await asyncio.to_thread(
            run_quality,
            problem,
            quality["limit_s"],
            factor=quality["factor"],
            mixes=tuple(quality["mixes"]),
            label="demo ",
        )
        summary_quality = summarize([instance["quality"]])
        summary_quality.update(limit_s=quality["limit_s"], reference_factor=quality["factor"])
    return {
        "instances": [instance],
        "summary": {
            "suite": "demo",
            "instances": 1,
            "time_limit_s": time_limit_s,
            "plan_seconds": f["totalS"],
            "stops": f["stops"],
            "couriers": f["couriers"],
            "unplanned": f["unplanned"],
            "violations": f["violations"],
            "mean_gap_pct": None,
            # The bound for the demo day, as a ratio (<= 1 meets it).
            "plan_seconds_vs_30s_bound": round(f["totalS"] / 30.0, 3),
            **({"quality": summary_quality} if summary_quality else {}),
        },
    }


def _count(unplanned: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for u in unplanned:
        out[u["reason"]] = out.get(u["reason"], 0) + 1
    return out
