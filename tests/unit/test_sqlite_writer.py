"""SQLite's writer: a write transaction's statements run at once, without a round trip
to the connection's thread for each (backend/db/engine.py, _WriterConnection)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from piccolo.columns import Varchar
from piccolo.table import Table

from backend.db import engine as engine_module
from backend.db import piccolo_conf
from backend.db.engine import PooledSQLiteEngine, make_engine, transaction


class Thing(Table):
    name = Varchar(length=40)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[None]:
    """A pooled SQLite engine with its checkpointer (often: one every few milliseconds)."""
    PooledSQLiteEngine.CHECKPOINT_EVERY_S, before_every = 0.003, PooledSQLiteEngine.CHECKPOINT_EVERY_S
    engine = make_engine(f"sqlite:///{tmp_path / 'writer.sqlite'}")
    before = piccolo_conf.DB
    piccolo_conf.DB = engine
    Thing._meta.db = engine
    await engine.start_connection_pool()
    await Thing.create_table()
    try:
        yield
    finally:
        await engine.close_connection_pool()
        piccolo_conf.DB = before
        PooledSQLiteEngine.CHECKPOINT_EVERY_S = before_every


class Turns:
    """Counts the event loop's turns while it runs."""

    def __init__(self) -> None:
        self.count = 0
        self.task = asyncio.create_task(self._spin())

    async def _spin(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.count += 1

    def stop(self) -> int:
        self.task.cancel()
        return self.count


async def write_things(n: int, turns: Turns | None = None) -> int:
    """``n`` inserts and reads in one write transaction; the loop's turns between the
    first statement and the last."""
    async with transaction():
        await Thing.insert(Thing(name="first"))
        before = turns.count if turns else 0
        for i in range(n):
            await Thing.insert(Thing(name=f"thing {i}"))
            await Thing.select(Thing.id).where(Thing.name == f"thing {i}").first()
        return (turns.count if turns else 0) - before


async def test_a_write_transaction_does_not_wait_for_the_loop_at_every_statement(sqlite: None) -> None:
    turns = Turns()
    between = await write_things(20, turns)  # 40 statements after the first
    turns.stop()
    assert await Thing.count() == 21
    assert between == 0  # not one round trip through the loop


async def test_past_its_budget_a_transaction_lets_the_loop_run(sqlite: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "INLINE_BUDGET_S", 0.0)  # a turn before every statement
    turns = Turns()
    between = await write_things(20, turns)
    turns.stop()
    assert await Thing.count() == 21
    assert between >= 40


async def test_a_failed_transaction_leaves_nothing_written(sqlite: None) -> None:
    with pytest.raises(RuntimeError):
        async with transaction():
            await Thing.insert(Thing(name="half"))
            raise RuntimeError("the write step refused")
    assert await Thing.count() == 0
    await write_things(1)  # and the writer is free again
    assert await Thing.count() == 2


async def test_a_bulk_insert_over_the_inline_limit_goes_to_the_connections_thread(sqlite: None) -> None:
    rows = [Thing(name=f"bulk {i}") for i in range(engine_module.INLINE_MAX_ARGS + 50)]
    async with transaction():
        await Thing.insert(*rows)
        await Thing.insert(Thing(name="after"))
    assert await Thing.count() == len(rows) + 1


# A read of this many rows outgrows any budget below a few milliseconds.
MANY_ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT max(i) AS m FROM n"


async def test_a_small_read_runs_at_once_on_the_loops_thread(sqlite: None) -> None:
    await Thing.insert(Thing(name="one"))
    await Thing.select(Thing.name).first()  # the pool's first connection opens
    turns = Turns()
    before = turns.count
    for _ in range(20):
        assert (await Thing.select(Thing.name).first()) == {"name": "one"}
    between = turns.count - before
    turns.stop()
    assert between == 0  # no round trip to a connection's thread


async def test_a_read_past_its_budget_runs_again_on_its_connections_thread(sqlite: None) -> None:
    turns = Turns()
    before = turns.count
    rows = await Thing.raw(MANY_ROWS)
    between = turns.count - before
    turns.stop()
    assert rows == [{"m": 200000}]
    assert between > 0  # it went to the thread, and the loop ran meanwhile


async def elsewhere(work: Any) -> Any:
    """``work`` outside the caller's transaction (a fresh context)."""
    return await asyncio.get_running_loop().create_task(work, context=contextvars.Context())


async def test_an_interrupted_read_keeps_its_snapshot(sqlite: None) -> None:
    await Thing.insert(Thing(name="before"))
    async with engine_module.reading():
        assert [r["name"] for r in await Thing.select(Thing.name)] == ["before"]  # the snapshot
        await elsewhere(Thing.insert(Thing(name="meanwhile")).run())  # another connection writes
        assert await Thing.raw(MANY_ROWS) == [{"m": 200000}]  # interrupted, then run again
        assert [r["name"] for r in await Thing.select(Thing.name)] == ["before"]  # same snapshot
    assert await Thing.count() == 2


async def test_the_writers_statements_are_never_interrupted(sqlite: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "READ_INLINE_BUDGET_S", 0.0)
    async with transaction():
        assert await Thing.raw(MANY_ROWS) == [{"m": 200000}]
        await Thing.insert(Thing(name="after a long read"))
    assert await Thing.count() == 1


async def test_checkpoints_go_on_beside_reads_at_once(sqlite: None, caplog: pytest.LogCaptureFixture) -> None:
    for i in range(40):
        await Thing.insert(Thing(name=f"thing {i}"))
        assert await Thing.select(Thing.name).where(Thing.name == f"thing {i}").first() == {"name": f"thing {i}"}
        await asyncio.sleep(0.004)  # a checkpoint between
    assert "WAL checkpoint failed" not in caplog.text
