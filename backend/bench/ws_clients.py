"""The simulated phones of ``laadbak bench ws``: client processes, their couriers, the dispatcher.

The couriers are split between client processes (asyncio, ``websockets`` and
the harness's minimal HTTP client), each driven by the parent over a pipe:
log everybody in, then at ``start_at`` ramp up the connections, ride until
``end_at``, report. A courier connects ``/ws/courier`` (bearer header),
starts its shift, sends a position every few seconds and an app-level ping
every 20 s, and every so often acts on its next stop (arrive, then deliver or
fail), timing each action from just before its POST to its ``stop.updated``
event on the courier's own socket. The dispatcher (in the parent) watches
``/ws/hub/{hubId}`` for the same events.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from backend.bench.harness.api import ApiClient
from backend.bench.harness.server import raise_nofile
from backend.bench.harness.stats import count, pct, top
from backend.bench.harness.stream import ResumingSocket, courier_stream_url, hub_stream_url
from backend.bench.ws_day import PASSWORD

STOP_STATUS = {"arrive": "arrived", "deliver": "delivered", "fail": "failed"}


def log(message: str) -> None:
    print(f"[bench ws {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def client_process(cfg: dict[str, Any], conn: Any) -> None:
    """Entry point of a client process: its share of the couriers, driven over ``conn``."""
    raise_nofile()
    runner: Callable[[Coroutine[Any, Any, None]], None]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    try:
        runner(_client_main(cfg, conn))
    except Exception as exc:  # noqa: BLE001 - tell the parent rather than hang it
        import traceback

        conn.send(("error", f"{exc!r}\n{traceback.format_exc()}"))


async def _client_main(cfg: dict[str, Any], conn: Any) -> None:
    client = Client(cfg, conn)
    conn.send(("logged_in", await client.login_all()))
    message = await asyncio.to_thread(conn.recv)
    _, start_at, end_at = message
    await client.run(start_at, end_at)


class Action:
    __slots__ = (
        "action",
        "courier",
        "error",
        "http",
        "status",
        "stop_id",
        "t0",
        "t_courier",
        "t_resp",
    )

    def __init__(self, courier: str, stop_id: int, action: str) -> None:
        self.courier, self.stop_id, self.action = courier, stop_id, action
        self.status = STOP_STATUS[action]
        self.t0 = self.t_resp = self.t_courier = 0.0
        self.http = 0
        self.error = ""

    def row(self) -> list[Any]:
        """What the parent gets: ``[stop, status, t0, t_resp, http, t_courier, error]``."""
        return [
            self.stop_id,
            self.status,
            self.t0,
            self.t_resp,
            self.http,
            self.t_courier,
            self.error,
        ]


class SimCourier(ResumingSocket):
    """One phone: socket (resuming after its last seq), shift, positions, pings, actions."""

    def __init__(self, client: Client, username: str, api: ApiClient) -> None:
        super().__init__(
            courier_stream_url(client.cfg["ws_base"]),
            api.token,
            open_timeout=60,
            compression=client.cfg["compression"],
        )
        self.client, self.username, self.api = client, username, api
        self.snapshot: dict[str, Any] | None = None
        self.pending: dict[tuple[int, str], Action] = {}
        self.actions: list[Action] = []
        self.open_at_end = False
        self.positions = 0
        self.order: list[tuple[int, str]] = []  # the stop events heard, in order

    def on_snapshot(self, data: dict[str, Any], now: float) -> None:
        self.snapshot = data

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        if kind == "stop.updated":
            self.order.append((data["stopId"], data["status"]))  # compared with the dispatcher's order
            action = self.pending.pop((data["stopId"], data["status"]), None)
            if action is not None:
                action.t_courier = now

    async def live(self, start_at: float, end_at: float) -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        reader = self.start()
        try:
            await asyncio.wait_for(self.ready.wait(), timeout=max(5.0, end_at - time.monotonic()))
        except TimeoutError:
            self.errors.append("no snapshot before the end")
            self.closing = True
            reader.cancel()
            return
        assert self.snapshot is not None
        stops = [s for s in self.snapshot["route"]["stops"] if s["status"] in ("planned", "arrived")]
        status, body = await self.api.send("/courier/shift/start", {}, idempotent=True, retries=2)
        if status != 200:
            self.errors.append(f"shift/start {status}: {str(body)[:120]}")
        tasks = [
            asyncio.create_task(self._positions(stops, end_at)),
            asyncio.create_task(self._pings(end_at)),
        ]
        await self._act_on(stops, end_at)
        await asyncio.sleep(max(0.0, end_at - time.monotonic()))
        for t in tasks:
            t.cancel()
        # Wait (up to the grace) for the events of this courier's actions.
        deadline = end_at + self.client.cfg["grace_s"]
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self.open_at_end = self.ws is not None and self.drops == 0
        await self.client.all_done.wait()
        await self.stop()

    async def _act_on(self, stops: list[dict[str, Any]], end_at: float) -> None:
        """Arrive, then deliver or fail, stop after stop, every ``action_every`` s until the end."""
        cfg, rng = self.client.cfg, self.client.rng
        lo, hi = cfg["action_every"]
        next_at = time.monotonic() + rng.uniform(min(5.0, lo), hi)
        plan: list[tuple[Any, ...]] = []
        for s in stops:
            plan.append((s["stopId"], "arrive"))
            plan.append((s["stopId"], "fail" if rng.random() < cfg["fail_rate"] else "deliver", s))
        for step in plan:
            if next_at >= end_at:
                break
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            stop_id, verb = step[0], step[1]
            action = Action(self.username, stop_id, verb)
            self.pending[(stop_id, action.status)] = action
            self.actions.append(action)
            if verb == "arrive":
                body: dict[str, Any] = {}
            elif verb == "fail":
                body = {"reason": "not_home"}
            else:
                body = {
                    "barcodes": [p["barcode"] for p in step[2]["parcels"]],
                    "proof": {"kind": "recipient", "recipientName": "Bench"},
                }
            action.t0 = time.monotonic()
            action.http, answer = await self.api.send(
                f"/courier/stops/{stop_id}/{verb}", body, idempotent=True, retries=2
            )
            action.t_resp = time.monotonic()
            if action.http != 200:
                action.error = str(answer)[:200]
                self.pending.pop((stop_id, action.status), None)
            next_at += rng.uniform(lo, hi)

    async def _positions(self, stops: list[dict[str, Any]], end_at: float) -> None:
        rng = self.client.rng
        hub = self.snapshot["hub"]  # type: ignore[index]
        points = [(hub["lat"], hub["lon"])] + [(s["lat"], s["lon"]) for s in stops]
        await asyncio.sleep(rng.uniform(0, 5))
        i = 0
        while time.monotonic() < end_at:
            lat, lon = points[i % len(points)]
            await self.send_position(
                round(lat + rng.uniform(-2e-4, 2e-4), 6),
                round(lon + rng.uniform(-2e-4, 2e-4), 6),
                8,
            )
            self.positions += 1
            i += 1
            await asyncio.sleep(self.client.cfg["position_every_s"])

    async def _pings(self, end_at: float) -> None:
        await asyncio.sleep(self.client.rng.uniform(0, 20))
        while time.monotonic() < end_at:
            await self.ping()
            await asyncio.sleep(20)


class Client:
    """One client process's couriers."""

    def __init__(self, cfg: dict[str, Any], conn: Any) -> None:
        self.cfg, self.conn = cfg, conn
        self.rng = random.Random(cfg["seed"])
        self.couriers: list[SimCourier] = []
        self.all_done = asyncio.Event()
        self.lags: list[float] = []
        self.cpu0 = 0.0

    async def login_all(self) -> dict[str, Any]:
        sem = asyncio.Semaphore(self.cfg["login_concurrency"])
        t0 = time.monotonic()
        times: list[float] = []

        async def login(username: str) -> SimCourier:
            async with sem:
                api = ApiClient(self.cfg["base"])
                status, body = await api.login(username, PASSWORD)
            if status != 200 or api.login_ms is None:
                raise RuntimeError(f"{username} cannot log in: {status} {str(body)[:200]}")
            times.append(api.login_ms)
            return SimCourier(self, username, api)

        self.couriers = list(await asyncio.gather(*(login(u) for u in self.cfg["usernames"])))
        return {
            "logins": len(self.couriers),
            "seconds": round(time.monotonic() - t0, 2),
            "login_p50_ms": pct(times, 50),
            "login_p99_ms": pct(times, 99),
        }

    async def _lag_monitor(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.1)
            self.lags.append((time.monotonic() - t - 0.1) * 1000)

    async def run(self, start_at: float, end_at: float) -> None:
        cpu = os.times()
        self.cpu0 = cpu.user + cpu.system
        monitor = asyncio.create_task(self._lag_monitor())
        rate = self.cfg["ramp_per_s"]
        lives = [asyncio.create_task(c.live(start_at + i / rate, end_at)) for i, c in enumerate(self.couriers)]
        done = asyncio.create_task(asyncio.to_thread(self.conn.recv))  # the parent says when all are done

        async def release() -> None:
            await done
            self.all_done.set()

        releaser = asyncio.create_task(release())
        # Report once every courier is past the grace (or has seen all its events).
        deadline = end_at + self.cfg["grace_s"]
        while time.monotonic() < deadline and any(c.pending for c in self.couriers) or time.monotonic() < end_at:
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.3)
        for c in self.couriers:
            c.open_at_end = c.ws is not None and c.drops == 0
        monitor.cancel()
        self.conn.send(("result", self.result()))
        await releaser
        await asyncio.gather(*lives, return_exceptions=True)

    def result(self) -> dict[str, Any]:
        cpu = os.times()
        return {
            "actions": [a.row() for c in self.couriers for a in c.actions],
            "connected": sum(1 for c in self.couriers if c.connect_ms is not None),
            "held": sum(1 for c in self.couriers if c.open_at_end),
            "drops": sum(c.drops for c in self.couriers),
            "duplicated": sum(c.duplicates for c in self.couriers),
            "positions_sent": sum(c.positions for c in self.couriers),
            "connect_ms": [c.connect_ms for c in self.couriers if c.connect_ms is not None],
            "errors": count(e.split(":")[0] for c in self.couriers for e in c.errors),
            "loop_lag_p99_ms": pct(self.lags, 99),
            "loop_lag_max_ms": top(self.lags),
            "cpu_s": round(cpu.user + cpu.system - self.cpu0, 1),
            "orders": {c.username: c.order for c in self.couriers if c.order},
        }


class Dispatcher(ResumingSocket):
    """The dispatcher's hub stream: when each stop event arrived, and the positions."""

    def __init__(self, ws_base: str, hub_id: int, token: str, compression: bool) -> None:
        super().__init__(hub_stream_url(ws_base, hub_id), token, compression=compression)
        self.seen: dict[tuple[int, str], float] = {}
        self.order: list[tuple[int, str]] = []  # the stop events, in the order heard
        self.positions = 0

    @property
    def snapshot_s(self) -> float | None:
        return round(self.connect_ms / 1000, 2) if self.connect_ms is not None else None

    def on_positions(self, positions: list[dict[str, Any]], now: float) -> None:
        self.positions += len(positions)

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        if kind == "stop.updated" and (data["stopId"], data["status"]) not in self.seen:
            self.seen[(data["stopId"], data["status"])] = now
            self.order.append((data["stopId"], data["status"]))

    def dropped(self, exc: Exception) -> None:
        log(f"dispatcher socket dropped: {exc!r}")
