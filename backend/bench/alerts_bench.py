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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
import time
from typing import Any

CORE_SHARE_BOUND = 0.01  # of the serving process's one core (0.6 s a minute) for a whole hub's routes turning late
CHECK_EVERY_S = 60.0  # the minute's check (backend/services/alerts.py)


def run_alerts_bench(*, routes: int = 2000) -> dict[str, Any]:
    from backend.db import piccolo_conf
    from backend.db.engine import use_database

    if routes < 1:
        raise ValueError("--routes must be at least 1")
    bound = piccolo_conf.DB  # the database in use before (a caller's, a test's): bound again after
    try:
        with tempfile.TemporaryDirectory(prefix="laadbak-bench-alerts-") as folder:
            return asyncio.run(_run(os.path.join(folder, "alerts.db"), routes))
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
