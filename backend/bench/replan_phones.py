"""The phones and the dispatcher's screen of ``laadbak bench replan``, and what they heard.

Each courier's phone keeps ``/ws/courier`` open (resuming after its last seq,
through the harness's :class:`ResumingSocket`) and holds its route as the phone
sees it; the dispatcher's ``/ws/hub/{id}`` brings the server's verdicts on the
background re-plans. Both write what matters to the :class:`Journal`, which
wakes whoever waits for a disruption's effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from backend.bench.harness.api import ApiClient
from backend.bench.harness.stream import ResumingSocket, courier_stream_url

T = TypeVar("T")


class Journal:
    """What the sockets heard, with a wake-up for whoever waits on it."""

    def __init__(self) -> None:
        self.route_updates: list[tuple[float, int, str, dict[str, Any]]] = []  # t, courier, reason, change
        self.replans: list[tuple[float, dict[str, Any]]] = []  # t, plan.replanned figures
        self.next_steps: list[tuple[float, dict[str, Any]]] = []  # t, order.next_step data
        self._bump = asyncio.Event()

    def add(self, bucket: list[Any], item: Any) -> None:
        bucket.append(item)
        self._bump.set()
        self._bump = asyncio.Event()

    async def until(self, probe: Callable[[], T | None], deadline: float) -> T | None:
        while True:
            bump = self._bump
            found = probe()
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bump.wait(), left)


class Phone(ResumingSocket):
    """One courier's phone: the route as the phone sees it, and its HTTP calls."""

    def __init__(self, ws_base: str, http: ApiClient, username: str, journal: Journal) -> None:
        super().__init__(courier_stream_url(ws_base), http.token)
        self.http, self.username, self.journal = http, username, journal
        self.courier_id = 0
        self.route: dict[str, Any] | None = None
        self.loading: list[dict[str, Any]] = []
        self.shift_status = "planned"
        self.position: tuple[float, float] | None = None
        self.hub_place: tuple[float, float] = (0.0, 0.0)
        # riding (backend/bench/replan_riders.py): held by whoever acts on the route, the
        # stop the courier rides to, and the last loop whose parcels are on the bike
        self.lock = asyncio.Lock()
        self.target: int | None = None
        self.loaded_loop = 1

    def on_snapshot(self, data: dict[str, Any], now: float) -> None:
        self.courier_id = data["courier"]["id"]
        self.hub_place = (data["hub"]["lat"], data["hub"]["lon"])
        self.route = data["route"]
        self.loading = data["loading"]
        self.shift_status = (data["shift"] or {}).get("status", "planned")

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        if kind in ("route.planned", "route.updated"):
            self.route = data
            change = data.get("change")
            if kind == "route.updated" and change:
                self.journal.add(
                    self.journal.route_updates,
                    (now, self.courier_id, change.get("reason", ""), change),
                )
        elif kind == "stop.updated" and self.route is not None:
            self.route["stops"] = [data if s["stopId"] == data["stopId"] else s for s in self.route["stops"]]
        elif kind == "shift.updated":
            self.shift_status = data["status"]

    @property
    def on_road(self) -> bool:
        # Started, with or without stops: the solver may leave a bike idle at the hub.
        return self.shift_status == "started"

    @property
    def place(self) -> tuple[float, float]:
        return self.position or self.hub_place

    def open_stops(self) -> list[dict[str, Any]]:
        return [s for s in (self.route or {}).get("stops", []) if s["status"] in ("planned", "arrived")]

    def plain_deliveries(self) -> list[dict[str, Any]]:
        """Open deliveries without shop pickups (those move as a group)."""
        stops = self.open_stops()
        with_shops = {s["orderId"] for s in stops if s["kind"] == "pickup"}
        return [
            s for s in stops if s["kind"] == "delivery" and s["status"] == "planned" and s["orderId"] not in with_shops
        ]

    async def act(self, stop_id: int, verb: str, body: dict[str, Any]) -> tuple[int, Any]:
        """A stop action; the answer (the stop) updates the phone's route before its event does."""
        status, answer = await self.http.send(f"/courier/stops/{stop_id}/{verb}", body, idempotent=True)
        if status == 200 and self.route is not None and isinstance(answer, dict):
            self.route["stops"] = [{**s, **answer} if s["stopId"] == stop_id else s for s in self.route["stops"]]
        return status, answer

    async def move_to(self, lat: float, lon: float) -> None:
        self.position = (lat, lon)
        await self.send_position(lat, lon, 8)


class HubWatch(ResumingSocket):
    """The dispatcher's stream: the server's verdicts on background re-plans."""

    def __init__(self, url: str, token: str | None, journal: Journal) -> None:
        super().__init__(url, token)
        self.journal = journal

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        if kind == "plan.replanned":
            self.journal.add(self.journal.replans, (now, data.get("figures") or {}))
        elif kind == "order.next_step":
            self.journal.add(self.journal.next_steps, (now, data))
