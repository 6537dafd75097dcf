"""`laadbak bench ws`: many couriers on websockets against a real server process.

1. A throw-away directory and SQLite database with a synthetic day for N
   couriers, written directly (no solver): one hub at a real address, N
   courier users (one password hash for all: scrypt is slow), couriers,
   bikes, planned shifts, and per courier a small route of delivery stops at
   real addresses (orders, parcels, stops, and a ``Route`` whose stops JSON is
   :func:`backend.services.planning._stop_json`'s).
2. A real server process (``python -m backend.cli serve``) on that database,
   its open-files limit raised to the hard limit.
3. Client processes (asyncio, ``websockets`` + a minimal HTTP client), the couriers split
   between them: each courier logs in (bearer token), connects
   ``/ws/courier`` (bearer header) (connections ramped up at ``ramp_per_s``), starts
   its shift, sends a position every 5 s and an app-level ping every 20 s,
   and every 30-60 s acts on its next stop (arrive, then deliver or fail).
   One dispatcher on ``/ws/hub/{hubId}`` in this process.

Per action: latency from just before the HTTP POST to the ``stop.updated``
event of that stop on the courier's own socket and on the dispatcher's;
updates lost (never seen within ``grace_s`` after the run) and duplicated
(a seq seen twice on one socket); connections held at the end; the server's
peak RSS. The summary's latencies are those of the riding phase, once all N
are connected; the ramp's and the whole run's p99 stand beside them, and the
server's own warnings (slow write transactions) are counted. Progress goes to
stderr; the result is one JSON-able dict.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import multiprocessing
import os
import random
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

TARGET_P99_MS = 250.0
PASSWORD = "bench-courier"
DISPATCHER_PASSWORD = "bench-dispatcher"
STOP_STATUS = {"arrive": "arrived", "deliver": "delivered", "fail": "failed"}


def _log(message: str) -> None:
    print(f"[bench ws {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_nofile() -> int:
    """Raise this process's open-files limit to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return round(ordered[k], 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. the synthetic day -------------------------------------------------------------


