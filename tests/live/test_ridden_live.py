"""Positions sent over the courier websocket of a real server end up in the
ridden trail (flushed in batches, thinned) that the desk reads back."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.live.server import LiveServer
from tests.live.test_courier_day import _connect, _h, _open_stops, _recv, today

STEP_DEG = 0.0001  # 11.1 m of latitude: 2 s apart, 20 km/h


def test_positions_over_the_websocket_become_the_trail(live: LiveServer) -> None:
    courier, dispatcher = live.login("courier1"), live.login("dispatcher")
    view = today(live, courier)
    me, stop = view["courier"]["id"], _open_stops(view)[0]
    r = httpx.post(live.base + "/courier/shift/start", json={}, headers=_h(courier, str(uuid.uuid4())))
    assert r.status_code == 200, r.text
    sent = [(stop["lat"] + i * STEP_DEG, stop["lon"]) for i in range(4)]

    async def ride() -> None:
        ws = await _connect(live, courier)
        assert (await _recv(ws))["type"] == "snapshot"
        for i, (lat, lon) in enumerate([*sent[:2], sent[1], *sent[2:]]):  # the repeated point is thinned away
            if i and i != 2:  # riding pace (the server stamps the time; faster than 45 km/h would be a GPS jump)
                await asyncio.sleep(2)
            await ws.send(json.dumps({"type": "position", "lat": lat, "lon": lon, "accuracy": 5}))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv(ws))["type"] == "pong"  # every position before it is taken
        await ws.close()

    asyncio.run(ride())
    # The store writes every 15 s: wait for the flush (no timing asserted, only what is stored).
    deadline = time.monotonic() + 60
    while True:
        trail = httpx.get(f"{live.base}/couriers/{me}/trail", headers=_h(dispatcher)).json()
        if len(trail["points"]) == len(sent) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [(p[0], p[1]) for p in trail["points"]] == [(round(a, 6), round(b, 6)) for a, b in sent]
    assert trail["riddenKm"] == pytest.approx(3 * STEP_DEG * 111.195, abs=0.006)
    assert trail["lastPositionAgeS"] is not None and trail["shiftId"]

    figures = httpx.get(f"{live.base}/hubs/{live.hub_id}/figures", headers=_h(dispatcher)).json()  # type: ignore[attr-defined]
    assert figures["riddenKm"] == pytest.approx(trail["riddenKm"], abs=0.01)
    assert figures["co2AvoidedKg"] == pytest.approx(figures["riddenKm"] * figures["co2FactorKgPerKm"], abs=0.001)
    gpx = ET.fromstring(httpx.get(f"{live.base}/couriers/{me}/trail.gpx", headers=_h(dispatcher)).content)
    assert len(gpx.findall("{http://www.topografix.com/GPX/1/1}trk/*/{http://www.topografix.com/GPX/1/1}trkpt")) == 4
