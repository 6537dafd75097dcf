"""A solve handed to the job queue (backend/jobs/solve_queue.py): a serving process that only
hands over, a SAQ worker that runs the call and answers; a call sealed with another key is refused."""

from __future__ import annotations

import asyncio
import functools
import uuid

import pytest

from backend.jobs.redis_saq import SaqBackend
from backend.jobs.solve_queue import QueueExecutor
from tests.api.redis_check import redis_or_skip


async def test_a_call_through_the_queue_runs_in_a_worker_and_answers(monkeypatch) -> None:
    url = await redis_or_skip()
    name = f"test-solve-{uuid.uuid4()}"

    class State:
        executor = None  # the worker runs the call in a thread

    class Runner:  # the part of backend.jobs.Worker a SAQ backend uses
        state, name, lease_s = State(), "test-runner", 30.0

        async def due(self) -> list[dict[str, object]]:
            return []

    worker = SaqBackend(url, name=name, secret="s")
    serving = SaqBackend(url, name=name, run=False, secret="s")  # hands over, runs nothing
    await worker.start(Runner())  # type: ignore[arg-type]
    await serving.start(Runner())  # type: ignore[arg-type]
    try:
        pool = QueueExecutor(serving.queue, "s", timeout_s=20)
        loop = asyncio.get_running_loop()
        total = await asyncio.wait_for(loop.run_in_executor(pool, functools.partial(sum, [1, 2, 3])), 30)
        assert total == 6
        wrong = QueueExecutor(serving.queue, "not-the-key", timeout_s=5, retries=1)
        with pytest.raises(Exception, match="LAADBAK_SECRET_KEY|JobError|failed"):
            await asyncio.wait_for(loop.run_in_executor(wrong, functools.partial(sum, [1])), 30)
    finally:
        await serving.stop()
        await worker.stop()
