"""Writing and reading outbox events. Writers call ``emit`` inside the same
transaction as the change it describes; the id is the sequence number every
device sees."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from backend.db.engine import after_commit
from backend.db.prepared import Prepared
from backend.db.rows import insert_rows
from backend.db.tables import OutboxEvent

# Told of each event once it is committed (its kind and hub; nothing on a rollback), in
# this process: caches of what the events change (backend/services/checkout_changes.py),
# which a listener told before the commit would make again from the old rows and keep.
# Cheap and never raising.
LISTENERS: list[Callable[[str, int | None], None]] = []

# Events: every courier's action writes some, a minute's alert check hundreds.
_COLUMNS = (
    OutboxEvent.topic,
    OutboxEvent.courier_id,
    OutboxEvent.hub_id,
    OutboxEvent.kind,
    OutboxEvent.payload,
    OutboxEvent.created_at,
)


async def _insert(rows: Sequence[tuple[str, int | None, int | None, str, dict[str, Any]]]) -> None:
    """(topic, courier, hub, kind, payload) rows, in order: their ids follow it."""
    now = dt.datetime.now()
    await insert_rows(_COLUMNS, [(*row, now) for row in rows])


async def emit(
    kind: str,
    payload: dict[str, Any],
    *,
    courier_id: int | None = None,
    hub_id: int | None = None,
    topic: str | None = None,
) -> None:
    """``topic`` names a narrower stream as well (e.g. ``warehouse:3``: the hub's pickers);
    the event still reaches its courier's and hub's streams."""
    if topic is None:
        topic = f"courier:{courier_id}" if courier_id is not None else f"hub:{hub_id}"
    await _insert([(topic, courier_id, hub_id, kind, payload)])
    for listener in LISTENERS:
        after_commit(functools.partial(listener, kind, hub_id))


async def emit_all(events: Sequence[tuple[str, dict[str, Any]]], *, hub_id: int) -> None:
    """Several events on the hub's stream in one statement (in order): hundreds of alerts of
    one minute's check are one insert, not hundreds of round trips under the writer."""
    if not events:
        return
    topic = f"hub:{hub_id}"
    await _insert([(topic, None, hub_id, kind, p) for kind, p in events])
    for kind in dict.fromkeys(kind for kind, _ in events):
        for listener in LISTENERS:
            after_commit(functools.partial(listener, kind, hub_id))


_LATEST = Prepared(lambda: OutboxEvent.select(OutboxEvent.id).order_by(OutboxEvent.id, ascending=False).first(), 0)


async def latest_seq() -> int:
    row = await _LATEST()
    return row["id"] if row else 0


_AFTER: dict[tuple[str, int], Prepared] = {}


def _after_query(scope: str, limit: int) -> Prepared:
    prepared = _AFTER.get((scope, limit))
    if prepared is None:
        columns = (
            OutboxEvent.id,
            OutboxEvent.kind,
            OutboxEvent.payload,
            OutboxEvent.courier_id,
            OutboxEvent.hub_id,
            OutboxEvent.topic,
        )

        def build(after: Any, who: Any = None) -> Any:
            where: Any = OutboxEvent.id > after
            if scope == "courier":
                where &= OutboxEvent.courier_id == who
            elif scope == "hub":
                where &= OutboxEvent.hub_id == who
            elif scope == "topic":
                where &= OutboxEvent.topic == who
            return OutboxEvent.select(*columns).where(where)

        prepared = _AFTER[(scope, limit)] = Prepared(
            lambda *values: build(*values).order_by(OutboxEvent.id).limit(limit).output(load_json=True),
            1 if scope == "all" else 2,
        )
    return prepared


async def events_after(
    after: int,
    *,
    courier_id: int | None = None,
    hub_id: int | None = None,
    topic: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Events after ``after`` for one courier's, one hub's or one topic's stream (or all), in order."""
    if sum(x is not None for x in (courier_id, hub_id, topic)) > 1:
        raise ValueError("one stream at a time: a courier's, a hub's or a topic's")
    if topic is not None:
        return await _after_query("topic", limit)(after, topic)
    if courier_id is not None:
        return await _after_query("courier", limit)(after, courier_id)
    if hub_id is not None:
        return await _after_query("hub", limit)(after, hub_id)
    return await _after_query("all", limit)(after)


async def running_transactions() -> frozenset[int] | None:
    """The ids of the database's transactions in progress now; None where the database does
    not say (SQLite: its one writer at a time leaves no hole that a later commit fills).

    A hole in the outbox ids is an id taken by a transaction not committed yet (or rolled
    back); the feed holds later events back while a transaction that was running when it
    saw the hole still runs (``backend.realtime.feed.tail``)."""
    if not isinstance(OutboxEvent._meta.db, PostgresEngine):
        return None
    rows = await OutboxEvent.raw("SELECT txid_current_snapshot()::text AS snapshot")
    _, _, running = rows[0]["snapshot"].split(":")
    return frozenset(int(x) for x in running.split(",") if x)
