"""Many rows by one hand-written statement per chunk read back as Piccolo's own insert
would have written them, in order, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.db import rows as rows_module
from backend.db.rows import insert_rows
from backend.db.tables import Hub, OutboxEvent

EVENT = (OutboxEvent.topic, OutboxEvent.hub_id, OutboxEvent.kind, OutboxEvent.payload, OutboxEvent.created_at)


async def test_rows_are_written_in_order_across_chunks_and_read_back_as_piccolo_writes_them(
    client, monkeypatch
) -> None:
    monkeypatch.setattr(rows_module, "VALUES_AT_ONCE", 10)  # 2 rows a statement: 7 rows in 4
    at = dt.datetime(2026, 12, 8, 9, 30)
    payloads = [{"n": n, "naam": "café «Noord»", "list": [n, None]} for n in range(7)]
    ids = await insert_rows(
        EVENT, [(f"hub:{n}", n, "test.kind", p, at) for n, p in enumerate(payloads)], returning=OutboxEvent.id
    )
    assert len(ids) == 7 and ids == sorted(ids)

    by_piccolo = OutboxEvent(topic="hub:99", hub_id=99, kind="test.kind", payload=payloads[3], created_at=at)
    await OutboxEvent.insert(by_piccolo)
    cols = (OutboxEvent.id, OutboxEvent.topic, OutboxEvent.hub_id, OutboxEvent.payload, OutboxEvent.created_at)
    read = (
        await OutboxEvent.select(*cols)
        .where(OutboxEvent.kind == "test.kind")
        .order_by(OutboxEvent.id)
        .output(load_json=True)
    )
    assert [r["id"] for r in read[:7]] == ids
    assert [(r["topic"], r["hub_id"], r["payload"]) for r in read[:7]] == [
        (f"hub:{n}", n, p) for n, p in enumerate(payloads)
    ]
    assert {r["created_at"] for r in read} == {at}
    assert read[3]["payload"] == read[7]["payload"]  # the same JSON as Piccolo's own insert


async def test_nothing_to_write_writes_nothing_and_columns_of_two_tables_are_refused(client) -> None:
    before = await OutboxEvent.count()
    assert await insert_rows(EVENT, [], returning=OutboxEvent.id) == []
    assert await insert_rows(EVENT, []) == []
    assert await OutboxEvent.count() == before
    with pytest.raises(ValueError, match="one table"):
        await insert_rows((OutboxEvent.topic, Hub.name), [("hub:1", "Noord")])
