"""Durable follow-up jobs (backend/jobs): written with their change, run once,
resumed after the process that claimed them died."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import subprocess
import sys
import uuid

import pytest

from backend.db.engine import transaction
from backend.db.tables import Job, OutboxEvent, Stop
from backend.jobs import JobContext, Worker, enqueue, handler, settle
from backend.realtime.outbox import emit
from tests.api.helpers import admin, login, service_ctx, tomorrow
from tests.api.redis_check import redis_or_skip
from tests.api.test_planning import _small_day

_effects: list[str] = []


@handler("test_effect")
async def _effect(job: JobContext) -> None:
    # The effect and the done mark commit together: a second run finds the job done and writes nothing.
    async with transaction():
        if not await settle():
            return
        await emit("test.effect", {"key": job.key}, hub_id=1)
    _effects.append(job.key)


async def _effects_in_db(key: str) -> int:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.kind == "test.effect").output(load_json=True)
    return sum(1 for r in rows if r["payload"]["key"] == key)


@pytest.fixture(params=["table", "saq"])
async def runner(request: pytest.FixtureRequest, client):
    """The app's job worker, on the table alone or handing jobs to SAQ over Redis: the same tests for both."""
    backend = None
    if request.param == "saq":
        redis_url = await redis_or_skip()
        from backend.jobs.redis_saq import SaqBackend

        backend = SaqBackend(redis_url, name=f"test-jobs-{uuid.uuid4()}")  # a queue of its own per test
    state = client.app.state
    await state.jobs.stop()
    worker = state.jobs = Worker(state, backend=backend, poll_s=0.2)
    await worker.start()
    yield worker
    await worker.stop()


