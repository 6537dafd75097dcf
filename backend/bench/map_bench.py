"""`laadbak bench map`: the dispatcher's map while a hub's couriers stream their positions.

1. A throw-away directory and SQLite database with a planned day for N couriers and about
   S stops (S / N per courier), written straight into the database as ``laadbak bench ws``
   does (:func:`backend.bench.ws_day.seed_synthetic_day`: no solver).
2. A real server process (the harness's :class:`ServerProcess`) on that database.
3. Every courier logs in, opens ``/ws/courier``, starts its shift and sends a first position
   somewhere along its route (:mod:`backend.bench.map_bench_couriers`): the desk opens on
   couriers already on the road, its markers there from the snapshot.
4. A headless Chromium logged in as the hub's dispatcher opens ``/dispatch/`` and waits for a
   timeline row per courier, then for the page to settle (a second of frames on time); a probe
   in the page (:mod:`backend.bench.map_bench_page`) records frames and the markers' moves.
5. A few idle seconds (the page's frames with nothing streaming, for comparison), then the
   couriers send a position every ``every_s`` for ``seconds``, then a short grace.

Figures (:mod:`backend.bench.map_bench_figures`): the mean and the longest frame
(``requestAnimationFrame`` deltas) while positions stream; from each position sent to its
courier's marker showing it (``data-pos``), p50, p95 and the longest; each beside its target
with the ratio; the time to the marker split into the server's part (to the hub stream's
position batch arriving in the page) and the page's. With ``profile``, the page's hottest
functions while streaming (a DevTools CPU profile). Progress goes to stderr; the result is one
JSON-able dict.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from backend.bench.harness.server import ServerProcess
from backend.bench.harness.stats import count as count_kinds
from backend.bench.map_bench_couriers import Rider, connect_riders, first_positions, ride_all, stop_riders
from backend.bench.map_bench_figures import (
    TARGETS,
    frame_figures,
    latency_figures,
    long_task_figures,
    position_latencies,
    split,
    summary,
)
from backend.bench.map_bench_page import BrowserError, DeskPage, busy_ms, require_playwright
from backend.bench.ws_day import DISPATCHER_PASSWORD, PASSWORD, seed_synthetic_day

DEFAULT_ARTIFACTS = "/tmp/laadbak-artifacts"


class BenchError(Exception):
    """The bench could not run: the sentence says why."""


def log(message: str) -> None:
    print(f"[map bench] {message}", file=sys.stderr, flush=True)


def artifacts_dir() -> Path:
    """Where pictures go: ``LAADBAK_ARTIFACTS``, default /tmp/laadbak-artifacts."""
    return Path(os.environ.get("LAADBAK_ARTIFACTS") or DEFAULT_ARTIFACTS)


async def run_map_bench(
    settings: Any,
    *,
    couriers: int = 100,
    stops: int = 4000,
    seconds: float = 60.0,
    every_s: float = 5.0,
    idle_s: float = 3.0,
    grace_s: float = 3.0,
    viewport: tuple[int, int] = (1600, 1000),
    page_timeout_s: float = 120.0,
    seed: int = 11,
    keep_dir: bool = False,
    screenshot: Path | None = None,
    profile: bool = False,
    hide: str | None = None,
    trace_path: Path | None = None,
) -> dict[str, Any]:
    """Run the bench; raises BenchError with a sentence when it cannot."""
    import logging

    if couriers < 1 or stops < couriers or seconds <= 0 or every_s <= 0:
        raise BenchError("Give at least 1 courier, at least one stop per courier, and positive seconds.")
    try:
        require_playwright()
    except BrowserError as exc:
        raise BenchError(str(exc)) from exc
    logging.getLogger("httpx").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="laadbak-mapbench-"))
    server: ServerProcess | None = None
    riders: list[Rider] = []
    desk = DeskPage("", viewport)
    try:
        seeded = await _seed(settings, tmp, couriers, stops, seed)
        server = ServerProcess(tmp, seeded["database_url"], map_path=settings.map_path)
        await asyncio.to_thread(server.start)
        log(f"server pid {server.pid} on {server.base}")
        riders, phones = await connect_riders(server.base, server.ws_base, seeded["couriers"], PASSWORD)
        log(f"{len(riders)} couriers on their sockets, shifts started, in {phones['seconds']} s")
        await first_positions(riders, seed)
        await asyncio.sleep(1.5)  # the server has them (it sends hub streams its batches every second)
        desk.base = server.base
        load_ms = await desk.open("dispatcher", DISPATCHER_PASSWORD, couriers, page_timeout_s)
        log(f"the desk shows {couriers} courier rows {load_ms / 1000:.1f} s after navigation")
        await desk.phase("load")  # the route lines still coming: frames kept apart from the streaming ones
        lines_ms = await desk.routes_drawn(page_timeout_s)
        log(f"the route lines were drawn {lines_ms / 1000:.1f} s later")
        settle_ms = await desk.settle(page_timeout_s)
        log(f"the page settled {settle_ms / 1000:.1f} s later")
        if hide:
            log(f"experiment: {await desk.hide(hide)} elements {hide!r} hidden")
            settle_ms += await desk.settle(page_timeout_s)
        await desk.start_trace(profile)  # before the phases: starting a trace holds the page for a while
        await desk.phase("idle")
        await asyncio.sleep(idle_s)
        await desk.phase("stream")
        stream_ms = time.time() * 1000
        cpu0, t0 = server.cpu_s() or 0.0, time.monotonic()
        log(f"{couriers} couriers send a position every {every_s:g} s for {seconds:g} s")
        ride = await ride_all(riders, seconds, every_s, seed)
        await asyncio.sleep(grace_s)  # the last positions reach the page
        await desk.phase(None)
        trace, hottest = await desk.stop_trace()
        if trace_path is not None:
            trace_path.write_text(json.dumps(trace))
        server_cpu = ((server.cpu_s() or 0.0) - cpu0) / (time.monotonic() - t0)
        probe = await desk.collect()
        markers = await desk.markers()
        picture = await desk.screenshot(screenshot or artifacts_dir() / "map-bench.png")
        sent = [s for r in riders for s in r.sent]
        seen, arrived = [tuple(x) for x in probe["seen"]], [tuple(x) for x in probe["arrived"]]
        latencies, missed = position_latencies(sent, seen)
        frames = frame_figures(probe["frames"]["stream"], busy_ms=busy_ms(trace, "laadbak:stream", "laadbak:end"))
        idle = frame_figures(probe["frames"]["idle"], busy_ms=busy_ms(trace, "laadbak:idle", "laadbak:stream"))
        events = [(t, str(kind)) for t, kind in probe["events"]]
        return {
            "config": {"couriers": couriers, "stops": seeded["stops"], "seconds": seconds, "every_s": every_s}
            | {"viewport": list(viewport), "browser": "chromium (headless)", "hidden": hide, "database": "sqlite"},
            "summary": summary(frames, latencies),
            "targets": TARGETS,
            "frames": {"stream": frames, "idle": idle, "load": frame_figures(probe["frames"]["load"])},
            "long_tasks": {
                phase: long_task_figures([(a, b) for a, b in v], events, stream_ms)
                for phase, v in probe["long"].items()
            },
            "hub_events_while_streaming": count_kinds(kind for _, kind in events),
            "position_to_marker": {
                **latency_figures(latencies, len(sent), missed),
                **split(sent, arrived, seen),
                "markers_on_map": markers,
            },
            "couriers": {**phones, **ride},
            "page": {
                "load_ms": round(load_ms, 1),
                "route_lines_ms": round(lines_ms, 1),
                "settle_ms": round(settle_ms, 1),
                "errors": desk.errors[:10],
                "screenshot": picture,
                **({"hottest_while_streaming": hottest} if profile else {}),
            },
            "seed": {"seconds": seeded["seconds"]},
            "server": {
                "rss_mb": round(server.rss_mb() or 0.0, 1),
                "cpu_share_while_streaming": round(server_cpu, 3),
                **server.warnings(),
            },
        }
    except BrowserError as exc:
        raise BenchError(str(exc)) from exc
    finally:
        await desk.close()
        await stop_riders(riders)
        if server is not None:
            server.stop()
        if keep_dir:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def _seed(settings: Any, tmp: Path, couriers: int, stops: int, seed: int) -> dict[str, Any]:
    """The SQLite database in ``tmp`` with the day: the couriers' ids by username, the stop count."""
    from backend.db.engine import make_engine, use_database
    from backend.db.tables import Courier
    from backend.services.geo import Geo

    t0 = time.monotonic()
    geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
    (tmp / "cache").symlink_to(settings.cache_dir.resolve(), target_is_directory=True)  # no map rebuild
    database_url = f"sqlite:///{tmp / 'bench.sqlite'}"
    use_database(make_engine(database_url))
    per_courier = max(1, round(stops / couriers))
    seeded = await seed_synthetic_day(geo, couriers, per_courier, dt.date.today(), random.Random(seed))
    ids = {r["name"]: r["id"] for r in await Courier.select(Courier.id, Courier.name)}
    seconds = round(time.monotonic() - t0, 2)
    log(f"seeded {couriers} couriers x {per_courier} stops in {seconds} s ({tmp})")
    return {
        "database_url": database_url,
        "hub_id": seeded["hub_id"],
        "couriers": {n: ids[n] for n in seeded["usernames"]},
        "stops": couriers * per_courier,
        "seconds": seconds,
    }
