"""The picker's live stream (/ws/pick): the hub's warehouse events with the couriers'
resume rule. A short pick's re-sequenced batch arrives at once; a device that was away
gets what it missed; another hub's picker gets nothing of this hub; a foreign page is
refused at the upgrade. On SQLite and PostgreSQL (the ``client`` fixture)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import anyio
import pytest
from litestar.exceptions import WebSocketDisconnect

from backend.realtime.feed import Feed
from backend.realtime.feed.memory import MemoryFeed
from backend.realtime.feed.redis import RedisFeed
from backend.realtime.outbox import emit
from tests.api.helpers import login, make_user
from tests.api.redis_check import redis_or_skip
from tests.api.warehouse_setup import bind_totes, house, order, release, stock_in, take

WAIT_S = 30  # a bound, not a measurement: the poke delivers within a moment


async def _receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = await anyio.to_thread.run_sync(lambda: ws.receive_json(timeout=WAIT_S))
    return message


async def _until(ws: Any, wanted: Any) -> list[dict[str, Any]]:
    """Messages up to and including the first that ``wanted(message)`` accepts."""
    got = []
    while True:
        got.append(await _receive(ws))
        if wanted(got[-1]):
            return got


def _event(kind: str, batch_id: int | None = None) -> Any:
    def wanted(m: dict[str, Any]) -> bool:
        return m["type"] == "event" and m["kind"] == kind and (batch_id is None or m["data"]["batchId"] == batch_id)

    return wanted


async def _two_bin_batch(client, h) -> int:
    """A batch whose SODA line's bin is short, with another bin to move it to."""
    await stock_in(client, h, "SODA", 3, "A01-01-1")  # nearest, holds the whole line
    await stock_in(client, h, "SODA", 5, "A02-05-1")
    await stock_in(client, h, "SOAP", 1, "A01-03-1")
    await order(h, [("SODA", 3), ("SOAP", 1)])
    (batch_id,) = (await release(client, h))["released"][0]["batchIds"]
    return int(batch_id)


