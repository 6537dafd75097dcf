"""Simulated couriers for the demo: they ride their routes through the public API.

Each simulated courier does what a phone does, over HTTP and the courier
websocket of a running server (``base_url``): log in, start the shift, scan
the loading list at the hub, ride to each stop along the streets (the
fastest path of the street network) at a bike's speed times ``speedup``,
sending a position every few seconds of real time, arrive, then deliver with
proof, collect at a shop, or now and then fail (not at home); back at the hub
it ends the shift. Every action carries its own Idempotency-Key and is
retried with the same key on a network error.

Take-over: when a person logs in as a simulated courier (a session of that
user that the simulator did not open, created after the simulation started),
the simulator lets go of that courier at once and logs it; the person carries
on from where the route stands. That check is the only database access here.

Entry point: ``run_simulation(base_url, geo, couriers, password, speedup, stop_event)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from backend.bench.harness.api import bearer, idempotency_key
from backend.bench.harness.geometry import metres
from backend.bench.harness.stream import ResumingSocket, courier_stream_url

log = logging.getLogger("laadbak.simulation")

BIKE_KMH = 15.0
POSITION_EVERY_S = 5.0  # real seconds between positions (the protocol's pace)
FAIL_RATE = 0.05
TAKEOVER_POLL_S = 1.0
SCAN_S = 4.0  # simulated seconds to scan one parcel at the hub
DEFAULT_SERVICE_S = 120.0
ACTIVE = ("planned", "arrived")
# A geocoded door reads "Street 12, 00100"; a pickup point "Name, Street 12" (see services/orders.py).
_POSTCODE = re.compile(r",\s*\d{5}$")

# (user ids, the simulator's own token ids, sessions older than this are ignored) -> user ids taken over
TakeoverCheck = Callable[[list[int], set[str], dt.datetime], Awaitable[set[int]]]


class TakenOver(Exception):
    """A person logged in as this courier: the simulator lets go."""


class Stopped(Exception):
    """The simulation is stopping (the demo ends)."""


async def sessions_of_others(user_ids: list[int], own_token_ids: set[str], since: dt.datetime) -> set[int]:
    """Users among ``user_ids`` with a live session the simulator did not open, created since ``since``."""
    from backend.db.tables import Session

    if not user_ids:
        return set()
    rows = await Session.select(Session.user, Session.token_id).where(
        Session.user.is_in(user_ids) & (Session.created_at >= since) & (Session.expires_at > dt.datetime.now())
    )
    return {r["user"] for r in rows if r["token_id"] not in own_token_ids}


def token_id_of(token: str) -> str:
    """The session id inside a bearer token (``<token_id>.<mac>``)."""
    return token.partition(".")[0]


def is_pickup_point(stop: dict[str, Any]) -> bool:
    """A delivery to a parcel shop or locker gets the pickup_point proof."""
    if stop.get("pickupPointId") or stop.get("pickupPoint"):
        return True
    address = stop.get("address") or ""
    return "," in address and not _POSTCODE.search(address) and not address.split(",")[0].strip()[-1:].isdigit()


class Simulation:
    """Drives the given couriers until their day is done, they are taken over, or ``stop_event`` is set."""

    def __init__(
        self,
        base_url: str,
        geo: Any,
        couriers: list[str],
        password: str,
        speedup: float,
        stop_event: asyncio.Event | None = None,
        *,
        fail_rate: float = FAIL_RATE,
        position_every_s: float = POSITION_EVERY_S,
        takeover_poll_s: float = TAKEOVER_POLL_S,
        bike_kmh: float = BIKE_KMH,
        seed: int | None = None,
        takeover_check: TakeoverCheck | None = sessions_of_others,
    ) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be above 0")
        self.base_url = base_url.rstrip("/")
        self.ws_url = "ws" + self.base_url.removeprefix("http")
        self.geo = geo
        self.usernames = list(couriers)
        self.password = password
        self.speedup = float(speedup)
        self.stop_event = stop_event or asyncio.Event()
        self.fail_rate = fail_rate
        self.position_every_s = position_every_s
        self.takeover_poll_s = takeover_poll_s
        self.speed_mps = bike_kmh / 3.6
        self.rng = random.Random(seed)
        self.takeover_check = takeover_check
        self.since = dt.datetime.now()
        self.couriers = {name: SimulatedCourier(self, name) for name in self.usernames}
        self.taken_over: dict[str, dt.datetime] = {}

    def sim_seconds(self, real_s: float) -> float:
        return real_s * self.speedup

    async def sleep(self, real_s: float) -> None:
        """Sleep, but wake up at once when the simulation stops."""
        if real_s <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_event.wait(), real_s)

    async def run(self) -> dict[str, str]:
        """Run every courier; returns how each one ended (done, taken_over, stopped, no_route, error)."""
        log.info("simulating %d courier(s) at %gx speed against %s", len(self.couriers), self.speedup, self.base_url)
        poller = asyncio.create_task(self._watch_takeovers(), name="simulation-takeovers")
        try:
            results = await asyncio.gather(*(c.run() for c in self.couriers.values()))
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        outcome = dict(zip(self.couriers, results, strict=True))
        log.info("simulation over: %s", ", ".join(f"{k} {v}" for k, v in outcome.items()))
        return outcome

    async def _watch_takeovers(self) -> None:
        if self.takeover_check is None:
            return
        while not self.stop_event.is_set():
            await self.sleep(self.takeover_poll_s)
            await self.check_takeovers()

    async def check_takeovers(self) -> None:
        if self.takeover_check is None:
            return
        watched = {c.user_id: c for c in self.couriers.values() if c.user_id is not None and c.active}
        if not watched:
            return
        own = {t for c in self.couriers.values() for t in c.token_ids}
        try:
            taken = await self.takeover_check(list(watched), own, self.since)
        except Exception:
            log.debug("take-over check failed; retrying", exc_info=True)
            return
        for user_id in taken:
            courier = watched[user_id]
            if courier.username not in self.taken_over:
                self.taken_over[courier.username] = dt.datetime.now()
                log.warning("%s: a person logged in as this courier; the simulator lets go of it", courier.username)
            courier.taken_over.set()


class SimulatedCourier:
    def __init__(self, sim: Simulation, username: str) -> None:
        self.sim = sim
        self.username = username
        self.token: str | None = None
        self.token_ids: set[str] = set()
        self.user_id: int | None = None
        self.courier_id: int | None = None
        self.active = True
        self.taken_over = asyncio.Event()
        self.done = asyncio.Event()
        self.http: httpx.AsyncClient | None = None
        self.stream: CourierStream | None = None
        self.stops: list[dict[str, Any]] = []
        self.hub: tuple[float, float] | None = None
        self.shift: dict[str, Any] | None = None
        self.pos: tuple[float, float] | None = None
        self.skip: set[int] = set()
        self.counts = {"delivered": 0, "failed": 0, "collected": 0, "positions": 0, "scanned": 0}

    # -- control ---------------------------------------------------------------
    def checkpoint(self) -> None:
        if self.taken_over.is_set():
            raise TakenOver
        if self.sim.stop_event.is_set():
            raise Stopped

    async def pause(self, real_s: float) -> None:
        """Sleep ``real_s``; wakes early and raises when stopped or taken over."""
        if real_s > 0:
            waiters = [asyncio.ensure_future(self.sim.stop_event.wait()), asyncio.ensure_future(self.taken_over.wait())]
            try:
                await asyncio.wait(waiters, timeout=real_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
        self.checkpoint()

    # -- the day ------------------------------------------------------------------
    async def run(self) -> str:
        outcome = "error"
        try:
            async with httpx.AsyncClient(base_url=self.sim.base_url, timeout=30) as http:
                self.http = http
                try:
                    await self._login()
                    self.stream = CourierStream(self)
                    await self.sim.check_takeovers()  # a person may have logged in before us
                    self.checkpoint()
                    self.apply_day(await self._get("/courier/today"))
                    if not self.stops:
                        log.info("%s: no route today; nothing to ride", self.username)
                        outcome = "no_route"
                        return outcome
                    if self.shift is None or self.shift["status"] == "ended":
                        log.info(
                            "%s: the shift is %s; nothing to ride",
                            self.username,
                            "missing" if self.shift is None else "already over",
                        )
                        outcome = "no_shift"
                        return outcome
                    if self.shift["status"] == "planned":
                        self.shift = await self._post("/courier/shift/start", {})
                    self.stream.start()
                    self.pos = self._start_position()
                    await self._send_position()
                    await self._load()
                    while (stop := self._next_stop()) is not None:
                        await self._ride_to((stop["lat"], stop["lon"]))
                        await self._serve(stop["stopId"])
                    await self._ride_to(self.hub)  # type: ignore[arg-type]
                    ended = await self._post("/courier/shift/end", {})
                    log.info(
                        "%s: back at the hub, shift ended: %s",
                        self.username,
                        ", ".join(f"{k} {v}" for k, v in (ended.get("summary") or {}).items()),
                    )
                    outcome = "done"
                except TakenOver:
                    outcome = "taken_over"
                    log.warning("%s: taken over by a person; the simulator no longer drives it", self.username)
                    with contextlib.suppress(Exception):
                        await http.post("/auth/logout", headers=self._auth(), timeout=5)
                except Stopped:
                    outcome = "stopped"
                except _LoggedOut:
                    outcome = "logged_out"
                    log.warning("%s: the simulator's session was ended; it stops driving this courier", self.username)
        except Exception:
            log.exception("%s: the simulated courier failed", self.username)
        finally:
            self.active = False
            if self.stream is not None:
                await self.stream.stop()
            self.done.set()
        return outcome

    def _start_position(self) -> tuple[float, float]:
        """The hub, or where the last finished stop was (a demo restarted with --keep)."""
        done = [s for s in self.stops if s["status"] not in ACTIVE]
        return (done[-1]["lat"], done[-1]["lon"]) if done else self.hub  # type: ignore[return-value]

    def _next_stop(self) -> dict[str, Any] | None:
        self.checkpoint()
        return next((s for s in self.stops if s["status"] in ACTIVE and s["stopId"] not in self.skip), None)

    def _stop(self, stop_id: int) -> dict[str, Any] | None:
        return next((s for s in self.stops if s["stopId"] == stop_id), None)

    async def _load(self) -> None:
        """Scan the loading list at the hub, last stop first."""
        day = await self._get("/courier/today")
        self.apply_day(day)
        todo = [item for item in day["loading"] if not item["loaded"]]
        for item in todo:
            await self.pause(SCAN_S / self.sim.speedup)
            r = await self._post_raw("/courier/loading/scan", {"barcode": item["barcode"]})
            if r.status_code == 200:
                self.counts["scanned"] += 1
            else:
                log.info("%s: scanning %s: %s", self.username, item["barcode"], _detail(r))
        log.info(
            "%s: shift started, %d parcel(s) loaded at the hub, %d stop(s) to go",
            self.username,
            self.counts["scanned"],
            sum(1 for s in self.stops if s["status"] in ACTIVE),
        )

    async def _ride_to(self, target: tuple[float, float]) -> None:
        """Ride along the streets to ``target``, a position every few seconds of real time."""
        assert self.pos is not None
        path = self._path(self.pos, target)
        step_m = self.sim.speed_mps * self.sim.speedup * self.sim.position_every_s
        i, here = 0, path[0]
        while i < len(path) - 1:
            budget = step_m
            while i < len(path) - 1 and budget > 0:
                leg = metres(here, path[i + 1])
                if leg <= budget:
                    budget -= leg
                    i += 1
                    here = path[i]
                else:
                    f = budget / leg
                    here = (here[0] + f * (path[i + 1][0] - here[0]), here[1] + f * (path[i + 1][1] - here[1]))
                    budget = 0
            travelled = step_m - budget
            await self.pause(self.sim.position_every_s * travelled / step_m if step_m else 0)
            self.pos = here
            await self._send_position()
        self.pos = target

    def _path(self, a: tuple[float, float], b: tuple[float, float]) -> list[tuple[float, float]]:
        try:
            path = self.sim.geo.network.path(a, b)
        except Exception:  # noqa: BLE001 - off the network: ride straight
            path = [a, b]
        return path if len(path) >= 2 else [a, b]

    async def _serve(self, stop_id: int) -> None:
        stop = self._stop(stop_id)
        if stop is None or stop["status"] not in ACTIVE:
            return
        if stop["status"] == "planned":
            r = await self._post_raw(f"/courier/stops/{stop_id}/arrive", {})
            if not self._took(r, stop_id, "arrive") and (self._stop(stop_id) or {}).get("status") != "arrived":
                return
            self.skip.discard(stop_id)
        await self.pause(_service_s(stop) / self.sim.speedup)
        stop = self._stop(stop_id) or stop
        if stop["status"] not in ACTIVE:  # a dispatcher settled it meanwhile
            return
        barcodes = [p["barcode"] for p in stop["parcels"]]
        where = stop.get("shopName") or stop["address"]
        if stop["kind"] == "pickup":
            r = await self._post_raw(f"/courier/stops/{stop_id}/collect", {"barcodes": barcodes})
            verb = "collected at"
        elif self.sim.rng.random() < self.sim.fail_rate:
            r = await self._post_raw(f"/courier/stops/{stop_id}/fail", {"reason": "not_home"})
            verb = "failed (not at home)"
        else:
            proof = (
                {"kind": "pickup_point"}
                if is_pickup_point(stop)
                else {"kind": "recipient", "recipientName": stop.get("customerName") or "Resident"}
            )
            r = await self._post_raw(f"/courier/stops/{stop_id}/deliver", {"barcodes": barcodes, "proof": proof})
            verb = "delivered at pickup point" if proof["kind"] == "pickup_point" else "delivered at"
        if self._took(r, stop_id, "finish"):
            status = r.json()["status"]
            self.counts[status] = self.counts.get(status, 0) + 1
            log.info("%s: stop %d %s %s", self.username, stop_id, verb, where)

    def _took(self, r: httpx.Response, stop_id: int, what: str) -> bool:
        if r.status_code == 200:
            self.update_stop(r.json())
            return True
        log.info("%s: could not %s stop %d: %s", self.username, what, stop_id, _detail(r))
        if r.status_code == 409 and isinstance(status := _problem(r).get("status"), str):
            stop = self._stop(stop_id)
            if stop is not None:
                stop["status"] = status
        self.skip.add(stop_id)
        return False

    # -- HTTP ---------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        return bearer(self.token)

    async def _login(self) -> None:
        assert self.http is not None
        r = await self.http.post("/auth/login", json={"username": self.username, "password": self.sim.password})
        if r.status_code != 200:
            raise RuntimeError(f"{self.username} cannot log in: {_detail(r)}")
        body = r.json()
        self.token = body["token"]
        self.token_ids.add(token_id_of(body["token"]))
        self.user_id = body["user"]["id"]
        self.courier_id = body["user"].get("courierId")

    async def _get(self, path: str) -> dict[str, Any]:
        assert self.http is not None
        self.checkpoint()
        r = await self.http.get(path, headers=self._auth())
        if r.status_code == 401:
            raise _LoggedOut
        r.raise_for_status()
        return r.json()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self._post_raw(path, body)
        if r.status_code >= 400:
            raise RuntimeError(f"{self.username}: POST {path}: {_detail(r)}")
        return r.json()

    async def _post_raw(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """One action: a new Idempotency-Key, the same key on each retry."""
        assert self.http is not None
        headers = {**self._auth(), "Idempotency-Key": idempotency_key()}
        content = json.dumps(body).encode()
        headers["content-type"] = "application/json"
        for attempt in range(5):
            self.checkpoint()
            try:
                r = await self.http.post(path, content=content, headers=headers)
            except httpx.TransportError as exc:
                log.info("%s: POST %s: %s; retrying", self.username, path, exc)
                await self.pause(0.5 * (attempt + 1))
                continue
            if r.status_code == 401:
                raise _LoggedOut
            if r.status_code >= 500:
                await self.pause(0.5 * (attempt + 1))
                continue
            return r
        raise RuntimeError(f"{self.username}: POST {path} failed 5 times")

    # -- the live stream -------------------------------------------------------------
    def apply_day(self, day: dict[str, Any]) -> None:
        self.hub = (day["hub"]["lat"], day["hub"]["lon"])
        self.shift = day["shift"]
        self.stops = day["route"]["stops"] if day.get("route") else []
        # The day read over HTTP counts as seen: the stream resumes after it.
        assert self.stream is not None
        if self.stream.last_seq is None or day["seq"] > self.stream.last_seq:
            self.stream.last_seq = day["seq"]

    def update_stop(self, view: dict[str, Any]) -> None:
        for i, s in enumerate(self.stops):
            if s["stopId"] == view["stopId"]:
                self.stops[i] = view

    async def _send_position(self) -> None:
        self.checkpoint()
        if self.stream is None or self.pos is None:
            return
        if await self.stream.send_position(round(self.pos[0], 6), round(self.pos[1], 6), 5):
            self.counts["positions"] += 1


class CourierStream(ResumingSocket):
    """The simulated courier's live stream (resuming after the last seq); what it says goes
    into the courier's day. It ends when the simulation stops or a person takes over."""

    def __init__(self, courier: SimulatedCourier) -> None:
        super().__init__(
            courier_stream_url(courier.sim.ws_url),
            courier.token,
            open_timeout=10,
            ping_interval=20.0,
            retry_s=0.5,
            retry_max_s=5.0,
        )
        self.courier = courier

    def should_stop(self) -> bool:
        return self.closing or self.courier.sim.stop_event.is_set() or self.courier.taken_over.is_set()

    def on_snapshot(self, data: dict[str, Any], now: float) -> None:
        self.courier.apply_day(data)

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        if kind == "stop.updated":
            self.courier.update_stop(data)
        elif kind in ("route.planned", "route.updated"):
            self.courier.stops = data["stops"]
        elif kind == "shift.updated":
            self.courier.shift = data

    def on_error(self, message: dict[str, Any]) -> None:
        log.debug("%s: the server says %s: %s", self.courier.username, message.get("code"), message.get("message"))

    def refused(self, status: int) -> bool:
        if status in (401, 403):
            log.warning("%s: the live stream refused us (%s)", self.courier.username, status)
            return True
        return False

    def dropped(self, exc: Exception) -> None:
        log.debug("%s: live stream dropped: %s", self.courier.username, exc)

    async def pause(self, seconds: float) -> None:
        await self.courier.sim.sleep(seconds)


class _LoggedOut(Exception):
    pass


def _service_s(stop: dict[str, Any]) -> float:
    try:
        s = dt.datetime.fromisoformat(stop["departure"]) - dt.datetime.fromisoformat(stop["serviceStart"])
        return max(30.0, s.total_seconds())
    except (KeyError, TypeError, ValueError):
        return DEFAULT_SERVICE_S


def _problem(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _detail(r: httpx.Response) -> str:
    return f"{r.status_code} {_problem(r).get('detail') or r.text[:200]}"


async def run_simulation(
    base_url: str,
    geo: Any,
    couriers: list[str],
    password: str,
    speedup: float,
    stop_event: asyncio.Event | None = None,
    **options: Any,
) -> dict[str, str]:
    """Simulate ``couriers`` (usernames) riding today's routes on the server at ``base_url``.

    Returns when every courier is done, taken over, or ``stop_event`` is set:
    how each ended (``done``, ``taken_over``, ``stopped``, ``no_route`` ...).
    """
    return await Simulation(base_url, geo, couriers, password, speedup, stop_event, **options).run()
