"""A dispatcher's message to a courier: checked plain text, kept, told live on the
courier's and the hub's streams (``courier.message``) and pushed to the courier's phone."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from backend.db.tables import CourierMessage, OutboxEvent
from backend.realtime.feed.memory import MemoryFeed
from backend.realtime.notifications import notifications_for
from backend.realtime.push_relay import PushRelay
from tests.api.helpers import admin, login, make_user, post_ok, problem
from tests.api.test_orders import _addresses
from tests.api.test_push import push_service  # noqa: F401 - the fake push service fixture


async def _desk(client, geo) -> dict:
    h = await admin(client)
    addr = _addresses(geo)
    hub, other = [(await post_ok(client, "/hubs", {"name": f"Hub {n}", "address": addr[n]}, h))["id"] for n in (0, 1)]
    desk_uid = await make_user("desk", "dispatcher", hub_id=hub)
    await make_user("elsewhere", "dispatcher", hub_id=other)
    rider_uid = await make_user("rider", "courier", hub_id=hub)
    courier = (await post_ok(client, "/couriers", {"name": "Rider", "hubId": hub, "userId": rider_uid}, h))["id"]
    return {
        "hub": hub,
        "courier": courier,
        "desk": await login(client, "desk"),
        "desk_uid": desk_uid,
        "elsewhere": await login(client, "elsewhere"),
        "rider": await login(client, "rider"),
    }


async def test_a_message_is_kept_and_reaches_the_courier_and_hub_streams(client, geo) -> None:
    w = await _desk(client, geo)
    feed = MemoryFeed(poll_interval_s=30.0)
    await feed.start()
    try:
        mine, hub = feed.subscribe(courier_id=w["courier"]), feed.subscribe(hub_id=w["hub"])
        text = '  <b>Call the hub</b> <script>alert("x")</script> & wait\nplease  '
        r = await client.post(f"/couriers/{w['courier']}/messages", json={"text": text}, headers=w["desk"])
        assert r.status_code == 201, r.text
        sent = r.json()
        assert sent["text"] == text.strip()  # HTML kept as text, only stripped
        assert sent["courierId"] == w["courier"] and sent["sentBy"] == {"id": w["desk_uid"], "name": "Desk"}
        assert dt.datetime.fromisoformat(sent["sentAt"]).date() == dt.date.today()
        await feed.poke()
        for sub in (mine, hub):
            got = await asyncio.wait_for(sub.queue.get(), 5)
            assert got["type"] == "event" and got["kind"] == "courier.message" and got["data"] == sent
    finally:
        await feed.stop()
    event = await OutboxEvent.select().where(OutboxEvent.kind == "courier.message").output(load_json=True).first()
    assert (event["courier_id"], event["hub_id"]) == (w["courier"], w["hub"])
    ((audience, key, push),) = notifications_for(event)
    assert (audience, key) == ("courier", w["courier"])
    assert push["title"] == "Message from Desk" and push["body"] == text.strip()

    listed = await client.get(f"/couriers/{w['courier']}/messages", headers=w["desk"])
    assert listed.status_code == 200 and listed.json() == [sent]
    day = dt.date.today() - dt.timedelta(days=1)
    assert (await client.get(f"/couriers/{w['courier']}/messages?date={day}", headers=w["desk"])).json() == []


async def test_bad_texts_are_refused_with_a_sentence(client, geo) -> None:
    w = await _desk(client, geo)
    url = f"/couriers/{w['courier']}/messages"
    for text, words in (
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 501, "at most 500"),
        ("ring \x07 the bell", "U+0007"),
        ("evil \u202e txet", "U+202E"),
    ):
        body = problem(await client.post(url, json={"text": text}, headers=w["desk"]), 422)
        assert words in body["detail"], (text, body)
    assert await CourierMessage.count() == 0
    assert await OutboxEvent.count().where(OutboxEvent.kind == "courier.message") == 0
    ok = await client.post(url, json={"text": " " + "é" * 500 + " "}, headers=w["desk"])
    assert ok.status_code == 201 and len(ok.json()["text"]) == 500
    problem(await client.post(url, json={"text": "hi", "extra": 1}, headers=w["desk"]), 400)


async def test_another_hub_and_couriers_are_refused(client, geo) -> None:
    w = await _desk(client, geo)
    url = f"/couriers/{w['courier']}/messages"
    body = problem(await client.post(url, json={"text": "hello"}, headers=w["elsewhere"]), 403)
    assert "hub" in body["detail"]
    problem(await client.get(url, headers=w["elsewhere"]), 403)
    problem(await client.post(url, json={"text": "hello"}, headers=w["rider"]), 403)
    problem(await client.post("/couriers/99999/messages", json={"text": "hello"}, headers=w["desk"]), 404)
    assert await CourierMessage.count() == 0


async def test_a_retry_with_the_same_key_sends_once(client, geo) -> None:
    w = await _desk(client, geo)
    url = f"/couriers/{w['courier']}/messages"
    headers = {**w["desk"], "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(url, json={"text": "Once only"}, headers=headers)
    again = await client.post(url, json={"text": "Once only"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await CourierMessage.count() == 1
    assert await OutboxEvent.count().where(OutboxEvent.kind == "courier.message") == 1
    body = problem(await client.post(url, json={"text": "Something else"}, headers=headers), 422)
    assert "Idempotency-Key" in body["detail"]
    # without a key, each post is a message of its own
    await post_ok(client, url, {"text": "Twice"}, w["desk"])
    await post_ok(client, url, {"text": "Twice"}, w["desk"])
    assert await CourierMessage.count() == 3


async def test_the_relay_pushes_the_message_to_the_couriers_phone(client, geo, push_service) -> None:  # noqa: F811
    w = await _desk(client, geo)
    client.app.state.push.endpoints = push_service.endpoints()  # the fake service listens on loopback
    r = await client.post("/push/subscriptions", json=push_service.subscription(), headers=w["rider"])
    assert r.status_code == 201, r.text
    await post_ok(client, f"/couriers/{w['courier']}/messages", {"text": "<i>Kom terug</i> naar de hub"}, w["desk"])
    # now, rather than at the app's relay's next turn: sent once either way
    await PushRelay(client.app.state.push).step()
    for _ in range(50):
        if push_service.received:
            break
        await asyncio.sleep(0.1)
    (got,) = push_service.received
    assert got["message"]["type"] == "courier.message"
    assert got["message"]["title"] == "Message from Desk" and got["message"]["body"] == "<i>Kom terug</i> naar de hub"