async def _short_current(client, who: dict[str, str], batch_id: int, scan_id: str) -> dict[str, Any]:
    view = (await client.get(f"/pick/batches/{batch_id}", headers=who)).json()
    r = await client.post(
        f"/pick/batches/{batch_id}/short", json={"scanId": scan_id, "taskId": view["current"]["id"]}, headers=who
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_short_picks_resequenced_batch_arrives_on_the_pickers_socket(client) -> None:
    h = await house(client)
    batch_id = await _two_bin_batch(client, h)
    picker, other_device = h.pickers[0], h.pickers[0]
    taken = await take(client, picker, batch_id)
    await bind_totes(client, picker, batch_id, 1)
    session = await client.websocket_connect("/ws/pick", headers=picker)
    with session as ws:
        first = await _until(ws, lambda m: m["type"] == "caught_up")
        snapshot = first[0]
        assert snapshot["type"] == "snapshot"
        assert [b["id"] for b in snapshot["data"]["batches"]] == [batch_id]
        (mine,) = snapshot["data"]["mine"]
        assert mine["id"] == batch_id and mine["version"] > taken["version"] and mine["phase"] == "bin"
        before = [t["bin"] for t in mine["tasks"] if t["state"] == "open"]
        # Another device of the hub reports the line at hand short: the list changes on this one.
        answer = await _short_current(client, other_device, batch_id, "short-1")
        got = await _until(ws, _event("pick.batch.resequenced", batch_id))
        event = got[-1]
        assert event["seq"] > snapshot["seq"]
        view = event["data"]["batch"]
        assert view["version"] == answer["batch"]["version"] == event["data"]["version"]
        after = [t["bin"] for t in view["tasks"] if t["state"] == "open"]
        assert after != before and "A02-05-1" in after and "A01-01-1" not in after
        # The same as the device would read.
        assert view == (await client.get(f"/pick/batches/{batch_id}", headers=picker)).json()


async def test_resume_after_a_gap_replays_what_was_missed_and_nothing_else(client) -> None:
    h = await house(client)
    batch_id = await _two_bin_batch(client, h)
    picker = h.pickers[0]
    session = await client.websocket_connect("/ws/pick", headers=picker)
    with session as ws:
        snapshot = (await _until(ws, lambda m: m["type"] == "caught_up"))[0]
    seq = snapshot["seq"]
    assert snapshot["data"]["mine"] == [] and [b["status"] for b in snapshot["data"]["batches"]] == ["open"]
    # Away: the batch is taken, its totes bound, a line reported short; and an event of the
    # hub that is not the warehouse's (a route of the day changed).
    await emit("route.updated", {"routeId": 1}, hub_id=h.hub)
    await take(client, picker, batch_id)
    await bind_totes(client, picker, batch_id, 1)
    answer = await _short_current(client, picker, batch_id, "short-1")
    session = await client.websocket_connect(f"/ws/pick?after={seq}", headers=picker)
    with session as ws:
        got = await _until(ws, lambda m: m["type"] == "caught_up")
    assert [m["type"] for m in got[:-1]] == ["event"] * (len(got) - 1)  # no snapshot: the backlog
    kinds = [m["kind"] for m in got[:-1]]
    assert kinds[0] == "pick.batch.taken" and kinds[-1] == "pick.batch.resequenced", kinds
    assert set(kinds[1:-1]) == {"pick.batch.changed"}  # the totes, one event each
    seqs = [m["seq"] for m in got[:-1]]
    assert seqs == sorted(seqs) and seqs[0] > seq and got[-1]["seq"] == seqs[-1]
    assert got[-2]["data"]["batch"]["version"] == answer["batch"]["version"]
    # The hub's stream (the dispatcher's desk) has the warehouse's events and the route's.
    session = await client.websocket_connect(f"/ws/hub/{h.hub}?after={seq}", headers=h.dispatcher)
    with session as ws:
        hub_kinds = [m.get("kind") for m in await _until(ws, lambda m: m["type"] == "caught_up")]
    assert "pick.batch.resequenced" in hub_kinds and "route.updated" in hub_kinds


async def test_another_hubs_picker_gets_nothing_of_this_hub(client) -> None:
    here, there = await house(client), await house(client)
    batch_id = await _two_bin_batch(client, here)
    await stock_in(client, there, "SOAP", 2, "A01-03-1")
    await order(there, [("SOAP", 1)])
    (theirs,) = (await release(client, there))["released"][0]["batchIds"]
    session = await client.websocket_connect("/ws/pick", headers=there.pickers[0])
    with session as ws:
        snapshot = (await _until(ws, lambda m: m["type"] == "caught_up"))[0]
        assert [b["id"] for b in snapshot["data"]["batches"]] == [theirs]
        await take(client, here.pickers[0], batch_id)
        await bind_totes(client, here.pickers[0], batch_id, 1)
        await _short_current(client, here.pickers[0], batch_id, "short-1")
        await take(client, there.pickers[0], theirs)  # then one of their own
        got = await _until(ws, lambda m: m["type"] == "event")
    assert [(m["kind"], m["data"]["batchId"]) for m in got] == [("pick.batch.taken", theirs)]
    # Resuming from before all of it: only their own hub's events.
    session = await client.websocket_connect(f"/ws/pick?after={snapshot['seq']}", headers=there.pickers[0])
    with session as ws:
        got = await _until(ws, lambda m: m["type"] == "caught_up")
    assert [m["data"]["batchId"] for m in got if m["type"] == "event"] == [theirs]


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
async def test_a_foreign_page_a_dispatcher_and_no_login_are_refused_at_the_upgrade(client, origin: str) -> None:
    h = await house(client, pickers=1)
    await make_user("hubless", "picker")
    refused = [
        {**h.pickers[0], "Origin": origin},  # another site's page, with the picker's cookie or token
        h.dispatcher,  # not a picker: the desk has the hub stream
        {},  # nobody (and a token in the URL is no login)
        await login(client, "hubless"),  # a picker of no hub
    ]
    for headers in refused:
        session = await client.websocket_connect("/ws/pick?token=x", headers=headers)
        with pytest.raises(WebSocketDisconnect), session as ws:
            ws.receive_json(timeout=10)
    session = await client.websocket_connect("/ws/pick", headers=h.pickers[0])  # no Origin: a native client
    with session as ws:
        assert (await _receive(ws))["type"] == "snapshot"


async def test_the_waves_name_the_pickers_on_them_and_the_lines_left(client) -> None:
    h = await house(client)
    batch_id = await _two_bin_batch(client, h)

    async def wave() -> dict[str, Any]:
        r = await client.get(f"/hubs/{h.hub}/waves", params={"date": h.day.isoformat()}, headers=h.dispatcher)
        (only,) = r.json()
        return dict(only)

    assert ((w := await wave())["pickers"], w["left"]) == ([], 2)
    await take(client, h.pickers[1], batch_id)
    assert ((w := await wave())["pickers"], w["left"]) == ([f"Picker{h.hub}-2"], 2)  # the display name
    await bind_totes(client, h.pickers[1], batch_id, 1)
    while (await _short_current(client, h.pickers[1], batch_id, f"s-{uuid.uuid4().hex}"))["batch"]["phase"] != "done":
        pass
    w = await wave()
    assert (w["pickers"], w["left"], w["picked"] + w["short"], w["batches"]["done"]) == ([], 0, 2, 1)


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_a_topics_subscribers_get_its_events_once_from_any_process(client, kind: str) -> None:
    """The feed under the picker stream: a topic is one more key of the same fan-out and history.
    With Redis the event is written and poked by another feed (another process)."""
    redis_url = await redis_or_skip() if kind == "redis" else None
    prefix = f"test-topic-{uuid.uuid4()}"

    def make() -> Feed:
        if redis_url:
            return RedisFeed(redis_url, poll_interval_s=30.0, prefix=prefix)
        return MemoryFeed(poll_interval_s=30.0)

    reader = make()
    writer = make() if redis_url else reader
    for feed in {id(reader): reader, id(writer): writer}.values():
        await feed.start()
    try:
        pickers, desk, elsewhere = (
            reader.subscribe(topic="warehouse:1"),
            reader.subscribe(hub_id=1),
            reader.subscribe(topic="warehouse:2"),
        )
        await emit("route.updated", {"n": 1}, hub_id=1)
        await emit("pick.batch.changed", {"n": 2}, hub_id=1, topic="warehouse:1")
        await emit("pick.batch.changed", {"n": 3}, hub_id=2, topic="warehouse:2")
        await writer.poke()

        async def got(sub: Any, n: int) -> list[int]:
            return [(await asyncio.wait_for(sub.queue.get(), 5.0))["data"]["n"] for _ in range(n)]

        assert await got(pickers, 1) == [2]
        assert await got(desk, 2) == [1, 2]
        assert await got(elsewhere, 1) == [3]
        await asyncio.sleep(0.2)
        assert pickers.queue.empty() and desk.queue.empty() and elsewhere.queue.empty()  # once each
        history = await reader.history(0, topic="warehouse:1")
        assert [row["payload"]["n"] for row in history] == [2]
        reader.unsubscribe(pickers)
        assert reader.connections == 2
    finally:
        for feed in {id(reader): reader, id(writer): writer}.values():
            await feed.stop()
