"""The map bench's couriers: log in, open ``/ws/courier``, start the shift, then send positions.

Each courier rides its own route (hub → its stops → hub) in straight lines at a bike's speed
and sends where it is every ``every_s`` seconds (each courier starting at its own offset within
the first period), so the dispatcher's map sees about ``couriers / every_s`` moves a second.
Every sent position is kept with the wall-clock ms just before it went out: the bench matches
it to the moment the page's marker showed it.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from backend.bench.harness.api import ApiClient
from backend.bench.harness.geometry import metres
from backend.bench.harness.stats import count, pct
from backend.bench.harness.stream import ResumingSocket, courier_stream_url

BIKE_MPS = 15 / 3.6
Point = tuple[float, float]


class Rider(ResumingSocket):
    """One courier's phone: its stream, its shift, and the positions it sent."""

    def __init__(self, ws_base: str, api: ApiClient, username: str, courier_id: int) -> None:
        super().__init__(courier_stream_url(ws_base), api.token, open_timeout=60)
        self.api, self.username, self.courier_id = api, username, courier_id
        self.snapshot: dict[str, Any] | None = None
        self.sent: list[tuple[int, float, float, float]] = []  # courier id, lat, lon, wall ms
        self.refusals: list[str] = []
        self.last_key: tuple[float, float] | None = None
        self.walker: Walker | None = None

    def on_snapshot(self, data: dict[str, Any], now: float) -> None:
        self.snapshot = data

    def on_error(self, message: dict[str, Any]) -> None:
        self.refusals.append(str(message.get("message") or message.get("detail") or message.get("code")))

    def path(self) -> list[Point]:
        """Hub → the route's stops → hub (just the hub without a route)."""
        assert self.snapshot is not None
        hub = (self.snapshot["hub"]["lat"], self.snapshot["hub"]["lon"])
        route = self.snapshot.get("route") or {}
        return [hub] + [(s["lat"], s["lon"]) for s in route.get("stops", [])] + [hub]

    async def start_shift(self) -> None:
        status, body = await self.api.send("/courier/shift/start", {}, idempotent=True, retries=2)
        if status != 200:
            raise RuntimeError(f"{self.username} cannot start the shift: {status} {str(body)[:200]}")

    async def ride(self, start_at: float, end_at: float, every_s: float, offset_s: float) -> None:
        """Send a position every ``every_s`` from ``start_at + offset_s`` until ``end_at`` (monotonic)."""
        next_at = start_at + offset_s
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() >= end_at:
                return
            await self.move(BIKE_MPS * every_s)
            next_at += every_s

    async def move(self, metres_on: float, *, keep: bool = True) -> None:
        """Ride ``metres_on`` further along the path and send where that is (kept in ``sent``)."""
        if self.walker is None:
            self.walker = Walker(self.path())
        lat, lon = self.walker.step(metres_on)
        lat, lon = round(lat, 6), round(lon, 6)
        if (lat, lon) == self.last_key:  # every sent place differs from the one before
            lat = round(lat + 1e-6, 6)
        self.last_key = (lat, lon)
        t_ms = time.time() * 1000
        if await self.send_position(lat, lon, 8) and keep:
            self.sent.append((self.courier_id, lat, lon, t_ms))


class Walker:
    """Where a rider is along a path of points after riding so many metres more."""

    def __init__(self, points: list[Point]) -> None:
        self.legs = [(a, b, metres(a, b)) for a, b in zip(points, points[1:], strict=False)]
        self.legs = [leg for leg in self.legs if leg[2] > 0]
        self.home = points[0]
        self.leg, self.along = 0, 0.0

    def step(self, metres_more: float) -> Point:
        if not self.legs:  # nowhere to go: stays home (the rider nudges each place apart)
            return self.home
        self.along += metres_more
        while True:
            a, b, length = self.legs[self.leg % len(self.legs)]
            if self.along <= length:
                f = self.along / length
                return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
            self.along -= length
            self.leg += 1


async def connect_riders(
    base: str, ws_base: str, couriers: dict[str, int], password: str, *, concurrency: int = 8
) -> tuple[list[Rider], dict[str, Any]]:
    """Log every courier in, open its stream (waiting for the snapshot), start its shift."""
    sem = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()
    login_ms: list[float] = []

    async def one(username: str, courier_id: int) -> Rider:
        async with sem:
            api = ApiClient(base)
            status, body = await api.login(username, password)
            if status != 200:
                raise RuntimeError(f"{username} cannot log in: {status} {str(body)[:200]}")
            login_ms.append(api.login_ms or 0.0)
            rider = Rider(ws_base, api, username, courier_id)
            rider.start()
            await asyncio.wait_for(rider.ready.wait(), 120)
            await rider.start_shift()
            return rider

    riders = list(await asyncio.gather(*(one(u, c) for u, c in couriers.items())))
    return riders, {
        "couriers": len(riders),
        "seconds": round(time.monotonic() - t0, 2),
        "login_p50_ms": pct(login_ms, 50),
    }


async def first_positions(riders: list[Rider], seed: int) -> None:
    """Each rider somewhere along its route already (the desk opens on couriers on the road:
    its snapshot has their places, so the markers are there before the measuring starts)."""
    rng = random.Random(seed)
    await asyncio.gather(*(r.move(rng.uniform(0, 2000), keep=False) for r in riders))


async def ride_all(riders: list[Rider], seconds: float, every_s: float, seed: int) -> dict[str, Any]:
    """Every rider sends positions for ``seconds``; answers what was sent and refused."""
    rng = random.Random(seed)
    start_at = time.monotonic() + 0.2
    end_at = start_at + seconds
    await asyncio.gather(*(r.ride(start_at, end_at, every_s, rng.uniform(0, every_s)) for r in riders))
    return {
        "sent": sum(len(r.sent) for r in riders),
        "refused": count(msg for r in riders for msg in r.refusals),
        "drops": sum(r.drops for r in riders),
    }


async def stop_riders(riders: list[Rider]) -> None:
    await asyncio.gather(*(r.stop() for r in riders), return_exceptions=True)
