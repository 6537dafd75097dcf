"""``laadbak worker``: a solver worker process, wiring only (as backend/app.py is for serving).

It serves no HTTP. It takes from the job queue (SAQ over Redis, the queue of
``backend/jobs``) the durable follow-up jobs (a failed stop's next step, the
re-plans) and the solves the serving processes hand over
(``backend/jobs/solve_queue.py``), and runs them in its own solver processes.
What it writes reaches the phones through the outbox: its poke wakes every
serving process's feed through Redis. Serving processes started with
``LAADBAK_SOLVER_QUEUE=1`` leave all solving to these workers, so a busy
solver never takes a core's time from a socket's process.

It hears the couriers' positions through the feed (every serving process
publishes them on Redis), so a re-plan starts each bike from where it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from litestar.datastructures import State

from backend.db.engine import close_pool, make_engine, migrate, use_database
from backend.dispatch.pool import new_pool
from backend.jobs import Worker
from backend.jobs.redis_saq import SaqBackend
from backend.realtime.feed import make_feed
from backend.realtime.positions import PositionStore
from backend.services import follow_ups  # noqa: F401 - registers the job kinds
from backend.services.context import Context
from backend.services.geo import Geo
from backend.settings import Settings

log = logging.getLogger("laadbak.worker")


def warm_up() -> None:
    """Run in each solver process at start: what a re-plan's call unpickles there (the
    services' modules, ~2 s of CPU) is imported before the first phone waits on it."""
    import backend.dispatch.portfolio
    import backend.services.replanning  # noqa: F401


def refusal(settings: Settings) -> str | None:
    """Why this process cannot be a solver worker with these settings (None: it can)."""
    if not settings.redis_url or not settings.is_postgres:
        return (
            "laadbak worker takes jobs and solves from the Redis queue and writes the day to the shared "
            "database: set REDIS_URL and a PostgreSQL DATABASE_URL (the SQLite demo runs in one process)"
        )
    return None


async def run_worker(settings: Settings, *, ready: Callable[[str], None] = print) -> None:
    """Run until SIGTERM or SIGINT; ``ready`` is told once jobs are taken."""
    assert settings.redis_url is not None
    engine = make_engine(settings.database_url)
    use_database(engine)
    await engine.start_connection_pool()
    await migrate()
    geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
    executor = new_pool(settings.solver_workers)
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(executor, warm_up) for _ in range(settings.solver_workers)))
    feed = make_feed(settings.redis_url)
    await feed.start()
    positions = PositionStore()  # only heard here: the serving processes record and flush them
    feed.watch_positions(positions.hear)
    state = State({"settings": settings, "geo": geo, "executor": executor, "feed": feed, "positions": positions})
    state.context = Context(geo=geo, settings=settings, pool=executor, positions=positions, feed=feed)
    backend = SaqBackend(
        settings.redis_url,
        name=settings.jobs_queue,
        concurrency=max(2, 2 * settings.solver_workers),  # a slot waits on the pool while its solve runs
        secret=settings.secret_key,
    )
    jobs = Worker(state, backend=backend)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await jobs.start()  # jobs left by a worker of this host that died run again now
        ready(f"laadbak worker ready: queue {settings.jobs_queue!r}, {settings.solver_workers} solver process(es)")
        await stop.wait()
    finally:
        await jobs.stop()
        await feed.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            await close_pool(engine)
