"""`laadbak bench positions`: what the position store's flush costs on a real day's trails.

Every ``every_s`` (15 s) the store writes, per courier heard of since the last flush,
the last position, the trail's standing part (``backend/dispatch/alerts.py``,
``standing_part``) and the thinned trail's new points (``trail_point``). A short
``bench ws`` never fills the trails; by mid-morning a phone sending a position every
5 s has filled its 500 points. Here ``shifts`` couriers ride (a position every 5 s,
20 m apart) until their trails hold ``trail`` points, written once untimed; then
``flushes`` times, each courier sends ``points`` more and the store flushes, on a
throw-away SQLite database.

Figures: CPU and wall seconds per flush, ``core_share`` (the flush's CPU per
``every_s``: the share of one core of the serving process that the positions take,
against ``CORE_SHARE_BOUND``), and the bytes of trail the shift rows hold.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
import time
from typing import Any

CORE_SHARE_BOUND = 0.05  # of the serving process's one core, for 2,000 couriers' positions
STEP_DEG = 0.00018  # 20 m north between positions


def run_positions_bench(
    *, shifts: int = 2000, trail: int = 500, points: int = 3, flushes: int = 3, every_s: float = 15.0
) -> dict[str, Any]:
    from backend.db import piccolo_conf
    from backend.db.engine import use_database

    if min(shifts, trail, points, flushes) < 1 or every_s <= 0:
        raise ValueError("--shifts, --trail, --points and --flushes must be at least 1, --every above 0")
    bound = piccolo_conf.DB  # the database in use before (a caller's, a test's): bound again after
    try:
        with tempfile.TemporaryDirectory(prefix="laadbak-bench-positions-") as folder:
            return asyncio.run(_run(os.path.join(folder, "positions.db"), shifts, trail, points, flushes, every_s))
    finally:
        if bound is not None:
            use_database(bound)


async def _run(path: str, shifts: int, trail: int, points: int, flushes: int, every_s: float) -> dict[str, Any]:
    from backend.bench.ws_day import write_couriers
    from backend.db.engine import make_engine, migrate, transaction, use_database
    from backend.db.tables import Hub, Shift, TrailPoint
    from backend.realtime.positions import PositionStore
    from backend.security import hash_password

    use_database(make_engine(f"sqlite:///{path}"))
    await migrate()
    day = dt.date(2026, 12, 7)
    async with transaction():
        hub = (await Hub.insert(Hub(name="Bench hub", address="Bench 1", lat=60.16, lon=24.94, opening_hours=[])))[0]
        names = [f"bench{i:05d}" for i in range(1, shifts + 1)]
        courier_ids, shift_ids = await write_couriers(hub["id"], names, hash_password("bench"), day)
    riders = [(courier_ids[n], shift_ids[courier_ids[n]]) for n in names]
    store = PositionStore(flush_every_s=every_s)
    start = dt.datetime.combine(day, dt.time(9, 0))
    sent = 0

    def ride(count: int) -> None:
        nonlocal sent
        for i in range(count):
            ts = start + dt.timedelta(seconds=5 * (sent + i))
            for n, (courier, shift) in enumerate(riders):
                lat = 60.10 + 0.0001 * (n % 100) + STEP_DEG * (sent + i)
                store.record(courier_id=courier, shift_id=shift, hub_id=hub["id"], lat=lat, lon=24.94, ts=ts)
        sent += count

    t0 = time.perf_counter()
    ride(trail)
    await store.flush()  # the morning so far: not timed
    filled_s = time.perf_counter() - t0
    timed = []
    for _ in range(flushes):
        ride(points)
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        await store.flush()
        timed.append((time.thread_time() - cpu0, time.perf_counter() - wall0))
    rows = await Shift.select(Shift.trail).where(Shift.hub == hub["id"])  # the JSON as stored (text)
    stored = sum(len(r["trail"]) if isinstance(r["trail"], str) else 0 for r in rows)
    cpu = [c for c, _ in timed]
    share = sum(cpu) / len(cpu) / every_s
    return {
        "bench": "positions",
        "database": "sqlite",
        "shifts": shifts,
        "trail_points": trail,
        "points_per_flush": points,
        "every_s": every_s,
        "fill_s": round(filled_s, 1),
        "flush_cpu_s": [round(c, 3) for c in cpu],
        "flush_wall_s": [round(w, 3) for _, w in timed],
        "trail_points_stored": await TrailPoint.count(),
        "shift_trail_bytes": stored,
        "core_share": round(share, 4),
        "core_share_bound": CORE_SHARE_BOUND,
        "core_share_vs_bound": round(share / CORE_SHARE_BOUND, 3),
    }
