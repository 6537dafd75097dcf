"""What every feed implementation shares: it tails the outbox and hands each
event to the local subscribers of its courier and hub.

Every process tails the database itself, so events written by any worker
reach every socket in order and none is lost; a local write pokes the tail at
once, and an implementation that spans processes (Redis) wakes the others
too. The resume protocol, not this in-memory fan-out, is what guarantees
delivery: a subscriber that falls behind is flagged and re-reads history.

Subclasses say how word travels between processes: ``_announce`` after a
local poke, ``_broadcast_position`` for a courier's position, and whatever
they connect in ``_open``/``_close``.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from backend.aio import cancel_and_wait, wait_set
from backend.realtime import outbox
from backend.realtime.feed.subscriber import Subscriber

log = logging.getLogger("laadbak.feed")
# A hole in the ids is an id taken by a transaction that has not committed yet
# (PostgreSQL) or never will (rolled back). Later events wait while any
# transaction that was running when the hole was seen still runs: the hole's
# writer is one of them (the id was taken before the read that saw the hole).
# Several processes write at once, and under load a writer may take seconds
# from its id to its commit: a fixed wait passed such holes and lost their
# events for every live stream. Where the database cannot name its running
# transactions (SQLite) a hole waits GAP_GRACE_S; none waits beyond GAP_MAX_S
# (a transaction left open must not stop every stream), which is logged.
GAP_GRACE_S = 1.0
GAP_MAX_S = 30.0
# How soon the tail looks again while a hole holds events back (not at once: that spun
# on the database, and without a yield at all when a read answered from memory).
GAP_RETRY_S = 0.02
BATCH = 500


class OutboxFeed(abc.ABC):
    def __init__(self, *, poll_interval_s: float = 0.5) -> None:
        self.poll_interval_s = poll_interval_s
        self.last_seq = 0
        self._couriers: dict[int, set[Subscriber]] = {}
        self._hubs: dict[int, set[Subscriber]] = {}
        self._topics: dict[str, set[Subscriber]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._gap_since: float | None = None
        self._gap_writers: frozenset[int] | None = None  # transactions running when the hole was seen
        self._gap_settled = False  # they have all ended: one more read, then the hole stays a hole
        self._position_listeners: list[Callable[[int, dict[str, Any]], None]] = []

    # -- what an implementation adds --
    @abc.abstractmethod
    async def _open(self) -> None:
        """Connect to whatever carries word between processes."""

    @abc.abstractmethod
    async def _close(self) -> None:
        """Let go of it; the tasks in ``_tasks`` are cancelled already."""

    @abc.abstractmethod
    async def _announce(self) -> None:
        """Tell the other processes that events were committed."""

    @abc.abstractmethod
    async def _broadcast_position(self, hub_id: int, message: dict[str, Any]) -> None:
        """Hand a position to the hub's subscribers in every process (this one too)."""

    # -- life --
    async def start(self) -> None:
        self.last_seq = await outbox.latest_seq()
        self._tasks.append(asyncio.create_task(self._tail(), name="outbox-tail"))
        await self._open()

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        await self._close()

    # -- subscribers --
    def subscribe(
        self, *, courier_id: int | None = None, hub_id: int | None = None, topic: str | None = None
    ) -> Subscriber:
        sub = Subscriber(courier_id=courier_id, hub_id=hub_id, topic=topic)
        if courier_id is not None:
            self._couriers.setdefault(courier_id, set()).add(sub)
        if hub_id is not None:
            self._hubs.setdefault(hub_id, set()).add(sub)
        if topic is not None:
            self._topics.setdefault(topic, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        tables: tuple[tuple[dict[Any, set[Subscriber]], Any], ...] = (
            (self._couriers, sub.courier_id),
            (self._hubs, sub.hub_id),
            (self._topics, sub.topic),
        )
        for table, key in tables:
            if key is not None and key in table:
                table[key].discard(sub)
                if not table[key]:
                    del table[key]

    @property
    def connections(self) -> int:
        tables = (self._couriers, self._hubs, self._topics)
        return len({sub for table in tables for subs in table.values() for sub in subs})

    # -- events --
    async def poke(self) -> None:
        self._wake.set()
        await self._announce()

    async def history(
        self,
        after: int,
        *,
        courier_id: int | None = None,
        hub_id: int | None = None,
        topic: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        return await outbox.events_after(after, courier_id=courier_id, hub_id=hub_id, topic=topic, limit=limit)

    async def latest_seq(self) -> int:
        return await outbox.latest_seq()

    async def _tail(self) -> None:
        held = False
        while True:
            if held:
                await asyncio.sleep(GAP_RETRY_S)
            else:
                await wait_set(self._wake, self.poll_interval_s)
            self._wake.clear()
            try:
                held = await self._drain()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the feed
                log.exception("outbox tail failed; retrying")
                held = False
                await asyncio.sleep(self.poll_interval_s)

    async def _drain(self) -> bool:
        """Hand on what has committed, in order; True when a hole in the ids holds the rest back."""
        while True:
            rows = await outbox.events_after(self.last_seq, limit=BATCH)
            if not rows:
                return False
            expected = self.last_seq + 1
            for row in rows:
                if row["id"] != expected and not await self._gap_passed(expected):
                    return True
                self._gap_since = None
                self._dispatch(row)
                self.last_seq = expected = row["id"]
                expected += 1
            if len(rows) < BATCH:
                return False

    async def _gap_passed(self, missing: int) -> bool:
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since, self._gap_settled = now, False
            self._gap_writers = await outbox.running_transactions()
            return False
        waited = now - self._gap_since
        if self._gap_writers is None:
            return waited >= GAP_GRACE_S
        if self._gap_settled:
            return True
        if waited >= GAP_MAX_S:
            log.warning("event %d was passed after %.0f s: its transaction is still open", missing, waited)
            return True
        running = await outbox.running_transactions()
        self._gap_settled = running is None or not (self._gap_writers & running)
        return False

    def _dispatch(self, row: dict[str, Any]) -> None:
        message = {"type": "event", "seq": row["id"], "kind": row["kind"], "data": row["payload"]}
        courier_id, hub_id, topic = row["courier_id"], row["hub_id"], row.get("topic")
        # A subscriber of several of them (a courier and its hub) gets the event once.
        to: set[Subscriber] = set()
        if courier_id is not None:
            to.update(self._couriers.get(courier_id, ()))
        if hub_id is not None:
            to.update(self._hubs.get(hub_id, ()))
        if topic is not None:
            to.update(self._topics.get(topic, ()))
        for sub in to:
            sub.offer(message)

    # -- positions: state, not events --
    async def publish_position(self, hub_id: int, message: dict[str, Any]) -> None:
        await self._broadcast_position(hub_id, message)

    def watch_positions(self, listener: Callable[[int, dict[str, Any]], None]) -> None:
        self._position_listeners.append(listener)

    def _deliver_position(self, hub_id: int, message: dict[str, Any]) -> None:
        for listener in self._position_listeners:
            listener(hub_id, message)
        for sub in self._hubs.get(hub_id, ()):
            sub.offer_position(message)
