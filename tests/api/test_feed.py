"""The live feed, the same tests for each implementation (in memory; through
Redis), as Litestar's channels tests run over its backends.

Polls are 30 s apart unless a test says otherwise: what arrives within a few
seconds came by a poke (or, across processes, through Redis), not by a poll.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as redis

from backend.realtime import outbox
from backend.realtime.feed import POSITION_BATCH_S, Feed, Subscriber, make_feed, tail
from backend.realtime.feed.memory import MemoryFeed
from backend.realtime.feed.redis import RedisFeed
from backend.realtime.outbox import emit
from backend.settings import Settings
from tests.api.redis_check import redis_or_skip

SLOW_POLL_S = 30.0
QUICK_S = 5.0  # well under a poll


class Feeds:
    """Starts feeds of one implementation; with Redis, each one stands for a
    process of its own (they share only Redis and the database)."""

    def __init__(self, kind: str, redis_url: str | None) -> None:
        self.kind, self.redis_url = kind, redis_url
        # Pub/sub spans Redis's databases: channels of its own, apart from other runs.
        self.prefix = f"test-feed-{uuid.uuid4()}"
        self.started: list[Feed] = []

    async def __call__(self, poll_interval_s: float = SLOW_POLL_S) -> Feed:
        feed: Feed
        if self.redis_url:
            feed = RedisFeed(self.redis_url, poll_interval_s=poll_interval_s, prefix=self.prefix)
        else:
            feed = MemoryFeed(poll_interval_s=poll_interval_s)
        await feed.start()
        self.started.append(feed)
        return feed


@pytest.fixture(params=["memory", "redis"])
async def feeds(request: pytest.FixtureRequest, client) -> AsyncIterator[Feeds]:
    """``client`` sets up the database the feeds read the outbox from."""
    redis_url = await redis_or_skip() if request.param == "redis" else None
    made = Feeds(request.param, redis_url)
    yield made
    for feed in made.started:
        await feed.stop()


async def take(sub: Subscriber, n: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(sub.queue.get(), QUICK_S) for _ in range(n)]


async def until(condition: Callable[[], object], timeout_s: float = QUICK_S) -> None:
    """Wait until ``condition()`` holds or ``timeout_s`` passes (the test's assertions say which)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)


async def nothing_more(*subs: Subscriber, wait_s: float = 0.5) -> None:
    await asyncio.sleep(wait_s)
    for sub in subs:
        assert sub.queue.empty(), sub.queue.get_nowait()


async def test_events_reach_their_streams_in_order(feeds: Feeds) -> None:
    feed = await feeds()
    c5, c6, h9 = (
        feed.subscribe(courier_id=5),
        feed.subscribe(courier_id=6),
        feed.subscribe(hub_id=9),
    )
    await emit("a", {"n": 1}, courier_id=5, hub_id=9)
    await emit("b", {"n": 2}, courier_id=6, hub_id=9)
    await emit("c", {"n": 3}, courier_id=5, hub_id=9)
    await emit("d", {"n": 4}, hub_id=9)
    await emit("e", {"n": 5}, courier_id=5, hub_id=8)
    await feed.poke()
    got5, got6, got9 = await take(c5, 3), await take(c6, 1), await take(h9, 4)
    assert [(m["kind"], m["data"]["n"]) for m in got5] == [("a", 1), ("c", 3), ("e", 5)]
    assert [m["data"]["n"] for m in got6] == [2]
    assert [m["data"]["n"] for m in got9] == [1, 2, 3, 4]
    for got in (got5, got9):
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert all(m["type"] == "event" for m in got)
    await nothing_more(c5, c6, h9)


async def test_no_event_twice(feeds: Feeds) -> None:
    feed = await feeds()
    # An event of courier 5 at hub 9 concerns this subscriber twice over.
    both = feed.subscribe(courier_id=5, hub_id=9)
    await emit("a", {"n": 1}, courier_id=5, hub_id=9)
    await emit("b", {"n": 2}, hub_id=9)
    await emit("c", {"n": 3}, courier_id=5, hub_id=8)
    await asyncio.gather(*(feed.poke() for _ in range(5)))
    got = await take(both, 3)
    assert [m["data"]["n"] for m in got] == [1, 2, 3]
    await feed.poke()
    await nothing_more(both)


async def test_resume_after_a_seq(feeds: Feeds) -> None:
    before = await (await feeds()).latest_seq()
    await emit("a", {"n": 1}, courier_id=5)
    await emit("x", {"n": 0}, courier_id=6)
    await emit("b", {"n": 2}, courier_id=5)
    await emit("c", {"n": 3}, courier_id=5)
    # A feed started now (a restart) follows from here; what came before is history.
    feed = await feeds()
    rows = await feed.history(before, courier_id=5)
    assert [r["payload"]["n"] for r in rows] == [1, 2, 3]
    assert await feed.latest_seq() == rows[-1]["id"]
    assert await feed.history(rows[0]["id"], courier_id=5) == rows[1:]
    assert await feed.history(rows[-1]["id"], courier_id=5) == []
    assert await feed.history(before, courier_id=5, limit=1) == rows[:1]
    assert [r["payload"]["n"] for r in await feed.history(rows[0]["id"])] == [0, 2, 3]
    with pytest.raises(ValueError):
        await feed.history(before, courier_id=5, hub_id=9)

    sub = feed.subscribe(courier_id=5)
    await emit("d", {"n": 4}, courier_id=5)
    await feed.poke()
    (live,) = await take(sub, 1)
    assert live["data"] == {"n": 4} and live["seq"] > rows[-1]["id"]
    await nothing_more(sub)  # nothing from before the feed started comes live


async def test_unsubscribe(feeds: Feeds) -> None:
    feed = await feeds()
    gone, stays = feed.subscribe(courier_id=5), feed.subscribe(courier_id=5)
    hub = feed.subscribe(hub_id=9)
    assert feed.connections == 3
    feed.unsubscribe(gone)
    feed.unsubscribe(hub)
    feed.unsubscribe(hub)  # twice is harmless
    assert feed.connections == 1
    await emit("a", {"n": 1}, courier_id=5, hub_id=9)
    await feed.poke()
    await take(stays, 1)
    await feed.publish_position(9, {"type": "position", "courierId": 5, "lat": 60.1, "lon": 24.9})
    await nothing_more(gone, hub, wait_s=POSITION_BATCH_S + 0.5)


async def test_another_process_is_found_by_its_poll(feeds: Feeds) -> None:
    writer, reader = await feeds(), await feeds(poll_interval_s=0.2)
    sub = reader.subscribe(courier_id=5)
    await emit("a", {"n": 1}, courier_id=5)  # and no poke: as if the writer died before it
    (got,) = await take(sub, 1)
    assert got["data"] == {"n": 1}
    assert writer.connections == 0


async def test_a_poke_wakes_the_other_processes_through_redis_only(feeds: Feeds) -> None:
    writer, reader = await feeds(), await feeds()
    sub = reader.subscribe(courier_id=5)
    await emit("a", {"n": 1}, courier_id=5)
    await writer.poke()
    if feeds.kind == "memory":  # one process's poke is its own: the other finds it at its poll
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sub.queue.get(), 1.0)
        return
    (got,) = await take(sub, 1)
    assert got["data"] == {"n": 1}


