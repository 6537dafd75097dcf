"""Solves handed to ``laadbak worker`` processes through the job queue (SAQ over Redis).

A serving process started with ``LAADBAK_SOLVER_QUEUE=1`` solves nothing
itself: its ``ctx.pool`` is a :class:`QueueExecutor`, whose ``submit`` puts
the call (a top-level function and its arguments, as a process pool gets it)
on the queue as a SAQ job ``solve`` and waits for the answer. A solver worker
runs it in its own process pool (``run_sealed``) and answers the result.

The call travels pickled, so it is sealed with the deployment's secret key
(HMAC-SHA256): a worker unpickles only what a process holding that key sent,
not whatever else can write to Redis. Matrices that live in this host's shared
memory (``backend.dispatch.shared_matrix``) go by value: the worker may be on
another machine.

A worker that dies mid-solve loses nothing: SAQ's sweep finds the job stuck
after its timeout and runs it again on another worker (``retries``); the
request waits that long. Durable follow-ups (a failed stop's re-plan) are rows
of the job table and are retried by their lease (``backend.jobs.worker``).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import functools
import hashlib
import hmac
import io
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from backend.dispatch.shared_matrix import SharedMatrix

SOLVE = "solve"
POLL_S = 0.02  # how often a waiting request looks for its answer (one Redis read)


class _ByValue(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, SharedMatrix):
            return np.asarray(obj).copy().__reduce__()  # the numbers, not the name of this host's block
        return NotImplemented


def seal(secret: str, obj: Any) -> str:
    """``obj`` pickled (shared matrices by value) and signed with ``secret``, as text."""
    buf = io.BytesIO()
    _ByValue(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    data = buf.getvalue()
    mac = hmac.new(secret.encode(), data, hashlib.sha256).digest()
    return base64.b64encode(mac + data).decode("ascii")


def unseal(secret: str, text: str) -> Any:
    """What :func:`seal` sealed; ValueError when it was not sealed with ``secret``."""
    raw = base64.b64decode(text)
    mac, data = raw[:32], raw[32:]
    if not hmac.compare_digest(mac, hmac.new(secret.encode(), data, hashlib.sha256).digest()):
        raise ValueError("a solve call not sealed with this deployment's LAADBAK_SECRET_KEY was refused")
    return pickle.loads(data)  # noqa: S301 - signed by a process holding the secret key


async def run_sealed(secret: str, call: str, executor: concurrent.futures.Executor | None) -> str:
    """The worker's side: unseal the call, run it in ``executor`` (a thread when None), seal the answer."""
    fn, args, kwargs = unseal(secret, call)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))
    return seal(secret, result)


class QueueExecutor(concurrent.futures.Executor):
    """An executor whose calls run in the solver workers; ``submit`` only from the event loop
    (``loop.run_in_executor`` calls it there)."""

    def __init__(self, queue: Any, secret: str, *, timeout_s: float, retries: int = 2) -> None:
        self.queue, self.secret = queue, secret
        self.timeout_s, self.retries = timeout_s, retries
        self._tasks: set[asyncio.Task[Any]] = set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        call = seal(self.secret, (fn, args, kwargs))
        task = asyncio.get_running_loop().create_task(self._apply(call))
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if future.cancelled():
                return
            if t.cancelled():
                future.cancel()
            elif t.exception() is not None:
                future.set_exception(t.exception())  # type: ignore[arg-type]
            else:
                future.set_result(t.result())

        task.add_done_callback(done)
        future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        return future

    async def _apply(self, call: str) -> Any:
        # The job's own timeout is what SAQ's sweep holds it to (then it runs again, elsewhere);
        # the wait covers the retries.
        (answer,) = await self.queue.map(
            SOLVE,
            [{"call": call, "timeout": self.timeout_s}],  # the job's timeout, before a retry
            timeout=self.timeout_s * (self.retries + 1) + 10,  # the wait, retries included
            poll_interval=POLL_S,
            retries=self.retries,
            ttl=60,
        )
        if answer is None:
            raise RuntimeError("the solver worker's answer was lost (expired in Redis)")
        return unseal(self.secret, answer)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            for task in list(self._tasks):
                task.cancel()
