"""The couriers of ``laadbak bench replan`` ride their routes while the disruptions come.

Each phone on the road rides to its next open stop at ``pace_s`` real seconds a
stop, sending a position every ``position_every_s`` seconds along the straight
line there (the server only needs to see it move), then arrives and delivers,
collects at a shop, or now and then fails (``fail_rate``: not at home; the
server's failed-stop policy then re-plans in the background, as it does on a
real day). When the next stop rides a later loop, the courier rides back to
the hub first and scans that loop's parcels. A route that has nothing open
leaves the courier waiting where it stands for the next re-plan to give it work.

A disruption that acts through a phone (a failed stop, a courier out of
service) holds the phone's ``lock`` while it does; the rider takes the lock
for each of its own steps, so the two never act on one route at once, and after
a disruption (or a re-plan) the rider rides to whatever is next on the route
as the phone now sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

from backend.bench.harness.api import problem_text
from backend.bench.harness.stats import pct
from backend.bench.replan_phones import Phone

PACE_S = 20.0  # real seconds a courier takes per stop (ride and serve): 60 couriers, 3 stops a second
POSITION_EVERY_S = 4.0
FAIL_RATE = 0.05
_ERRORS_KEPT = 10


def next_step(stops: list[dict[str, Any]], loaded_loop: int) -> tuple[str, dict[str, Any] | None]:
    """What the courier does next on this route (the phone's view of its stops, in order):
    ``("reload", stop)`` when its next open stop rides a loop after ``loaded_loop`` (back to the
    hub to load it), ``("serve", stop)`` for the next open stop, ``("wait", None)`` when
    nothing is open."""
    stop = next((s for s in stops if s["status"] in ("planned", "arrived")), None)
    if stop is None:
        return "wait", None
    if int(stop.get("loop") or 1) > loaded_loop:
        return "reload", stop
    return "serve", stop


def finish_action(stop: dict[str, Any], failing: bool) -> tuple[str, dict[str, Any]]:
    """The action that ends a stop and its body: collect at a shop (or a return at a door),
    fail when ``failing`` (a delivery only: not at home), else deliver with the proof a person
    would give (the pickup point's handover, or the recipient's name)."""
    barcodes = [p["barcode"] for p in stop.get("parcels", [])]
    if stop["kind"] == "pickup":
        return "collect", {"barcodes": barcodes}
    if failing:
        return "fail", {"reason": "not_home"}
    proof = (
        {"kind": "pickup_point"}
        if stop.get("pickupPointId")
        else {"kind": "recipient", "recipientName": stop.get("customerName") or "Resident"}
    )
    return "deliver", {"barcodes": barcodes, "proof": proof}


def waypoints(a: tuple[float, float], b: tuple[float, float], steps: int) -> list[tuple[float, float]]:
    """``steps`` points from ``a`` (excluded) to ``b`` (included) on the straight line."""
    steps = max(1, steps)
    return [(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps) for i in range(1, steps + 1)]


class Riders:
    """Every phone's ride, in the background, until :meth:`stop`."""

    def __init__(
        self,
        phones: list[Phone],
        rng: random.Random,
        *,
        pace_s: float = PACE_S,
        position_every_s: float = POSITION_EVERY_S,
        fail_rate: float = FAIL_RATE,
    ) -> None:
        self.phones, self.rng = phones, rng
        self.pace_s, self.position_every_s, self.fail_rate = pace_s, position_every_s, fail_rate
        self.counts = {
            "delivered": 0,
            "collected": 0,
            "failed": 0,
            "arrived": 0,
            "positions": 0,
            "reloads": 0,
            "scanned": 0,
        }
        self.errors: dict[str, int] = {}
        self.action_ms: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.started = 0.0
        self.ridden_s = 0.0

    def start(self) -> None:
        if self.pace_s <= 0:
            return
        self.started = time.monotonic()
        self.tasks = [asyncio.create_task(self._ride(p)) for p in self.phones]

    async def under_way(self, timeout_s: float = 60.0) -> None:
        """Until the first stop is done (or ``timeout_s``): the day is under way when the
        disruptions start, also on a slow machine where the first ride takes longer."""
        if not self.tasks:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not any(self.counts[k] for k in ("delivered", "collected", "failed")):
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.started:
            self.ridden_s = time.monotonic() - self.started
        self.tasks = []

    def figures(self) -> dict[str, Any]:
        """The riding's row of the JSON: what the couriers did meanwhile, and how fast the server took it."""
        done = self.counts["delivered"] + self.counts["collected"] + self.counts["failed"]
        return {
            "phase": "riding",
            "pace_s": self.pace_s,
            "position_every_s": self.position_every_s,
            "fail_rate": self.fail_rate,
            "seconds": round(self.ridden_s, 1),
            **self.counts,
            "stops_done": done,
            "stops_per_s": round(done / self.ridden_s, 2) if self.ridden_s else None,
            "positions_per_s": round(self.counts["positions"] / self.ridden_s, 1) if self.ridden_s else None,
            "action_p50_ms": pct(self.action_ms, 50),
            "action_p95_ms": pct(self.action_ms, 95),
            "errors": dict(sorted(self.errors.items(), key=lambda kv: -kv[1])[:_ERRORS_KEPT]),
        }

    # -- one phone ---------------------------------------------------------------------------

    async def _ride(self, phone: Phone) -> None:
        # the couriers do not all move in step: each starts somewhere within its first stop
        await asyncio.sleep(self.rng.uniform(0, self.pace_s))
        while True:
            if not phone.on_road:
                await asyncio.sleep(self.pace_s)
                continue
            kind, stop = next_step((phone.route or {}).get("stops", []), phone.loaded_loop)
            if stop is None:
                phone.target = None
                await asyncio.sleep(self.pace_s)
                continue
            phone.target = stop["stopId"]
            place = phone.hub_place if kind == "reload" else (stop["lat"], stop["lon"])
            if not await self._ride_to(phone, place, stop["stopId"]):
                continue  # the route changed under way: ride to what is next now
            async with phone.lock:
                if kind == "reload":
                    await self._reload(phone, int(stop.get("loop") or 1))
                else:
                    await self._serve(phone, stop["stopId"])

    async def _ride_to(self, phone: Phone, place: tuple[float, float], stop_id: int) -> bool:
        """Positions along the way, ``pace_s`` in all; False when the stop is no longer next."""
        steps = max(1, round(self.pace_s / self.position_every_s))
        for point in waypoints(phone.place, place, steps):
            await asyncio.sleep(self.pace_s / steps * self.rng.uniform(0.7, 1.3))
            async with phone.lock:
                _kind, now_next = next_step((phone.route or {}).get("stops", []), phone.loaded_loop)
                if now_next is None or now_next["stopId"] != stop_id or not phone.on_road:
                    return False
                await phone.move_to(*point)
                self.counts["positions"] += 1
        return True

    async def _reload(self, phone: Phone, loop: int) -> None:
        """Back at the hub: the loading list as it stands now, this loop's parcels scanned."""
        status, day = await phone.http.get("/courier/today")
        if status != 200:
            self._error("today", status, day)
            return
        phone.loading = day.get("loading") or []
        for item in phone.loading:
            if item["loaded"] or int(item.get("loop") or 1) != loop:
                continue
            status, body = await phone.http.send("/courier/loading/scan", {"barcode": item["barcode"]}, idempotent=True)
            if status == 200:
                self.counts["scanned"] += 1
            else:
                self._error("scan", status, body)
        phone.loaded_loop = loop
        self.counts["reloads"] += 1

    async def _serve(self, phone: Phone, stop_id: int) -> None:
        stop = next((s for s in (phone.route or {}).get("stops", []) if s["stopId"] == stop_id), None)
        if stop is None or stop["status"] not in ("planned", "arrived"):
            return
        if stop["status"] == "planned":
            if not await self._act(phone, stop_id, "arrive", {}):
                return
            self.counts["arrived"] += 1
        verb, body = finish_action(stop, self.rng.random() < self.fail_rate)
        if await self._act(phone, stop_id, verb, body):
            self.counts[{"collect": "collected", "fail": "failed", "deliver": "delivered"}[verb]] += 1

    async def _act(self, phone: Phone, stop_id: int, verb: str, body: dict[str, Any]) -> bool:
        t0 = time.monotonic()
        status, answer = await phone.act(stop_id, verb, body)
        if status == 200:
            self.action_ms.append(round((time.monotonic() - t0) * 1000, 1))
            return True
        self._error(verb, status, answer)
        if status == 409 and phone.route is not None:  # the stop moved on meanwhile: the phone learns its state
            state = (answer or {}).get("stopStatus") if isinstance(answer, dict) else None
            if isinstance(state, str):
                phone.route["stops"] = [
                    {**s, "status": state} if s["stopId"] == stop_id else s for s in phone.route["stops"]
                ]
        elif status == 404 and phone.route is not None:  # no longer on this route (moved by a re-plan)
            phone.route["stops"] = [s for s in phone.route["stops"] if s["stopId"] != stop_id]
        return False

    def _error(self, what: str, status: int, body: Any) -> None:
        key = f"{what} {status}: {problem_text(body)[:80]}"
        self.errors[key] = self.errors.get(key, 0) + 1
