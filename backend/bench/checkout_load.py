"""`laadbak bench checkout --mode load`: the options call under many concurrent requests
while a large day is running, then options taken at random and planned.

A real server process (``backend/bench/harness``) on a throw-away SQLite database
holds the synthetic running day of ``bench ws`` (``ws_day.py``: ``stops`` delivery
stops on ``couriers`` routes in force, shifts 06:00-23:00), one webshop with a
check-out key, and runs on a clock shifted to 09:30 (``--clock``), so that the
day's afternoon and evening slots are still before their cut-offs. Then, for
``seconds``:

- ``clients`` concurrent shops each ask ``POST /checkout/options`` for a random
  address of the map (within the bikes' area) and one to three parcels, one call
  after the other: latency per call, calls per second, errors;
- ``actors`` couriers ride at the same time: arrive, then deliver (or fail, one in
  ten: a failed stop re-plans the running day) their next stop every few seconds.

The peer, in the same run before the load: the same calls one at a time (``alone``);
the bound: the issue's target, p95 <= 150 ms. Afterwards ``take`` of the options
offered during the load (door or point, available) are chosen at random, held and
ordered through the API (an order for today goes into the running routes by a
re-plan, as the shop's order would); every taken order must end on a route in
force: one refused after its hold, or left off the routes, is a promise broken.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from backend.bench.harness.api import ApiClient
from backend.bench.harness.server import ServerProcess
from backend.bench.harness.stats import pct, ratio
from backend.shifted_clock import clock_env, start_shift

TARGET_P95_MS = 150.0


class _Offered(msgspec.Struct, rename="camel"):
    id: str
    kind: str
    available: bool


class _Answer(msgspec.Struct):
    options: list[_Offered]


_OPTIONS = msgspec.json.Decoder(_Answer)  # only what the bench looks at: cheap for the client
SHOP_KEY_HEADER = "X-Api-Key"


def log(message: str) -> None:
    print(f"[bench checkout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def clock_offset(mode: str, now: dt.datetime) -> float:
    """Seconds to add to the real clock: 0 for ``real``, else to ``HH:MM`` of today."""
    if mode == "real":
        return 0.0
    try:
        target = dt.datetime.strptime(mode, "%H:%M").time()
    except ValueError as exc:
        raise ValueError(f"--clock takes real or HH:MM, not {mode!r}") from exc
    return (dt.datetime.combine(now.date(), target) - now).total_seconds()


async def _seed(settings: Any, tmp: Path, couriers: int, stops: int, rng: random.Random) -> dict[str, Any]:
    """The running day, a shop of its hub with a check-out key, and the addresses to ask for."""
    from backend.bench.ws_day import seed_synthetic_day
    from backend.db.engine import make_engine, use_database
    from backend.db.tables import Shop, ShopApiKey
    from backend.dispatch.checkout import distance_m
    from backend.services.checkout_keys import key_hash
    from backend.services.geo import Geo

    geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
    use_database(make_engine(f"sqlite:///{tmp / 'bench.sqlite'}"))
    seeded = await seed_synthetic_day(geo, couriers, max(1, stops // couriers), dt.date.today(), rng)
    hub = seeded["hub"]
    shop_id = (await Shop.insert(Shop(name="Bench webshop", address="", lat=hub[0], lon=hub[1], hub=seeded["hub_id"])))[
        0
    ]["id"]
    key = "lbk_" + secrets.token_urlsafe(24)
    await ShopApiKey.insert(ShopApiKey(shop=shop_id, key_hash=key_hash(key), label="bench"))
    area = settings.checkout_area_km * 1000
    places = [(a.lat, a.lon) for a in geo.geocoder.addresses() if distance_m(hub[0], hub[1], a.lat, a.lon) <= area]
    return {**seeded, "shop_id": shop_id, "key": key, "places": places}


def _ask(places: list[tuple[float, float]], rng: random.Random) -> dict[str, Any]:
    lat, lon = rng.choice(places)
    parcels = [
        {"weightG": rng.randint(300, 8000), "volumeMl": rng.randint(1000, 40_000), "longestCm": rng.randint(15, 90)}
        for _ in range(rng.randint(1, 3))
    ]
    return {"lat": lat, "lon": lon, "parcels": parcels}


class KeptClient:
    """One shop's connection, kept open between its calls (HTTP/1.1 keep-alive), as a
    webshop's back end keeps one to the API: no connection to set up per call on either
    side, and the answer read by its Content-Length. A connection the server closed is
    opened again for the next call."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.host, _, port = base.removeprefix("http://").partition(":")
        self.port = int(port or 80)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = f"Host: {self.host}:{self.port}\r\nContent-Type: application/json\r\n{extra}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        try:
            writer.write(f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"content-length:")
            if at < 0:  # not what this client reads: take the rest and start again
                payload = await reader.read()
                self.close()
                return status, payload
            size = int(lower[at + 15 : lower.index(b"\r\n", at)])
            payload = await reader.readexactly(size)
            if b"connection: close" in lower:
                self.close()
            return status, payload
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Shops:
    """The concurrent shops: each asks for options, one call after the other, until the end."""

    def __init__(self, base: str, key: str, places: list[tuple[float, float]], seed: int) -> None:
        self.base, self.key, self.places = base, key, places
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.offered: list[str] = []  # the ids of the options offered (available)
        self.options = self.available = 0

    async def call(self, client: KeptClient) -> None:
        ask = json.dumps(_ask(self.places, self.rng)).encode()
        t0 = time.perf_counter()
        try:
            status, raw = await asyncio.wait_for(client.post("/checkout/options", ask), 120)
        except Exception:  # noqa: BLE001 - a transport failure is counted, not fatal
            status, raw = 0, b""
        self.latencies.append(time.perf_counter() - t0)
        if status != 200:
            name = f"{status}"
            self.errors[name] = self.errors.get(name, 0) + 1
            return
        # Read for its options, outside the time of the call.
        for o in _OPTIONS.decode(raw).options:
            if o.kind == "carrier":
                continue
            self.options += 1
            if o.available:
                self.available += 1
                self.offered.append(o.id)

    async def run(self, clients: int, end_at: float) -> None:
        async def one() -> None:
            client = KeptClient(self.base, {SHOP_KEY_HEADER: self.key})
            try:
                while time.monotonic() < end_at:
                    await self.call(client)
            finally:
                client.close()

        await asyncio.gather(*(one() for _ in range(clients)))


