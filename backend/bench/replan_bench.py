"""`laadbak bench replan`: disruptions against a running day on a real server.

1. The clock. The server plans on wall-clock time: a day's windows must lie
   ahead of "now", and the day must not cross midnight during the run. The
   bench day starts at the current time when that leaves enough of the day
   (``--clock auto``, between 07:00 and ``23:00 - day_hours``); otherwise the
   server process (and this one) run on a clock shifted to 09:00 of today
   with ``time-machine`` (the clock then ticks at real speed from there). The
   server's code is unchanged: a ``sitecustomize`` on its PYTHONPATH starts
   the shift before anything else is imported, in the server and in its solver
   processes alike. ``--clock real`` or ``--clock HH:MM`` choose by hand.
2. The day, written into a throw-away SQLite file before the server starts:
   the demo city (:func:`backend.services.demo.seed`: hub, shops, pickup
   points, N couriers with bikes and shifts) with its shifts moved to start
   now, and orders through the same checks as ``POST /orders``
   (:func:`backend.services.orders.prepare`) until about ``stops`` stops:
   doors at addresses and at street points, windows of two hours, four
   hours or the whole day from now on, collective baskets from the shops, a
   few pickup-point deliveries.
3. A real server process (``ws_bench.ServerProcess``). Through the API: the
   dispatcher plans the day (``POST /hubs/{id}/plans``); every courier logs
   in, connects ``/ws/courier``, starts the shift and scans the loading list;
   the dispatcher connects ``/ws/hub/{id}``.
4. Disruptions, one at a time (the next waits for the effect of the last, or
   ``timeout_s``): a failed stop (the courier's next delivery, after collecting
   the shop goods ahead of it: position there, arrive, fail; the server
   re-plans in the background by its failed-stop policy), a new same-day order
   (``POST /orders`` with an open window), a dispatcher moving a stop to the
   courier riding nearest to it (``POST /stops/{id}/assign``; its parcels are
   on the first courier's bike, as every bike was loaded), a manual
   ``POST /hubs/{id}/replan`` and now and then a courier out of service.
   Customer redirects (to another address or window) and street closures (a
   circle of 60 m around a stop on a route, for three hours) join the mix
   when the server's OpenAPI document has those endpoints. ``kinds`` narrows
   the mix to look at one kind of trouble at a time.
5. The cost of the remaining day, at the end (and at ``cost_samples - 1``
   points before): the live Problem built here the way the server builds it
   (``replanning.live_day`` + ``planning.load_day`` on the same SQLite file,
   with the positions the phones sent), the routes in force costed with the
   solver's objective, against a cold ``solve`` of the same Problem.

Latency of a disruption: from just before its request is sent to the first
``route.updated`` event *produced by that disruption* on an affected courier's
socket. Events are matched by ``change.reason``, the text the server puts on
every re-plan's route updates (``stop 12 failed: pickup_point``, ``new order
REF``, ``dispatch moved stop 12 to courier 3``, or the reason the bench sent);
ETA-only ``route.updated`` events have no ``change`` and never match. The
affected couriers are those the server names (``changedCouriers`` of the
answer, or of the ``plan.replanned`` event on the hub stream for the
background and order re-plans); ``all_ms`` is when the last of them had its
update. A disruption whose re-plan changed no route is ``no_change``; a
non-2xx answer is an error (status and message kept); one whose verdict or
updates did not come within ``timeout_s`` is a timeout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import functools
import itertools
import json
import math
import multiprocessing
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import msgspec

# Imported once at the start, not when first needed: a long run then uses the code
# it started with throughout, also when the files change under it meanwhile.
from backend.bench.ws_bench import MiniHttp, ServerProcess, _metres, _pct, raise_nofile
from backend.db.engine import make_engine, migrate, transaction, use_database
from backend.db.tables import PickupPoint, Shift, Shop
from backend.dispatch.calendar import at, windows_on
from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Unplanned
from backend.dispatch.replan import route_orders
from backend.dispatch.scheduling import build_route
from backend.dispatch.solver import LATE_COST_PER_S, solve, travel_time
from backend.dispatch.windows import merge_windows
from backend.services import demo, orders
from backend.services.demo import DEMO_PASSWORD
from backend.services.geo import Geo
from backend.services.planning import _periods, load_day
from backend.services.replanning import live_day

TARGET_P95_MS = 1000.0
TARGET_COST_RATIO = 1.02
CLOCK_ENV = "LAADBAK_BENCH_CLOCK_OFFSET_S"
HUB_CLOSES_S = 23 * 3600  # the demo hub's hours: 06:00-23:00
QUARTER = 15 * 60
# Mix of a run; out of service is a fixed small share (each one moves a whole route).
MIX = {"failed_stop": 0.40, "new_order": 0.30, "assign": 0.16, "replan": 0.14}
OUT_OF_SERVICE_SHARE = 0.015
OPTIONAL_KINDS = {"redirect": ("/track/{token}/redirect", 0.03), "closure": ("/hubs/{hub_id}/closures", 0.03)}
SITECUSTOMIZE = '''\
# Written by `laadbak bench replan`: this server process runs on a shifted clock.
import os as _os

_offset = _os.environ.get("LAADBAK_BENCH_CLOCK_OFFSET_S")
if _offset:
    import time as _time

    import time_machine as _time_machine

    _time_machine.travel(_time.time() + float(_offset), tick=True).start()
'''

T = TypeVar("T")


class BenchError(Exception):
    """The bench cannot run as asked; the message says why and what to do."""


def _log(message: str) -> None:
    print(f"[bench replan {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000, 1)


# --- 1. the clock -----------------------------------------------------------------------


def plan_clock(mode: str, day_hours: float, now: dt.datetime) -> tuple[float, str]:
    """Seconds to add to the real clock for the bench day, and how the report says it."""
    now_s = now.hour * 3600 + now.minute * 60 + now.second
    need_s = int(day_hours * 3600) + 1800
    if mode == "real":
        return 0.0, f"real ({now:%H:%M})"
    if mode == "auto":
        if 7 * 3600 <= now_s and now_s + need_s <= HUB_CLOSES_S:
            return 0.0, f"real ({now:%H:%M})"
        target = dt.time(9, 0)
    else:
        try:
            target = dt.datetime.strptime(mode, "%H:%M").time()
        except ValueError as exc:
            raise BenchError(f"--clock takes auto, real or HH:MM, not {mode!r}") from exc
        if target.hour * 3600 + target.minute * 60 + need_s > HUB_CLOSES_S:
            raise BenchError(f"--clock {mode}: a {day_hours:g} h day from then runs past 23:00, when the hub closes")
    destination = dt.datetime.combine(now.date(), target)
    return (destination - now).total_seconds(), f"shifted to {target:%H:%M} (real {now:%H:%M})"


def _check_time_machine(offset_s: float, now: dt.datetime, day_hours: float) -> None:
    if not offset_s:
        return
    try:
        import time_machine  # noqa: F401
    except ImportError as exc:
        raise BenchError(
            f"It is {now:%H:%M}: too little of today is left for a {day_hours:g} h bench day, so the bench "
            f"runs the server on a clock shifted to the morning, which needs the time-machine package "
            f"(.venv/bin/pip install time-machine). Or pass --clock real to try on the real clock.") from exc


@contextlib.contextmanager
def shifted_clock(offset_s: float) -> Iterator[None]:
    """This process on the bench clock too: seeding and the live Problem use its "now"."""
    if not offset_s:
        yield
        return
    import time_machine

    traveller = time_machine.travel(time.time() + offset_s, tick=True)
    traveller.start()
    try:
        yield
    finally:
        traveller.stop()


# --- 2. the day ---------------------------------------------------------------------------


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _quarter(seconds: float) -> int:
    return int(math.ceil(seconds / QUARTER) * QUARTER)


async def seed_bench_day(geo: Any, day: dt.date, start_s: int, *, couriers: int, stops: int, day_hours: float,
                         seed: int) -> dict[str, Any]:
    """The demo city with N couriers whose shifts start now, and orders for about ``stops`` stops."""
    rng = random.Random(seed)
    await migrate()
    city = await demo.seed(geo, day, orders_count=0, couriers=couriers, seed=seed)
    end_s = min(int(start_s + day_hours * 3600), HUB_CLOSES_S)
    # Everybody rides from now on: a day on the road, not one that starts in the afternoon.
    await Shift.update({Shift.start: at(day, start_s - QUARTER), Shift.end: at(day, end_s)}).where(
        Shift.hub == city.hub_id)
    shops = await Shop.select().where(Shop.hub == city.hub_id).output(load_json=True)
    shop_open: dict[int, tuple[int, int]] = {}
    for s in shops:
        spans = windows_on(_periods(s["opening_hours"]), day)
        if spans is None:
            shop_open[s["id"]] = (0, 24 * 3600)
        elif spans:
            shop_open[s["id"]] = (spans[0].start, spans[-1].end)
    room = {p["id"]: p["capacity_parcels"] // 2 for p in await PickupPoint.select().where(
        PickupPoint.hub == city.hub_id)}  # half: failed deliveries go there during the run
    addresses = [a for a in geo.geocoder.addresses() if demo._on_network(geo, a.lat, a.lon)]
    net = geo.network
    first = _quarter(start_s + QUARTER)
    prepared, total, n = [], 0, 0
    mix = {"two_hours": 0, "four_hours": 0, "whole_day": 0, "basket": 0, "pickup_point": 0}
    while total < stops:
        n += 1
        body: dict[str, Any] = {"reference": f"RB-{day:%Y%m%d}-{n:05d}", "hubId": city.hub_id,
                                "customerName": f"Customer {n}", "date": day.isoformat()}
        if rng.random() < 0.5:  # a door at an address (by its point: some names do not parse), or a street
            a = rng.choice(addresses)
            body.update(lat=a.lat, lon=a.lon, address=f"{a.street} {a.housenumber}")
        else:
            i = rng.randrange(net.node_count)
            body.update(lat=float(net.lat[i]), lon=float(net.lon[i]), address=f"Street door {n}")
        parcels = [{"weightKg": round(rng.uniform(0.3, 5.0), 1), "volumeL": round(rng.uniform(1, 12), 1)}
                   for _ in range(rng.choice((1, 1, 1, 2)))]
        roll = rng.random()
        kind = ("basket" if roll < 0.15 and shop_open else "pickup_point" if roll < 0.17 and room
                else "two_hours" if roll < 0.60 else "four_hours" if roll < 0.85 else "whole_day")
        window: tuple[int, int] | None = None
        if kind == "basket":
            chosen = rng.sample(sorted(shop_open), k=min(len(shop_open), rng.choice((1, 1, 2))))
            opens = max(shop_open[s][0] for s in chosen)
            closes = min(shop_open[s][1] for s in chosen)
            lo, hi = max(first + 3600, _quarter(opens + 1800)), min(end_s, closes + 3600) - 3 * 3600
            if lo <= hi:  # the goods can be collected before the door's window closes
                w0 = lo + rng.randrange(0, hi - lo + 1, QUARTER) if hi > lo else lo
                window = (w0, w0 + 3 * 3600)
                parcels += [{"weightKg": round(rng.uniform(0.3, 3.0), 1), "volumeL": round(rng.uniform(1, 8), 1),
                             "shopId": s} for s in chosen]
            else:
                kind = "two_hours"
        if kind == "pickup_point":
            point = rng.choice(sorted(room))
            room[point] -= len(parcels)
            if room[point] <= 0:
                del room[point]
            body.pop("lat", None), body.pop("lon", None), body.pop("address", None)
            body["pickupPointId"] = point
            window = (first, end_s)
        if kind == "whole_day":
            window = (first, end_s)
        elif kind in ("two_hours", "four_hours"):
            length = 2 * 3600 if kind == "two_hours" else 4 * 3600
            latest = max(first, end_s - length)
            w0 = first + rng.randrange(0, latest - first + 1, QUARTER) if latest > first else first
            window = (w0, min(end_s, w0 + length))
        assert window is not None
        body["window"] = {"start": _hhmm(window[0]), "end": _hhmm(window[1])}
        body["parcels"] = parcels
        prepared.append(await orders.prepare(msgspec.convert(body, orders.OrderIn), geo, day))
        mix[kind] += 1
        total += 1 + len({p.get("shopId") for p in parcels if p.get("shopId")})
    async with transaction():
        for p in prepared:
            await orders.write(p)
    return {"hub_id": city.hub_id, "couriers": couriers, "orders": len(prepared), "stops": total, "mix": mix,
            "start": _hhmm(start_s), "end": _hhmm(end_s), "addresses": len(addresses)}


# --- 3. the phones and the dispatcher -----------------------------------------------------


class Http(MiniHttp):
    """ws_bench's one-connection-per-request client, with GET and a bearer token."""

    def __init__(self, base: str, token: str | None = None, timeout: float = 60.0) -> None:
        super().__init__(base, timeout)
        self.token = token

    def _auth(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    async def send(self, path: str, body: dict[str, Any], *, idempotent: bool = False,
                   timeout: float | None = None) -> tuple[int, Any]:
        extra = {"Idempotency-Key": secrets.token_hex(16)} if idempotent else None
        try:
            return await asyncio.wait_for(self.post(path, body, self._auth(extra)),
                                          timeout or self.timeout)
        except (OSError, TimeoutError, ValueError, IndexError) as exc:  # a transport failure is a result too
            return 0, {"detail": f"{type(exc).__name__}: {exc}"}

    async def get(self, path: str) -> tuple[int, Any]:
        head = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in self._auth().items()]
        return await asyncio.wait_for(self._exchange(("\r\n".join(head) + "\r\n\r\n").encode()), self.timeout)


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