async def test_positions_go_to_the_hub_streams_batched(feeds: Feeds) -> None:
    reader = await feeds()
    # With Redis another process's courier reaches this process's dispatchers.
    writer = await feeds() if feeds.kind == "redis" else reader
    hub9, hub8, courier = (
        reader.subscribe(hub_id=9),
        reader.subscribe(hub_id=8),
        reader.subscribe(courier_id=5),
    )
    for courier_id, lat in ((5, 60.1), (6, 60.2), (5, 60.3)):
        await writer.publish_position(9, {"type": "position", "courierId": courier_id, "lat": lat, "lon": 24.9})
    (batch,) = await take(hub9, 1)
    assert batch["type"] == "positions"
    latest = {p["courierId"]: p["lat"] for p in batch["positions"]}
    assert latest == {5: 60.3, 6: 60.2}  # one each, the latest
    await nothing_more(hub9, hub8, courier, wait_s=POSITION_BATCH_S + 0.5)


async def test_without_redis_answering_the_redis_feed_still_delivers(client) -> None:
    """Redis down: start does not fail, events come by the poll, positions reach this process."""
    feed = RedisFeed("redis://127.0.0.1:1/0", poll_interval_s=0.2)
    await feed.start()
    try:
        courier, hub = feed.subscribe(courier_id=5), feed.subscribe(hub_id=9)
        await emit("a", {"n": 1}, courier_id=5)
        await feed.poke()
        assert (await take(courier, 1))[0]["data"] == {"n": 1}
        await feed.publish_position(9, {"type": "position", "courierId": 5, "lat": 60.1, "lon": 24.9})
        assert (await take(hub, 1))[0]["type"] == "positions"
    finally:
        await feed.stop()


