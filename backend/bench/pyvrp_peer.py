"""PyVRP as the peer solver of ``laadbak bench plan --peer pyvrp``.

The peer is PyVRP on its own, as its users run it: every visit required, the
default search, the bench's seed, the same wall-clock limit and the very same
integer problem our planner gets (the translation is
:mod:`backend.dispatch.pyvrp_engine`, which is also our planner's second engine).
Its plan is re-timed on our matrices and judged by our checker like ours.
"""

from __future__ import annotations

import math
import time

import msgspec

from backend.dispatch.model import Plan, Problem
from backend.dispatch.pyvrp_engine import (
    PyVRPUnavailable,
    plan_from_sequences,
    pyvrp_version,
    require_pyvrp,
    sequences_from_solution,
    to_pyvrp,
    unsupported,
)

PeerUnavailable = PyVRPUnavailable

__all__ = ["PeerResult", "PeerUnavailable", "pyvrp_version", "require_pyvrp", "solve_peer"]


class PeerResult(msgspec.Struct, kw_only=True):
    plan: Plan | None  # None when unavailable
    seconds: float  # wall clock: hand-over to PyVRP, search, and back
    status: str  # "feasible", "infeasible" (PyVRP's own verdict), or "unavailable"
    reason: str = ""  # why unavailable
    pyvrp_cost: int | None = None  # PyVRP's objective on its best solution
    iterations: int | None = None


def solve_peer(
    problem: Problem,
    time_limit_s: float,
    *,
    seed: int = 0,
    coords: list[tuple[float, float]] | None = None,
) -> PeerResult:
    """Solve ``problem`` with PyVRP within ``time_limit_s`` of wall clock, hand-over included.

    Raises :class:`PeerUnavailable` when PyVRP is not installed; a problem it
    cannot model gives ``status="unavailable"`` and the reason.
    """
    pyvrp = require_pyvrp()
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    why = unsupported(problem)
    if why:
        return PeerResult(plan=None, seconds=0.0, status="unavailable", reason=why)
    if not problem.stops or not problem.vehicles:
        plan = plan_from_sequences(problem, {}, solve_s=0.0, status="feasible")
        return PeerResult(plan=plan, seconds=round(time.perf_counter() - t0, 3), status="feasible")
    data, mapping = to_pyvrp(problem, coords)
    left = max(0.01, time_limit_s - (time.perf_counter() - t0))
    result = pyvrp.solve(data, stop=MaxRuntime(left), seed=seed, collect_stats=False, display=False)
    best = result.best
    status = "feasible" if best.is_feasible() else "infeasible"
    seqs = sequences_from_solution(best, mapping)
    seconds = time.perf_counter() - t0
    plan = plan_from_sequences(
        problem, seqs, solve_s=seconds, status=status, unplanned_detail="left out by the peer solver"
    )
    return PeerResult(
        plan=plan,
        seconds=round(time.perf_counter() - t0, 3),
        status=status,
        pyvrp_cost=int(result.cost()) if math.isfinite(result.cost()) else None,
        iterations=int(result.num_iterations),
    )