class Socket:
    """A websocket that resumes after its last seq, like the apps do."""

    def __init__(self, url: str, token: str, journal: Journal) -> None:
        self.url, self.journal = url, journal
        self.headers = {"Authorization": f"Bearer {token}"}  # never in the URL: URLs end up in logs
        self.ws: Any = None
        self.last_seq: int | None = None
        self.seqs: set[int] = set()
        self.duplicates = self.drops = 0
        self.ready = asyncio.Event()
        self.closing = False
        self.errors: list[str] = []

    async def run(self) -> None:
        import websockets

        while not self.closing:
            url = self.url + (f"?after={self.last_seq}" if self.last_seq is not None else "")
            try:
                async with websockets.connect(url, additional_headers=self.headers, max_size=None,
                                              open_timeout=120, ping_interval=None,
                                              compression="deflate") as ws:
                    self.ws = ws
                    async for raw in ws:
                        now = time.monotonic()
                        message = json.loads(raw)
                        if message.get("type") == "event":
                            seq = message["seq"]
                            if seq in self.seqs:
                                self.duplicates += 1
                                continue
                            self.seqs.add(seq)
                            self.last_seq = max(self.last_seq or 0, seq)
                            self.on_event(message["kind"], message["data"], now)
                        elif message.get("type") == "snapshot":
                            self.last_seq = message["seq"]
                            self.on_snapshot(message["data"])
                            self.ready.set()
                        elif message.get("type") == "error":
                            self.errors.append(str(message.get("code")))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a drop: resume after the last seq
                if len(self.errors) < 5:
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            finally:
                self.ws = None
            if not self.closing:
                self.drops += 1
                await asyncio.sleep(1.0)

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        raise NotImplementedError

    def on_snapshot(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send(self, message: dict[str, Any]) -> None:
        ws = self.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.send(json.dumps(message))

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()


class Phone(Socket):
    """One courier's phone: the route as the phone sees it, and its HTTP calls."""

    def __init__(self, ws_base: str, http: Http, username: str, journal: Journal) -> None:
        super().__init__(f"{ws_base}/ws/courier", http.token, journal)
        self.http, self.username = http, username
        self.courier_id = 0
        self.route: dict[str, Any] | None = None
        self.loading: list[dict[str, Any]] = []
        self.shift_status = "planned"
        self.position: tuple[float, float] | None = None
        self.hub_place: tuple[float, float] = (0.0, 0.0)

    def on_snapshot(self, data: dict[str, Any]) -> None:
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
                self.journal.add(self.journal.route_updates, (now, self.courier_id, change.get("reason", ""), change))
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
        return [s for s in stops if s["kind"] == "delivery" and s["status"] == "planned"
                and s["orderId"] not in with_shops]

    async def act(self, stop_id: int, verb: str, body: dict[str, Any]) -> tuple[int, Any]:
        """A stop action; the answer (the stop) updates the phone's route before its event does."""
        status, answer = await self.http.send(f"/courier/stops/{stop_id}/{verb}", body, idempotent=True)
        if status == 200 and self.route is not None and isinstance(answer, dict):
            self.route["stops"] = [{**s, **answer} if s["stopId"] == stop_id else s for s in self.route["stops"]]
        return status, answer

    async def move_to(self, lat: float, lon: float) -> None:
        self.position = (lat, lon)
        await self.send({"type": "position", "lat": lat, "lon": lon, "accuracy": 8})


class HubWatch(Socket):
    """The dispatcher's stream: the server's verdicts on background re-plans."""

    def on_snapshot(self, data: dict[str, Any]) -> None:
        pass

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        if kind == "plan.replanned":
            self.journal.add(self.journal.replans, (now, data.get("figures") or {}))
        elif kind == "order.next_step":
            self.journal.add(self.journal.next_steps, (now, data))


# --- 4. the disruptions ---------------------------------------------------------------------


def disruption_plan(n: int, couriers: int, rng: random.Random, extra: dict[str, float],
                    only: set[str] | None = None) -> list[str]:
    """``n`` kinds in a shuffled order: the mix by largest remainder, every kind at least once when it
    fits; ``only`` keeps those kinds of the mix (to look at one kind of trouble at a time)."""
    out_of_service = (min(max(1, round(n * OUT_OF_SERVICE_SHARE)), max(0, couriers - 2))
                      if n >= 5 and (only is None or "out_of_service" in only) else 0)
    weights = {k: w for k, w in {**MIX, **extra}.items() if only is None or k in only}
    if not weights:  # out of service alone
        return ["out_of_service"] * min(n, max(0, couriers - 1))
    total = sum(weights.values())
    rest = n - out_of_service
    exact = {k: rest * w / total for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:rest - sum(counts.values())]:
        counts[k] += 1
    for k in counts:  # a tiny run still shows every kind
        if counts[k] == 0 and rest >= len(counts):
            donor = max(counts, key=lambda c: counts[c])
            counts[donor] -= 1
            counts[k] += 1
    kinds = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(kinds)
    # Out of service spread over the run, never first: each takes a courier off the road for good.
    for i in range(out_of_service):
        kinds.insert(min(len(kinds), (i + 1) * len(kinds) // (out_of_service + 1)), "out_of_service")
    return kinds


class Disruption:
    """One disruption's record (a row of the JSON)."""

    def __init__(self, n: int, kind: str) -> None:
        self.n, self.kind = n, kind
        self.target: dict[str, Any] = {}
        self.t0 = 0.0
        self.http_status: int | None = None
        self.http_ms: float | None = None
        self.outcome = "pending"
        self.detail: str | None = None
        self.expected: list[int] = []
        self.seen: dict[int, float] = {}
        self.figures: dict[str, Any] = {}

    def as_json(self) -> dict[str, Any]:
        first = min(self.seen.values()) if self.seen else None
        last = max(self.seen.values()) if self.seen and set(self.expected) <= set(self.seen) else None
        return {
            "phase": "disruption", "n": self.n, "kind": self.kind, "target": self.target,
            "outcome": self.outcome, "http_status": self.http_status, "http_ms": self.http_ms,
            "first_ms": _ms(self.t0, first) if first else None, "all_ms": _ms(self.t0, last) if last else None,
            "affected": self.expected, "updated": sorted(self.seen), "detail": self.detail,
            "server_total_s": self.figures.get("totalS"), "server_solve_s": self.figures.get("solveS"),
            "applied": self.figures.get("applied", True if self.figures else None),
            "unplanned": self.figures.get("unplanned"), "kept_order": self.figures.get("keptOrder"),
        }


def _problem(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


# --- 5. the cost of the remaining day ---------------------------------------------------------


def routes_cost(problem: Any, orders: dict[str, list[str]]) -> int:
    """The solver's objective for these visiting orders (backend/dispatch/solver.py, "arc costs"):
    per bike the matrix time of each leg at the bike's speed (``travel_time``; distance when the
    problem's cost is distance) from where it is, through its stops, to its end hub, plus the fixed
    cost of a used bike. Unplanned stops are not charged here. Every bike counts its ride home, used
    or not, on both sides of a comparison alike."""
    loc = {s.id: s.location for s in problem.stops}
    total = 0
    for v in problem.vehicles:
        ids = orders.get(v.id, [])
        path = [v.start_location, *(loc[s] for s in ids), v.end_location]
        for a, b in itertools.pairwise(path):
            total += (problem.dist_m[a][b] if problem.cost == "distance"
                      else travel_time(problem.time_s[a][b], v.speed_factor))
        total += v.fixed_cost if ids else 0
    return total


def in_force_orders(problem: Any, routes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The routes in force as the server hands them to the re-plan: per vehicle of the problem, its
    stops still in the problem, each stop once (backend/services/replanning.py and
    backend/dispatch/replan.py, ``_in_force``)."""
    stop_ids = {s.id for s in problem.stops}
    vehicle_ids = {v.id for v in problem.vehicles}
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for r in routes:
        vid = f"shift-{r['shift']}"
        if vid not in vehicle_ids:
            continue
        kept = []
        for planned in r["stops"]:
            sid = str(planned["stopId"])
            if sid in stop_ids and sid not in seen:
                seen.add(sid)
                kept.append(sid)
        out[vid] = kept
    return out


def plan_of(problem: Any, orders: dict[str, list[str]]) -> Any:
    """The routes in force as a Plan, scheduled the solver's way, for the feasibility checker.

    Uses the solver's own scheduling (private helpers, as backend/dispatch/replan.py does)."""
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    windows = [merge_windows(s.windows) for s in problem.stops]
    vehicles = {v.id: v for v in problem.vehicles}
    routes = tuple(build_route(problem, vehicles[vid], [pos[s] for s in ids], windows, vehicles[vid].shift.start)
                   for vid, ids in orders.items() if ids)
    planned = {s for ids in orders.values() for s in ids}
    unplanned = tuple(Unplanned(stop_id=s.id, reason="no_capacity", detail="on no route in force")
                      for s in problem.stops if s.id not in planned)
    return Plan(routes=routes, unplanned=unplanned, cost=routes_cost(problem, orders),
                distance_m=sum(r.distance_m for r in routes), duration_s=sum(r.duration_s for r in routes),
                solve_s=0.0, status="in force")


def restricted(problem: Any, keep: set[str]) -> Any:
    """The Problem with only the stops in ``keep`` (groups kept whole)."""
    by_id = {s.id: s for s in problem.stops}
    delivery_of = {p: s.id for s in problem.stops for p in s.pickups}
    ok = {sid for sid in keep if sid in by_id and all(p in keep for p in by_id[sid].pickups)
          and (sid not in delivery_of or delivery_of[sid] in keep)}
    return msgspec.structs.replace(problem, stops=tuple(s for s in problem.stops if s.id in ok))


async def evaluate_remaining_day(geo: Any, hub_id: int, day: dt.date, positions: dict[int, tuple[float, float]],
                                 cold_time_limit: float, pool: ProcessPoolExecutor) -> dict[str, Any]:
    """In-force cost / cold cost of what is left of the day, as the server would build it now."""
    t0 = time.perf_counter()
    now = dt.datetime.now()
    live, routes = await _retry_locked(lambda: live_day(hub_id, day, now, positions))
    day_input = await _retry_locked(lambda: load_day(geo, hub_id, day, live))
    load_s = time.perf_counter() - t0
    problem = day_input.problem
    in_force = in_force_orders(problem, routes)
    in_cost = routes_cost(problem, in_force)
    try:
        violations = check(problem, plan_of(problem, in_force))
    except (ImportError, TypeError) as exc:  # the solver's private scheduling changed: say so, go on
        violations = None
        _log(f"could not check the routes in force: {exc!r}")
    in_planned = {s for ids in in_force.values() for s in ids}
    loop = asyncio.get_running_loop()
    cold = await loop.run_in_executor(pool, functools.partial(solve, problem, cold_time_limit))
    cold_orders = route_orders(cold)
    cold_planned = {s for ids in cold_orders.values() for s in ids}
    result: dict[str, Any] = {
        "phase": "cost", "now": now.strftime("%H:%M:%S"), "stops": len(problem.stops),
        "vehicles": len(problem.vehicles), "locked": sum(1 for s in problem.stops if s.vehicles),
        "pre_unplanned": len(day_input.pre_unplanned), "load_day_s": round(load_s, 2),
        "matrix_s": round(day_input.matrix_s, 2),
        "in_force_cost": in_cost, "in_force_planned": len(in_planned),
        "in_force_unplanned": len(problem.stops) - len(in_planned),
        # what they are (kind/status of the stop rows): stops the re-plans could not place
        "in_force_unplanned_by": dict(collections.Counter(
            f"{day_input.stops[s.id]['kind']}/{day_input.stops[s.id]['status']}"
            for s in problem.stops if s.id not in in_planned and s.id in day_input.stops)),
        "in_force_violations": None if violations is None else len(violations),
        "in_force_violation_rules": None if violations is None else dict(
            collections.Counter(v.rule for v in violations)),
        "in_force_violation_examples": [v.detail for v in (violations or [])[:3]],
        "cold_time_limit_s": cold_time_limit, "cold_cost": routes_cost(problem, cold_orders),
        "cold_solver_objective": cold.cost, "cold_solve_s": round(cold.solve_s, 1),
        "cold_planned": len(cold_planned), "cold_unplanned": len(cold.unplanned),
        "cold_violations": len(check(problem, cold)), "cold_status": cold.status,
        "in_force_only": len(in_planned - cold_planned), "cold_only": len(cold_planned - in_planned),
    }
    in_late = lateness_s(problem, plan_of(problem, in_force))
    result.update(in_force_late_s=in_late, cold_late_s=lateness_s(problem, cold))
    basis_cost, basis = result["cold_cost"], "same stops planned"
    basis_late = result["cold_late_s"]
    if cold_planned != in_planned and in_planned:
        # A cost over other stops is no comparison: solve cold again on what the routes in force serve.
        sub = restricted(problem, in_planned)
        again = await loop.run_in_executor(pool, functools.partial(solve, sub, cold_time_limit))
        again_planned = {s for ids in route_orders(again).values() for s in ids}
        basis_cost = routes_cost(sub, route_orders(again))
        basis_late = lateness_s(sub, again)
        basis = ("cold solve restricted to the stops planned in force" if again_planned == in_planned else
                 f"unequal: the restricted cold solve left {len(in_planned - again_planned)} of them out")
        result.update(restricted_cold_cost=basis_cost, restricted_cold_planned=len(again_planned),
                      restricted_cold_solve_s=round(again.solve_s, 1))
    result["basis"] = basis
    raw = round(in_cost / basis_cost, 4) if basis_cost else None
    # A ratio over different sets of stops compares nothing: only on equal sets (the raw one stays beside).
    result["cost_ratio"] = raw if not basis.startswith("unequal") else None
    result["cost_ratio_unequal"] = raw if basis.startswith("unequal") else None
    # The solver's whole objective also charges each second past a stop's soft due time
    # (locked stops kept late rather than dropped): riding and waiting customers together.
    whole_in, whole_cold = in_cost + LATE_COST_PER_S * in_late, basis_cost + LATE_COST_PER_S * basis_late
    result["basis_late_s"] = basis_late
    result["objective_ratio"] = (round(whole_in / whole_cold, 4)
                                 if whole_cold and not basis.startswith("unequal") else None)
    return result


def lateness_s(problem: Any, plan: Any) -> int:
    """Seconds past the stops' soft due times (``Stop.due_s``) in ``plan``, in all."""
    due = {s.id: s.due_s for s in problem.stops if s.due_s is not None}
    return sum(max(0, ps.start_s - due[ps.stop_id]) for r in plan.routes for ps in r.stops if ps.stop_id in due)


def _warm_up() -> None:
    import backend.dispatch.solver  # noqa: F401


async def _retry_locked(make: Callable[[], Any], tries: int = 5) -> Any:
    """SQLite may be busy with the server's writer for a moment."""
    for attempt in range(tries):
        try:
            return await make()
        except Exception as exc:
            if "locked" not in str(exc).lower() or attempt == tries - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


# --- the run --------------------------------------------------------------------------------


class ReplanBench:
    def __init__(self, *, base: str, ws_base: str, hub_id: int, day: dt.date, timeout_s: float,
                 rng: random.Random) -> None:
        self.base, self.ws_base, self.hub_id, self.day = base, ws_base, hub_id, day
        self.timeout_s, self.rng = timeout_s, rng
        self.journal = Journal()
        self.phones: dict[int, Phone] = {}
        self.hub: HubWatch | None = None
        self.dispatcher: Http | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.addresses: list[Any] = []
        self.tokens: list[str] = []

    async def login(self, username: str) -> Http:
        http = Http(self.base, timeout=120)
        for attempt in range(5):
            status, body = await http.send("/auth/login", {"username": username, "password": DEMO_PASSWORD})
            if status == 200:
                http.token = body["token"]
                return http
            await asyncio.sleep(0.5 * (attempt + 1))
        raise BenchError(f"{username} cannot log in: {status} {_problem(body)}")

    async def connect(self, usernames: list[str]) -> dict[str, Any]:
        """Couriers log in, connect, start the shift and load the bike; the dispatcher connects."""
        t0 = time.monotonic()
        sem = asyncio.Semaphore(4)

        async def one(name: str) -> Phone:
            async with sem:
                http = await self.login(name)
            phone = Phone(self.ws_base, http, name, self.journal)
            self.tasks.append(asyncio.create_task(phone.run()))
            await asyncio.wait_for(phone.ready.wait(), 120)
            return phone

        phones = await asyncio.gather(*(one(u) for u in usernames))
        self.phones = {p.courier_id: p for p in phones}
        connected_s = time.monotonic() - t0
        assert self.dispatcher is not None
        self.hub = HubWatch(f"{self.ws_base}/ws/hub/{self.hub_id}", self.dispatcher.token, self.journal)
        self.tasks.append(asyncio.create_task(self.hub.run()))
        await asyncio.wait_for(self.hub.ready.wait(), 120)
        t1 = time.monotonic()
        errors: list[str] = []
        scans = 0
        sem = asyncio.Semaphore(6)

        async def start(phone: Phone) -> None:
            nonlocal scans
            status, body = await phone.http.send("/courier/shift/start", {}, idempotent=True)
            if status != 200:
                errors.append(f"{phone.username} shift/start {status}: {_problem(body)}")
                return
            phone.shift_status = "started"
            for item in phone.loading:
                if item["loaded"]:
                    continue
                async with sem:
                    status, body = await phone.http.send("/courier/loading/scan", {"barcode": item["barcode"]},
                                                         idempotent=True)
                if status == 200:
                    scans += 1
                else:
                    errors.append(f"{phone.username} scan {status}: {_problem(body)}")

        await asyncio.gather(*(start(p) for p in phones))
        if errors:
            raise BenchError(f"starting the day failed: {errors[:3]}")
        return {"phase": "start", "couriers": len(phones), "connect_s": round(connected_s, 1),
                "start_and_load_s": round(time.monotonic() - t1, 1), "parcels_loaded": scans}

    def on_road(self) -> list[Phone]:
        return [p for p in self.phones.values() if p.on_road]

    def positions(self) -> dict[int, tuple[float, float]]:
        return {cid: p.position for cid, p in self.phones.items() if p.position is not None}

    async def disrupt(self, d: Disruption, extra: dict[str, str]) -> None:
        """Send one disruption and wait for its effect (or the timeout)."""
        handler = {"failed_stop": self._failed_stop, "new_order": self._new_order, "assign": self._assign,
                   "replan": self._replan, "out_of_service": self._out_of_service,
                   "redirect": self._redirect, "closure": self._closure}[d.kind]
        predicate = await handler(d, extra)
        if predicate is None:
            return
        deadline = d.t0 + self.timeout_s
        # Wait for every affected courier's own update (matched by the change's reason).
        if d.outcome == "changed":
            def seen() -> dict[int, float] | None:
                hits: dict[int, float] = {}
                for t, cid, reason, _ in self.journal.route_updates:
                    if t >= d.t0 and predicate(reason) and cid not in hits:
                        hits[cid] = t
                d.seen = hits
                return hits if set(d.expected) <= set(hits) else None

            if await self.journal.until(seen, deadline) is None:
                d.outcome = "timeout"
                d.detail = (f"{len(set(d.expected) - set(d.seen))} affected courier(s) got no route.updated "
                            f"within {self.timeout_s:g} s")

    async def _verdict(self, d: Disruption, predicate: Callable[[str], bool]) -> None:
        """The server's figures for a re-plan that ran after the answer (or inside it): plan.replanned."""
        found = await self.journal.until(
            lambda: next((f for t, f in self.journal.replans if t >= d.t0 and predicate(f.get("reason", ""))), None),
            d.t0 + self.timeout_s)
        if found is None:
            d.outcome = "timeout"
            d.detail = (f"no plan.replanned within {self.timeout_s:g} s (a re-plan that would take stops off "
                        f"routes is not published: applied false)")
            return
        self._figures(d, found)

    def _figures(self, d: Disruption, figures: dict[str, Any]) -> None:
        d.figures = figures
        d.expected = sorted(set(figures.get("changedCouriers") or []))
        if figures.get("applied") is False:
            d.outcome, d.detail = "no_change", str(figures.get("detail"))[:300]
        elif not d.expected:
            d.outcome, d.detail = "no_change", "the re-plan changed no route"
        else:
            d.outcome = "changed"

    def _answer(self, d: Disruption, status: int, body: Any, t_resp: float) -> bool:
        d.http_status, d.http_ms = status, _ms(d.t0, t_resp)
        if 200 <= status < 300:
            return True
        d.outcome = "error"
        code = body.get("code") if isinstance(body, dict) else None
        d.detail = (f"[{code}] " if code else "") + _problem(body)
        return False

    async def _failed_stop(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        choices = [p for p in self.on_road() if any(s["kind"] == "delivery" for s in p.open_stops())]
        if not choices:
            d.outcome, d.detail = "skipped", "no courier on the road has a delivery left"
            return None
        phone = self.rng.choice(choices)
        # The courier rides on along the route: shop goods ahead of the door are collected
        # first (a delivery cannot fail before its goods are on the bike).
        collected = 0
        for stop in phone.open_stops():
            if stop["kind"] == "delivery":
                break
            await phone.move_to(stop["lat"], stop["lon"])
            for verb, body in (("arrive", {}), ("collect", {"barcodes": [x["barcode"] for x in stop["parcels"]]})):
                if verb == "arrive" and stop["status"] != "planned":
                    continue
                status, answer = await phone.act(stop["stopId"], verb, body)
                if status != 200:
                    d.t0 = time.monotonic()
                    self._answer(d, status, answer, d.t0)
                    d.detail = f"{verb} at shop stop {stop['stopId']} first: {d.detail}"
                    return None
            collected += 1
        stop = next(s for s in phone.open_stops() if s["kind"] == "delivery")
        sid = stop["stopId"]
        d.target = {"courierId": phone.courier_id, "stopId": sid, "collectedFirst": collected}
        await phone.move_to(stop["lat"], stop["lon"])  # the courier stands at the door
        if stop["status"] == "planned":
            status, body = await phone.act(sid, "arrive", {})
            if status != 200:
                d.t0 = time.monotonic()
                self._answer(d, status, body, d.t0)
                return None
        d.t0 = time.monotonic()
        status, body = await phone.http.send(f"/courier/stops/{sid}/fail", {"reason": "not_home"}, idempotent=True)
        if not self._answer(d, status, body, time.monotonic()):
            return None
        step = await self.journal.until(
            lambda: next((s for t, s in self.journal.next_steps if s.get("stopId") == sid), None),
            d.t0 + self.timeout_s)
        if step is None:
            d.outcome, d.detail = "timeout", f"no order.next_step within {self.timeout_s:g} s"
            return None
        d.target["next"] = step.get("next")
        if step.get("next") == "hub":
            d.outcome, d.detail = "no_change", "the parcel goes back to the hub: nothing to re-plan"
            return None
        prefix = f"stop {sid} failed:"  # the colon: stop 12 is not stop 123
        await self._verdict(d, lambda r: r.startswith(prefix))
        return lambda r: r.startswith(prefix)

    def _open_window(self) -> tuple[str, str]:
        """A window still open for a same-day order: it ends at least an hour and a half from now."""
        now = dt.datetime.now()
        now_s = now.hour * 3600 + now.minute * 60 + now.second
        latest_end = HUB_CLOSES_S - 1800
        start = _quarter(now_s + self.rng.choice((15, 30, 60, 90, 120)) * 60)
        end = min(start + 2 * 3600, latest_end)
        if end < now_s + 5400:
            start, end = _quarter(now_s), latest_end
        return _hhmm(start), _hhmm(end)

    async def _new_order(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        a = self.rng.choice(self.addresses)
        ref = f"RB-NEW-{d.n:04d}-{secrets.token_hex(2)}"
        start, end = self._open_window()
        body = {"reference": ref, "hubId": self.hub_id, "customerName": f"Same-day {d.n}",
                "date": self.day.isoformat(), "lat": a.lat, "lon": a.lon, "address": f"{a.street} {a.housenumber}",
                "window": {"start": start, "end": end},
                "parcels": [{"weightKg": round(self.rng.uniform(0.3, 4.0), 1), "volumeL": round(self.rng.uniform(1, 10), 1)}]}
        d.target = {"reference": ref, "window": f"{start}-{end}"}
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send("/orders", body)
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        reason = f"new order {ref}"
        await self._verdict(d, lambda r: r == reason)
        return lambda r: r == reason

    async def _assign(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        givers = [p for p in self.on_road() if len(p.plain_deliveries()) >= 2]
        if not givers or len(self.on_road()) < 2:
            d.outcome, d.detail = "skipped", "no stop to move"
            return None
        giver = self.rng.choice(givers)
        stop = self.rng.choice(giver.plain_deliveries()[1:])

        def closeness(p: Phone) -> float:  # a dispatcher gives it to whoever rides nearest
            places = [(s["lat"], s["lon"]) for s in p.open_stops()] or [p.place]
            return min(_metres((stop["lat"], stop["lon"]), q) for q in places)

        taker = min((p for p in self.on_road() if p is not giver), key=closeness)
        d.target = {"stopId": stop["stopId"], "from": giver.courier_id, "to": taker.courier_id,
                    "nearestM": round(closeness(taker))}
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/stops/{stop['stopId']}/assign", {"courierId": taker.courier_id})
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        self._figures(d, answer)
        reason = f"dispatch moved stop {stop['stopId']} to courier {taker.courier_id}"
        return lambda r: r == reason

    async def _replan(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        reason = f"bench #{d.n}: dispatcher re-plan"
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/hubs/{self.hub_id}/replan", {"reason": reason})
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        self._figures(d, answer)
        return lambda r: r == reason

    async def _out_of_service(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        choices = [p for p in self.on_road() if p.open_stops()]
        if not choices or len(self.on_road()) < 2:
            d.outcome, d.detail = "skipped", "no courier left to take over a route"
            return None
        phone = self.rng.choice(choices)
        here = phone.open_stops()[0]
        await phone.move_to(here["lat"], here["lon"])  # where the bike stands: goods on it are collected there
        await asyncio.sleep(0.2)  # the position reaches the server before the dispatcher's call
        reason = f"bench #{d.n}: flat battery"
        d.target = {"courierId": phone.courier_id, "openStops": len(phone.open_stops())}
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/couriers/{phone.courier_id}/out-of-service",
                                                    {"reason": reason})
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        self._figures(d, answer)
        d.target["transfers"] = answer.get("transfers")
        return lambda r: r == reason

    async def _redirect(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        """A customer sends a parcel not yet at the door to another address or to a later window."""
        choices = [p for p in self.on_road() if p.plain_deliveries()]
        if not choices:
            d.outcome, d.detail = "skipped", "no delivery left to redirect"
            return None
        stop = self.rng.choice(self.rng.choice(choices).plain_deliveries())
        assert self.dispatcher is not None
        status, order = await self.dispatcher.get(f"/orders/{stop['orderId']}")
        if status != 200:
            d.t0 = time.monotonic()
            self._answer(d, status, order, d.t0)
            return None
        if self.rng.random() < 0.5:
            a = self.rng.choice(self.addresses)
            body: dict[str, Any] = {"kind": "address", "lat": a.lat, "lon": a.lon,
                                    "address": f"{a.street} {a.housenumber}"}
        else:
            start, end = self._open_window()
            body = {"kind": "window", "window": f"{start}-{end}"}
        d.target = {"orderId": stop["orderId"], "stopId": stop["stopId"], **body}
        customer = Http(self.base, timeout=self.dispatcher.timeout)  # the tracking page: no login
        d.t0 = time.monotonic()
        status, answer = await customer.send(f"{order['trackingUrl']}/redirect", body, idempotent=True)
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        if not answer.get("replanned"):
            d.outcome, d.detail = "no_change", "taken without a re-plan"
            return None
        reason = f"customer redirect of order {order['reference']}"
        await self._verdict(d, lambda r: r == reason)
        return lambda r: r == reason

    async def _closure(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        """Road works close the streets around a stop on someone's route for the next hours."""
        choices = [p for p in self.on_road() if p.open_stops()]
        if not choices:
            d.outcome, d.detail = "skipped", "no route left to close a street on"
            return None
        stop = self.rng.choice(self.rng.choice(choices).open_stops())
        now = dt.datetime.now().replace(microsecond=0)
        reason = f"bench #{d.n}: road works"
        body = {"reason": reason, "circle": {"lat": stop["lat"], "lon": stop["lon"], "radiusM": 60},
                "start": now.isoformat(), "end": (now + dt.timedelta(hours=3)).isoformat()}
        d.target = {"near_stop": stop["stopId"], "radiusM": 60}
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/hubs/{self.hub_id}/closures", body)
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        if not answer.get("replan"):
            d.outcome, d.detail = "no_change", "the closure does not touch the running day"
            return None
        self._figures(d, answer["replan"])
        return lambda r: reason in r

    async def close(self) -> None:
        for s in [*self.phones.values(), *([self.hub] if self.hub else [])]:
            await s.close()
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


async def run_replan_bench(settings: Any, *, couriers: int = 60, stops: int = 2100, disruptions: int = 200,
                           cold_time_limit: float = 60.0, replan_time_limit: float | None = None,
                           plan_time_limit: float = 60.0, timeout_s: float = 15.0, cost_samples: int = 1,
                           clock: str = "auto", day_hours: float = 8.0, seed: int = 7,
                           kinds: list[str] | None = None, keep_dir: bool = False) -> dict[str, Any]:
    """Run the bench; returns ``{"instances": [...], "summary": {...}}`` (progress goes to stderr)."""
    import logging

    if couriers < 2 or stops < couriers or disruptions < 1 or cost_samples < 1:
        raise BenchError("need at least 2 couriers, a stop per courier, 1 disruption and 1 cost sample")
    known = {*MIX, "out_of_service", *OPTIONAL_KINDS}
    if kinds and (unknown := sorted(set(kinds) - known)):
        raise BenchError(f"unknown disruption kind(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    only = set(kinds) if kinds else None
    real_now = dt.datetime.now()
    offset, clock_words = plan_clock(clock, day_hours, real_now)
    _check_time_machine(offset, real_now, day_hours)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="laadbak-replanbench-"))
    server: ServerProcess | None = None
    bench: ReplanBench | None = None
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    pool.submit(_warm_up)  # the cold solver's process imports the solver now, as the server does
    instances: list[dict[str, Any]] = []
    try:
        with shifted_clock(offset):
            # 1-2. the day
            t0 = time.monotonic()
            geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
            (tmp / "cache").symlink_to(settings.cache_dir.resolve(), target_is_directory=True)  # no map rebuild
            db = tmp / "bench.sqlite"
            use_database(make_engine(f"sqlite:///{db}"))
            now = dt.datetime.now()
            day = now.date()
            start_s = now.hour * 3600 + now.minute * 60
            seeded = await seed_bench_day(geo, day, start_s, couriers=couriers, stops=stops, day_hours=day_hours,
                                          seed=seed)
            instances.append({"phase": "seed", "clock": clock_words, "day": day.isoformat(), **seeded,
                              "seconds": round(time.monotonic() - t0, 1)})
            _log(f"seeded {seeded['orders']} orders ({seeded['stops']} stops) for {couriers} couriers, "
                 f"{seeded['start']}-{seeded['end']}, clock {clock_words} ({tmp})")

            # 3. the server, the plan, the phones
            server = ServerProcess(tmp, f"sqlite:///{db}", settings.map_path)
            if offset:
                (tmp / "clock").mkdir()
                (tmp / "clock" / "sitecustomize.py").write_text(SITECUSTOMIZE)
                server.env["PYTHONPATH"] = os.pathsep.join(
                    p for p in (str(tmp / "clock"), server.env.get("PYTHONPATH", "")) if p)
                server.env[CLOCK_ENV] = str(offset)
            if replan_time_limit is not None:
                server.env["LAADBAK_REPLAN_TIME_LIMIT"] = str(replan_time_limit)
            replan_limit = replan_time_limit if replan_time_limit is not None else settings.replan_time_limit_s
            await asyncio.to_thread(server.start)
            _log(f"server pid {server.pid} on {server.base}; re-plan time limit {replan_limit:g} s")
            bench = ReplanBench(base=server.base, ws_base=server.ws_base, hub_id=seeded["hub_id"], day=day,
                                timeout_s=timeout_s, rng=random.Random(seed + 1))
            bench.addresses = [a for a in geo.geocoder.addresses() if demo._on_network(geo, a.lat, a.lon)]
            bench.dispatcher = await bench.login("dispatcher")
            bench.dispatcher.timeout = plan_time_limit + 600
            t1 = time.monotonic()
            status, run = await bench.dispatcher.send(f"/hubs/{seeded['hub_id']}/plans",
                                                      {"date": day.isoformat(), "timeLimitS": plan_time_limit})
            if status != 201:
                raise BenchError(f"planning the day failed: {status} {_problem(run)}")
            figures = run["figures"]
            instances.append({"phase": "plan", "seconds": round(time.monotonic() - t1, 1),
                              "time_limit_s": plan_time_limit, **{k: figures.get(k) for k in (
                                  "stops", "planned", "unplanned", "couriersUsed", "matrixS", "solveS", "totalS",
                                  "violations", "solverStatus")}})
            _log(f"day planned: {figures.get('planned')} stops on routes, {figures.get('unplanned')} unplanned "
                 f"({figures.get('totalS')} s)")
            bench.dispatcher.timeout = max(120.0, timeout_s * 4)
            instances.append(await bench.connect([f"courier{i}" for i in range(1, couriers + 1)]))
            _log(f"{couriers} couriers on the road, bikes loaded ({instances[-1]['parcels_loaded']} parcels)")

            # 4. the disruptions (and 5. cost samples along the way)
            extra_kinds = await _optional_kinds(bench.dispatcher)
            kinds = disruption_plan(disruptions, couriers, random.Random(seed + 2),
                                    {k: OPTIONAL_KINDS[k][1] for k in extra_kinds}, only)
            sample_at = {round(disruptions * (i + 1) / cost_samples) for i in range(cost_samples - 1)}
            records: list[Disruption] = []
            costs: list[dict[str, Any]] = []
            cpu0 = server.cpu_s() or 0.0
            t_run = time.monotonic()
            for n, kind in enumerate(kinds, start=1):
                d = Disruption(n, kind)
                await bench.disrupt(d, extra_kinds)
                records.append(d)
                row = d.as_json()
                if n % 10 == 0 or n == len(kinds) or d.outcome in ("error", "timeout"):
                    _log(f"#{n} {kind}: {d.outcome} first {row['first_ms']} ms, all {row['all_ms']} ms, "
                         f"server {row['server_total_s']} s" + (f" - {d.detail}" if d.detail else ""))
                if n in sample_at:
                    costs.append(await _cost_sample(geo, bench, day, cold_time_limit, pool, n))
                await asyncio.sleep(0.3)  # the server settles (ETA refreshes) before the next one
            run_s = time.monotonic() - t_run
            server_cpu = (server.cpu_s() or 0.0) - cpu0
            await asyncio.sleep(1.0)
            costs.append(await _cost_sample(geo, bench, day, cold_time_limit, pool, len(kinds)))
            instances.extend(d.as_json() for d in records)
            instances.extend(costs)
            instances.append({"phase": "sockets", "drops": sum(s.drops for s in bench.phones.values()),
                              "duplicates": sum(s.duplicates for s in bench.phones.values()),
                              "hub_drops": bench.hub.drops if bench.hub else None,
                              "errors": [e for s in bench.phones.values() for e in s.errors][:10]})
            log = server.warnings()
            log["follow_up_failures"] = server.log_path.read_text(errors="replace").count(
                "a follow-up job failed")
            instances.append({"phase": "server_log", **log})
            summary = _summary(records, costs[-1], couriers=couriers, stops=seeded["stops"],
                               replan_limit=replan_limit, cold_time_limit=cold_time_limit, run_s=run_s,
                               server_cpu_s=server_cpu, clock=clock_words, kinds_skipped=sorted(
                                   set(OPTIONAL_KINDS) - set(extra_kinds)))
            return {"instances": instances, "summary": summary}
    finally:
        if bench is not None:
            await bench.close()
        pool.shutdown(wait=False, cancel_futures=True)
        if server is not None:
            server.stop()
        if keep_dir:
            _log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def _optional_kinds(dispatcher: Http) -> dict[str, str]:
    """Disruption endpoints other engineers are adding: used when the server's OpenAPI has them."""
    status, schema = await dispatcher.get("/schema/openapi.json")
    paths = set((schema or {}).get("paths", {})) if status == 200 and isinstance(schema, dict) else set()
    found = {}
    for kind, (path, _) in OPTIONAL_KINDS.items():
        if path in paths:
            found[kind] = path
    if found:
        _log(f"optional disruptions found: {', '.join(found)}")
    return found


async def _cost_sample(geo: Any, bench: ReplanBench, day: dt.date, cold_time_limit: float,
                       pool: ProcessPoolExecutor, after: int) -> dict[str, Any]:
    _log(f"cost after {after} disruptions: a {cold_time_limit:g} s cold solve of the remaining day")
    sample = await evaluate_remaining_day(geo, bench.hub_id, day, bench.positions(), cold_time_limit, pool)
    sample["after_disruptions"] = after
    _log(f"in force {sample['in_force_cost']} vs cold {sample['cold_cost']} ({sample['basis']}): "
         f"ratio {sample['cost_ratio'] or sample['cost_ratio_unequal']}")
    return sample


def _summary(records: list[Disruption], cost: dict[str, Any], *, couriers: int, stops: int, replan_limit: float,
             cold_time_limit: float, run_s: float, server_cpu_s: float, clock: str,
             kinds_skipped: list[str]) -> dict[str, Any]:
    rows = [d.as_json() for d in records]
    changed = [r for r in rows if r["outcome"] == "changed"]
    lat = [r["first_ms"] for r in changed if r["first_ms"] is not None]
    p95 = _pct(lat, 95)
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted({r["kind"] for r in rows}):
        mine = [r for r in rows if r["kind"] == kind]
        ms = [r["first_ms"] for r in mine if r["outcome"] == "changed" and r["first_ms"] is not None]
        by_kind[kind] = {
            "n": len(mine), **{o: sum(1 for r in mine if r["outcome"] == o)
                              for o in ("changed", "no_change", "error", "timeout", "skipped")},
            "p50_ms": _pct(ms, 50), "p95_ms": _pct(ms, 95), "max_ms": round(max(ms), 1) if ms else None,
            "server_total_p50_s": _median([r["server_total_s"] for r in mine]),
            "server_solve_p50_s": _median([r["server_solve_s"] for r in mine]),
            # from the end of the server's re-plan to the phone: the request's own work, saving,
            # the outbox relay (a poll when nothing pokes it), the socket
            "after_replan_p50_ms": _median([r["first_ms"] - r["server_total_s"] * 1000 for r in mine
                                            if r["outcome"] == "changed" and r["first_ms"] is not None
                                            and r["server_total_s"] is not None]),
        }
    errors: dict[str, int] = {}
    for r in rows:
        if r["outcome"] == "error":
            key = f"{r['kind']} {r['http_status']}: {(r['detail'] or '')[:90]}"
            errors[key] = errors.get(key, 0) + 1
    # Where the time goes, for the disruptions that reached a phone: the server's re-plan
    # (solve, and the rest of it: reading the day, matrices, pickling, checking) and what
    # follows it (the request's own work, saving, outbox relay, websocket).
    timed = [r for r in changed if r["first_ms"] is not None and r["server_total_s"] is not None]
    breakdown = {
        "disruptions": len(timed),
        "solve_p50_ms": _median([r["server_solve_s"] * 1000 for r in timed]),
        "replan_other_p50_ms": _median([(r["server_total_s"] - r["server_solve_s"]) * 1000 for r in timed]),
        "after_replan_p50_ms": _median([r["first_ms"] - r["server_total_s"] * 1000 for r in timed]),
        "first_ms_p50": _median([r["first_ms"] for r in timed]),
    }
    ratio = cost.get("cost_ratio")
    return {
        "disruptions": len(rows), "changed": len(changed),
        "no_change": sum(1 for r in rows if r["outcome"] == "no_change"),
        "errors": sum(1 for r in rows if r["outcome"] == "error"),
        "timeouts": sum(1 for r in rows if r["outcome"] == "timeout"),
        "skipped": sum(1 for r in rows if r["outcome"] == "skipped"),
        "p50_ms": _pct(lat, 50), "p95_ms": p95, "max_ms": round(max(lat), 1) if lat else None,
        "all_affected_p95_ms": _pct([r["all_ms"] for r in changed if r["all_ms"] is not None], 95),
        "http_p50_ms": _pct([r["http_ms"] for r in rows if r["http_ms"] is not None], 50),
        "cost_ratio": ratio, "cost_basis": cost.get("basis"), "cost_ratio_unequal": cost.get("cost_ratio_unequal"),
        "cold_planned": cost.get("cold_planned"), "restricted_cold_planned": cost.get("restricted_cold_planned"),
        "in_force_cost": cost.get("in_force_cost"), "cold_cost": cost.get("cold_cost"),
        "in_force_unplanned": cost.get("in_force_unplanned"), "cold_unplanned": cost.get("cold_unplanned"),
        "in_force_violations": cost.get("in_force_violations"),
        "in_force_late_s": cost.get("in_force_late_s"), "cold_late_s": cost.get("basis_late_s"),
        "objective_ratio": cost.get("objective_ratio"),
        "remaining_stops": cost.get("stops"),
        "couriers": couriers, "stops": stops, "replan_time_limit_s": replan_limit,
        "cold_time_limit_s": cold_time_limit, "run_s": round(run_s, 1),
        "server_cpu_pct": round(100 * server_cpu_s / run_s, 1) if run_s else None,
        "clock": clock, "by_kind": by_kind, "errors_by": errors, "breakdown": breakdown,
        "kinds_not_available": kinds_skipped,
        "target_p95_ms": TARGET_P95_MS, "target_cost_ratio": TARGET_COST_RATIO,
        "p95_vs_target": round(p95 / TARGET_P95_MS, 3) if p95 is not None else None,
        "cost_ratio_vs_target": round(ratio / TARGET_COST_RATIO, 4) if ratio is not None else None,
    }


def _median(values: list[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return round(statistics.median(clean), 3) if clean else None


def format_report(result: dict[str, Any]) -> str:
    """The result for a person: the headline figures, per kind, where the time goes, the cost."""
    s = result["summary"]
    lines = [
        f"laadbak bench replan: {s['couriers']} couriers, {s['stops']} stops, clock {s['clock']}, "
        f"re-plan limit {s['replan_time_limit_s']:g} s",
        f"{s['disruptions']} disruptions: {s['changed']} changed routes, {s['no_change']} no change, "
        f"{s['errors']} errors, {s['timeouts']} timeouts, {s['skipped']} skipped",
        f"disruption -> phone: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms "
        f"(target p95 <= {s['target_p95_ms']:g} ms: x{s['p95_vs_target']})",
        f"cost of the remaining day, in force vs a {s['cold_time_limit_s']:g} s cold solve: ratio "
        f"{s['cost_ratio'] if s['cost_ratio'] is not None else 'n/a'} ({s['cost_basis']}"
        f"{'; unequal sets ' + str(s['cost_ratio_unequal']) if s['cost_ratio_unequal'] else ''}; "
        f"target <= {s['target_cost_ratio']}); in force {s['in_force_cost']}, unplanned: in force "
        f"{s['in_force_unplanned']}, cold {s['cold_unplanned']}",
        "", f"{'kind':<16}{'n':>4}{'chg':>5}{'none':>5}{'err':>5}{'t/o':>5}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'max ms':>9}{'srv s':>7}{'solve':>7}{'after':>7}",
    ]
    for kind, k in s["by_kind"].items():
        lines.append(f"{kind:<16}{k['n']:>4}{k['changed']:>5}{k['no_change']:>5}{k['error']:>5}{k['timeout']:>5}"
                     f"{k['p50_ms'] or '-':>9}{k['p95_ms'] or '-':>9}{k['max_ms'] or '-':>9}"
                     f"{k['server_total_p50_s'] or '-':>7}{k['server_solve_p50_s'] or '-':>7}"
                     f"{round(k['after_replan_p50_ms']) if k['after_replan_p50_ms'] is not None else '-':>7}")
    b = s["breakdown"]
    lines += ["", f"where the time goes (p50 of {b['disruptions']}): solve {b['solve_p50_ms']} ms, rest of the "
                  f"re-plan {b['replan_other_p50_ms']} ms, after it (request, save, relay, socket) "
                  f"{b['after_replan_p50_ms']} ms"]
    for text, count in s["errors_by"].items():
        lines.append(f"error x{count}: {text}")
    return "\n".join(lines)
