"""The outbox's listeners (the check-out's change counts) hear an event only once its
transaction has committed, once for the outermost of nested transactions, and never when
it rolls back; an event written outside a transaction is committed as it is written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.db.engine import transaction
from backend.db.tables import OutboxEvent
from backend.realtime.outbox import LISTENERS, emit
from backend.services import checkout_changes


@pytest.fixture
def heard() -> Iterator[list[tuple[str, int | None]]]:
    """What a listener heard: each event's kind and hub, in order."""
    out: list[tuple[str, int | None]] = []

    def listener(kind: str, hub_id: int | None) -> None:
        out.append((kind, hub_id))

    LISTENERS.append(listener)
    yield out
    LISTENERS.remove(listener)


async def test_a_listener_hears_an_event_after_its_commit_and_not_after_a_rollback(client, heard) -> None:
    async with transaction():
        await emit("order.created", {"orderId": 1}, hub_id=7)
        async with transaction():  # joins the outer one
            await emit("plan.finished", {}, hub_id=7)
        assert heard == []  # nothing committed yet: a cache made again now would read the old rows
        before = checkout_changes.count(7)
    assert heard == [("order.created", 7), ("plan.finished", 7)]
    assert checkout_changes.count(7) != before  # the check-out's own listener moved after the commit
    assert await OutboxEvent.count().where(OutboxEvent.hub_id == 7) == 2

    heard.clear()
    moved = checkout_changes.count(8)
    with pytest.raises(RuntimeError):
        async with transaction():
            await emit("order.created", {"orderId": 2}, hub_id=8)
            raise RuntimeError("the change fails after its event was written")
    assert heard == [] and checkout_changes.count(8) == moved  # rolled back: nobody told
    assert await OutboxEvent.count().where(OutboxEvent.hub_id == 8) == 0

    await emit("order.created", {"orderId": 3}, hub_id=9)  # no transaction: committed as written
    assert heard == [("order.created", 9)]


async def test_a_listener_that_raises_leaves_the_commit_and_the_other_listeners_be(client, heard) -> None:
    def broken(kind: str, hub_id: int | None) -> None:
        raise ValueError("a broken cache")

    LISTENERS.insert(0, broken)
    try:
        async with transaction():
            await emit("order.created", {"orderId": 4}, hub_id=10)
        async with transaction():
            await emit("order.created", {"orderId": 5}, hub_id=10)
    finally:
        LISTENERS.remove(broken)
    assert await OutboxEvent.count().where(OutboxEvent.hub_id == 10) == 2  # both committed
    assert heard == [("order.created", 10), ("order.created", 10)]  # the listener after it still heard
