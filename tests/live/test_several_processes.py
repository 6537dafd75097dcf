"""Several processes, one day (docs/jobs.md, "Several processes"): two serving
processes and a solver worker, real subprocesses on PostgreSQL and Redis.

A failed stop answered by process A is re-planned by the worker (the serving
processes solve nothing: LAADBAK_SOLVER_QUEUE) and the re-plan reaches the
phones and the desk connected to process B. The first worker is killed while
its solver works on that re-plan (SIGKILL at ``replan.solving``): nothing of
it was written, and a new worker carries it out, once.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.bench.harness import api
from backend.bench.harness.databases import create_pg_database, drop_pg_database
from backend.bench.harness.server import ServerProcess, WorkerProcess
from backend.bench.harness.stream import ResumingSocket, courier_stream_url, hub_stream_url
from backend.services.demo import DEMO_PASSWORD
from tests.api.redis_check import REDIS_URL, redis_reason
from tests.conftest import BASE_POSTGRES_URL, IN_CI, need_postgres
from tests.live.server import SHARED_CACHE, run, seed_day

SECRET = "live-test"


class Listener(ResumingSocket):
    """A phone's or the desk's stream: every event heard, in order, with its seq."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token, retry_s=0.2)
        self.events: list[tuple[int, str, dict[str, Any]]] = []

    def receive(self, message: dict[str, Any], now: float, connected_at: float) -> None:
        if message.get("type") == "event" and message["seq"] not in self.seqs:
            self.events.append((message["seq"], message["kind"], message["data"]))
        super().receive(message, now, connected_at)

    def kinds(self) -> list[str]:
        return [kind for _, kind, _ in self.events]


class Cluster:
    def __init__(self, tmp: Path, url: str, hub_id: int, queue: str) -> None:
        self.tmp, self.url, self.hub_id = tmp, url, hub_id
        self.env = {"REDIS_URL": REDIS_URL, "LAADBAK_SOLVER_QUEUE": "1", "LAADBAK_JOBS_QUEUE": queue}
        self.a = self.process(ServerProcess, "a")
        self.b = self.process(ServerProcess, "b")
        self.workers: list[WorkerProcess] = []

    def process(self, kind: type[ServerProcess], name: str, **env: str) -> Any:
        return kind(self.tmp, self.url, secret_key=SECRET, env={**self.env, **env}, log_name=f"{name}.log")

    def worker(self, **env: str) -> WorkerProcess:
        worker = self.process(WorkerProcess, f"worker{len(self.workers) + 1}", **env)
        self.workers.append(worker)
        worker.start()
        return worker

    def stop(self) -> None:
        for proc in (*self.workers, self.a, self.b):
            proc.stop()


def need_postgres_and_redis() -> None:
    """Skip the test when PostgreSQL or Redis does not answer (fail it under CI)."""
    need_postgres()
    reason = run(redis_reason())
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} does not answer: {reason}")
        pytest.skip(f"several processes need Redis: {reason}")


@pytest.fixture
def cluster(tmp_path: Path, geo) -> Iterator[Cluster]:  # noqa: ANN001
    need_postgres_and_redis()
    name = f"laadbak_several_{secrets.token_hex(4)}"
    url = run(create_pg_database(BASE_POSTGRES_URL, name))
    cluster = None
    try:
        hub_id = run(seed_day(url, geo))
        (tmp_path / "cache").symlink_to(SHARED_CACHE.resolve(), target_is_directory=True)
        cluster = Cluster(tmp_path, url, hub_id, queue=f"test-several-{uuid.uuid4()}")
        cluster.a.start()
        cluster.b.start()
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
        run(drop_pg_database(BASE_POSTGRES_URL, name))


