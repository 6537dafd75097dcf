"""The courier's day against a real server process: streams, resume, idempotency, isolation."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets

from tests.live.server import LiveServer


def _h(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def today(live: LiveServer, token: str) -> dict[str, Any]:
    r = httpx.get(live.base + "/courier/today", headers=_h(token))
    assert r.status_code == 200, r.text
    return r.json()


def _open_stops(day: dict[str, Any], kind: str = "delivery") -> list[dict[str, Any]]:
    return [s for s in day["route"]["stops"] if s["status"] == "planned" and s["kind"] == kind]


def act(
    live: LiveServer, token: str, stop_id: int, action: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return httpx.post(
        f"{live.base}/courier/stops/{stop_id}/{action}", json=body, headers=_h(token, key or str(uuid.uuid4()))
    )


def tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    return out.getvalue()


def fail_body() -> dict[str, Any]:
    return {"reason": "not_home"}


async def _recv(ws, timeout: float = 5.0, skip: tuple[str, ...] = ("ping", "caught_up")) -> dict[str, Any]:  # noqa: ANN001
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] not in skip:
            return message


async def _drain(ws, quiet: float = 1.5) -> list[dict[str, Any]]:  # noqa: ANN001
    """Every message until the stream has been quiet for ``quiet`` seconds."""
    got = []
    while True:
        try:
            got.append(await _recv(ws, timeout=quiet))
        except TimeoutError:
            return got


def outbox_after(live: LiveServer, courier_id: int, after: int) -> list[tuple[int, str]]:
    """What the database holds for this courier's stream: the truth to compare with."""
    import sqlite3

    with sqlite3.connect(f"file:{live.db}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT id, kind FROM outbox_event WHERE courier_id = ? AND id > ? ORDER BY id", (courier_id, after)
        ).fetchall()


def jobs_settled(live: LiveServer, timeout: float = 30.0) -> None:
    """Wait until the follow-up jobs of the changes so far have run: a re-plan job
    may add route events after the answer, and the tests compare whole streams."""
    import sqlite3
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{live.db}?mode=ro", uri=True) as db:
            (open_jobs,) = db.execute("SELECT count(*) FROM job WHERE status IN ('pending', 'running')").fetchone()
        if not open_jobs:
            return
        time.sleep(0.1)
    raise AssertionError(f"follow-up jobs still open after {timeout} s")


async def _connect(
    live: LiveServer, token: str, after: int | None = None, path: str = "/ws/courier", origin: str | None = None
):  # noqa: ANN202
    query = f"?after={after}" if after is not None else ""
    headers = {"Authorization": f"Bearer {token}", **({"Origin": origin} if origin else {})}
    return await websockets.connect(live.ws_base + path + query, additional_headers=headers)


def test_resume_after_a_disconnect_gets_exactly_the_missed_events(live: LiveServer) -> None:
    token = live.login("courier1")

    async def scenario() -> None:
        ws = await _connect(live, token)
        snap = await _recv(ws)
        assert snap["type"] == "snapshot" and snap["data"]["route"]["stops"]
        n = snap["seq"]
        await ws.close()
        changed = []
        for _ in range(3):  # each from the route in force: a re-plan after a failure may move stops
            stop = _open_stops(today(live, token))[0]
            r = act(live, token, stop["stopId"], "fail", fail_body())
            assert r.status_code == 200, r.text
            changed.append(stop["stopId"])
        jobs_settled(live)
        ws = await _connect(live, token, after=n)
        got = await _drain(ws)
        # Exactly what was written after n, in order: each change's stop event (and
        # a route event where its ETAs moved), nothing before n, nothing twice.
        assert [(m["seq"], m["kind"]) for m in got] == outbox_after(live, snap["data"]["courier"]["id"], n)
        stop_events = [m for m in got if m["kind"] == "stop.updated"]
        assert [m["data"]["stopId"] for m in stop_events] == changed
        assert all(m["data"]["status"] == "failed" for m in stop_events)
        # The stream is live for the next change.
        following = _open_stops(today(live, token))[0]
        assert act(live, token, following["stopId"], "arrive", {}).status_code == 200
        nxt = await _recv(ws)
        while nxt["kind"] != "stop.updated":  # its route event may come first
            nxt = await _recv(ws)
        assert nxt["seq"] > got[-1]["seq"] and nxt["data"]["stopId"] == following["stopId"]
        await ws.close()

    asyncio.run(scenario())