async def _until_done(key: str, timeout_s: float = 20.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        row = await Job.select(Job.status).where(Job.key == key).first()
        if row["status"] in ("done", "failed") or asyncio.get_running_loop().time() > deadline:
            return row["status"]
        await asyncio.sleep(0.05)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_a_job_commits_with_its_change_or_not_at_all_and_once_per_key(client) -> None:
    with pytest.raises(RuntimeError):
        async with transaction():
            await enqueue("test_effect", "k:rolled-back", {})
            raise RuntimeError("the change failed")
    assert not await Job.exists().where(Job.key == "k:rolled-back")
    async with transaction():
        assert await enqueue("test_effect", "k:1", {"n": 1}, run_after=dt.datetime.now() + dt.timedelta(hours=1))
    async with transaction():
        assert not await enqueue("test_effect", "k:1", {"n": 2})  # a replay writes nothing new
    rows = await Job.select(Job.payload, Job.status).where(Job.key == "k:1").output(load_json=True)
    assert rows == [{"payload": {"n": 1}, "status": "pending"}]


async def test_a_write_wakes_the_worker_only_when_it_committed_a_job(client, monkeypatch) -> None:
    """Every write used to wake the worker into a claim (a read) for nothing: most write no job."""
    state = client.app.state
    await state.jobs.stop()
    worker = state.jobs = Worker(state, poll_s=60.0)  # no poll within the test: only wakes look
    claims: list[int] = []
    claim = worker.claim

    async def counted(*args, **kwargs):
        claims.append(1)
        return await claim(*args, **kwargs)

    monkeypatch.setattr(worker, "claim", counted)
    await worker.start()
    try:
        await admin(client)  # writes (a user, a session), no job
        await asyncio.sleep(0.3)
        looked = len(claims)  # the look at start-up
        await login(client, "root")
        with pytest.raises(RuntimeError):
            async with transaction():
                await enqueue("test_effect", "k:rolled-back-wake", {})
                raise RuntimeError("the change failed")
        await login(client, "root")
        await asyncio.sleep(0.3)
        assert len(claims) == looked
        key = f"k:{uuid.uuid4()}"
        async with transaction():
            await enqueue("test_effect", key, {})
        await login(client, "root")  # the write after it wakes the worker: run now, not at the poll
        assert await _until_done(key, timeout_s=5.0) == "done"
        assert len(claims) > looked
    finally:
        await worker.stop()


async def test_a_job_left_by_a_dead_process_is_resumed_at_start_and_carried_out_once(client, runner) -> None:
    key = f"k:{uuid.uuid4()}"
    # Claimed by a process of this host that died mid-job, its lease still running.
    await Job.insert(
        Job(
            kind="test_effect",
            key=key,
            payload={},
            status="running",
            attempts=1,
            claimed_by=f"{socket.gethostname()}:{_dead_pid()}",
            lease_until=dt.datetime.now() + dt.timedelta(hours=1),
        )
    )
    assert await _until_done(key, timeout_s=0.5) == "running"  # its lease holds it while the process may live
    await runner.stop()
    await runner.start()  # a start-up finds it orphaned and runs it
    assert await _until_done(key) == "done"
    assert await _effects_in_db(key) == 1
    # Run again (a late duplicate claim): nothing is done twice.
    job = await Job.select().where(Job.key == key).first()
    await runner.run(JobContext(job["id"], "test_effect", key, {}, 2, client.app.state))
    assert await _effects_in_db(key) == 1


async def test_a_job_whose_lease_ran_out_is_taken_over(client, runner) -> None:
    key = f"k:{uuid.uuid4()}"
    await Job.insert(
        Job(
            kind="test_effect",
            key=key,
            payload={},
            status="running",
            attempts=1,
            claimed_by="elsewhere:1",
            # not run out yet: the runner cannot take it over while release_orphans looks
            # (a job the runner itself had just claimed counted as one of its orphans)
            lease_until=dt.datetime.now() + dt.timedelta(minutes=5),
        )
    )
    assert await runner.release_orphans() == 0  # another host: only its lease frees it
    row = await Job.select(Job.status, Job.claimed_by).where(Job.key == key).first()
    assert row == {"status": "running", "claimed_by": "elsewhere:1"}
    await Job.update({Job.lease_until: dt.datetime.now() - dt.timedelta(seconds=1)}).where(Job.key == key)
    runner.wake()
    assert await _until_done(key) == "done"
    assert await _effects_in_db(key) == 1


async def test_jobs_written_in_one_transaction_each_run_once(client, runner) -> None:
    keys = [f"k:{uuid.uuid4()}" for _ in range(5)]
    async with transaction():
        for key in keys:
            await enqueue("test_effect", key, {})
            await enqueue("test_effect", key, {})  # twice: kept once
    runner.wake()
    for key in keys:
        assert await _until_done(key) == "done"
        assert await _effects_in_db(key) == 1
    assert await Job.count().where(Job.key.is_in(keys)) == 5


_held: list[asyncio.Event] = []  # the running test's gate (an event belongs to its loop)
_holding: list[str] = []


@handler("test_long_search")
async def _long_search(job: JobContext) -> None:
    _holding.append(job.key)
    await _held[-1].wait()  # a search for a better plan that takes long
    async with transaction():
        await settle()


async def test_a_job_kind_apart_never_holds_up_the_others(client) -> None:
    # A search for a better plan (run apart, as the app runs replan_better) holds its lane; a
    # failed stop's re-plan written after it is still carried out at once in the other.
    state = client.app.state
    await state.jobs.stop()
    worker = state.jobs = Worker(state, poll_s=0.2, apart=frozenset({"test_long_search"}))
    await worker.start()
    gate = asyncio.Event()
    _held.append(gate)
    _holding.clear()
    try:
        search, effect, another = (f"{k}:{uuid.uuid4()}" for k in ("search", "effect", "search"))
        async with transaction():
            await enqueue("test_long_search", search, {})
            await enqueue("test_long_search", another, {})
        worker.wake()
        for _ in range(100):  # the search holds its lane before the effect is written
            if _holding:
                break
            await asyncio.sleep(0.05)
        assert _holding == [search]
        async with transaction():
            await enqueue("test_effect", effect, {})
        worker.wake()
        assert await _until_done(effect) == "done"
        assert await Job.select(Job.status).where(Job.key == search).first() == {"status": "running"}
        assert _holding == [search]  # its lane runs one at a time: the second search waits
        gate.set()
        assert await _until_done(search) == "done" and await _until_done(another) == "done"
    finally:
        gate.set()
        await worker.stop()


async def test_a_failed_stop_writes_its_next_step_as_a_job_and_a_replay_adds_nothing(client, geo, runner) -> None:
    h, hub, couriers = await _small_day(client, geo, basket=False)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    routes = (await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=h)).json()
    route = next(r for r in routes if any(s["kind"] == "delivery" for s in r["stops"]))
    stop = next(s for s in route["stops"] if s["kind"] == "delivery")
    courier = await login(client, f"courier{couriers.index(route['courierId'])}")
    key = {"Idempotency-Key": str(uuid.uuid4()), **courier}
    url = f"/courier/stops/{stop['stopId']}/fail?date={tomorrow()}"
    first = await client.post(url, json={"reason": "not_home"}, headers=key)
    assert first.status_code == 200 and first.json()["status"] == "failed", first.text
    replay = await client.post(url, json={"reason": "not_home"}, headers=key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    jobs = await Job.select(Job.kind, Job.key).where(Job.kind == "failed_stop")
    assert jobs == [{"kind": "failed_stop", "key": f"failed_stop:{stop['stopId']}"}]
    # The app's worker carries it out: one next step, one new stop, then the re-plan.
    assert await _until_done(f"failed_stop:{stop['stopId']}") == "done"
    assert await _until_done(f"replan:failed_stop:{stop['stopId']}") in ("done", "failed")
    steps = (
        await OutboxEvent.select(OutboxEvent.payload)
        .where(OutboxEvent.kind == "order.next_step")
        .output(load_json=True)
    )
    assert [s["payload"]["stopId"] for s in steps] == [stop["stopId"]]
    assert await Stop.count().where(Stop.order == stop["orderId"]) == 2  # the failed stop and its next one


async def test_a_same_day_order_whose_request_died_is_planned_in_by_its_job(client, geo, runner, monkeypatch) -> None:
    from backend.services import disruptions
    from tests.api.test_replanning import _planned_day, _same_day

    _, hub, _ = await _planned_day(client, geo)
    now = dt.datetime.combine(tomorrow(), dt.time(10, 0))  # "today", for this test, is tomorrow

    async def killed(*args, **kwargs):  # the process dies after the order was written, before the re-plan
        raise RuntimeError("killed")

    monkeypatch.setattr(disruptions, "plan_in_same_day_order", killed)
    with pytest.raises(RuntimeError):
        await disruptions.take_same_day_order(
            service_ctx(client), _same_day(hub, geo, "SD-CRASH", ("13:00", "18:00")), now, time_limit_s=1.0
        )
    monkeypatch.undo()
    (job,) = await Job.select(Job.key, Job.payload).where(Job.kind == "same_day_order").output(load_json=True)
    order_id = job["payload"]["orderId"]
    assert (await Stop.select(Stop.status).where(Stop.order == order_id).first())["status"] == "open"
    # The request's lease runs out: the worker finishes what it began.
    await Job.update({Job.run_after: dt.datetime.now()}).where(Job.key == job["key"])
    runner.wake()
    assert await _until_done(job["key"]) == "done"
    assert [s["status"] for s in await Stop.select(Stop.status).where(Stop.order == order_id)] == ["planned"]
