"""The re-plan of a running day as the solver's process runs it: in loops first, else focused.

A function of the pure core, so that a solver process (the pool's, or a ``laadbak worker``)
imports only the planning core to run it: defined in the service module, it made the first
re-plan in each process import the web and database layers first (about 3 s on the bench
day, measured as ``solve`` less ``in_worker``).
"""

from __future__ import annotations

import time

from backend.dispatch.model import Problem
from backend.dispatch.reloads import reloading, replan_in_loops
from backend.dispatch.replan import ReplanResult, replan

# of a re-plan's limit, for the re-plan in loops on a day whose bikes reload; the usual
# re-plan gets the rest when that one cannot be used
LOOPS_SHARE = 0.6


def timed_replan(
    problem: Problem,
    in_force: dict[str, list[str]],
    time_limit_s: float,
    *,
    min_gain_s: int,
    min_solve_s: float,
    on_board: frozenset[str] | None = None,
    loops: dict[str, int] | None = None,
) -> tuple[ReplanResult, dict[str, float]]:
    """The re-plan of ``problem`` from ``in_force`` within ``time_limit_s`` (the usual re-plan
    never below ``min_solve_s``), and its phases in seconds (``in_worker``: all of it)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if on_board is not None and reloading(problem):  # bikes ride loops: what is on a bike stays on its loop
        looped = replan_in_loops(problem, in_force, time_limit_s=LOOPS_SHARE * time_limit_s, on_board=on_board)
        timings["loops"] = time.perf_counter() - t0
        if looped is not None:
            timings["in_worker"] = time.perf_counter() - t0
            return looped, timings
    left = max(min_solve_s, time_limit_s - (time.perf_counter() - t0))
    result = replan(
        problem, in_force, time_limit_s=left, min_gain_s=min_gain_s, timings=timings, loops=loops, on_board=on_board
    )
    # all of it in the solver's process: "solve" less this is the hop there and back (and a wait for a free worker)
    timings["in_worker"] = time.perf_counter() - t0
    return result, timings
