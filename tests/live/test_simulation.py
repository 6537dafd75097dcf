"""The demo's simulated couriers against a real server: they ride, act through the
public API, and let go of a courier as soon as a person logs in as it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets

from backend.bench.simulation import Simulation, token_id_of
from backend.realtime.feed import POSITION_BATCH_S
from backend.services.demo import DEMO_PASSWORD
from tests.live.server import LiveServer

DONE = ("delivered", "failed", "collected")


async def _collect(ws, into: list[dict[str, Any]]) -> None:
    async for raw in ws:
        message = json.loads(raw)
        message["_t"] = time.monotonic()
        into.append(message)


async def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def test_a_simulated_courier_rides_its_route_and_lets_go_on_take_over(live: LiveServer, geo) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=live.base, timeout=10) as http:
            r = await http.post("/auth/login", json={"username": "dispatcher", "password": DEMO_PASSWORD})
            dispatcher = r.json()["token"]
            hub_ws = await websockets.connect(
                f"{live.ws_base}/ws/hub/{live.hub_id}",  # type: ignore[attr-defined]
                additional_headers={"Authorization": f"Bearer {dispatcher}"},
                max_size=None,
            )
            seen: list[dict[str, Any]] = []
            collector = asyncio.create_task(_collect(hub_ws, seen))
            await _wait_for(lambda: any(m["type"] == "snapshot" for m in seen), 5, "the hub snapshot")

            sim = Simulation(
                live.base,
                geo,
                ["courier1"],
                DEMO_PASSWORD,
                speedup=120,
                position_every_s=0.4,
                takeover_poll_s=0.3,
                seed=3,
                fail_rate=0.25,
            )
            task = asyncio.create_task(sim.run())
            courier = sim.couriers["courier1"]
            await _wait_for(lambda: courier.courier_id is not None, 10, "the simulator's login")
            snapshot = next(m for m in seen if m["type"] == "snapshot")
            route = next(r for r in snapshot["data"]["routes"] if r["courierId"] == courier.courier_id)
            mine = {s["stopId"] for s in route["stops"]}

            def settled() -> list[dict[str, Any]]:
                return [
                    m
                    for m in seen
                    if m["type"] == "event"
                    and m["kind"] == "stop.updated"
                    and m["data"]["stopId"] in mine
                    and m["data"]["status"] in DONE
                ]

            def positions() -> list[dict[str, Any]]:
                return [
                    p
                    for m in seen
                    if m["type"] == "positions"
                    for p in m["positions"]
                    if p["courierId"] == courier.courier_id
                ]

            # 45 s at 120x is an hour and a half of the day: the plan decides how many stops
            # that is (the demo's first route has had its third stop 41 minutes in)
            await _wait_for(
                lambda: len(settled()) >= 3 and len(positions()) >= 5,
                45,
                "three settled stops and five positions on the hub stream",
            )
            kinds = {m["kind"] for m in seen if m["type"] == "event"}
            assert {"shift.updated", "parcel.loaded", "stop.updated"} <= kinds

            # Through the API: the courier's day has moved on.
            r = await http.post("/auth/login", json={"username": "courier1", "password": DEMO_PASSWORD})
            person = r.json()["token"]
            assert token_id_of(person) not in courier.token_ids
            # The person's login is the take-over: the simulator lets go within its poll.
            assert (await asyncio.wait_for(task, 10)) == {"courier1": "taken_over"}
            assert "courier1" in sim.taken_over
            day = (await http.get("/courier/today", headers={"Authorization": f"Bearer {person}"})).json()
            assert day["shift"]["status"] == "started"
            statuses = {s["stopId"]: s["status"] for s in day["route"]["stops"]}
            assert sum(1 for s in statuses.values() if s in DONE) >= 3

            # From now on the simulator does nothing for courier1: no event, no position
            # (after the hub's last position batch, which may hold one sent just before).
            await asyncio.sleep(POSITION_BATCH_S + 0.3)
            events_before, positions_before = len(settled()), len(positions())
            stop_events_before = sum(1 for m in seen if m["type"] == "event")
            await asyncio.sleep(2.5)
            assert len(settled()) == events_before
            assert len(positions()) == positions_before
            assert sum(1 for m in seen if m["type"] == "event") == stop_events_before
            again = (await http.get("/courier/today", headers={"Authorization": f"Bearer {person}"})).json()
            assert {s["stopId"]: s["status"] for s in again["route"]["stops"]} == statuses
            collector.cancel()
            await hub_ws.close()

    asyncio.run(scenario())