@pytest.fixture
async def feed_without_redis(client) -> AsyncIterator[RedisFeed]:
    """A Redis feed whose Redis does not answer (nothing listens on port 1)."""
    feed = RedisFeed("redis://127.0.0.1:1/0", poll_interval_s=30)
    await feed.start()
    yield feed
    await feed.stop()


async def test_with_redis_down_a_burst_of_positions_is_delivered_here_and_logged_once(
    feed_without_redis: RedisFeed, caplog: pytest.LogCaptureFixture
) -> None:
    feed = feed_without_redis
    heard: list[int] = []
    feed.watch_positions(lambda hub, m: heard.append(m["courierId"]))
    for courier_id in range(200):
        await feed.publish_position(9, {"type": "position", "courierId": courier_id, "lat": 60.1, "lon": 24.9})
    await until(lambda: len(heard) == 200)
    assert sorted(heard) == list(range(200))
    assert caplog.text.count("could not publish positions through Redis") == 1


async def test_with_redis_down_a_listener_that_fails_does_not_stop_the_positions(feed_without_redis: RedisFeed) -> None:
    feed = feed_without_redis
    heard: list[int] = []

    def listener(hub: int, m: dict[str, Any]) -> None:
        if m["courierId"] == 1:
            raise RuntimeError("a listener's fault")
        heard.append(m["courierId"])

    feed.watch_positions(listener)
    await feed.publish_position(9, {"type": "position", "courierId": 1, "lat": 60.1, "lon": 24.9})
    await asyncio.sleep(0.2)
    await feed.publish_position(9, {"type": "position", "courierId": 2, "lat": 60.1, "lon": 24.9})
    await until(lambda: bool(heard))
    assert heard == [2]


async def test_a_burst_of_positions_crosses_redis_in_a_few_messages(client) -> None:
    redis_url = await redis_or_skip()
    feeds = Feeds("redis", redis_url)
    try:
        here, there = await feeds(), await feeds()
        heard: list[int] = []
        there.watch_positions(lambda hub, m: heard.append(m["courierId"]))
        spy = redis.from_url(redis_url)
        pubsub = spy.pubsub()
        await pubsub.subscribe(f"{feeds.prefix}:positions")
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        for courier_id in range(500):  # faster than one publish each could go
            await here.publish_position(9, {"type": "position", "courierId": courier_id, "lat": 60.1, "lon": 24.9})
        await until(lambda: len(heard) == 500)
        assert heard == list(range(500))  # every one, in order
        messages = 0
        while await pubsub.get_message(timeout=0.2) is not None:
            messages += 1
        assert 1 <= messages < 50
        await pubsub.aclose()
        await spy.aclose()
    finally:
        for feed in feeds.started:
            await feed.stop()


def test_make_feed_picks_the_implementation_from_the_setting() -> None:
    assert isinstance(make_feed(None), MemoryFeed)
    assert isinstance(make_feed(""), MemoryFeed)
    redis_feed = make_feed("redis://127.0.0.1:6379/0", poll_interval_s=2)
    assert isinstance(redis_feed, RedisFeed) and redis_feed.poll_interval_s == 2


async def test_every_feed_of_the_deployment_hears_every_position(feeds: Feeds) -> None:
    """A position published by one process reaches ``watch_positions`` of every feed (on Redis,
    the other processes' too: their re-plans and desks know where that courier is)."""
    here, there = await feeds(), await feeds()
    heard: dict[str, list[tuple[int, int]]] = {"here": [], "there": []}
    here.watch_positions(lambda hub, m: heard["here"].append((hub, m["courierId"])))
    there.watch_positions(lambda hub, m: heard["there"].append((hub, m["courierId"])))
    await here.publish_position(9, {"type": "position", "courierId": 5, "lat": 60.1, "lon": 24.9})
    await until(lambda: heard["here"] and (heard["there"] or feeds.redis_url is None))
    assert heard["here"] == [(9, 5)]
    assert heard["there"] == ([(9, 5)] if feeds.redis_url else [])  # memory feeds are one process each


