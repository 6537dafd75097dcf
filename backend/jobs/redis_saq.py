"""The Redis backend: due rows of the ``job`` table are handed to SAQ, whose
workers (one in each server process, or in the ``laadbak worker`` processes
when the serving processes only hand over: ``run=False``) run them. The same
workers answer ``solve`` calls (``backend.jobs.solve_queue``).

The table stays the source of truth: a row is written in the transaction of
its change, and SAQ only carries "run row N". The SAQ job key is the row's
key, so handing a row over twice queues it once; the SAQ job claims the row
under a lease before it runs it, so a row is run by one process at a time,
and one that SAQ lost (Redis flushed, a process died) is handed over again
by the next poll once its lease ran out. The SAQ key carries the row's
attempts too: a row freed after its runner died is handed over as a new SAQ
job at once, not held back by the dead one's entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

from saq import Queue
from saq import Worker as SaqWorker
from saq.types import PartialTimersDict

from backend.jobs.solve_queue import SOLVE, run_sealed
from backend.jobs.worker import Worker

log = logging.getLogger("laadbak.jobs")
QUEUE_NAME = "laadbak-jobs"
SWEEP_S = 2


class SaqBackend:
    def __init__(
        self, redis_url: str, *, name: str = QUEUE_NAME, concurrency: int = 4, run: bool = True, secret: str = ""
    ) -> None:
        self.queue = Queue.from_url(redis_url, name=name)
        self.concurrency = concurrency
        self.run = run  # False: only hand rows over; `laadbak worker` processes run them
        self.secret = secret  # seals the solve calls (backend/jobs/solve_queue.py)
        self._saq: SaqWorker | None = None
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, worker: Worker) -> None:
        self._worker = worker
        await self.queue.connect()
        if not self.run:
            return
        self._saq = _Worker(
            self.queue,
            functions=[("run_job", self._run_job), (SOLVE, self._solve)],
            concurrency=self.concurrency,
            id=worker.name,
            # a solve whose worker died runs again within seconds of its timeout
            timers=cast(PartialTimersDict, {"sweep": SWEEP_S}),
        )
        self._task = asyncio.create_task(self._saq.start(), name="saq-worker")  # runs until stopped

    async def dispatch(self, worker: Worker) -> None:
        for row in await worker.due():
            # ttl=-1: nothing kept after it ran, so the key is free for a retry of the row.
            await self.queue.enqueue(
                "run_job",
                key=f"{row['key']}#{row['attempts']}",
                job_id=row["id"],
                timeout=int(worker.lease_s),
                retries=1,
                ttl=-1,
            )

    async def _run_job(self, ctx: dict[str, Any], *, job_id: int) -> None:
        assert self._worker is not None
        job = await self._worker.claim(job_id)
        if job is None or not job.id:
            return  # done already, or another process runs it
        await self._worker.run(job)
        self._worker.wake()  # a job it wrote (a re-plan after a failed stop) is handed over now

    async def _solve(self, ctx: dict[str, Any], *, call: str) -> str:
        assert self._worker is not None
        return await run_sealed(self.secret, call, getattr(self._worker.state, "executor", None))

    async def stop(self) -> None:
        if self._saq is not None and self._task is not None:
            await self._saq.stop()
            self._saq = None
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.queue.disconnect()


class _Worker(SaqWorker):
    SIGNALS: list[Any] = []  # the server owns SIGINT/SIGTERM; it stops this worker in its lifespan