async def _ride(base: str, username: str, password: str, end_at: float, rng: random.Random) -> dict[str, int]:
    """One courier: arrive, then deliver or fail (one in ten), its next stops until the end."""
    api = ApiClient(base, timeout=120)
    done = {"ok": 0, "refused": 0, "fails": 0}
    status, _ = await api.login(username, password)
    if status != 200:
        done["refused"] += 1
        return done
    await api.send("/courier/shift/start", {}, idempotent=True, retries=2)
    status, today = await api.get("/courier/today")
    route = (today or {}).get("route") or {} if status == 200 else {}
    stops = [s for s in route.get("stops") or [] if s.get("status") in ("planned", "arrived")]
    for s in stops:
        verbs: list[tuple[str, dict[str, Any]]] = [("arrive", {})]
        if rng.random() < 0.1:
            verbs.append(("fail", {"reason": "not_home"}))
        else:
            barcodes = [p["barcode"] for p in s.get("parcels", [])]
            verbs.append(("deliver", {"barcodes": barcodes, "proof": {"kind": "recipient", "recipientName": "Bench"}}))
        for verb, body in verbs:
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            if time.monotonic() >= end_at:
                return done
            code, _ = await api.send(f"/courier/stops/{s['stopId']}/{verb}", body, idempotent=True, retries=1)
            done["ok" if code == 200 else "refused"] += 1
            done["fails"] += int(verb == "fail" and code == 200)
    return done


async def _alone(shops: Shops, calls: int) -> list[float]:
    """The peer: the same calls one at a time, nothing else running."""
    client = KeptClient(shops.base, {SHOP_KEY_HEADER: shops.key})
    start = len(shops.latencies)
    for _ in range(calls):
        await shops.call(client)
    client.close()
    alone = shops.latencies[start:]
    del shops.latencies[start:]
    shops.offered.clear()
    shops.options = shops.available = 0
    return alone


