"""`laadbak bench ws`: many couriers on websockets against a real server process.

1. A throw-away directory and SQLite database with a synthetic day for N
   couriers, written directly (no solver): :mod:`backend.bench.ws_day`.
2. A real server process (the harness's :class:`ServerProcess`) on that
   database, its open-files limit raised to the hard limit.
3. Client processes (:mod:`backend.bench.ws_clients`), the couriers split
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
import multiprocessing
import os
import random
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from backend.bench.harness.api import ApiClient
from backend.bench.harness.databases import create_pg_database, drop_pg_database
from backend.bench.harness.server import ServerProcess, raise_nofile
from backend.bench.harness.stats import add_counts, count, machine_busy_s, pct, ratio, top
from backend.bench.replan_clock import check_time_machine, plan_clock
from backend.bench.ws_clients import Dispatcher, client_process, log
from backend.bench.ws_day import DISPATCHER_PASSWORD, seed_synthetic_day
from backend.bench.ws_processes import ServerGroup, bases_of
from backend.shifted_clock import clock_env, start_shift

# The bench day's clock (backend/bench/replan_clock.py asks for these hours and half an hour
# more before the hub closes at 23:00): the real one until 20:00, when the routes start at the
# latest (backend/bench/ws_day.py), so that their stops are served before the windows end at 22:30.
CLOCK_DAY_HOURS = 2.5

# Issue #19's targets: 2,000 couriers on one process, 6,000 on three.
TARGET_P99_MS = 50.0
TARGET_P99_MS_SEVERAL = 250.0


class Sampler:
    """The server's peak memory and threads and its CPU over time, every half second."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak_rss = server.rss_mb() or 0.0
        self.peak_threads: int | None = None
        self.cpu: list[tuple[float, float, float]] = []  # t, server CPU s, machine busy s
        self.sampling = True
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        self.sampling = False
        if self.task is not None:
            await self.task

    async def _sample(self) -> None:
        server = self.server
        while self.sampling:
            self.peak_rss = max(self.peak_rss, server.rss_mb() or 0.0)
            self.peak_threads = max(self.peak_threads or 0, server.threads() or 0)
            self.cpu.append((time.monotonic(), server.cpu_s() or 0.0, machine_busy_s()))
            await asyncio.sleep(0.5)


