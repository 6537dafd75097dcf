"""The returns desk's live stream (/ws/returns): the hub's returns events with the couriers'
resume rule. A list handed to a worker reaches that worker's screen at once; a device that
was away gets what it missed and nothing of the hub's routes; another hub's worker gets
nothing of this hub; a foreign page, a picker and a worker of no hub are refused at the upgrade."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest
from litestar.exceptions import WebSocketDisconnect

from backend.db.tables import Hub
from backend.realtime.outbox import emit
from tests.api.helpers import login, make_user
from tests.api.test_returns_desk import key, received_jacket
from tests.api.test_returns_desk_flow import inspect_d

WAIT_S = 30  # a bound, not a measurement


async def _until(ws: Any, wanted: Any) -> list[dict[str, Any]]:
    got = []
    while True:
        got.append(await anyio.to_thread.run_sync(lambda: ws.receive_json(timeout=WAIT_S)))
        if wanted(got[-1]):
            return got


def _caught_up(m: dict[str, Any]) -> bool:
    return m["type"] == "caught_up"


async def test_a_list_handed_over_reaches_the_new_workers_screen_at_once(client) -> None:
    tag = uuid.uuid4().hex[:5]
    order, desk_a, item = await received_jacket(client, user=f"ana-{tag}")
    await make_user(f"bo-{tag}", "returns", order["hub"])
    desk_b = await login(client, f"bo-{tag}")
    await inspect_d(client, desk_a, item, "supplier")  # the list goes to one of the two (both are on)
    session = await client.websocket_connect("/ws/returns", headers=desk_b)
    with session as ws:
        snapshot = (await _until(ws, _caught_up))[0]
        assert snapshot["type"] == "snapshot" and snapshot["data"]["hubId"] == order["hub"]
        held = {i["itemId"]: q["worker"] for q in snapshot["data"]["tasks"] for i in q["items"]}
        other = f"bo-{tag}" if held[item] == f"ana-{tag}" else f"ana-{tag}"
        await make_user(f"disp-{tag}", "dispatcher", order["hub"])
        sup = await login(client, f"disp-{tag}")
        r = await client.post(f"/returns-desk/items/{item}/worker", json={"worker": other}, headers={**sup, **key()})
        assert r.status_code == 200, r.text
        got = await _until(ws, lambda m: m["type"] == "event" and m["kind"] == "return.assigned")
    assert got[-1]["data"] == {"itemId": item, "worker": other}
    assert got[-1]["seq"] > snapshot["seq"]
    # Away from the start: the backlog has the hub's returns events, not its routes.
    await emit("route.updated", {"routeId": 1}, hub_id=order["hub"])
    session = await client.websocket_connect(f"/ws/returns?after={snapshot['seq']}", headers=desk_b)
    with session as ws:
        got = await _until(ws, _caught_up)
    kinds = [m["kind"] for m in got if m["type"] == "event"]
    assert kinds == ["return.assigned"], kinds
    # Another hub's worker: nothing of this hub, from the same point on.
    elsewhere = (await Hub.insert(Hub(name=f"Hub {tag}", lat=60.2, lon=24.9)))[0]["id"]
    await make_user(f"cas-{tag}", "returns", elsewhere)
    theirs = await login(client, f"cas-{tag}")
    session = await client.websocket_connect(f"/ws/returns?after={snapshot['seq']}", headers=theirs)
    with session as ws:
        got = await _until(ws, _caught_up)
    assert [m for m in got if m["type"] == "event"] == []


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
async def test_a_foreign_page_a_picker_and_a_worker_of_no_hub_are_refused_at_the_upgrade(client, origin: str) -> None:
    tag = uuid.uuid4().hex[:5]
    order, desk, _ = await received_jacket(client, user=f"ret-{tag}")
    await make_user(f"pick-{tag}", "picker", order["hub"])
    await make_user(f"hubless-{tag}", "returns")
    refused = [
        {**desk, "Origin": origin},  # another site's page, with the worker's cookie or token
        await login(client, f"pick-{tag}"),  # not the returns desk
        {},  # nobody (and a token in the URL is no login)
        await login(client, f"hubless-{tag}"),  # a returns worker of no hub
    ]
    for headers in refused:
        session = await client.websocket_connect("/ws/returns?token=x", headers=headers)
        with pytest.raises(WebSocketDisconnect), session as ws:
            ws.receive_json(timeout=10)
    session = await client.websocket_connect("/ws/returns", headers=desk)
    with session as ws:
        assert (await _until(ws, _caught_up))[0]["type"] == "snapshot"