async def _take(base: str, key: str, offered: list[str], take: int, rng: random.Random) -> dict[str, Any]:
    """Hold and order ``take`` offered options: answers the order ids and what was refused."""
    api = ApiClient(base, timeout=300)
    head = {SHOP_KEY_HEADER: key}
    ordered: list[int] = []
    refused_at_hold = refused_at_order = 0
    reasons: dict[str, int] = {}
    # One option per address and day: two options of one ask share its room.
    for n, option in enumerate(rng.sample(offered, min(take, len(offered)))):
        status, hold = await api.post("/checkout/holds", {"optionId": option}, head)
        if status != 201:  # taken by one before it: refused, not broken
            refused_at_hold += 1
            continue
        body = {"reference": f"LOAD-{n}", "customerName": "Bench"}
        status, made = await api.post(f"/checkout/holds/{hold['id']}/order", body, head)
        if status != 201:
            refused_at_order += 1
            reason = str((made or {}).get("code") or status)
            reasons[reason] = reasons.get(reason, 0) + 1
            continue
        ordered.append(int(made["id"]))
    return {
        "ordered": ordered,
        "refused_at_hold": refused_at_hold,
        "refused_at_order": refused_at_order,
        "order_refusals": reasons,
    }


async def _on_routes(order_ids: list[int]) -> set[int]:
    """The orders whose every stop is on a route in force."""
    from backend.db.tables import Route, Stop

    if not order_ids:
        return set()
    stops = await Stop.select(Stop.id, Stop.order).where(Stop.order.is_in(order_ids))
    routes = await Route.select(Route.stops).where(Route.current.eq(True)).output(load_json=True)
    routed = {int(s["stop_id"]) for r in routes for s in r["stops"]}
    out = set(order_ids)
    for s in stops:
        if s["id"] not in routed:
            out.discard(s["order"])
    return out


