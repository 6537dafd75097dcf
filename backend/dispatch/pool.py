"""The solver process pool: OR-Tools holds the GIL, so never solve on the event loop.

:func:`new_pool` is the one way a pool of solver workers is made (spawned, each
ending with its parent); the app owns one for its lifetime, scripts and benches
share the module's pool (:func:`get_pool`). Whatever is sent to a pool is a
top-level function of an importable module, so that it pickles.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import multiprocessing
import os
import threading
import time
from typing import Any

from backend.dispatch.model import (
    Plan,
    Problem,
)
from backend.dispatch.ortools_search import solve

_POOL: concurrent.futures.ProcessPoolExecutor | None = None


def start_worker(parent_pid: int) -> None:
    """Pool initializer: load the solvers (PyVRP is otherwise imported at the first solve that
    uses it) and end with the parent."""
    import importlib

    for name in ("backend.dispatch.portfolio", "backend.dispatch.pyvrp_translate", "pyvrp", "pyvrp.stop"):
        importlib.import_module(name)
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int) -> None:
    """End this worker when the process that started it is gone.

    A server killed hard leaves its workers to finish whatever solve they hold,
    gigabytes and a core each, with nobody waiting for the answer.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def new_pool(max_workers: int | None = None) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of solver workers: spawned (no forked locks or threads), each ending with us.

    ``max_workers`` None: one per core.
    """
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(os.getpid(),),
    )


def _started() -> int:
    return os.getpid()


def warm_pool(pool: concurrent.futures.ProcessPoolExecutor, workers: int) -> list[concurrent.futures.Future[int]]:
    """Start ``workers`` solver processes now rather than at the first solve: spawning one and
    importing OR-Tools and PyVRP (:func:`start_worker`) takes 1-2 s, which the first re-plan of
    the day (a phone waiting) would otherwise pay. The pool starts a process per task while
    none is idle."""
    return [pool.submit(_started) for _ in range(workers)]


def get_pool(max_workers: int | None = None) -> concurrent.futures.ProcessPoolExecutor:
    """The module's solver pool (spawn context), created on first use."""
    global _POOL
    if _POOL is None:
        _POOL = new_pool(max_workers or os.cpu_count() or 1)
    return _POOL


def shutdown_pool(wait: bool = True) -> None:
    """Stop the module's pool (e.g. in the app's shutdown hook)."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=wait, cancel_futures=True)
        _POOL = None


def solve_in_pool(
    problem: Problem,
    time_limit_s: float = 10.0,
    *,
    executor: concurrent.futures.Executor | None = None,
    max_workers: int | None = None,
    **kwargs: Any,
) -> concurrent.futures.Future[Plan]:
    """Submit ``solve`` to a process pool; returns a concurrent Future of the Plan."""
    pool = executor or get_pool(max_workers)
    return pool.submit(solve, problem, time_limit_s, **kwargs)


async def solve_async(
    problem: Problem,
    time_limit_s: float = 10.0,
    executor: concurrent.futures.Executor | None = None,
    **kwargs: Any,
) -> Plan:
    """Await a plan computed in a process pool (the module pool unless one is given)."""
    loop = asyncio.get_running_loop()
    pool = executor or get_pool()
    return await loop.run_in_executor(pool, functools.partial(solve, problem, time_limit_s, **kwargs))
