"""The feed of several processes sharing one Redis (REDIS_URL).

A poke is published on a Redis channel, so every process's tail wakes at
once; positions go through Redis too, and each process's listener (this
one's included) hands them to its own hub streams. Redis only carries word:
the outbox stays the record, so a lost message delays an event by one poll
and loses nothing.

One task publishes, one message at a time: the pokes that came meanwhile as
one, the positions that came meanwhile as one list. A publish per position
(hundreds a second a process) ran the client's connection pool dry under
`bench ws --processes 3`, and each refusal logged its traceback on the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from typing import Any

import redis.asyncio as redis

from backend.realtime.feed.tail import OutboxFeed

log = logging.getLogger("laadbak.feed")
PREFIX = "laadbak"  # channels "<prefix>:outbox" and "<prefix>:positions"
CONNECT_TIMEOUT_S = 2.0
RECONNECT_S = 1.0
# Positions waiting for the sender, the oldest dropped past this many (a position is
# superseded by the courier's next one; a publish that hangs must not grow memory).
MAX_WAITING_POSITIONS = 10_000
WARN_EVERY_S = 10.0  # a failing Redis is logged with its traceback once in this long


class RedisFeed(OutboxFeed):
    def __init__(self, redis_url: str, *, poll_interval_s: float = 0.5, prefix: str = PREFIX) -> None:
        super().__init__(poll_interval_s=poll_interval_s)
        self.redis_url = redis_url
        # Pub/sub channels are shared by all of a server's databases: a prefix keeps apart
        # deployments (or test runs) that share one Redis.
        self.events_channel, self.positions_channel = f"{prefix}:outbox", f"{prefix}:positions"
        self._redis: redis.Redis | None = None
        self._positions: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_WAITING_POSITIONS)
        self._poke_waiting = False
        self._to_send = asyncio.Event()
        self._warned: dict[str, float] = {}

    async def _open(self) -> None:
        self._redis = redis.from_url(self.redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S)
        pubsub = None
        try:  # subscribed before start() returns: a poke from elsewhere after that is heard
            pubsub = await self._subscribe()
        except Exception:  # noqa: BLE001 - the listener keeps trying; the poll covers meanwhile
            log.warning("could not subscribe to Redis; will retry", exc_info=True)
        self._tasks.append(asyncio.create_task(self._listen(pubsub), name="redis-listen"))
        self._tasks.append(asyncio.create_task(self._send(), name="redis-send"))

    async def _close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _announce(self) -> None:
        self._poke_waiting = True
        self._to_send.set()

    async def _broadcast_position(self, hub_id: int, message: dict[str, Any]) -> None:
        self._positions.append({"hubId": hub_id, "message": message})
        self._to_send.set()

    async def _send(self) -> None:
        while True:
            await self._to_send.wait()
            self._to_send.clear()
            try:
                await self._send_waiting()
            except Exception:  # noqa: BLE001 - a listener's fault must not stop the sender
                log.exception("sending to Redis failed; the sender goes on")

    async def _send_waiting(self) -> None:
        assert self._redis is not None, "start() the feed first"
        if self._poke_waiting:
            self._poke_waiting = False
            try:
                await self._redis.publish(self.events_channel, "1")
            except Exception:  # noqa: BLE001 - the poll still finds them
                self._warn("could not notify other workers through Redis")
        if self._positions:
            batch = list(self._positions)
            self._positions.clear()
            try:
                await self._redis.publish(self.positions_channel, json.dumps(batch))
                return  # our own listener delivers them locally too
            except Exception:  # noqa: BLE001
                self._warn("could not publish positions through Redis")
            for p in batch:
                self._deliver_position(p["hubId"], p["message"])

    def _warn(self, what: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(what, -WARN_EVERY_S) >= WARN_EVERY_S:
            self._warned[what] = now
            log.warning("%s (logged once in %.0f s)", what, WARN_EVERY_S, exc_info=True)

    async def _subscribe(self) -> Any:
        assert self._redis is not None
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.events_channel, self.positions_channel)
        return pubsub

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                if pubsub is None:
                    pubsub = await self._subscribe()
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        self._heard(item)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.warning("Redis listener lost its connection; reconnecting", exc_info=True)
                await asyncio.sleep(RECONNECT_S)
            finally:
                if pubsub is not None:
                    await _quietly_close(pubsub)
                pubsub = None

    def _heard(self, item: dict[str, Any]) -> None:
        channel = item["channel"]
        if isinstance(channel, bytes):
            channel = channel.decode()
        if channel == self.events_channel:
            self._wake.set()
        else:
            data = json.loads(item["data"])
            for p in data if isinstance(data, list) else [data]:  # a list, or one from an older process
                self._deliver_position(p["hubId"], p["message"])


async def _quietly_close(pubsub: Any) -> None:
    with contextlib.suppress(Exception):  # its connection may be gone already
        await pubsub.aclose()