def test_resume_across_a_server_restart(live: LiveServer) -> None:
    token = live.login("courier1")

    async def before() -> tuple[int, list[dict[str, Any]]]:
        ws = await _connect(live, token)
        snap = await _recv(ws)
        await ws.close()
        return snap["seq"], _open_stops(snap["data"])

    n, _ = asyncio.run(before())
    changed = []
    for _ in range(3):  # each from the route in force: a re-plan after a failure may move stops
        stop = _open_stops(today(live, token))[0]
        assert act(live, token, stop["stopId"], "fail", fail_body()).status_code == 200
        changed.append(stop["stopId"])
    jobs_settled(live)
    live.stop()
    live.start()  # same database, new process: the feed starts from the outbox

    async def after() -> None:
        ws = await _connect(live, token, after=n)
        got = await _drain(ws)
        courier_id = today(live, token)["courier"]["id"]
        assert [(m["seq"], m["kind"]) for m in got] == outbox_after(live, courier_id, n)
        assert [m["data"]["stopId"] for m in got if m["kind"] == "stop.updated"] == changed
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv(ws))["type"] == "pong"  # and no further event
        await ws.close()

    asyncio.run(after())


def test_the_same_action_three_times_changes_state_once(live: LiveServer) -> None:
    token = live.login("courier1")
    stop = _open_stops(today(live, token))[0]
    key = str(uuid.uuid4())
    answers = [act(live, token, stop["stopId"], "fail", {"reason": "refused"}, key=key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert "Idempotent-Replayed" not in answers[0].headers
    assert answers[1].headers["Idempotent-Replayed"] == "true"

    async def count_events() -> int:
        ws = await _connect(live, token, after=0)
        n = 0
        while True:
            try:
                m = await _recv(ws, timeout=1.0)
            except TimeoutError:
                break
            if m["type"] == "event" and m["kind"] == "stop.updated" and m["data"]["stopId"] == stop["stopId"]:
                n += 1
        await ws.close()
        return n

    assert asyncio.run(count_events()) == 1
    # A reused key with another body is refused, and changes nothing.
    r = act(live, token, stop["stopId"], "fail", {"reason": "damaged"}, key=key)
    assert r.status_code == 422 and "different request" in r.json()["detail"]


def test_illegal_transitions_and_bad_input_change_nothing(live: LiveServer) -> None:
    token = live.login("courier1")
    day = today(live, token)
    a, b = _open_stops(day)[:2]
    assert act(live, token, a["stopId"], "fail", fail_body()).status_code == 200
    r = act(
        live,
        token,
        a["stopId"],
        "deliver",
        {"barcodes": [p["barcode"] for p in a["parcels"]], "proof": {"kind": "recipient", "recipientName": "Ann"}},
    )
    assert r.status_code == 409 and "already failed" in r.json()["detail"]
    r = act(live, token, b["stopId"], "deliver", {"barcodes": ["LBNOTMINE"], "proof": {"kind": "pickup_point"}})
    assert r.status_code == 422 and "does not belong" in r.json()["detail"]
    r = act(
        live,
        token,
        b["stopId"],
        "deliver",
        {"barcodes": [p["barcode"] for p in b["parcels"]], "proof": {"kind": "recipient", "recipientName": "Bo"}},
    )
    assert r.status_code == 200 and r.json()["status"] == "delivered"
    r = act(live, token, b["stopId"], "fail", fail_body())
    assert r.status_code == 409 and "already delivered" in r.json()["detail"]
    r = act(live, token, b["stopId"], "fail", {"reason": "other"})
    assert r.status_code == 409  # state is checked before anything else changes
    r = httpx.post(f"{live.base}/courier/stops/{b['stopId']}/arrive", json={}, headers=_h(token))
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    # Photos: not an image, too big.
    files = {"file": ("x.jpg", b"not really a jpeg", "image/jpeg")}
    r = httpx.post(live.base + "/courier/photos", files=files, headers=_h(token, str(uuid.uuid4())))
    assert r.status_code == 422 and "not a JPEG" in r.json()["detail"]
    big = {"file": ("x.jpg", b"\xff\xd8\xff" + b"0" * 5_100_000, "image/jpeg")}
    r = httpx.post(live.base + "/courier/photos", files=big, headers=_h(token, str(uuid.uuid4())), timeout=30)
    assert r.status_code == 413 and r.json()["detail"]
    png = tiny_png()
    r = httpx.post(
        live.base + "/courier/photos", files={"file": ("p.png", png, "image/png")}, headers=_h(token, str(uuid.uuid4()))
    )
    assert r.status_code == 201 and r.json()["photoId"]
    after = {s["stopId"]: s["status"] for s in today(live, token)["route"]["stops"]}
    assert after[a["stopId"]] == "failed" and after[b["stopId"]] == "delivered"


def test_a_courier_cannot_see_or_touch_another_couriers_route(live: LiveServer) -> None:
    one, two = live.login("courier1"), live.login("courier2")
    day1, day2 = today(live, one), today(live, two)
    theirs = _open_stops(day2)[0]
    r = act(live, one, theirs["stopId"], "fail", fail_body())
    assert r.status_code == 404
    r = httpx.get(f"{live.base}/routes/{day2['route']['id']}", headers=_h(one))
    assert r.status_code == 404
    assert today(live, two)["route"]["stops"][0]["status"] == day2["route"]["stops"][0]["status"]

    async def streams() -> None:
        ws1 = await _connect(live, one)
        snap = await _recv(ws1)
        assert snap["data"]["courier"]["id"] == day1["courier"]["id"]
        # courier 2 acts: courier 1's stream says nothing about courier 2's stop (a re-plan
        # after the failure may still change courier 1's own route, and that it may hear)
        assert act(live, two, theirs["stopId"], "fail", fail_body()).status_code == 200
        heard = await _drain(ws1, quiet=1.5)
        mine = {s["stopId"] for s in day1["route"]["stops"]}
        assert all(m.get("data", {}).get("stopId") != theirs["stopId"] for m in heard), heard
        assert all(m.get("data", {}).get("courierId", day1["courier"]["id"]) == day1["courier"]["id"] for m in heard), (
            heard
        )
        assert theirs["stopId"] not in mine
        # and the hub stream is for dispatchers only: refused before it opens
        try:
            await _connect(live, one, path=f"/ws/hub/{live.hub_id}")  # type: ignore[attr-defined]
            raise AssertionError("a courier opened the hub stream")
        except websockets.InvalidStatus as exc:
            assert exc.response.status_code == 403
        await ws1.close()

    asyncio.run(streams())


def test_bad_messages_and_future_sequence_keep_the_connection(live: LiveServer) -> None:
    token = live.login("courier1")

    async def scenario() -> None:
        ws = await _connect(live, token, after=10**9)
        err = await _recv(ws)
        assert err["type"] == "error" and err["code"] == "future_seq"
        assert (await _recv(ws))["type"] == "snapshot"
        await ws.send("this is not json")
        assert (await _recv(ws))["code"] == "bad_message"
        await ws.send(json.dumps({"type": "position", "lat": "north"}))
        assert (await _recv(ws))["code"] == "bad_message"
        await ws.send("[" * 5000 + "]" * 5000)  # nested past any decoder's recursion: refused, socket kept
        assert (await _recv(ws))["code"] == "bad_message"
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv(ws))["type"] == "pong"
        await ws.close()

    asyncio.run(scenario())


def test_dispatcher_hub_stream_gets_stop_events_and_positions(live: LiveServer) -> None:
    courier, dispatcher = live.login("courier1"), live.login("dispatcher")
    view = today(live, courier)
    stop, me = _open_stops(view)[0], view["courier"]["id"]
    r = httpx.post(live.base + "/courier/shift/start", json={}, headers=_h(courier, str(uuid.uuid4())))
    assert r.status_code == 200 and r.json()["status"] == "started"

    async def scenario() -> None:
        hub = await _connect(live, dispatcher, path=f"/ws/hub/{live.hub_id}")  # type: ignore[attr-defined]
        snap = await _recv(hub)
        assert snap["type"] == "snapshot" and snap["data"]["routes"]
        cws = await _connect(live, courier)
        await _recv(cws)
        await cws.send(json.dumps({"type": "position", "lat": stop["lat"], "lon": stop["lon"]}))
        batch = await _recv(hub)  # positions come batched, each courier's latest
        assert batch["type"] == "positions"
        assert [(p["courierId"], p["lat"]) for p in batch["positions"]] == [(me, stop["lat"])]
        assert act(live, courier, stop["stopId"], "arrive", {}).status_code == 200
        ev = await _recv(hub)
        assert ev["type"] == "event" and ev["data"]["stopId"] == stop["stopId"] and ev["data"]["status"] == "arrived"
        await hub.close()
        await cws.close()

    asyncio.run(scenario())


def test_a_courier_falling_behind_gets_new_etas_and_late_flags(live: LiveServer) -> None:
    import datetime as dt

    from backend.db.engine import make_engine, use_database
    from backend.services.courier import catch_up_late_routes

    token = live.login("courier1")
    assert (
        httpx.post(live.base + "/courier/shift/start", json={}, headers=_h(token, str(uuid.uuid4()))).status_code == 200
    )

    async def scenario() -> None:
        ws = await _connect(live, token)
        await _recv(ws)  # snapshot
        use_database(make_engine(f"sqlite:///{live.db}"))
        late_evening = dt.datetime.combine(dt.date.today(), dt.time(23, 30))
        route_id = today(live, token)["route"]["id"]
        # The clock looks at one slice of the routes per tick: not this one's, then this one's.
        other_slice = await catch_up_late_routes(dt.date.today(), late_evening, part=((route_id + 1) % 3, 3))
        assert other_slice.changed == 0 and not other_slice.behind
        mine = await catch_up_late_routes(dt.date.today(), late_evening, part=(route_id % 3, 3))
        assert mine.changed >= 1
        me = today(live, token)["courier"]
        assert me["id"] in mine.behind[me["hubId"]]  # worth a re-plan
        again = await catch_up_late_routes(dt.date.today(), late_evening, part=(route_id % 3, 3))
        assert not again.behind  # late once, said once
        msg = await _recv(ws, timeout=5)  # written by another process: the server's tail finds it
        assert msg["kind"] == "route.updated"
        remaining = [s for s in msg["data"]["stops"] if s["status"] == "planned"]
        assert remaining and all(s["late"] for s in remaining)
        assert all(s["eta"] >= late_evening.isoformat() for s in remaining)
        await ws.close()

    asyncio.run(scenario())


def test_customers_hear_out_for_delivery_then_arriving_soon(live: LiveServer) -> None:
    courier, dispatcher = live.login("courier1"), live.login("dispatcher")
    deliveries = _open_stops(today(live, courier))

    async def scenario() -> None:
        hub = await _connect(live, dispatcher, path=f"/ws/hub/{live.hub_id}")  # type: ignore[attr-defined]
        assert (await _recv(hub))["type"] == "snapshot"
        r = httpx.post(live.base + "/courier/shift/start", json={}, headers=_h(courier, str(uuid.uuid4())))
        assert r.status_code == 200
        got = await _drain(hub)
        out = [d for m in got if m.get("kind") == "order.out_for_delivery" for d in m["data"]["deliveries"]]
        assert [d["stopId"] for d in out] == [s["stopId"] for s in deliveries]
        assert all(d["windowStart"] <= d["eta"] <= d["windowEnd"] for d in out)
        first, second = deliveries[0], deliveries[1]
        assert act(live, courier, first["stopId"], "fail", fail_body()).status_code == 200
        soon = [m["data"] for m in await _drain(hub) if m.get("kind") == "order.arriving_soon"]
        assert [(d["stopId"], d["orderId"]) for d in soon] == [(second["stopId"], second["orderId"])]
        await hub.close()

    asyncio.run(scenario())
