"""The per-process feed: tails the outbox and hands each event to the local
websocket subscribers of its courier and hub.

Every process tails the database itself, so events written by any worker
reach every socket in order and none is lost; a local write pokes the tail at
once, and with Redis configured a write in another process does too. The
resume protocol, not this in-memory fan-out, is what guarantees delivery: a
subscriber that falls behind is flagged and re-reads from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from backend.realtime.outbox import events_after, latest_seq

log = logging.getLogger("laadbak.feed")
REDIS_CHANNEL = "laadbak:outbox"
POSITIONS_CHANNEL = "laadbak:positions"
# How long a hole in the ids (a transaction that took an id but has not
# committed yet, on PostgreSQL) holds back later events before it is passed.
GAP_GRACE_S = 1.0


# A hub stream gets the couriers' positions as one message per this interval,
# with each courier's latest: a map needs no more, and 2,000 phones sending
# every 5 s would otherwise be 400 messages a second to every dispatcher.
POSITION_BATCH_S = 1.0


class Subscriber:
    def __init__(self, *, courier_id: int | None = None, hub_id: int | None = None, maxsize: int = 2000) -> None:
        self.courier_id = courier_id
        self.hub_id = hub_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.overflowed = False
        self._positions: dict[Any, dict[str, Any]] = {}

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True  # the socket re-reads from the database

    def offer_position(self, message: dict[str, Any]) -> None:
        if not self._positions:
            asyncio.get_running_loop().call_later(POSITION_BATCH_S, self._send_positions)
        self._positions[message.get("courierId")] = message

    def _send_positions(self) -> None:
        batch, self._positions = list(self._positions.values()), {}
        if batch:
            self.offer({"type": "positions", "positions": batch})


class Feed:
    def __init__(self, *, poll_interval_s: float = 0.5, redis_url: str | None = None) -> None:
        self.poll_interval_s = poll_interval_s
        self.redis_url = redis_url
        self.last_seq = 0
        self._couriers: dict[int, set[Subscriber]] = {}
        self._hubs: dict[int, set[Subscriber]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None
        self._gap_since: float | None = None

    async def start(self) -> None:
        self.last_seq = await latest_seq()
        self._tasks.append(asyncio.create_task(self._tail(), name="outbox-tail"))
        if self.redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(self.redis_url)
            self._tasks.append(asyncio.create_task(self._listen(), name="redis-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._redis is not None:
            await self._redis.aclose()

    # -- subscribers --
    def subscribe(self, *, courier_id: int | None = None, hub_id: int | None = None) -> Subscriber:
        sub = Subscriber(courier_id=courier_id, hub_id=hub_id)
        if courier_id is not None:
            self._couriers.setdefault(courier_id, set()).add(sub)
        if hub_id is not None:
            self._hubs.setdefault(hub_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        for table, key in ((self._couriers, sub.courier_id), (self._hubs, sub.hub_id)):
            if key is not None and key in table:
                table[key].discard(sub)
                if not table[key]:
                    del table[key]

    @property
    def connections(self) -> int:
        return sum(len(s) for s in self._couriers.values()) + sum(len(s) for s in self._hubs.values())

    # -- events --
    async def poke(self) -> None:
        """A write committed: deliver it now, here and (with Redis) in every process."""
        self._wake.set()
        if self._redis is not None:
            try:
                await self._redis.publish(REDIS_CHANNEL, "1")
            except Exception:  # noqa: BLE001 - the poll still finds it
                log.warning("could not notify other workers through Redis", exc_info=True)

    async def _tail(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            self._wake.clear()
            try:
                await self._drain()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the feed
                log.exception("outbox tail failed; retrying")
                await asyncio.sleep(self.poll_interval_s)

    async def _drain(self) -> None:
        while True:
            rows = await events_after(self.last_seq, limit=500)
            if not rows:
                return
            expected = self.last_seq + 1
            for row in rows:
                if row["id"] != expected and not self._gap_passed():
                    self._wake.set()  # look again soon
                    return
                self._gap_since = None
                self._dispatch(row)
                self.last_seq = expected = row["id"]
                expected += 1
            if len(rows) < 500:
                return

    def _gap_passed(self) -> bool:
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= GAP_GRACE_S

    def _dispatch(self, row: dict[str, Any]) -> None:
        message = {"type": "event", "seq": row["id"], "kind": row["kind"], "data": row["payload"]}
        if row["courier_id"] is not None:
            for sub in self._couriers.get(row["courier_id"], ()):
                sub.offer(message)
        if row["hub_id"] is not None:
            for sub in self._hubs.get(row["hub_id"], ()):
                sub.offer(message)

    # -- positions: state, not events --
    async def publish_position(self, hub_id: int, message: dict[str, Any]) -> None:
        if self._redis is not None:
            try:
                await self._redis.publish(POSITIONS_CHANNEL, json.dumps({"hubId": hub_id, "message": message}))
                return  # our own listener delivers it locally too
            except Exception:  # noqa: BLE001
                log.warning("could not publish a position through Redis", exc_info=True)
        self._deliver_position(hub_id, message)

    def _deliver_position(self, hub_id: int, message: dict[str, Any]) -> None:
        for sub in self._hubs.get(hub_id, ()):
            sub.offer_position(message)

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(REDIS_CHANNEL, POSITIONS_CHANNEL)
                async for item in pubsub.listen():
                    if item.get("type") != "message":
                        continue
                    channel = item["channel"].decode() if isinstance(item["channel"], bytes) else item["channel"]
                    if channel == REDIS_CHANNEL:
                        self._wake.set()
                    else:
                        data = json.loads(item["data"])
                        self._deliver_position(data["hubId"], data["message"])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.warning("Redis listener lost its connection; reconnecting", exc_info=True)
                await asyncio.sleep(1)
