"""Websockets against a real server: who may open a stream, from which page,
and what happens to an open stream when its session ends."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets

from backend.services.demo import ADMIN_PASSWORD
from tests.live.server import LiveServer


def _headers(token: str, origin: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **({"Origin": origin} if origin else {})}


async def _refused(url: str, headers: dict[str, str]) -> int:
    """The HTTP status of a refused upgrade (fails if the socket opened)."""
    try:
        ws = await websockets.connect(url, additional_headers=headers)
    except websockets.InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    raise AssertionError(f"{url} opened for {headers.get('Origin')}")


async def _messages_until(ws, kind: str, timeout: float = 5.0) -> list[dict]:  # noqa: ANN001
    got = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        got.append(message)
        if message["type"] == kind:
            return got


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_is_refused_at_the_upgrade(live: LiveServer, origin: str) -> None:
    courier, dispatcher, picker = live.login("courier1"), live.login("dispatcher"), live.login("picker")

    async def scenario() -> None:
        assert await _refused(f"{live.ws_base}/ws/courier", _headers(courier, origin)) == 403
        assert await _refused(f"{live.ws_base}/ws/hub/{live.hub_id}", _headers(dispatcher, origin)) == 403  # type: ignore[attr-defined]
        assert await _refused(f"{live.ws_base}/ws/pick", _headers(picker, origin)) == 403
        # The service's own page's origin, and no Origin at all (a native client), are fine.
        for good in (live.base, None):
            for path, token in (("/ws/courier", courier), ("/ws/pick", picker)):
                ws = await websockets.connect(f"{live.ws_base}{path}", additional_headers=_headers(token, good))
                assert (await _messages_until(ws, "snapshot"))[-1]["type"] == "snapshot"
                await ws.close()

    asyncio.run(scenario())


def test_a_token_in_the_url_is_not_accepted(live: LiveServer) -> None:
    token = live.login("courier1")

    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{live.ws_base}/ws/courier?token={token}")
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


def test_another_hubs_dispatcher_is_refused_at_the_upgrade(live: LiveServer) -> None:
    admin = live.login("admin", ADMIN_PASSWORD)
    h = {"Authorization": f"Bearer {admin}"}
    hub = httpx.post(f"{live.base}/hubs", json={"name": "Hub Two", "lat": 60.17, "lon": 24.94}, headers=h)
    assert hub.status_code == 201, hub.text
    r = httpx.post(
        f"{live.base}/users",
        headers=h,
        json={"username": "other", "password": "other-hub-pass", "role": "dispatcher", "hubId": hub.json()["id"]},
    )
    assert r.status_code == 201, r.text
    other = live.login("other", "other-hub-pass")

    async def scenario() -> None:
        assert await _refused(f"{live.ws_base}/ws/hub/{live.hub_id}", _headers(other)) == 403  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_resume_ends_with_a_caught_up_marker(live: LiveServer) -> None:
    token = live.login("courier1")

    async def scenario() -> None:
        ws = await websockets.connect(f"{live.ws_base}/ws/courier", additional_headers=_headers(token))
        got = await _messages_until(ws, "caught_up")
        assert [m["type"] for m in got] == ["snapshot", "caught_up"] and got[1]["seq"] == got[0]["seq"]
        await ws.close()
        # Nothing missed: the marker alone, at the same seq, tells the app it is current.
        ws = await websockets.connect(
            f"{live.ws_base}/ws/courier?after={got[0]['seq']}", additional_headers=_headers(token)
        )
        again = await _messages_until(ws, "caught_up")
        assert again == [{"type": "caught_up", "seq": got[0]["seq"]}]
        await ws.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("how", ["logout", "disabled", "password"])
def test_an_open_socket_closes_within_5_s_when_its_session_ends(live: LiveServer, how: str) -> None:
    token = live.login("courier1")
    admin = {"Authorization": f"Bearer {live.login('admin', ADMIN_PASSWORD)}"}

    async def scenario() -> None:
        ws = await websockets.connect(f"{live.ws_base}/ws/courier", additional_headers=_headers(token))
        await _messages_until(ws, "caught_up")
        async with httpx.AsyncClient(base_url=live.base) as http:
            if how == "logout":
                r = await http.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
            else:
                me = (await http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
                change = {"active": False} if how == "disabled" else {"password": "a-brand-new-pass"}
                r = await http.patch(f"/users/{me['id']}", json=change, headers=admin)
            assert r.status_code in (200, 204), r.text
        t0 = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 6)
        assert time.monotonic() - t0 < 5.0  # the promise: within 5 s (a sweep every 2 s)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert closed.value.rcvd.reason == "session_ended"

    asyncio.run(scenario())