async def seed_synthetic_day(geo: Any, couriers: int, stops_per_courier: int, day: dt.date,
                             rng: random.Random) -> dict[str, Any]:
    """Write the day into the bound database; returns the hub id and the logins."""
    from backend.db.engine import migrate, transaction
    from backend.db.tables import (
        Bike,
        Courier,
        Hub,
        Order,
        Parcel,
        PlanRun,
        Route,
        Shift,
        Stop,
        User,
    )
    from backend.dispatch.calendar import at
    from backend.security import hash_password
    from backend.services.planning import _stop_json

    await migrate()
    addresses = []
    for a in geo.geocoder.addresses():
        try:
            if geo.network.snap(a.lat, a.lon).distance_m < 60:
                addresses.append(a)
        except Exception:  # noqa: BLE001, S112 - off the network: not a place to deliver to
            continue
    addresses.sort(key=lambda a: (a.street, a.housenumber))
    lat_c = statistics.median(a.lat for a in addresses)
    lon_c = statistics.median(a.lon for a in addresses)
    hub_addr = min(addresses, key=lambda a: (a.lat - lat_c) ** 2 + ((a.lon - lon_c) * 0.5) ** 2)
    password_hash = hash_password(PASSWORD)  # once: scrypt is slow, and every courier shares it
    start_day, end_day = at(day, 6 * 3600), at(day, 23 * 3600)
    window = (at(day, 7 * 3600), at(day, 22 * 3600 + 1800))
    chunk = 250

    async def insert_all(table: Any, rows: list[Any]) -> None:
        for i in range(0, len(rows), chunk):
            await table.insert(*rows[i:i + chunk])

    async with transaction():
        hub_id = (await Hub.insert(Hub(name="Bench Hub", address=f"{hub_addr.street} {hub_addr.housenumber}",
                                       lat=hub_addr.lat, lon=hub_addr.lon, opening_hours=[])))[0]["id"]
        await User.insert(User(username="dispatcher", password_hash=hash_password(DISPATCHER_PASSWORD),
                               role="dispatcher", display_name="Dispatcher", hub_id=hub_id))
        names = [f"bench{i:05d}" for i in range(1, couriers + 1)]
        await insert_all(User, [User(username=n, password_hash=password_hash, role="courier",
                                     display_name=n, hub_id=hub_id) for n in names])
        await insert_all(Bike, [Bike(name=f"Bench bike {n}", payload_kg=200, volume_l=900, battery_range_km=50,
                                     speed_factor=1.0) for n in names])
        users = {r["username"]: r["id"] for r in await User.select(User.id, User.username).where(User.role == "courier")}
        bikes = {r["name"]: r["id"] for r in await Bike.select(Bike.id, Bike.name)}
        await insert_all(Courier, [Courier(name=n, user=users[n], bike=bikes[f"Bench bike {n}"], hub=hub_id)
                                   for n in names])
        courier_ids = {r["name"]: r["id"] for r in await Courier.select(Courier.id, Courier.name)}
        await insert_all(Shift, [Shift(courier=courier_ids[n], hub=hub_id, bike=bikes[f"Bench bike {n}"],
                                       start=start_day, end=end_day) for n in names])
        shift_ids = {r["courier"]: r["id"] for r in await Shift.select(Shift.id, Shift.courier)}
        orders, parcels = [], []
        for n in names:
            for k in range(stops_per_courier):
                a = rng.choice(addresses)
                ref = f"WSB-{n}-{k}"
                orders.append(Order(reference=ref, hub=hub_id, customer_name=f"Customer {n}/{k}",
                                    address=f"{a.street} {a.housenumber}", lat=a.lat, lon=a.lon,
                                    delivery_date=day, window_start=window[0], window_end=window[1],
                                    slot="day", service_s=120, status="planned"))
        await insert_all(Order, orders)
        order_ids = {r["reference"]: r["id"] for r in await Order.select(Order.id, Order.reference)}
        stops = []
        for o in orders:
            oid = order_ids[o.reference]
            barcode = "WSB" + o.reference.removeprefix("WSB-").replace("-", "").upper()
            parcels.append(Parcel(order=oid, barcode=barcode, weight_kg=2.0, volume_l=6.0))
            stops.append(Stop(order=oid, hub=hub_id, kind="delivery", address=o.address, lat=o.lat, lon=o.lon,
                              plan_date=day, window_start=window[0], window_end=window[1], service_s=120,
                              weight_kg=2.0, volume_l=6.0, status="planned"))
        await insert_all(Parcel, parcels)
        await insert_all(Stop, stops)
        stop_rows = {r["order"]: r for r in await Stop.select(
            Stop.id, Stop.order, Stop.kind, Stop.address, Stop.lat, Stop.lon, Stop.window_start, Stop.window_end)}
        run_id = (await PlanRun.insert(PlanRun(hub=hub_id, plan_date=day, status="done", time_limit_s=0,
                                               finished_at=dt.datetime.now(),
                                               figures={"synthetic": True})))[0]["id"]
        routes = []
        speed_mps = 15 / 3.6
        # A live day: routes start now, so couriers are on schedule rather than hours behind.
        now_s = int((dt.datetime.now() - dt.datetime.combine(day, dt.time())).total_seconds())
        first_s = min(max(8 * 3600, now_s + 300), 20 * 3600)
        for n in names:
            t = first_s
            here = (hub_addr.lat, hub_addr.lon)
            stops_json, total_m, load = [], 0, 2.0 * stops_per_courier
            for k in range(stops_per_courier):
                row = stop_rows[order_ids[f"WSB-{n}-{k}"]]
                dist = int(1.3 * _metres(here, (row["lat"], row["lon"])))
                departure_before = t
                arrival = t + int(dist / speed_mps)
                ps = SimpleNamespace(arrival_s=arrival, start_s=arrival, departure_s=arrival + 120,
                                     load_kg=load, distance_m=dist)
                stops_json.append(_stop_json(ps, row, day, departure_before))
                t, here, total_m, load = arrival + 120, (row["lat"], row["lon"]), total_m + dist, load - 2.0
            back = int(1.3 * _metres(here, (hub_addr.lat, hub_addr.lon)))
            cid = courier_ids[n]
            routes.append(Route(plan_run=run_id, hub=hub_id, courier=cid, shift=shift_ids[cid], plan_date=day,
                                version=1, current=True, start=at(day, 8 * 3600),
                                end=at(day, t + int(back / speed_mps)), distance_m=total_m + back,
                                duration_s=t + int(back / speed_mps) - 8 * 3600, stops=stops_json))
        await insert_all(Route, routes)
    return {"hub_id": hub_id, "usernames": names, "hub": (hub_addr.lat, hub_addr.lon)}


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _timeline(ok: list[list[Any]], cpu: list[tuple[float, float, float]], start_at: float, end_at: float,
              step: float = 10.0) -> list[dict[str, Any]]:
    """Per ``step`` seconds from the start of the ramp: actions, their latency, the server's CPU."""
    out = []
    t = start_at
    while t < end_at:
        lat = [(a[5] - a[2]) * 1000 for a in ok if t <= a[2] < t + step and a[5]]
        window = [c for c in cpu if t <= c[0] < t + step]
        busy = (100 * (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
                if len(window) > 1 and window[-1][0] > window[0][0] else None)
        machine = (100 * (window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0])
                   if len(window) > 1 and window[-1][0] > window[0][0] else None)
        out.append({"t": round(t - start_at), "actions": len(lat), "p50_ms": _pct(lat, 50), "p99_ms": _pct(lat, 99),
                    "server_cpu_pct": round(busy, 1) if busy is not None else None,
                    "machine_cpu_pct": round(machine, 1) if machine is not None else None,
                    "machine_cores": os.cpu_count()})
        t += step
    return out


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot((b[0] - a[0]) * 111_320.0, (b[1] - a[1]) * 111_320.0 * math.cos(lat))


