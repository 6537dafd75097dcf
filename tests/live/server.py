"""A real Laadbak server process on a seeded SQLite day, for websocket and browser tests.

The process itself is the bench harness's (:mod:`backend.bench.harness.server`);
this adds the seeded day and the test's defaults (demo logins, a fixed secret).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import shutil
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from pathlib import Path

from backend.bench.harness import api
from backend.bench.harness.server import ServerProcess
from backend.db.engine import make_engine, migrate, use_database
from backend.services.context import Context
from backend.services.demo import DEMO_PASSWORD, seed
from backend.services.planning import plan_day
from backend.settings import REPO_ROOT, load_settings

SHARED_CACHE = REPO_ROOT / "var" / "cache"  # where the tests' `geo` fixture keeps the street network


async def seed_day(db: Path | str, geo, *, orders: int = 24, couriers: int = 2, seed_no: int = 7) -> int:  # noqa: ANN001
    """Seed and plan today in the SQLite file ``db`` (or the database URL ``db``); returns the hub id."""
    use_database(make_engine(db if isinstance(db, str) else f"sqlite:///{db}"))
    await migrate()
    day = dt.date.today()
    city = await seed(geo, day, orders_count=orders, couriers=couriers, seed=seed_no)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        ctx = Context(geo=geo, settings=load_settings({"LAADBAK_SECRET_KEY": "live"}), pool=pool)
        await plan_day(ctx, city.hub_id, day, 2.0)
    return city.hub_id


def copy_database(source: Path, target: Path) -> None:
    """A whole, consistent copy of a SQLite database (its WAL included), by SQLite's backup:
    a day seeded once, a fresh copy of it for each server."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


class LiveServer(ServerProcess):
    """``laadbak serve`` on the SQLite file ``db``; ``env`` e.g. LAADBAK_CRASH_AT for the crash
    tests (it may change between a stop and the next start, on the same database and port)."""

    def __init__(self, var_dir: Path, db: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(var_dir, f"sqlite:///{db}", secret_key="live-test", env=env, startup_timeout_s=60)
        self.db = db
        # The street network and the read extract the tests' `geo` already built (the cache is
        # keyed by the map's hash): without them every server start builds them again.
        cache = var_dir / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        for built in [*SHARED_CACHE.glob("street-network-*"), *SHARED_CACHE.glob("extract-*.msgpack")]:
            if not (cache / built.name).exists():
                shutil.copy2(built, cache / built.name)
        self.hub_id: int | None = None

    def stop(self, timeout_s: float = 10.0) -> None:
        super().stop(timeout_s)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        return api.login(self.base, username, password)


def run(coro):  # noqa: ANN001, ANN201 - a sync helper for fixtures
    return asyncio.run(coro)
