"""The PostgreSQL engine lends its connection pool only to the event loop that started it
(backend/db/engine.py LoopPostgresEngine): the API tests' app pools on the test client's
loop while the test body queries on another. No database is needed: the pool is a stand-in."""

from __future__ import annotations

import asyncio
import threading

from piccolo.engine.postgres import PostgresEngine

from backend.db.engine import LoopPostgresEngine, make_engine


def test_make_engine_builds_the_loop_aware_engine_for_postgres() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/nowhere")
    assert isinstance(engine, LoopPostgresEngine) and isinstance(engine, PostgresEngine)
    assert engine.pool is None


def test_the_pool_serves_its_own_loop_and_no_other() -> None:
    engine = LoopPostgresEngine(config={"dsn": "postgres://postgres@127.0.0.1:5432/nowhere"})
    pool = object()
    seen: dict[str, object] = {}

    async def start() -> None:  # as start_connection_pool sets it, on the app's loop
        engine.pool = pool
        seen["own"] = engine.pool

    async def elsewhere() -> None:
        seen["other"] = engine.pool

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(start())
        thread = threading.Thread(target=lambda: asyncio.run(elsewhere()))
        thread.start()
        thread.join()
        assert seen == {"own": pool, "other": None}
        assert engine.pool is None  # outside any loop
        loop.run_until_complete(elsewhere())
        assert seen["other"] is pool  # back on its own loop

        async def close() -> None:
            engine.pool = None

        loop.run_until_complete(close())
        loop.run_until_complete(elsewhere())
        assert seen["other"] is None
    finally:
        loop.close()
