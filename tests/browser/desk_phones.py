"""Couriers' phones for the desk's browser tests: a live stream in a thread, and direct DB edits.

A :class:`Phone` logs a courier in (bearer token), opens ``/ws/courier`` and keeps every
message it hears, so a test can wait for a ``route.updated``; it starts the shift and sends
positions like the courier app does.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect


class Phone:
    """One courier's phone on the live stream, the messages it heard kept in order."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        answer = httpx.post(f"{base}/auth/login", json={"username": username, "password": password}, timeout=10)
        answer.raise_for_status()
        self.token = answer.json()["token"]
        ws_url = base.replace("http://", "ws://") + "/ws/courier"
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(
            connect(ws_url, additional_headers={"Authorization": f"Bearer {self.token}"}, open_timeout=20)
        )
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        snapshot = self.wait_for(lambda m: m["type"] == "snapshot", 20)
        self.day: dict[str, Any] = snapshot["data"]
        self.courier_id: int = self.day["courier"]["id"]

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # the socket closes at the end of the test
            for raw in self.ws:
                with self.lock:
                    self.messages.append(json.loads(raw))

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout_s: float, after: int = 0) -> dict[str, Any]:
        """The first message (from index ``after`` on) that matches; AssertionError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                found = next((m for m in self.messages[after:] if match(m)), None)
            if found is not None:
                return found
            time.sleep(0.05)
        with self.lock:
            kinds = [m.get("kind") or m["type"] for m in self.messages[after:]]
        raise AssertionError(f"courier {getattr(self, 'courier_id', '?')} heard no such message; it heard {kinds}")

    def heard(self) -> int:
        """How many messages so far (a mark to wait from)."""
        with self.lock:
            return len(self.messages)

    def route_updates(self, after: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [m["data"] for m in self.messages[after:] if m.get("kind") == "route.updated"]

    def start_shift(self) -> None:
        answer = httpx.post(
            f"{self.base}/courier/shift/start",
            json={},
            headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def send_position(self, lat: float, lon: float) -> None:
        self.ws.send(json.dumps({"type": "position", "lat": lat, "lon": lon, "accuracy": 8}))

    def open_deliveries(self) -> list[dict[str, Any]]:
        """Its planned delivery stops whose order has no other stop (no shop pickup) on the route."""
        stops = (self.day.get("route") or {}).get("stops", [])
        orders = [s["orderId"] for s in stops]
        return [
            s for s in stops if s["kind"] == "delivery" and s["status"] == "planned" and orders.count(s["orderId"]) == 1
        ]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stack.close()


def make_too_heavy(db_path: Path, stop_id: int, keeper_courier: int) -> None:
    """The stop weighs 500 kg, and only the keeper's bike carries that much (no other bike does)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as db, db:
        db.execute("UPDATE stop SET weight_kg = 500 WHERE id = ?", (stop_id,))
        db.execute(
            "UPDATE bike SET payload_kg = 5000 WHERE id IN "
            "(SELECT bike FROM courier WHERE id = ? UNION SELECT bike FROM shift WHERE courier = ?)",
            (keeper_courier, keeper_courier),
        )
