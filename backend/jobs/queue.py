"""The job queue's interface: the registry of kinds, ``enqueue`` (inside the
caller's transaction) and the worker that runs what is due.

The ``job`` table is the source of truth on every backend: a job is a row
written beside the state change it follows, so a crash cannot separate them.
A worker claims a row with a lease (``lease_until``); a row whose lease ran out
(its process died) is claimed again. Handlers are idempotent by their key, and
call :func:`settle` inside their own write transaction so that their effect
and the row's ``done`` commit together: a job that committed its effect is
never run again.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from backend.db.engine import transaction
from backend.db.tables import Job
from backend.errors import Invalid

log = logging.getLogger("laadbak.jobs")

LEASE_S = 120.0  # longer than any re-plan; a process that died frees its jobs after this
POLL_S = 2.0  # a cheap indexed read when idle; writes in this process wake the worker at once
MAX_ATTEMPTS = 5
RETRY_S = 5.0


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the row and the application's state (geo, executor, settings…)."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    state: Any


Handler = Callable[[JobContext], Awaitable[Any]]
_HANDLERS: dict[str, Handler] = {}
_CURRENT: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("laadbak_job", default=None)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of a job kind."""
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn
    return register


async def enqueue(kind: str, key: str, payload: dict[str, Any], *, run_after: dt.datetime | None = None) -> bool:
    """Write a job; call it inside the transaction of the change it follows.

    ``key`` names the work (``failed_stop:<stop id>``): a second job with the
    same key is not written (False), so a replay or a retry cannot double it.
    """
    async with transaction():  # joins the caller's transaction
        if await Job.exists().where(Job.key == key):
            return False
        await Job.insert(Job(kind=kind, key=key, payload=payload, status="pending",
                             run_after=run_after or dt.datetime.now()))
    # The worker is woken once the transaction committed (after the response, see
    # app._poke_feed), not here: woken now it could run the job before the answer went out.
    return True


async def settle(key: str | None = None) -> bool:
    """Mark the running job done, inside the handler's own write transaction.

    False when it was done already (another process ran it after this one's
    lease ran out): the handler then raises to roll its effect back. With
    ``key``, the job of that key (run within a request, not by a worker).
    """
    job = _CURRENT.get()
    if job is None and key is None:
        return True  # called outside a job (a direct call in a test or a script)
    which = (Job.id == job.id) if job is not None else (Job.key == key)
    done = await Job.update({Job.status: "done", Job.finished_at: dt.datetime.now()}).where(
        which & Job.status.is_in(["running", "pending"])).returning(Job.id)
    return bool(done)


class AlreadyDone(Exception):
    """The job's effect was committed by someone else; nothing to do."""


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
    (the table backend), or hands them to ``backend`` to run."""

    def __init__(self, state: Any, *, backend: Backend | None = None, poll_s: float = POLL_S,
                 lease_s: float = LEASE_S) -> None:
        self.state, self.backend, self.poll_s, self.lease_s = state, backend, poll_s, lease_s
        self.name = me()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.release_orphans()
        if self.backend is not None:
            await self.backend.start(self)
        self._task = asyncio.create_task(self._run(), name="jobs-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None
        if self.backend is not None:
            await self.backend.stop()

    def wake(self) -> None:
        self._wake.set()

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
                    Job.id.is_in(dead) & (Job.status == "running"))
            log.info("resuming %d job(s) left unfinished by a process that stopped", len(dead))
        return len(dead)

    async def _run(self) -> None:
        while True:
            try:
                if self.backend is not None:
                    await self.backend.dispatch(self)
                else:
                    while await self.run_one():
                        pass
            except Exception:  # noqa: BLE001 - the worker goes on; the job is retried by its lease
                log.exception("the job worker failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def due(self, limit: int = 100) -> list[dict[str, Any]]:
        """Jobs due now: pending ones, and claimed ones whose lease ran out."""
        now = dt.datetime.now()
        return await Job.select(Job.id, Job.key).where(_due(now)).order_by(Job.id).limit(limit)

    async def claim(self, job_id: int | None = None) -> JobContext | None:
        """Take a due job (the first, or ``job_id``) under a lease; None when none is due;
        a context with id 0 when another runner took it first."""
        now = dt.datetime.now()
        query = Job.select().where(_due(now) if job_id is None else (Job.id == job_id) & _due(now))
        row = await query.order_by(Job.id).first().output(load_json=True)
        if row is None:
            return None
        async with transaction():
            taken = await Job.update({Job.status: "running", Job.claimed_by: self.name,
                                      Job.lease_until: now + dt.timedelta(seconds=self.lease_s),
                                      Job.attempts: Job.attempts + 1}).where(
                (Job.id == row["id"]) & (Job.status == row["status"]) & (Job.attempts == row["attempts"])
            ).returning(Job.id)
        if not taken:
            return JobContext(0, "", "", {}, 0, self.state)  # lost a race: look again
        return JobContext(row["id"], row["kind"], row["key"], row["payload"], row["attempts"] + 1, self.state)

    async def run_one(self) -> bool:
        """Claim and run one due job; False when none is due."""
        job = await self.claim()
        if job is None:
            return False
        if not job.id:
            return True
        await self.run(job)
        return True

    async def run(self, job: JobContext) -> None:
        fn = _HANDLERS.get(job.kind)
        token = _CURRENT.set(job)
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
        finally:
            _CURRENT.reset(token)
        feed = getattr(self.state, "feed", None)
        if feed is not None:  # what it wrote goes out now, not at the next poll
            await feed.poke()

    async def _finish(self, job: JobContext, status: str, error: str) -> None:
        async with transaction():
            await Job.update({Job.status: status, Job.last_error: error, Job.lease_until: None,
                              Job.run_after: dt.datetime.now() + dt.timedelta(seconds=RETRY_S * job.attempts),
                              Job.finished_at: dt.datetime.now() if status == "failed" else None}).where(
                (Job.id == job.id) & (Job.status == "running"))


def _due(now: dt.datetime) -> Any:
    return (((Job.status == "pending") & (Job.run_after <= now))
            | ((Job.status == "running") & (Job.lease_until < now)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
