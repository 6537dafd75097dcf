"""The feed of several processes sharing one Redis (REDIS_URL).

A poke is published on a Redis channel, so every process's tail wakes at
once; positions go through Redis too, and each process's listener (this
one's included) hands them to its own hub streams. Redis only carries word:
the outbox stays the record, so a lost message delays an event by one poll
and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as redis

from backend.realtime.feed.tail import OutboxFeed

log = logging.getLogger("laadbak.feed")
PREFIX = "laadbak"  # channels "<prefix>:outbox" and "<prefix>:positions"
CONNECT_TIMEOUT_S = 2.0
RECONNECT_S = 1.0


class RedisFeed(OutboxFeed):
    def __init__(self, redis_url: str, *, poll_interval_s: float = 0.5, prefix: str = PREFIX) -> None:
        super().__init__(poll_interval_s=poll_interval_s)
        self.redis_url = redis_url
        # Pub/sub channels are shared by all of a server's databases: a prefix keeps apart
        # deployments (or test runs) that share one Redis.
        self.events_channel, self.positions_channel = f"{prefix}:outbox", f"{prefix}:positions"
        self._redis: redis.Redis | None = None

    async def _open(self) -> None:
        self._redis = redis.from_url(self.redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S)
        pubsub = None
        try:  # subscribed before start() returns: a poke from elsewhere after that is heard
            pubsub = await self._subscribe()
        except Exception:  # noqa: BLE001 - the listener keeps trying; the poll covers meanwhile
            log.warning("could not subscribe to Redis; will retry", exc_info=True)
        self._tasks.append(asyncio.create_task(self._listen(pubsub), name="redis-listen"))

    async def _close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _announce(self) -> None:
        assert self._redis is not None, "start() the feed first"
        try:
            await self._redis.publish(self.events_channel, "1")
        except Exception:  # noqa: BLE001 - the poll still finds it
            log.warning("could not notify other workers through Redis", exc_info=True)

    async def _broadcast_position(self, hub_id: int, message: dict[str, Any]) -> None:
        assert self._redis is not None, "start() the feed first"
        try:
            await self._redis.publish(self.positions_channel, json.dumps({"hubId": hub_id, "message": message}))
            return  # our own listener delivers it locally too
        except Exception:  # noqa: BLE001
            log.warning("could not publish a position through Redis", exc_info=True)
        self._deliver_position(hub_id, message)

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
            self._deliver_position(data["hubId"], data["message"])


async def _quietly_close(pubsub: Any) -> None:
    with contextlib.suppress(Exception):  # its connection may be gone already
        await pubsub.aclose()
