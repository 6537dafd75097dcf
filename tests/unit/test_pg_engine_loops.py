"""The PostgreSQL engine lends its connection pool only to the event loop that started it
(backend/db/engine.py LoopPostgresEngine): the API tests' app pools on the test client's
loop while the test body queries on another. No database is needed there: the pool is a
stand-in. Its transactions give their connection back to the pool whatever cuts them short
(a real PostgreSQL, where it answers)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable

import pytest
from piccolo.engine.postgres import PostgresEngine

from backend.db.engine import LoopPostgresEngine, close_pool, make_engine
from tests.conftest import POSTGRES_URL, need_postgres


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


@pytest.fixture
def pg_engine() -> LoopPostgresEngine:
    need_postgres()
    engine = make_engine(POSTGRES_URL)
    assert isinstance(engine, LoopPostgresEngine)
    return engine


async def _lent_after(engine: LoopPostgresEngine, cut: Callable[[asyncio.Task[None]], Awaitable[None]]) -> int:
    """Connections the pool still has lent out after a transaction (a long query in it) was
    cut short by ``cut``; then the pool is closed, cutting what is still lent."""
    await engine.start_connection_pool(min_size=1, max_size=2)
    pool = engine.pool
    started = asyncio.Event()

    async def work() -> None:
        async with engine.transaction():
            started.set()
            await engine.current_transaction.get().connection.execute("SELECT pg_sleep(5)")

    task = asyncio.create_task(work())
    try:
        await started.wait()
        await asyncio.sleep(0.2)  # inside pg_sleep
        await cut(task)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)  # the shielded release finishes
        return pool.get_size() - pool.get_idle_size()
    finally:
        pool.terminate()
        engine.pool = None


async def _cancel_twice(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.sleep(0.001)  # the rollback has begun
    task.cancel()  # as backend.aio.cancel_and_wait does to a task still running a second on


async def _cancel_once(task: asyncio.Task[None]) -> None:
    task.cancel()


@pytest.mark.parametrize("cut", [_cancel_once, _cancel_twice], ids=["cancelled", "cancelled-again-in-its-rollback"])
async def test_a_cancelled_transaction_gives_its_connection_back_to_the_pool(pg_engine, cut) -> None:
    assert await _lent_after(pg_engine, cut) == 0


async def test_closing_the_pool_at_shutdown_does_not_wait_for_ever_for_a_lent_connection(pg_engine) -> None:
    await pg_engine.start_connection_pool(min_size=1, max_size=1)
    pool = pg_engine.pool
    lent = await pool.acquire()  # never given back
    pid = lent.get_server_pid()
    # without its limit close_pool waits for ever: wait_for turns that into a failure
    await asyncio.wait_for(close_pool(pg_engine, timeout_s=0.5), timeout=30)
    assert pg_engine.pool is None
    # the lent connection was cut: the server no longer serves it
    probe = await pg_engine.get_new_connection()
    try:
        for _ in range(50):
            if not await probe.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"the connection lent to nobody (server pid {pid}) is still open")
    finally:
        await probe.close()
