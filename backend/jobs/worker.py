"""The worker: finds the due rows of the ``job`` table and runs them under a
lease, in this process or through a backend (SAQ over Redis, see
``backend.jobs.redis_saq``). Jobs are written by ``backend.jobs.queue``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
from typing import Any, Protocol

from backend.aio import cancel_and_wait, wait_set
from backend.db.engine import transaction
from backend.db.tables import Job
from backend.errors import Invalid
from backend.jobs.queue import LEASE_S, AlreadyDone, JobContext, handler_for, running, settle, written

log = logging.getLogger("laadbak.jobs")

POLL_S = 2.0  # a cheap indexed read when idle; writes in this process wake the worker at once
MAX_ATTEMPTS = 5
RETRY_S = 5.0


class Backend(Protocol):
    """How due rows reach a runner when they are not run by the polling worker
    itself: handed to SAQ over Redis (backend/jobs/redis_saq.py)."""

    async def start(self, worker: Worker) -> None: ...
    async def dispatch(self, worker: Worker) -> None: ...
    async def stop(self) -> None: ...


def me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Finds due jobs of the table: runs them one at a time in this process
    (the table backend), or hands them to ``backend`` to run.

    ``apart``: kinds run one at a time in a lane of their own (the table backend), so
    that the other jobs never queue behind them: a search for a better plan takes a
    second or more, and a failed stop's re-plan behind it made a phone wait for both."""

    def __init__(
        self,
        state: Any,
        *,
        backend: Backend | None = None,
        poll_s: float = POLL_S,
        lease_s: float = LEASE_S,
        apart: frozenset[str] = frozenset(),
    ) -> None:
        self.state, self.backend, self.poll_s, self.lease_s = state, backend, poll_s, lease_s
        self.name = me()
        self.apart = apart
        lanes: list[frozenset[str] | None] = [None, apart] if apart and backend is None else [None]
        self._lanes = {lane: asyncio.Event() for lane in lanes}  # lane (its kinds; None: the rest) -> its wake
        self._tasks: list[asyncio.Task[None]] = []
        self._written = written()

    async def start(self) -> None:
        await self.release_orphans()
        if self.backend is not None:
            await self.backend.start(self)
        self._tasks = [
            asyncio.create_task(self._run(lane), name=f"jobs-worker-{i}") for i, lane in enumerate(self._lanes)
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
        if self.backend is not None:
            await self.backend.stop()

    def wake(self) -> None:
        for event in self._lanes.values():
            event.set()

    def wake_if_written(self) -> None:
        """After a write: wake only when this process has committed a job since the last such
        call. Most writes write no job, and a claim per lane after each of them was a read
        for nothing; jobs of other processes are found by the poll."""
        now = written()
        if now != self._written:
            self._written = now
            self.wake()

    async def release_orphans(self) -> int:
        """At start-up: jobs claimed by a process of this host that is gone are due again now
        (without waiting for their lease to run out)."""
        host = socket.gethostname()
        rows = await Job.select(Job.id, Job.claimed_by).where(Job.status == "running")
        dead = []
        for row in rows:
            who = row["claimed_by"] or ""
            name, _, pid = who.rpartition(":")
            if name == host and pid.isdigit() and not _alive(int(pid)) or who == self.name:
                dead.append(row["id"])
        if dead:
            async with transaction():
                await Job.update({Job.status: "pending", Job.lease_until: None}).where(
                    Job.id.is_in(dead) & (Job.status == "running")
                )
            log.info("resuming %d job(s) left unfinished by a process that stopped", len(dead))
        return len(dead)

    async def _run(self, lane: frozenset[str] | None) -> None:
        wake = self._lanes[lane]
        while True:
            try:
                if self.backend is not None:
                    await self.backend.dispatch(self)
                else:
                    while await self.run_one(lane):
                        pass
            except Exception:  # noqa: BLE001 - the worker goes on; the job is retried by its lease
                log.exception("the job worker failed")
            await wait_set(wake, self.poll_s)
            wake.clear()

    async def due(self, limit: int = 100) -> list[dict[str, Any]]:
        """Jobs due now: pending ones, and claimed ones whose lease ran out."""
        now = dt.datetime.now()
        return await Job.select(Job.id, Job.key, Job.attempts).where(_due(now)).order_by(Job.id).limit(limit)

    async def claim(self, job_id: int | None = None, lane: frozenset[str] | None = None) -> JobContext | None:
        """Take a due job (the first, or ``job_id``; of ``lane``'s kinds, or of none apart when
        None) under a lease; None when none is due; a context with id 0 when another runner
        took it first."""
        now = dt.datetime.now()
        query = Job.select().where(_due(now) if job_id is None else (Job.id == job_id) & _due(now))
        if job_id is None and self.backend is None and self.apart:
            query = query.where(Job.kind.is_in(list(lane)) if lane else Job.kind.not_in(list(self.apart)))
        row = await query.order_by(Job.id).first().output(load_json=True)
        if row is None:
            return None
        async with transaction():
            taken = (
                await Job.update(
                    {
                        Job.status: "running",
                        Job.claimed_by: self.name,
                        Job.lease_until: now + dt.timedelta(seconds=self.lease_s),
                        Job.attempts: Job.attempts + 1,
                    }
                )
                .where((Job.id == row["id"]) & (Job.status == row["status"]) & (Job.attempts == row["attempts"]))
                .returning(Job.id)
            )
        if not taken:
            return JobContext(0, "", "", {}, 0, self.state)  # lost a race: look again
        return JobContext(row["id"], row["kind"], row["key"], row["payload"], row["attempts"] + 1, self.state)

    async def run_one(self, lane: frozenset[str] | None = None) -> bool:
        """Claim and run one due job (of ``lane``, see :meth:`claim`); False when none is due."""
        job = await self.claim(lane=lane)
        if job is None:
            return False
        if not job.id:
            return True
        await self.run(job)
        return True

    async def run(self, job: JobContext) -> None:
        fn = handler_for(job.kind)
        with running(job):
            try:
                if fn is None:
                    raise RuntimeError(f"no handler for job kind {job.kind!r}")
                await fn(job)
                async with transaction():
                    await settle()  # handlers that settled in their own transaction made this a no-op
            except AlreadyDone:
                pass
            except Invalid as exc:  # a refusal with its reason (e.g. a day too big to re-plan live), not a fault
                log.warning("job %s (%s) was refused: %s", job.key, job.kind, exc.detail)
                await self._finish(job, "failed", exc.detail)
            except Exception as exc:  # noqa: BLE001 - retried later; the dispatcher sees the log
                log.exception("a follow-up job failed: %s (%s), attempt %d", job.key, job.kind, job.attempts)
                await self._finish(job, "failed" if job.attempts >= MAX_ATTEMPTS else "pending", repr(exc)[:2000])
        feed = getattr(self.state, "feed", None)
        if feed is not None:  # what it wrote goes out now, not at the next poll
            await feed.poke()

    async def _finish(self, job: JobContext, status: str, error: str) -> None:
        async with transaction():
            await Job.update(
                {
                    Job.status: status,
                    Job.last_error: error,
                    Job.lease_until: None,
                    Job.run_after: dt.datetime.now() + dt.timedelta(seconds=RETRY_S * job.attempts),
                    Job.finished_at: dt.datetime.now() if status == "failed" else None,
                }
            ).where((Job.id == job.id) & (Job.status == "running"))


def _due(now: dt.datetime) -> Any:
    return ((Job.status == "pending") & (Job.run_after <= now)) | ((Job.status == "running") & (Job.lease_until < now))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