def _row(seq: int) -> dict[str, Any]:
    return {"id": seq, "kind": "k", "payload": {"n": seq}, "courier_id": 5, "hub_id": None}


@pytest.mark.parametrize("commits", [True, False])
async def test_a_hole_in_the_ids_holds_later_events_back_for_a_while(
    feeds: Feeds, monkeypatch: pytest.MonkeyPatch, commits: bool
) -> None:
    """Event 2 took its id but has not committed (PostgreSQL): 3 waits for it, in
    order, or, when 2 never comes (rolled back), goes out after the grace."""
    committed = [_row(1), _row(3)]

    async def events_after(after: int, *, limit: int = 1000, **_: Any) -> list[dict[str, Any]]:
        return [r for r in sorted(committed, key=lambda r: r["id"]) if r["id"] > after][:limit]

    async def latest_seq() -> int:
        return 0

    async def cannot_say() -> None:  # as SQLite: the time rule
        return None

    monkeypatch.setattr(outbox, "events_after", events_after)
    monkeypatch.setattr(outbox, "latest_seq", latest_seq)
    monkeypatch.setattr(outbox, "running_transactions", cannot_say)
    monkeypatch.setattr(tail, "GAP_GRACE_S", 1.0)
    feed = await feeds(poll_interval_s=0.05)
    sub = feed.subscribe(courier_id=5)
    assert [m["seq"] for m in await take(sub, 1)] == [1]
    await nothing_more(sub, wait_s=0.4)  # 3 is held back
    if commits:
        committed.append(_row(2))
        assert [m["seq"] for m in await take(sub, 2)] == [2, 3]
    else:
        assert [m["seq"] for m in await take(sub, 1)] == [3]
        committed.append(_row(2))  # too late: the stream re-reads it from history on resume
    await nothing_more(sub, wait_s=0.3)


@pytest.mark.parametrize("commits", [True, False])
async def test_a_hole_holds_later_events_while_its_writer_runs_however_long(
    feeds: Feeds, monkeypatch: pytest.MonkeyPatch, commits: bool
) -> None:
    """Where the database names its running transactions (PostgreSQL), event 3 waits for 2
    as long as a transaction that ran when the hole was seen still runs (several processes
    under load: seconds), not a fixed grace; once they have ended, 2 is there or never comes."""
    committed = [_row(1), _row(3)]
    running = {41, 42}

    async def events_after(after: int, *, limit: int = 1000, **_: Any) -> list[dict[str, Any]]:
        return [r for r in sorted(committed, key=lambda r: r["id"]) if r["id"] > after][:limit]

    async def latest_seq() -> int:
        return 0

    async def running_transactions() -> frozenset[int]:
        return frozenset(running)

    monkeypatch.setattr(outbox, "events_after", events_after)
    monkeypatch.setattr(outbox, "latest_seq", latest_seq)
    monkeypatch.setattr(outbox, "running_transactions", running_transactions)
    monkeypatch.setattr(tail, "GAP_GRACE_S", 0.1)  # the writer rule does not use it
    feed = await feeds(poll_interval_s=0.05)
    sub = feed.subscribe(courier_id=5)
    assert [m["seq"] for m in await take(sub, 1)] == [1]
    running.discard(41)
    running.add(50)  # began after the hole was seen: not its writer
    await nothing_more(sub, wait_s=0.6)  # 42, running since before, may be 2's writer: 3 waits
    if commits:
        committed.append(_row(2))
    running.discard(42)
    assert [m["seq"] for m in await take(sub, 2 if commits else 1)] == ([2, 3] if commits else [3])
    await nothing_more(sub, wait_s=0.3)


async def test_the_app_without_redis_runs_the_memory_feed(client, settings: Settings) -> None:
    assert settings.redis_url is None
    assert isinstance(client.app.state.feed, MemoryFeed)
    assert (await client.get("/health")).json()["channels"] == "memory"
