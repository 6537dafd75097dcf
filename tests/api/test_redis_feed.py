"""With REDIS_URL, workers wake each other through Redis: an event written by one
reaches another's sockets without waiting for its poll, and so do positions."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from backend.realtime.feed import Feed
from backend.realtime.outbox import emit
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("LAADBAK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _redis_reason() -> str | None:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url() -> str:
    reason = await _redis_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} does not answer: {reason}")
        pytest.skip(f"Redis at {REDIS_URL} does not answer: {reason}")
    return REDIS_URL


async def test_two_workers_share_events_and_positions_through_redis(client, redis_url) -> None:
    # Polls far apart: only Redis can make the delivery quick.
    writer, reader = Feed(poll_interval_s=30, redis_url=redis_url), Feed(poll_interval_s=30, redis_url=redis_url)
    await writer.start()
    await reader.start()
    try:
        courier_sub = reader.subscribe(courier_id=5)
        hub_sub = reader.subscribe(hub_id=9)
        await asyncio.sleep(0.3)  # let both listeners subscribe
        await emit("stop.updated", {"stopId": 1}, courier_id=5, hub_id=9)
        started = time.monotonic()
        await writer.poke()
        event = await asyncio.wait_for(courier_sub.queue.get(), 5)
        assert time.monotonic() - started < 5 and event["data"] == {"stopId": 1}
        assert (await asyncio.wait_for(hub_sub.queue.get(), 5))["seq"] == event["seq"]
        await writer.publish_position(9, {"type": "position", "courierId": 5, "lat": 60.1, "lon": 24.9})
        batch = await asyncio.wait_for(hub_sub.queue.get(), 5)
        assert batch["type"] == "positions" and [p["courierId"] for p in batch["positions"]] == [5]
        assert courier_sub.queue.empty()  # positions go to the hub stream only
    finally:
        await writer.stop()
        await reader.stop()