# --- 2. the server ----------------------------------------------------------------------


class ServerProcess:
    def __init__(self, var_dir: Path, database_url: str, map_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        self.log_path = var_dir / "server.log"
        self.env = {**os.environ, "LAADBAK_VAR_DIR": str(var_dir), "DATABASE_URL": database_url,
                    "LAADBAK_PORT": str(self.port), "LAADBAK_HOST": "127.0.0.1", "LAADBAK_MAP": str(map_path),
                    "LAADBAK_SECRET_KEY": secrets.token_urlsafe(32), "LAADBAK_SOLVER_WORKERS": "1"}
        self.env.pop("REDIS_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import httpx

        # The open-files limit: raised to the hard limit in this process (``raise_nofile``), and
        # inherited by the server, rather than a preexec_fn in a process that runs threads.
        raise_nofile()
        self.proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve"], env=self.env,
                                     stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the server did not come up: {self.log_path.read_text()[-2000:]}")

    def warnings(self) -> dict[str, Any]:
        """The server's warnings and errors, counted by their text without numbers."""
        import re

        counts: dict[str, int] = {}
        slowest = 0.0
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith(("WARNING", "ERROR", "CRITICAL")):
                key = re.sub(r"\d+(\.\d+)?", "N", line)[:160]
                counts[key] = counts.get(key, 0) + 1
                held = re.search(r"held the writer for (\d+) ms", line)
                if held:
                    slowest = max(slowest, float(held.group(1)))
        top = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:10])
        return {"warnings": sum(counts.values()), "by_text": top, "slowest_write_ms": slowest or None}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def cpu_s(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def nofile(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        except (OSError, ValueError, IndexError):
            return None
        return None

    def threads(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def fds(self) -> int | None:
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return None


# --- 3. the couriers (client processes) ---------------------------------------------------


def _client_process(cfg: dict[str, Any], conn: Any) -> None:
    """Entry point of a client process: its share of the couriers, driven by the parent over ``conn``."""
    raise_nofile()
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


class MiniHttp:
    """Just enough HTTP/1.1 for the simulated phones: one short-lived connection
    per request. httpx's connection pool costs the client process more CPU
    than the server spends at a few thousand waiting requests (its queue scan
    is quadratic), and the bench would measure its own client."""

    def __init__(self, base: str, timeout: float = 60.0) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname or "127.0.0.1", parts.port or 80, timeout

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(data)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return await asyncio.wait_for(self._exchange(("\r\n".join(head) + "\r\n\r\n").encode() + data), self.timeout)

    async def _exchange(self, request: bytes) -> tuple[int, Any]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(request)
            raw = await reader.read()
        finally:
            writer.close()
        head, _, payload = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in lines[1:]):
            payload = _unchunk(payload)
        return status, (json.loads(payload) if payload else None)


def _unchunk(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while True:
        j = data.index(b"\r\n", i)
        size = int(data[i:j].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[j + 2:j + 2 + size]
        i = j + 2 + size + 2


class Action:
    __slots__ = ("action", "courier", "error", "http", "status", "stop_id", "t0", "t_courier", "t_resp")

    def __init__(self, courier: str, stop_id: int, action: str) -> None:
        self.courier, self.stop_id, self.action = courier, stop_id, action
        self.status = STOP_STATUS[action]
        self.t0 = self.t_resp = self.t_courier = 0.0
        self.http = 0
        self.error = ""


class SimCourier:
    """One phone: socket (resuming after its last seq), shift, positions, pings, actions."""

    def __init__(self, client: Client, username: str, token: str) -> None:
        self.client, self.username, self.token = client, username, token
        self.ws: Any = None
        self.last_seq: int | None = None
        self.seqs: set[int] = set()
        self.duplicates = 0
        self.drops = 0
        self.connected = asyncio.Event()
        self.snapshot: dict[str, Any] | None = None
        self.pending: dict[tuple[int, str], Action] = {}
        self.actions: list[Action] = []
        self.connect_ms: float | None = None
        self.closing = False
        self.open_at_end = False
        self.positions = 0
        self.errors: list[str] = []

    async def _read(self) -> None:
        import websockets

        cfg = self.client.cfg
        first = True
        while not self.closing:
            url = f"{cfg['ws_base']}/ws/courier"
            if self.last_seq is not None:
                url += f"?after={self.last_seq}"
            t0 = time.monotonic()
            try:
                async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {self.token}"},
                                              max_size=None, open_timeout=60, ping_interval=None,
                                              compression="deflate" if cfg["compression"] else None) as ws:
                    self.ws = ws
                    async for raw in ws:
                        now = time.monotonic()
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "event":
                            seq = message["seq"]
                            if seq in self.seqs:
                                self.duplicates += 1
                            self.seqs.add(seq)
                            self.last_seq = max(self.last_seq or 0, seq)
                            if message["kind"] == "stop.updated":
                                action = self.pending.pop((message["data"]["stopId"], message["data"]["status"]),
                                                          None)
                                if action is not None:
                                    action.t_courier = now
                        elif kind == "snapshot":
                            self.snapshot = message["data"]
                            self.last_seq = message["seq"]
                            if first:
                                self.connect_ms = (now - t0) * 1000
                                first = False
                            self.connected.set()
                        elif kind == "error":
                            self.errors.append(message.get("code", "?"))
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

    async def _send(self, message: dict[str, Any]) -> None:
        ws = self.ws
        if ws is None:
            return
        with contextlib.suppress(Exception):
            await ws.send(json.dumps(message))

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        # The same key on a retry: a request that reached the server is applied once.
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": secrets.token_hex(16)}
        for attempt in range(3):
            try:
                return await self.client.http.post(path, body, headers)
            except (OSError, TimeoutError, ValueError, IndexError) as exc:
                if attempt == 2:
                    return 0, f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.5)
        return 0, None

    async def live(self, start_at: float, end_at: float) -> None:
        cfg = self.client.cfg
        rng = self.client.rng
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait_for(self.connected.wait(), timeout=max(5.0, end_at - time.monotonic()))
        except TimeoutError:
            self.errors.append("no snapshot before the end")
            self.closing = True
            reader.cancel()
            return
        assert self.snapshot is not None
        stops = [s for s in self.snapshot["route"]["stops"] if s["status"] in ("planned", "arrived")]
        status, body = await self._post("/courier/shift/start", {})
        if status != 200:
            self.errors.append(f"shift/start {status}: {str(body)[:120]}")
        tasks = [asyncio.create_task(self._positions(stops, end_at)), asyncio.create_task(self._pings(end_at))]
        lo, hi = cfg["action_every"]
        next_at = time.monotonic() + rng.uniform(min(5.0, lo), hi)
        plan = []
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
                body = {}
            elif verb == "fail":
                body = {"reason": "not_home"}
            else:
                body = {"barcodes": [p["barcode"] for p in step[2]["parcels"]],
                        "proof": {"kind": "recipient", "recipientName": "Bench"}}
            action.t0 = time.monotonic()
            action.http, answer = await self._post(f"/courier/stops/{stop_id}/{verb}", body)
            action.t_resp = time.monotonic()
            if action.http != 200:
                action.error = str(answer)[:200]
                self.pending.pop((stop_id, action.status), None)
            next_at += rng.uniform(lo, hi)
        await asyncio.sleep(max(0.0, end_at - time.monotonic()))
        for t in tasks:
            t.cancel()
        # Wait (up to the grace) for the events of this courier's actions.
        deadline = end_at + cfg["grace_s"]
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self.open_at_end = self.ws is not None and self.drops == 0
        await self.client.all_done.wait()
        self.closing = True
        ws = self.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader

    async def _positions(self, stops: list[dict[str, Any]], end_at: float) -> None:
        rng = self.client.rng
        hub = self.snapshot["hub"]  # type: ignore[index]
        points = [(hub["lat"], hub["lon"])] + [(s["lat"], s["lon"]) for s in stops]
        await asyncio.sleep(rng.uniform(0, 5))
        i = 0
        while time.monotonic() < end_at:
            lat, lon = points[i % len(points)]
            await self._send({"type": "position", "lat": round(lat + rng.uniform(-2e-4, 2e-4), 6),
                              "lon": round(lon + rng.uniform(-2e-4, 2e-4), 6), "accuracy": 8})
            self.positions += 1
            i += 1
            await asyncio.sleep(self.client.cfg["position_every_s"])

    async def _pings(self, end_at: float) -> None:
        await asyncio.sleep(self.client.rng.uniform(0, 20))
        while time.monotonic() < end_at:
            await self._send({"type": "ping"})
            await asyncio.sleep(20)


class Client:
    def __init__(self, cfg: dict[str, Any], conn: Any) -> None:
        self.cfg, self.conn = cfg, conn
        self.rng = random.Random(cfg["seed"])
        self.http = MiniHttp(cfg["base"])
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
                for attempt in range(5):
                    t = time.monotonic()
                    try:
                        status, body = await self.http.post("/auth/login", {"username": username, "password": PASSWORD})
                    except (OSError, TimeoutError, ValueError) as exc:
                        status, body = 0, repr(exc)
                    if status == 200:
                        times.append((time.monotonic() - t) * 1000)
                        return SimCourier(self, username, body["token"])
                    await asyncio.sleep(0.5 * (attempt + 1))
                raise RuntimeError(f"{username} cannot log in: {status} {str(body)[:200]}")

        self.couriers = list(await asyncio.gather(*(login(u) for u in self.cfg["usernames"])))
        return {"logins": len(self.couriers), "seconds": round(time.monotonic() - t0, 2),
                "login_p50_ms": _pct(times, 50), "login_p99_ms": _pct(times, 99)}

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
        actions = []
        for c in self.couriers:
            for a in c.actions:
                actions.append([a.stop_id, a.status, a.t0, a.t_resp, a.http, a.t_courier, a.error])
        connect = [c.connect_ms for c in self.couriers if c.connect_ms is not None]
        errors: dict[str, int] = {}
        for c in self.couriers:
            for e in c.errors:
                errors[e.split(":")[0]] = errors.get(e.split(":")[0], 0) + 1
        cpu = os.times()
        return {
            "actions": actions,
            "connected": sum(1 for c in self.couriers if c.connect_ms is not None),
            "held": sum(1 for c in self.couriers if c.open_at_end),
            "drops": sum(c.drops for c in self.couriers),
            "duplicated": sum(c.duplicates for c in self.couriers),
            "positions_sent": sum(c.positions for c in self.couriers),
            "connect_ms": connect,
            "errors": errors,
            "loop_lag_p99_ms": _pct(self.lags, 99), "loop_lag_max_ms": round(max(self.lags), 1) if self.lags else None,
            "cpu_s": round(cpu.user + cpu.system - self.cpu0, 1),
        }


async def _client_main(cfg: dict[str, Any], conn: Any) -> None:
    client = Client(cfg, conn)
    conn.send(("logged_in", await client.login_all()))
    message = await asyncio.to_thread(conn.recv)
    _, start_at, end_at = message
    await client.run(start_at, end_at)


# --- the dispatcher and the whole run -------------------------------------------------------


class Dispatcher:
    def __init__(self, ws_base: str, hub_id: int, token: str, compression: bool) -> None:
        self.url = f"{ws_base}/ws/hub/{hub_id}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.compression = compression
        self.seen: dict[tuple[int, str], float] = {}
        self.seqs: set[int] = set()
        self.duplicates = 0
        self.positions = 0
        self.drops = 0
        self.last_seq: int | None = None
        self.snapshot_s: float | None = None
        self.ready = asyncio.Event()
        self.closing = False
        self.ws: Any = None

    async def run(self) -> None:
        import websockets

        while not self.closing:
            url = self.url + (f"?after={self.last_seq}" if self.last_seq is not None else "")
            t0 = time.monotonic()
            try:
                async with websockets.connect(url, additional_headers=self.headers, max_size=None,
                                              open_timeout=120, ping_interval=None,
                                              compression="deflate" if self.compression else None) as ws:
                    self.ws = ws
                    async for raw in ws:
                        now = time.monotonic()
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "positions":
                            self.positions += len(message["positions"])
                        elif kind == "event":
                            seq = message["seq"]
                            if seq in self.seqs:
                                self.duplicates += 1
                            self.seqs.add(seq)
                            self.last_seq = max(self.last_seq or 0, seq)
                            if message["kind"] == "stop.updated":
                                self.seen.setdefault((message["data"]["stopId"], message["data"]["status"]), now)
                        elif kind == "snapshot":
                            self.last_seq = message["seq"]
                            if self.snapshot_s is None:
                                self.snapshot_s = round(now - t0, 2)
                            self.ready.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                _log(f"dispatcher socket dropped: {exc!r}")
            finally:
                self.ws = None
            if not self.closing:
                self.drops += 1
                await asyncio.sleep(1.0)


async def run_ws_bench(settings: Any, *, couriers: int = 2000, duration_s: float = 60.0, ramp_per_s: float = 50.0,
                       stops_per_courier: int = 6, clients: int = 1, action_every: tuple[float, float] = (30.0, 60.0),
                       position_every_s: float = 5.0, fail_rate: float = 0.1, grace_s: float = 10.0,
                       compression: bool = True, seed: int = 11, keep_dir: bool = False,
                       wal: bool = False, postgres_url: str | None = None) -> dict[str, Any]:
    """Run the bench; with ``postgres_url`` (an experiment) on a throw-away PostgreSQL database
    created next to the one that URL names, instead of SQLite."""
    import logging

    from backend.db.engine import make_engine, use_database
    from backend.services.geo import Geo

    logging.getLogger("httpx").setLevel(logging.WARNING)
    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="laadbak-wsbench-"))
    instances: list[dict[str, Any]] = []
    server: ServerProcess | None = None
    procs: list[Any] = []
    pg_db: str | None = None
    try:
        # 1. the day
        t0 = time.monotonic()
        geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
        (tmp / "cache").symlink_to(settings.cache_dir.resolve(), target_is_directory=True)  # no map rebuild
        db = tmp / "bench.sqlite"
        database_url = f"sqlite:///{db}"
        if postgres_url:
            pg_db = f"laadbak_wsbench_{secrets.token_hex(4)}"
            database_url = await _create_pg_database(postgres_url, pg_db)
        engine = make_engine(database_url)
        use_database(engine)
        day = dt.date.today()
        seeded = await seed_synthetic_day(geo, couriers, stops_per_courier, day, random.Random(seed))
        if wal and not postgres_url:  # an experiment: the journal mode the server does not set (yet) itself
            import sqlite3

            with contextlib.closing(sqlite3.connect(db)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
        instances.append({"phase": "seed", "couriers": couriers, "stops": couriers * stops_per_courier,
                          "seconds": round(time.monotonic() - t0, 2), "database": "postgresql" if postgres_url else "sqlite",
                          "journal_mode": None if postgres_url else "wal" if wal else "default"})
        _log(f"seeded {couriers} couriers x {stops_per_courier} stops in {instances[-1]['seconds']} s ({tmp})")

        # 2. the server
        server = ServerProcess(tmp, database_url, settings.map_path)
        await asyncio.to_thread(server.start)
        _log(f"server pid {server.pid} on {server.base}, open files limit {server.nofile()}")
        instances.append({"phase": "server", "pid": server.pid, "nofile_limit": server.nofile(),
                          "rss_mb_idle": round(server.rss_mb() or 0, 1)})
        peak = {"rss": server.rss_mb() or 0.0}
        cpu_samples: list[tuple[float, float, float]] = []
        sampling = True

        async def sample() -> None:
            while sampling:
                peak["rss"] = max(peak["rss"], server.rss_mb() or 0.0)  # type: ignore[union-attr]
                peak["threads"] = max(peak.get("threads", 0), server.threads() or 0)  # type: ignore[union-attr]
                cpu_samples.append((time.monotonic(), server.cpu_s() or 0.0, _machine_busy_s()))  # type: ignore[union-attr]
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())

        # 3. clients: log in
        ctx = multiprocessing.get_context("spawn")
        names = seeded["usernames"]
        share = [names[k::clients] for k in range(clients)]
        pipes = []
        for k in range(clients):
            parent_end, child_end = ctx.Pipe()
            cfg = {"base": server.base, "ws_base": server.ws_base, "usernames": share[k], "seed": seed * 100 + k,
                   "ramp_per_s": ramp_per_s / clients, "action_every": action_every,
                   "position_every_s": position_every_s, "fail_rate": fail_rate, "grace_s": grace_s,
                   "compression": compression, "login_concurrency": max(2, 8 // clients)}
            p = ctx.Process(target=_client_process, args=(cfg, child_end), daemon=True)
            p.start()
            procs.append(p)
            pipes.append(parent_end)

        async def receive(k: int, what: str, timeout: float) -> Any:
            ok = await asyncio.to_thread(pipes[k].poll, timeout)
            if not ok:
                raise RuntimeError(f"client {k} sent nothing for {timeout} s (waiting for {what})")
            kind, payload = pipes[k].recv()
            if kind == "error":
                raise RuntimeError(f"client {k} failed: {payload}")
            return payload

        t_login = time.monotonic()
        cpu_login0 = server.cpu_s() or 0.0
        logins = [await receive(k, "logins", 600 + couriers * 0.2) for k in range(clients)]
        login_s = time.monotonic() - t_login
        instances.append({"phase": "login", "logins": sum(x["logins"] for x in logins), "seconds": round(login_s, 2),
                          "per_s": round(couriers / login_s, 1) if login_s else None,
                          "login_p50_ms": max((x["login_p50_ms"] or 0) for x in logins),
                          "login_p99_ms": max((x["login_p99_ms"] or 0) for x in logins),
                          "server_cpu_s": round((server.cpu_s() or 0.0) - cpu_login0, 1)})
        _log(f"{couriers} couriers logged in in {login_s:.1f} s")

        # the dispatcher
        import httpx

        async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
            r = await http.post("/auth/login", json={"username": "dispatcher", "password": DISPATCHER_PASSWORD})
            r.raise_for_status()
            dispatcher = Dispatcher(server.ws_base, seeded["hub_id"], r.json()["token"], compression)
        hub_task = asyncio.create_task(dispatcher.run())
        await asyncio.wait_for(dispatcher.ready.wait(), 300)
        _log(f"dispatcher connected (snapshot of {couriers} routes in {dispatcher.snapshot_s} s)")

        # ramp up, run
        ramp_s = couriers / ramp_per_s
        start_at = time.monotonic() + 1.0
        end_at = start_at + ramp_s + duration_s
        cpu0, t_cpu0 = server.cpu_s() or 0.0, time.monotonic()
        for pipe in pipes:
            pipe.send(("go", start_at, end_at))
        _log(f"ramping up {couriers} connections at {ramp_per_s:g}/s, then {duration_s:g} s of riding")

        async def progress() -> None:
            while True:
                await asyncio.sleep(10)
                _log(f"t={time.monotonic() - start_at:5.0f}s  server rss {server.rss_mb() or 0:.0f} MB  "  # type: ignore[union-attr]
                     f"fds {server.fds()}  threads {server.threads()}  dispatcher events {len(dispatcher.seqs)} positions {dispatcher.positions}")  # type: ignore[union-attr]

        reporter = asyncio.create_task(progress())
        results = [await receive(k, "results", ramp_s + duration_s + grace_s + 600) for k in range(clients)]
        reporter.cancel()
        cpu_run = (server.cpu_s() or 0.0) - cpu0
        t_run = time.monotonic() - t_cpu0
        fds_end = server.fds()
        # The dispatcher gets the same grace for what it has not seen yet.
        actions = [a for res in results for a in res["actions"]]
        ok = [a for a in actions if a[4] == 200]
        while time.monotonic() < end_at + grace_s and any((a[0], a[1]) not in dispatcher.seen for a in ok):
            await asyncio.sleep(0.2)
        dispatcher_held = dispatcher.ws is not None and dispatcher.drops == 0
        for pipe in pipes:
            pipe.send(("done",))
        for p in procs:
            await asyncio.to_thread(p.join, 30)
        dispatcher.closing = True
        if dispatcher.ws is not None:
            with contextlib.suppress(Exception):
                await dispatcher.ws.close()
        hub_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await hub_task
        sampling = False
        await sampler

        # the figures
        lat = [(a[5] - a[2]) * 1000 for a in ok if a[5]]
        http_ms = [(a[3] - a[2]) * 1000 for a in ok]
        disp = [(dispatcher.seen[(a[0], a[1])] - a[2]) * 1000 for a in ok if (a[0], a[1]) in dispatcher.seen]
        lost_courier = sum(1 for a in ok if not a[5])
        lost_dispatcher = sum(1 for a in ok if (a[0], a[1]) not in dispatcher.seen)
        connect = [ms for res in results for ms in res["connect_ms"]]
        errors: dict[str, int] = {}
        for res in results:
            for k, v in res["errors"].items():
                errors[k] = errors.get(k, 0) + v
        http_errors: dict[str, int] = {}
        for a in actions:
            if a[4] != 200:
                http_errors[str(a[4])] = http_errors.get(str(a[4]), 0) + 1
        held = sum(res["held"] for res in results)
        instances.append({"phase": "ramp", "rate_per_s": ramp_per_s, "seconds": round(ramp_s, 1),
                          "connected": sum(res["connected"] for res in results),
                          "connect_p50_ms": _pct(connect, 50), "connect_p99_ms": _pct(connect, 99),
                          "connect_max_ms": round(max(connect), 1) if connect else None})
        instances.append({
            "phase": "run", "seconds": round(t_run, 1), "actions": len(actions), "actions_ok": len(ok),
            "actions_per_s": round(len(actions) / t_run, 1) if t_run else None,
            "http_p50_ms": _pct(http_ms, 50), "http_p99_ms": _pct(http_ms, 99),
            "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95), "p99_ms": _pct(lat, 99),
            "max_ms": round(max(lat), 1) if lat else None,
            "dispatcher_p50_ms": _pct(disp, 50), "dispatcher_p99_ms": _pct(disp, 99),
            "lost_courier": lost_courier, "lost_dispatcher": lost_dispatcher,
            "http_errors": http_errors, "client_errors": errors,
            "positions_sent": sum(res["positions_sent"] for res in results),
            "positions_at_dispatcher": dispatcher.positions,  # each courier's latest per batch
            "drops": sum(res["drops"] for res in results), "dispatcher_drops": dispatcher.drops,
            "server_cpu_pct": round(100 * cpu_run / t_run, 1) if t_run else None,
            "server_fds_at_end": fds_end, "server_threads_peak": peak.get("threads"),
        })
        steady = [(a[5] - a[2]) * 1000 for a in ok if a[5] and a[2] >= start_at + ramp_s]
        instances[-1].update({"steady_actions": len(steady), "steady_p50_ms": _pct(steady, 50),
                              "steady_p99_ms": _pct(steady, 99)})
        instances.append({"phase": "timeline", "bucket_s": 10, "buckets": _timeline(ok, cpu_samples, start_at, end_at)})
        instances.append({"phase": "server_log", **server.warnings()})
        for k, res in enumerate(results):
            instances.append({"phase": "client", "process": k, "couriers": len(share[k]), "cpu_s": res["cpu_s"],
                              "loop_lag_p99_ms": res["loop_lag_p99_ms"], "loop_lag_max_ms": res["loop_lag_max_ms"]})
        # The headline figures are for the riding phase, with all N couriers
        # connected; the ramp (fewer couriers, plus the connects) is reported
        # beside them, and the whole run too.
        riding = [a for a in ok if a[2] >= start_at + ramp_s]
        ride_lat = [(a[5] - a[2]) * 1000 for a in riding if a[5]]
        ride_disp = [(dispatcher.seen[(a[0], a[1])] - a[2]) * 1000 for a in riding if (a[0], a[1]) in dispatcher.seen]
        ramp_lat = [(a[5] - a[2]) * 1000 for a in ok if a[5] and a[2] < start_at + ramp_s]
        p99 = _pct(ride_lat, 99)
        summary = {
            "couriers": couriers,
            "connections_held": held + (1 if dispatcher_held else 0),
            "connections_expected": couriers + 1,
            "p50_ms": _pct(ride_lat, 50), "p95_ms": _pct(ride_lat, 95), "p99_ms": p99,
            "dispatcher_p99_ms": _pct(ride_disp, 99),
            "ramp_p99_ms": _pct(ramp_lat, 99), "whole_run_p99_ms": _pct(lat, 99),
            "ramp_per_s": ramp_per_s,
            "lost": lost_courier + lost_dispatcher,
            "duplicated": sum(res["duplicated"] for res in results) + dispatcher.duplicates,
            "server_rss_mb": round(peak["rss"], 1),
            "actions": len(riding), "actions_whole_run": len(ok),
            "duration_s": duration_s,
            "target_p99_ms": TARGET_P99_MS,
            "p99_vs_target": round(p99 / TARGET_P99_MS, 3) if p99 is not None else None,
        }
        return {"instances": instances, "summary": summary}
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        if server is not None:
            server.stop()
        if pg_db is not None and postgres_url:
            with contextlib.suppress(Exception):
                await _drop_pg_database(postgres_url, pg_db)
        if keep_dir:
            _log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def _create_pg_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _drop_pg_database(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
