"""The job queue's interface: the registry of kinds, ``enqueue`` (inside the
caller's transaction) and ``settle``. The worker that runs what is due is
``backend.jobs.worker``.

The ``job`` table is the source of truth on every backend: a job is a row
written beside the state change it follows, so a crash cannot separate them.
A worker claims a row with a lease (``lease_until``); a row whose lease ran out
(its process died) is claimed again. Handlers are idempotent by their key, and
call :func:`settle` inside their own write transaction so that their effect
and the row's ``done`` commit together: a job that committed its effect is
never run again.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from backend.db.engine import after_commit, transaction
from backend.db.tables import Job

LEASE_S = 120.0  # longer than any re-plan; a process that died frees its jobs after this


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
_written = 0  # jobs this process has committed: the worker looks after a request only when it moved


def written() -> int:
    """How many jobs this process has written (counted when their transaction commits)."""
    return _written


def _count() -> None:
    global _written
    _written += 1


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of a job kind."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


@contextlib.contextmanager
def running(job: JobContext) -> Iterator[None]:
    """While a worker runs ``job``: ``settle()`` without a key settles it."""
    token = _CURRENT.set(job)
    try:
        yield
    finally:
        _CURRENT.reset(token)


async def enqueue(kind: str, key: str, payload: dict[str, Any], *, run_after: dt.datetime | None = None) -> bool:
    """Write a job; call it inside the transaction of the change it follows.

    ``key`` names the work (``failed_stop:<stop id>``): a second job with the
    same key is not written (False), so a replay or a retry cannot double it.
    """
    async with transaction():  # joins the caller's transaction
        if await Job.exists().where(Job.key == key):
            return False
        await Job.insert(
            Job(kind=kind, key=key, payload=payload, status="pending", run_after=run_after or dt.datetime.now())
        )
    # The worker is woken once the transaction committed (after the response, see
    # app._poke_feed), not here: woken now it could run the job before the answer went out.
    after_commit(_count)
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
    done = (
        await Job.update({Job.status: "done", Job.finished_at: dt.datetime.now()})
        .where(which & Job.status.is_in(["running", "pending"]))
        .returning(Job.id)
    )
    return bool(done)


class AlreadyDone(Exception):
    """The job's effect was committed by someone else; nothing to do."""
