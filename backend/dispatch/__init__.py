"""The pure planning core: street network, geocoder, calendar, VRP model, solver, checker.

Imports nothing from the web or the database (tests/unit/test_purity.py keeps it so).

The planning API, flat (the rest is in the modules: ``network``, ``geocode``,
``calendar``, ``closures``, ``failed_stop``, ``benchmarks``)::

    from backend.dispatch import Problem, Stop, Vehicle, Window, solve, check

    plan = solve(problem, time_limit_s=5)
    assert check(problem, plan) == []

Where the OR-Tools engine lives: ``diagnosis`` (stops no bike could serve),
``nodes`` and ``ortools_model`` (the model), ``ortools_search`` (``solve``),
``warm_start``, ``insertion`` and ``restore`` (starting from routes in force),
``scheduling`` (the one schedule of a route), ``pool`` (the solver processes);
``pyvrp_engine`` is the second engine, ``portfolio`` races them (``solve_best``),
``replan`` re-plans a live day. As in PyVRP (``pyvrp.solve``), ``replan`` here
is the function, which hides the module of that name on the package: import
the module's other names from ``backend.dispatch.replan`` itself.
"""

from backend.dispatch.diagnosis import diagnose
from backend.dispatch.feasibility import check, check_route
from backend.dispatch.model import (
    Plan,
    PlannedStop,
    Problem,
    Route,
    Sequence,
    Stop,
    StopKind,
    Unplanned,
    UnplannedReason,
    Vehicle,
    Violation,
    Window,
)
from backend.dispatch.ortools_search import solve
from backend.dispatch.pool import get_pool, new_pool, shutdown_pool, solve_async, solve_in_pool
from backend.dispatch.portfolio import solve_best, solve_best_async
from backend.dispatch.replan import ReplanResult, replan
from backend.dispatch.scheduling import Schedule, build_route, earliest_plan, schedule
from backend.dispatch.windows import travel_time

__all__ = [
    "Plan",
    "PlannedStop",
    "Problem",
    "ReplanResult",
    "Route",
    "Schedule",
    "Sequence",
    "Stop",
    "StopKind",
    "Unplanned",
    "UnplannedReason",
    "Vehicle",
    "Violation",
    "Window",
    "build_route",
    "check",
    "check_route",
    "diagnose",
    "earliest_plan",
    "get_pool",
    "new_pool",
    "replan",
    "schedule",
    "shutdown_pool",
    "solve",
    "solve_async",
    "solve_best",
    "solve_best_async",
    "solve_in_pool",
    "travel_time",
]