async def _query(url: str, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _until(check: Any, what: str, timeout_s: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def _h(token: str, key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}


def test_a_failed_stop_on_a_is_replanned_by_the_worker_and_reaches_b_and_a_killed_worker_loses_nothing(
    cluster: Cluster,
) -> None:
    a, b = cluster.a, cluster.b
    tokens = {u: api.login(b.base, u, DEMO_PASSWORD) for u in ("courier1", "courier2", "dispatcher")}
    # The first worker dies (SIGKILL) as soon as its solver starts on a re-plan.
    first = cluster.worker(LAADBAK_CRASH_AT="replan.solving")

    async def scenario() -> None:
        phones = {u: Listener(courier_stream_url(b.ws_base), tokens[u]) for u in ("courier1", "courier2")}
        desk = Listener(hub_stream_url(b.ws_base, cluster.hub_id), tokens["dispatcher"])
        for stream in (*phones.values(), desk):
            stream.start()
            await asyncio.wait_for(stream.ready.wait(), 60)
        async with httpx.AsyncClient(timeout=30) as http:
            day = (await http.get(a.base + "/courier/today", headers=_h(tokens["courier1"]))).json()
            stop = next(s for s in day["route"]["stops"] if s["kind"] == "delivery" and s["status"] == "planned")
            answer = await http.post(
                f"{a.base}/courier/stops/{stop['stopId']}/fail",
                json={"reason": "not_home"},
                headers=_h(tokens["courier1"], str(uuid.uuid4())),
            )
        assert answer.status_code == 200, answer.text
        # What A wrote reaches the phone on B.
        await _until(
            lambda: _async(
                any(k == "stop.updated" and d["stopId"] == stop["stopId"] for _, k, d in phones["courier1"].events)
            ),
            "the failed stop on the phone connected to B",
        )
        # The worker took the failed stop and then its re-plan, and died in the solver: on the
        # re-plan itself, or (when the quick answer was published) on the search for a better plan.
        assert first.proc is not None
        assert await asyncio.to_thread(first.proc.wait, 90) == -signal.SIGKILL
        running = await _query(cluster.url, "SELECT kind, claimed_by, attempts FROM job WHERE status = 'running'")
        assert [(r["claimed_by"], r["attempts"]) for r in running] == [(f"{socket.gethostname()}:{first.pid}", 1)]
        dying = running[0]["kind"]
        assert dying in ("replan", "replan_better")
        written = "SELECT count(*) AS n FROM outbox_event WHERE kind IN ('plan.replanned', 'plan.not_applied')"
        better = "SELECT count(*) AS n FROM plan_run WHERE inputs::text LIKE '%a better plan%'"
        before = (await _query(cluster.url, written))[0]["n"]
        # Nothing of the solve that died was written: no re-plan at all, or only the quick answer.
        assert before == (0 if dying == "replan" else 1)
        assert (await _query(cluster.url, better))[0]["n"] == 0

        second = await asyncio.to_thread(cluster.worker)  # frees what the dead worker held, and runs it
        await _until(
            lambda: _async({"plan.replanned", "plan.not_applied"} & set(desk.kinds())),
            "the re-plan on the desk connected to B",
        )
        jobs = await _until(
            lambda: _done_jobs(cluster.url), "every job done (the failed stop's next step and its re-plan)"
        )
        by_kind = {r["kind"]: r for r in jobs}
        assert by_kind["failed_stop"]["claimed_by"] == f"{socket.gethostname()}:{first.pid}"
        assert by_kind[dying]["claimed_by"] == f"{socket.gethostname()}:{second.pid}"
        assert by_kind[dying]["attempts"] == 2  # retried once, by the new worker
        if dying == "replan":
            assert (await _query(cluster.url, written))[0]["n"] == 1  # carried out once
        else:  # the better plan is published at most once, and only when it gains enough
            assert (await _query(cluster.url, better))[0]["n"] <= 1
        # Every route the re-plan changed reached its phone on B, in the outbox's order.
        failed_at = min(seq for seq, k, d in phones["courier1"].events if d.get("stopId") == stop["stopId"])
        updates = await _query(
            cluster.url,
            "SELECT e.id, u.username FROM outbox_event e JOIN courier c ON c.id = e.courier_id "
            "JOIN app_user u ON u.id = c.\"user\" WHERE e.kind = 'route.updated' AND e.id > $1 ORDER BY e.id",
            failed_at,
        )
        assert updates, "the re-plan changed no route"
        await _until(
            lambda: _async(all(r["id"] in phones[r["username"]].seqs for r in updates if r["username"] in phones)),
            "the changed routes on the phones connected to B",
            timeout_s=10,
        )
        for phone in phones.values():
            seqs = [seq for seq, _, _ in phone.events]
            assert seqs == sorted(seqs) and phone.duplicates == 0
        for stream in (*phones.values(), desk):
            await stream.stop()

    asyncio.run(scenario())


async def _async(value: Any) -> Any:
    return value


async def _done_jobs(url: str) -> list[Any] | None:
    rows = await _query(url, "SELECT kind, status, claimed_by, attempts FROM job ORDER BY id")
    return rows if rows and all(r["status"] == "done" for r in rows) else None
