"""`laadbak bench alerts`: what the minute's alert check writes on a big hub's late day.

When a hub's day runs late (rain, a closed bridge), every route of it may have late
stops: the minute's check (``backend/services/alerts.py``) raises a ``stop_late`` alert
per route, and updates it, with an ``alert.updated`` event, whenever the route's set of
late stops changes. Here ``routes`` late routes are raised once, then each changes its
late stops (every alert updated), then the same again (nothing written), on a
throw-away SQLite database, timed on the CPU of this process (the serving process's
loop does these writes).

Figures: CPU seconds of each step, and ``core_share``: the raise's and the update's
CPU over the check's minute, as a share of one core, against ``CORE_SHARE_BOUND``.

Then the whole check (``check``) on a live day of as many couriers, each with a trail of
``trail`` positions in the position store (backend/bench/alerts_day.py): its CPU on the
loop's thread and in all (the rules run in a worker thread, which holds the interpreter's
lock while the loop waits for it), and ``check_core_share`` against the same bound.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
import time
from collections import Counter
from typing import Any

CORE_SHARE_BOUND = 0.01  # of the serving process's one core (0.6 s a minute) for a whole hub's routes turning late
CHECK_EVERY_S = 60.0  # the minute's check (backend/services/alerts.py)


def run_alerts_bench(*, routes: int = 2000, trail: int = 500) -> dict[str, Any]:
    from backend.db import piccolo_conf
    from backend.db.engine import use_database

    if routes < 1:
        raise ValueError("--routes must be at least 1")
    if trail < 1:
        raise ValueError("--trail must be at least 1 position")
    bound = piccolo_conf.DB  # the database in use before (a caller's, a test's): bound again after
    try:
        with tempfile.TemporaryDirectory(prefix="laadbak-bench-alerts-") as folder:
            figures = asyncio.run(_run(os.path.join(folder, "alerts.db"), routes))
            return {**figures, **asyncio.run(_check(os.path.join(folder, "check.db"), routes, trail))}
    finally:
        if bound is not None:
            use_database(bound)


async def _run(path: str, routes: int) -> dict[str, Any]:
    from backend.db.engine import make_engine, migrate, transaction, use_database
    from backend.db.tables import Alert, Hub, OutboxEvent
    from backend.dispatch import alerts as rules
    from backend.services.alerts import LATE_ROUTES, raise_alerts

    use_database(make_engine(f"sqlite:///{path}"))
    await migrate()
    async with transaction():
        hub = (await Hub.insert(Hub(name="Bench hub", address="Bench 1", lat=60.16, lon=24.94, opening_hours=[])))[0]
    day = dt.date(2026, 12, 7)
    now = dt.datetime.combine(day, dt.time(14, 0))

    def late(courier: int, moved: int) -> rules.Raised:
        """A route with two late stops, as ``rules.late_routes`` words it; ``moved`` changes the second."""
        stops = [courier * 10, courier * 10 + 1 + moved]
        first = [{"stopId": s, "eta": now.isoformat(), "windowEnd": now.isoformat(), "minutes": 12} for s in stops]
        return rules.Raised(
            "stop_late",
            f"route-{courier}",
            f"Courier {courier}'s route has 2 stop(s) expected after their window: {stops[0]}, {stops[1]}.",
            {"courierId": courier, "count": 2, "stopIds": stops, "first": first, "minutes": 12},
        )

    steps = []
    for name, moved in (("raise", 0), ("update", 1), ("again", 1)):
        raised = [late(c, moved) for c in range(1, routes + 1)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        written = await raise_alerts(hub["id"], day, raised, now, complete=LATE_ROUTES)
        steps.append((name, len(written), time.process_time() - cpu0, time.perf_counter() - wall0))
    figures = {name: {"written": n, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3)} for name, n, cpu, wall in steps}
    share = (steps[0][2] + steps[1][2]) / 2 / CHECK_EVERY_S
    return {
        "bench": "alerts",
        "database": "sqlite",
        "routes": routes,
        **figures,
        "alerts_stored": await Alert.count(),
        "events_written": await OutboxEvent.count(),
        "core_share": round(share, 4),
        "core_share_bound": CORE_SHARE_BOUND,
        "core_share_vs_bound": round(share / CORE_SHARE_BOUND, 3),
    }


async def _check(path: str, routes: int, trail: int) -> dict[str, Any]:
    from backend.bench.alerts_day import seed_live_day
    from backend.db.engine import make_engine, migrate, use_database
    from backend.services.alerts import check_hub_alerts
    from backend.services.context import Context
    from backend.settings import load_settings

    use_database(make_engine(f"sqlite:///{path}"))
    await migrate()
    now = dt.datetime.combine(dt.date.today(), dt.time(11, 0))
    hub_id, store = await seed_live_day(routes, trail, now)
    ctx = Context(geo=None, settings=load_settings(), positions=store, clock=lambda: now)  # type: ignore[arg-type]
    cpu0, loop0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
    raised = await check_hub_alerts(ctx, hub_id, now)
    cpu, loop = time.process_time() - cpu0, time.thread_time() - loop0
    share = cpu / CHECK_EVERY_S
    return {
        "check": {
            "couriers": routes,
            "trail": trail,
            "raised": len(raised),
            "raised_kinds": dict(sorted(Counter(a.kind for a in raised).items())),
            "cpu_s": round(cpu, 3),
            "loop_cpu_s": round(loop, 3),
            "wall_s": round(time.perf_counter() - wall0, 3),
        },
        "check_core_share": round(share, 4),
        "check_core_share_vs_bound": round(share / CORE_SHARE_BOUND, 3),
    }
