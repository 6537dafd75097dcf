"""SQLite's writer: a write transaction's statements run at once, without a round trip
to the connection's thread for each (backend/db/engine.py, _WriterConnection)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from piccolo.columns import Varchar
from piccolo.table import Table

from backend.db import engine as engine_module
from backend.db import piccolo_conf
from backend.db.engine import make_engine, transaction


class Thing(Table):
    name = Varchar(length=40)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[None]:
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