def _profile(pid: int, seconds: float, folder: Path) -> Any:
    """py-spy on the server for the load (a tool of the developer's, not installed by default)."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"server-{pid}.txt"
    cmd = ["py-spy", "record", "--pid", str(pid), "--duration", str(int(seconds)), "--gil", "--format", "raw", "-o"]
    cmd.append(str(out))
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run_checkout_load(
    settings: Any,
    *,
    stops: int = 2000,
    couriers: int = 80,
    clients: int = 200,
    seconds: float = 20.0,
    actors: int = 20,
    take: int = 10,
    alone_calls: int = 30,
    clock: str = "09:30",
    seed: int = 7,
    replan_limit_s: float | None = None,
) -> dict[str, Any]:
    from backend.bench.ws_day import PASSWORD

    rng = random.Random(seed)
    offset = clock_offset(clock, dt.datetime.now())
    traveller = start_shift(offset)
    try:
        with tempfile.TemporaryDirectory(prefix="laadbak-checkout-load-") as name:
            tmp = Path(name)
            var = tmp / "var"
            var.mkdir()
            (var / "cache").symlink_to(settings.cache_dir.resolve(), target_is_directory=True)
            # The same-day re-plan that takes an order from a hold for today: the server's own limit, or this.
            replan_env = {"LAADBAK_REPLAN_TIME_LIMIT": str(replan_limit_s)} if replan_limit_s else {}
            t0 = time.monotonic()
            day = await _seed(settings, tmp, couriers, stops, rng)
            log(f"seeded {couriers} couriers, {stops} stops in {time.monotonic() - t0:.1f} s")
            server = ServerProcess(
                var,
                f"sqlite:///{tmp / 'bench.sqlite'}",
                map_path=settings.map_path,
                env={**clock_env(offset, tmp / "clock"), **replan_env},
            )
            server.start()
            try:
                shops = Shops(server.base, day["key"], day["places"], seed)
                alone = await _alone(shops, alone_calls)
                log(f"alone: p50 {1000 * statistics.median(alone):.0f} ms; now {clients} shops for {seconds:g} s")
                end_at = time.monotonic() + seconds
                load0 = os.getloadavg()
                cpu0, mine0 = server.cpu_s() or 0.0, time.process_time()
                folder = os.environ.get("LAADBAK_BENCH_PROFILE")  # py-spy on the server during the load
                spy = _profile(server.pid, seconds, Path(folder)) if folder else None
                riders = [
                    _ride(server.base, u, PASSWORD, end_at, random.Random(seed + i))
                    for i, u in enumerate(day["usernames"][:actors])
                ]
                t_load = time.monotonic()
                asking = asyncio.create_task(shops.run(clients, end_at))
                rides = list(await asyncio.gather(*riders))
                await asking
                wall = time.monotonic() - t_load
                server_cpu, client_cpu = (server.cpu_s() or 0.0) - cpu0, time.process_time() - mine0
                if spy is not None:
                    spy.wait()
                load1 = os.getloadavg()
                log(f"{len(shops.latencies)} calls in {wall:.1f} s; taking {take} options")
                taken = await _take(server.base, day["key"], shops.offered, take, rng)
                on_routes = await _on_routes(taken["ordered"])
            finally:
                server.stop()
                warned = server.warnings()
    finally:
        if traveller is not None:
            traveller.stop()  # type: ignore[attr-defined]
    lat_ms = [1000 * x for x in shops.latencies]
    p95 = pct(lat_ms, 95)
    alone_p50 = 1000 * statistics.median(alone)
    return {
        "instance": "running",
        "stops": couriers * max(1, stops // couriers),
        "couriers": couriers,
        "clients": clients,
        "seconds": seconds,
        "clock": clock,
        "replan_limit_s": replan_limit_s or settings.replan_time_limit_s,
        "calls": len(lat_ms),
        "calls_per_s": round(len(lat_ms) / wall, 1),
        "errors": shops.errors,
        "p50_ms": round(statistics.median(lat_ms), 1),
        "p95_ms": round(p95 or 0.0, 1),
        "p99_ms": round(pct(lat_ms, 99) or 0.0, 1),
        # Little's law: with ``clients`` always waiting, a call waits clients / throughput on average
        "queue_floor_ms": round(1000 * clients * wall / max(1, len(lat_ms)), 1),
        "target_p95_ms": TARGET_P95_MS,
        "p95_vs_target": ratio(p95, TARGET_P95_MS, 2),
        # the peer: the same calls one at a time before the load
        "alone_p50_ms": round(alone_p50, 1),
        "p50_vs_alone": round(statistics.median(lat_ms) / alone_p50, 2) if alone_p50 else None,
        "available_share": round(shops.available / max(1, shops.options), 3),
        "courier_actions": sum(r["ok"] for r in rides),
        "courier_actions_refused": sum(r["refused"] for r in rides),
        "failed_stops_replanned": sum(r["fails"] for r in rides),
        "taken": len(taken["ordered"]),
        "refused_at_hold": taken["refused_at_hold"],
        "refused_at_order": taken["refused_at_order"],
        "order_refusals": taken["order_refusals"],
        # held then refused, or ordered but not on a route in force
        "promises_broken": taken["refused_at_order"] + len(taken["ordered"]) - len(on_routes),
        "server_cpu_s": round(server_cpu, 2),
        # the server's CPU per call, riders and all (what one process can carry: 1000 / this calls a second)
        "server_cpu_ms_per_call": round(1000 * server_cpu / max(1, len(lat_ms)), 2),
        "client_cpu_s": round(client_cpu, 2),
        "client_cpu_ms_per_call": round(1000 * client_cpu / max(1, len(lat_ms)), 2),
        # the server's event loop held over 100 ms (a view made again, a re-plan's reads), as it logged them
        "loop_stalls": warned["loop_stalls"],
        "longest_loop_stall_ms": warned["longest_loop_stall_ms"],
        "load_avg_1m": [round(load0[0], 2), round(load1[0], 2)],
        "cpus": os.cpu_count(),
    }