class ClientProcesses:
    """The client processes (spawned) and the pipes the parent drives them over."""

    def __init__(self, cfgs: list[dict[str, Any]]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.procs: list[Any] = []
        self.pipes: list[Any] = []
        self.shares: list[list[str]] = [cfg["usernames"] for cfg in cfgs]  # each client's couriers
        for cfg in cfgs:
            parent_end, child_end = ctx.Pipe()
            p = ctx.Process(target=client_process, args=(cfg, child_end), daemon=True)
            p.start()
            self.procs.append(p)
            self.pipes.append(parent_end)

    async def receive(self, k: int, what: str, timeout: float) -> Any:
        ok = await asyncio.to_thread(self.pipes[k].poll, timeout)
        if not ok:
            raise RuntimeError(f"client {k} sent nothing for {timeout} s (waiting for {what})")
        kind, payload = self.pipes[k].recv()
        if kind == "error":
            raise RuntimeError(f"client {k} failed: {payload}")
        return payload

    async def receive_all(self, what: str, timeout: float) -> list[Any]:
        return [await self.receive(k, what, timeout) for k in range(len(self.pipes))]

    def send_all(self, message: tuple[Any, ...]) -> None:
        for pipe in self.pipes:
            pipe.send(message)

    async def join(self, timeout: float = 30) -> None:
        for p in self.procs:
            await asyncio.to_thread(p.join, timeout)

    def terminate(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()


async def run_ws_bench(
    settings: Any,
    *,
    couriers: int = 2000,
    duration_s: float = 60.0,
    ramp_per_s: float = 50.0,
    stops_per_courier: int = 6,
    clients: int = 1,
    action_every: tuple[float, float] = (30.0, 60.0),
    position_every_s: float = 5.0,
    fail_rate: float = 0.1,
    grace_s: float = 10.0,
    compression: bool = True,
    seed: int = 11,
    keep_dir: bool = False,
    postgres_url: str | None = None,
    processes: int = 1,
    redis_url: str | None = None,
    clock: str = "auto",
) -> dict[str, Any]:
    """Run the bench; with ``postgres_url`` (an experiment) on a throw-away PostgreSQL database
    created next to the one that URL names, instead of SQLite; ``processes`` > 1: bench/ws_processes.py.
    ``clock``: the day's clock (:func:`_bench_clock`)."""
    import logging

    offset, clock_words, traveller = _bench_clock(clock)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="laadbak-wsbench-"))
    instances: list[dict[str, Any]] = []
    server: ServerProcess | None = None
    procs: ClientProcesses | None = None
    pg_db = f"laadbak_wsbench_{secrets.token_hex(4)}" if postgres_url else None
    try:
        # 1. the day
        database_url, seeded = await _seed(
            settings,
            tmp,
            instances,
            couriers=couriers,
            stops_per_courier=stops_per_courier,
            seed=seed,
            postgres_url=postgres_url,
            pg_db=pg_db,
        )
        # 2. the server (or the servers and the solver worker)
        server = _server(settings, tmp, database_url, processes, redis_url, clock_env(offset, tmp / "clock"))
        await asyncio.to_thread(server.start)
        log(f"server pid {server.pid} on {server.base}, open files limit {server.nofile()}")
        instances.append(
            {
                "phase": "server",
                "pid": server.pid,
                "nofile_limit": server.nofile(),
                "rss_mb_idle": round(server.rss_mb() or 0, 1),
            }
        )
        sampler = Sampler(server)
        sampler.start()
        # 3. the clients log in
        procs = _clients(
            server,
            seeded["usernames"],
            processes=processes,
            clients=clients,
            seed=seed,
            ramp_per_s=ramp_per_s,
            action_every=action_every,
            position_every_s=position_every_s,
            fail_rate=fail_rate,
            grace_s=grace_s,
            compression=compression,
        )
        share = procs.shares
        instances.append(await _logins(server, procs, couriers))
        # 4. the dispatcher, the ramp, the ride
        dispatcher = await _dispatcher(server, seeded["hub_id"], compression, couriers)
        ride = await _ride(
            server,
            procs,
            dispatcher,
            couriers=couriers,
            ramp_per_s=ramp_per_s,
            duration_s=duration_s,
            grace_s=grace_s,
        )
        await sampler.stop()
        # Stopped before the figures: on its way out the server logs its own (the longest
        # event-loop stall and garbage collection, the longest hold of the writer).
        await asyncio.to_thread(server.stop)
        # the figures
        summary = _figures(
            instances,
            ride,
            server,
            sampler,
            dispatcher,
            share,
            couriers=couriers,
            ramp_per_s=ramp_per_s,
            duration_s=duration_s,
        )
        summary["clock"] = clock_words
        if isinstance(server, ServerGroup):
            summary["cross_process"] = server.figures(instances, ride["results"], dispatcher.order)
        return {"instances": instances, "summary": summary}
    finally:
        if traveller is not None:
            traveller.stop()  # type: ignore[attr-defined]
        if procs is not None:
            procs.terminate()
        if server is not None:
            server.stop()
        if pg_db is not None and postgres_url:
            with contextlib.suppress(Exception):
                await drop_pg_database(postgres_url, pg_db)
        if keep_dir:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _clients(
    server: ServerProcess,
    names: list[str],
    *,
    processes: int,
    clients: int,
    seed: int,
    ramp_per_s: float,
    action_every: tuple[float, float],
    position_every_s: float,
    fail_rate: float,
    grace_s: float,
    compression: bool,
) -> ClientProcesses:
    """The client processes, each with its share of the couriers; client k talks to serving
    process k mod N."""
    clients = max(clients, processes)
    share = [names[k::clients] for k in range(clients)]
    return ClientProcesses(
        [
            {
                **bases_of(server)[k % processes],  # its serving process: base, ws_base
                "usernames": share[k],
                "seed": seed * 100 + k,
                "ramp_per_s": ramp_per_s / clients,
                "action_every": action_every,
                "position_every_s": position_every_s,
                "fail_rate": fail_rate,
                "grace_s": grace_s,
                "compression": compression,
                "login_concurrency": max(2, 8 // clients),
            }
            for k in range(clients)
        ]
    )


def _bench_clock(clock: str) -> tuple[float, str, object | None]:
    """The day's clock, as ``bench replan``'s (:mod:`backend.bench.replan_clock`): its offset,
    how the report says it, and this process moved onto it (None: the real clock). The stops'
    windows end at 22:30 and the routes start at the latest at 20:00, so a run late in the
    evening on the real clock had every route late, and the minute's alert check raised and
    updated 2,000 alerts: ``auto`` is the real clock from 07:00 to 20:00, else 09:00."""
    real_now = dt.datetime.now()
    offset, words = plan_clock(clock, CLOCK_DAY_HOURS, real_now)
    check_time_machine(offset, real_now, CLOCK_DAY_HOURS)
    return offset, words, start_shift(offset)


def _server(
    settings: Any, tmp: Path, database_url: str, processes: int, redis_url: str | None, env: dict[str, str]
) -> ServerProcess:
    """One serving process, or (``processes`` > 1) the group of them and the solver worker;
    ``env``: the bench clock's (:func:`backend.shifted_clock.clock_env`)."""
    if processes > 1:
        if not (redis_url and database_url.startswith(("postgres://", "postgresql://"))):
            raise ValueError("several serving processes share the day through PostgreSQL and Redis: give both")
        return ServerGroup(
            tmp, database_url, processes=processes, redis_url=redis_url, map_path=settings.map_path, env=env
        )
    return ServerProcess(tmp, database_url, map_path=settings.map_path, env=env)


async def _seed(
    settings: Any,
    tmp: Path,
    instances: list[dict[str, Any]],
    *,
    couriers: int,
    stops_per_courier: int,
    seed: int,
    postgres_url: str | None,
    pg_db: str | None,
) -> tuple[str, dict[str, Any]]:
    """The database (SQLite in ``tmp``, or a new PostgreSQL one) with the synthetic day."""
    from backend.db.engine import make_engine, use_database
    from backend.services.geo import Geo

    t0 = time.monotonic()
    geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
    (tmp / "cache").symlink_to(settings.cache_dir.resolve(), target_is_directory=True)  # no map rebuild
    db = tmp / "bench.sqlite"
    database_url = f"sqlite:///{db}"
    if postgres_url and pg_db:
        database_url = await create_pg_database(postgres_url, pg_db)
    use_database(make_engine(database_url))
    seeded = await seed_synthetic_day(geo, couriers, stops_per_courier, dt.date.today(), random.Random(seed))
    journal_mode = None
    if not postgres_url:  # make_engine sets WAL; the figure says what the file is in
        import sqlite3

        with contextlib.closing(sqlite3.connect(db)) as conn:
            journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    instances.append(
        {
            "phase": "seed",
            "couriers": couriers,
            "stops": couriers * stops_per_courier,
            "seconds": round(time.monotonic() - t0, 2),
            "database": "postgresql" if postgres_url else "sqlite",
            "journal_mode": journal_mode,
        }
    )
    seconds = instances[-1]["seconds"]
    log(f"seeded {couriers} couriers x {stops_per_courier} stops in {seconds} s ({tmp})")
    return database_url, seeded


async def _logins(server: ServerProcess, procs: ClientProcesses, couriers: int) -> dict[str, Any]:
    t_login = time.monotonic()
    cpu_login0 = server.cpu_s() or 0.0
    logins = await procs.receive_all("logins", 600 + couriers * 0.2)
    login_s = time.monotonic() - t_login
    log(f"{couriers} couriers logged in in {login_s:.1f} s")
    return {
        "phase": "login",
        "logins": sum(x["logins"] for x in logins),
        "seconds": round(login_s, 2),
        "per_s": round(couriers / login_s, 1) if login_s else None,
        "login_p50_ms": max((x["login_p50_ms"] or 0) for x in logins),
        "login_p99_ms": max((x["login_p99_ms"] or 0) for x in logins),
        "server_cpu_s": round((server.cpu_s() or 0.0) - cpu_login0, 1),
    }


async def _dispatcher(server: ServerProcess, hub_id: int, compression: bool, couriers: int) -> Dispatcher:
    api = ApiClient(server.base)
    status, body = await api.login("dispatcher", DISPATCHER_PASSWORD, tries=1)
    if status != 200:
        raise RuntimeError(f"the dispatcher cannot log in: {status} {str(body)[:200]}")
    dispatcher = Dispatcher(server.ws_base, hub_id, body["token"], compression)
    dispatcher.start()
    await asyncio.wait_for(dispatcher.ready.wait(), 300)
    log(f"dispatcher connected (snapshot of {couriers} routes in {dispatcher.snapshot_s} s)")
    return dispatcher


async def _ride(
    server: ServerProcess,
    procs: ClientProcesses,
    dispatcher: Dispatcher,
    *,
    couriers: int,
    ramp_per_s: float,
    duration_s: float,
    grace_s: float,
) -> dict[str, Any]:
    """Ramp up, ride, wait out the grace; the clients' results and the times of the run."""
    ramp_s = couriers / ramp_per_s
    start_at = time.monotonic() + 1.0
    end_at = start_at + ramp_s + duration_s
    cpu0, t_cpu0 = server.cpu_s() or 0.0, time.monotonic()
    procs.send_all(("go", start_at, end_at))
    log(f"ramping up {couriers} connections at {ramp_per_s:g}/s, then {duration_s:g} s of riding")

    async def progress() -> None:
        while True:
            await asyncio.sleep(10)
            log(
                f"t={time.monotonic() - start_at:5.0f}s  server rss {server.rss_mb() or 0:.0f} MB  "
                f"fds {server.fds()}  threads {server.threads()}  "
                f"dispatcher events {len(dispatcher.seqs)} positions {dispatcher.positions}"
            )

    reporter = asyncio.create_task(progress())
    results = await procs.receive_all("results", ramp_s + duration_s + grace_s + 600)
    reporter.cancel()
    cpu_run = (server.cpu_s() or 0.0) - cpu0
    t_run = time.monotonic() - t_cpu0
    fds_end = server.fds()
    # The dispatcher gets the same grace for what it has not seen yet.
    ok = [a for res in results for a in res["actions"] if a[4] == 200]
    while time.monotonic() < end_at + grace_s and any((a[0], a[1]) not in dispatcher.seen for a in ok):
        await asyncio.sleep(0.2)
    dispatcher_held = dispatcher.ws is not None and dispatcher.drops == 0
    procs.send_all(("done",))
    await procs.join()
    await dispatcher.stop()
    return {
        "results": results,
        "start_at": start_at,
        "end_at": end_at,
        "ramp_s": ramp_s,
        "cpu_run": cpu_run,
        "t_run": t_run,
        "fds_end": fds_end,
        "dispatcher_held": dispatcher_held,
    }


def _timeline(
    ok: list[list[Any]],
    cpu: list[tuple[float, float, float]],
    start_at: float,
    end_at: float,
    step: float = 10.0,
) -> list[dict[str, Any]]:
    """Per ``step`` seconds from the start of the ramp: actions, their latency, the server's CPU."""
    out = []
    t = start_at
    while t < end_at:
        lat = [(a[5] - a[2]) * 1000 for a in ok if t <= a[2] < t + step and a[5]]
        window = [c for c in cpu if t <= c[0] < t + step]
        spans = len(window) > 1 and window[-1][0] > window[0][0]
        busy = 100 * (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if spans else None
        machine = 100 * (window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0]) if spans else None
        out.append(
            {
                "t": round(t - start_at),
                "actions": len(lat),
                "p50_ms": pct(lat, 50),
                "p99_ms": pct(lat, 99),
                "server_cpu_pct": round(busy, 1) if busy is not None else None,
                "machine_cpu_pct": round(machine, 1) if machine is not None else None,
                "machine_cores": os.cpu_count(),
            }
        )
        t += step
    return out


def _figures(
    instances: list[dict[str, Any]],
    ride: dict[str, Any],
    server: ServerProcess,
    sampler: Sampler,
    dispatcher: Dispatcher,
    share: list[list[str]],
    *,
    couriers: int,
    ramp_per_s: float,
    duration_s: float,
) -> dict[str, Any]:
    """The phases' rows (appended to ``instances``) and the summary."""
    results, start_at, end_at, ramp_s = (
        ride["results"],
        ride["start_at"],
        ride["end_at"],
        ride["ramp_s"],
    )
    t_run = ride["t_run"]
    actions = [a for res in results for a in res["actions"]]
    ok = [a for a in actions if a[4] == 200]
    seen = dispatcher.seen
    lat = [(a[5] - a[2]) * 1000 for a in ok if a[5]]
    http_ms = [(a[3] - a[2]) * 1000 for a in ok]
    disp = [(seen[(a[0], a[1])] - a[2]) * 1000 for a in ok if (a[0], a[1]) in seen]
    lost_courier = sum(1 for a in ok if not a[5])
    lost_dispatcher = sum(1 for a in ok if (a[0], a[1]) not in seen)
    connect = [ms for res in results for ms in res["connect_ms"]]
    errors: dict[str, int] = {}
    for res in results:
        add_counts(errors, res["errors"])
    instances.append(
        {
            "phase": "ramp",
            "rate_per_s": ramp_per_s,
            "seconds": round(ramp_s, 1),
            "connected": sum(res["connected"] for res in results),
            "connect_p50_ms": pct(connect, 50),
            "connect_p99_ms": pct(connect, 99),
            "connect_max_ms": top(connect),
        }
    )
    steady = [(a[5] - a[2]) * 1000 for a in ok if a[5] and a[2] >= start_at + ramp_s]
    instances.append(
        {
            "phase": "run",
            "seconds": round(t_run, 1),
            "actions": len(actions),
            "actions_ok": len(ok),
            "actions_per_s": round(len(actions) / t_run, 1) if t_run else None,
            "http_p50_ms": pct(http_ms, 50),
            "http_p99_ms": pct(http_ms, 99),
            "p50_ms": pct(lat, 50),
            "p95_ms": pct(lat, 95),
            "p99_ms": pct(lat, 99),
            "max_ms": top(lat),
            "dispatcher_p50_ms": pct(disp, 50),
            "dispatcher_p99_ms": pct(disp, 99),
            "lost_courier": lost_courier,
            "lost_dispatcher": lost_dispatcher,
            "http_errors": count(str(a[4]) for a in actions if a[4] != 200),
            "client_errors": errors,
            "positions_sent": sum(res["positions_sent"] for res in results),
            "positions_at_dispatcher": dispatcher.positions,  # each courier's latest per batch
            "drops": sum(res["drops"] for res in results),
            "dispatcher_drops": dispatcher.drops,
            "server_cpu_pct": round(100 * ride["cpu_run"] / t_run, 1) if t_run else None,
            "server_fds_at_end": ride["fds_end"],
            "server_threads_peak": sampler.peak_threads,
            "steady_actions": len(steady),
            "steady_p50_ms": pct(steady, 50),
            "steady_p99_ms": pct(steady, 99),
        }
    )
    instances.append(
        {
            "phase": "timeline",
            "bucket_s": 10,
            "buckets": _timeline(ok, sampler.cpu, start_at, end_at),
        }
    )
    server_log = server.warnings()
    instances.append({"phase": "server_log", **server_log})
    for k, res in enumerate(results):
        instances.append(
            {
                "phase": "client",
                "process": k,
                "couriers": len(share[k]),
                "cpu_s": res["cpu_s"],
                "loop_lag_p99_ms": res["loop_lag_p99_ms"],
                "loop_lag_max_ms": res["loop_lag_max_ms"],
            }
        )
    return _summary(
        ok,
        ride,
        sampler,
        dispatcher,
        server_log,
        couriers=couriers,
        ramp_per_s=ramp_per_s,
        duration_s=duration_s,
        target=TARGET_P99_MS_SEVERAL if isinstance(server, ServerGroup) else TARGET_P99_MS,
    )


def _summary(
    ok: list[list[Any]],
    ride: dict[str, Any],
    sampler: Sampler,
    dispatcher: Dispatcher,
    server_log: dict[str, Any],
    *,
    couriers: int,
    ramp_per_s: float,
    duration_s: float,
    target: float,
) -> dict[str, Any]:
    """The headline figures, of the actions answered 200 (``ok``), with the server's
    longest event-loop stall, garbage collection and writer hold beside them."""
    results, start_at, ramp_s, seen = (
        ride["results"],
        ride["start_at"],
        ride["ramp_s"],
        dispatcher.seen,
    )
    lat = [(a[5] - a[2]) * 1000 for a in ok if a[5]]
    lost_courier = sum(1 for a in ok if not a[5])
    lost_dispatcher = sum(1 for a in ok if (a[0], a[1]) not in seen)
    # The headline figures are for the riding phase, with all N couriers
    # connected; the ramp (fewer couriers, plus the connects) is reported
    # beside them, and the whole run too.
    riding = [a for a in ok if a[2] >= start_at + ramp_s]
    ride_lat = [(a[5] - a[2]) * 1000 for a in riding if a[5]]
    ride_disp = [(seen[(a[0], a[1])] - a[2]) * 1000 for a in riding if (a[0], a[1]) in seen]
    ramp_lat = [(a[5] - a[2]) * 1000 for a in ok if a[5] and a[2] < start_at + ramp_s]
    p99 = pct(ride_lat, 99)
    held = sum(res["held"] for res in results)
    loop, writer = server_log.get("loop") or {}, server_log.get("writer") or {}
    return {
        "couriers": couriers,
        "connections_held": held + (1 if ride["dispatcher_held"] else 0),
        "connections_expected": couriers + 1,
        "p50_ms": pct(ride_lat, 50),
        "p95_ms": pct(ride_lat, 95),
        "p99_ms": p99,
        "dispatcher_p99_ms": pct(ride_disp, 99),
        "ramp_p99_ms": pct(ramp_lat, 99),
        "whole_run_p99_ms": pct(lat, 99),
        "ramp_per_s": ramp_per_s,
        "lost": lost_courier + lost_dispatcher,
        "duplicated": sum(res["duplicated"] for res in results) + dispatcher.duplicates,
        "server_rss_mb": round(sampler.peak_rss, 1),
        "actions": len(riding),
        "actions_whole_run": len(ok),
        "duration_s": duration_s,
        "target_p99_ms": target,
        "p99_vs_target": ratio(p99, target, 3),
        # the whole run's (login and ramp too): what held every socket at once
        "longest_loop_stall_ms": loop.get("longest_lag_ms"),
        "loop_stalls_over_100_ms": loop.get("stalls"),
        "longest_gc_ms": loop.get("longest_gc_ms"),
        "longest_writer_hold_ms": writer.get("longest_hold_ms"),
        "longest_writer_hold_in": writer.get("longest_in"),
        "longest_writer_wait_ms": writer.get("longest_wait_ms"),
    }
