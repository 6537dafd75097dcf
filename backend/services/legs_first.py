"""A closure's re-plan answers from the legs of the routes in force first ("legs first").

A street closed (or reopened) in the running day gives a network whose weights are
not known yet: its whole day matrices cost ~0.9 s of Dijkstra runs on the centre's
busy streets (1.35 s seen under `bench replan`), and its quick answer (the routes in
force re-timed, the stops on no route put in, backend/dispatch/quick.py) reads only
the legs of those routes and the rows and columns of the hub (the stops cut off, the
bikes' reach, the rides back between loops) and of the stops on no route (where each
may go: :func:`free_places`). So :func:`day_matrices` gives, while that network is not
known, matrices filled only there (backend/dispatch/closed_legs.py: exact,
:data:`POISON` elsewhere), and :func:`backend.services.replanning.work_out` uses them
for the quick answer and its checker only (``quick_replan(moves=False)``). A stop to
move to another route, more than ``MAX_FREE`` stops on no route, or an answer the
checker refuses, reads the day again with the whole matrices. After the answer the
whole matrices are computed in the background (:func:`complete_later`), so the next
re-plans find them kept.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from backend.dispatch.closed_legs import POISON, DayLegs, route_paths
from backend.dispatch.model import Problem, Vehicle
from backend.dispatch.model import Stop as PlanStop
from backend.services.geo import Geo

__all__ = [
    "POISON",
    "DayMats",
    "complete_later",
    "completed",
    "day_matrices",
    "fill_ahead",
    "fill_free",
    "fill_routes",
    "free_places",
]

log = logging.getLogger("laadbak.replan")
# The whole matrices start this long after the answer is saved: the phones' messages go out first
# (a Dijkstra call holds the GIL).
COMPLETE_AFTER_S = 0.2
_running: set[asyncio.Task[Any]] = set()
# Stops on no route whose rows and columns legs first fills (two Dijkstra runs each at most,
# about a millisecond): past this many, the whole matrices are read at once.
MAX_FREE = 100


class DayMats(NamedTuple):
    time: np.ndarray
    dist: np.ndarray
    loc: np.ndarray  # per place its index in time and dist
    baseline: tuple[np.ndarray, np.ndarray] | None  # see DayInput.baseline
    legs: DayLegs | None  # legs first: exact only where filled
    complete: Callable[[], object] | None  # legs first: the whole matrices, to compute after the answer


async def day_matrices(
    geo: Geo,
    places: list[tuple[float, float]],
    n_known: int,
    closed: np.ndarray,
    walked: np.ndarray,
    baseline_closed: np.ndarray | None,
    legs_first: bool,
) -> DayMats:
    """The day's matrices (``places``: the hub, the stops, then the bikes), and with
    ``baseline_closed`` the baseline of its first ``n_known`` places; ``legs_first``: only
    the hub's row and column while the closed network is not known (then ``legs``)."""
    net = geo.network
    kept_before = None
    if baseline_closed is not None:
        # Hub and stops only: the bikes' positions move between re-plans, and each new
        # place would cost Dijkstra runs on the path to the phone. Read before the closed
        # network's: the networks of recent closures are kept by last use, and the one
        # before this change must stay kept (built again, it cost a second full matrix).
        kept_before = await asyncio.to_thread(net.day_matrices, places[:n_known], baseline_closed, walked)
    legs = None
    if legs_first and baseline_closed is not None:
        legs = await asyncio.to_thread(_hub_lines, net, places, closed, walked)
    complete = None
    if legs is not None:
        time_m, dist_m, loc = legs.time, legs.dist, np.arange(len(places))
        complete = functools.partial(net.day_matrices, places, closed, walked)
    else:
        # the day's matrices are kept between calls (a running day is re-planned again and
        # again with nearly the same places) and reach the solver's process by name
        kept = await asyncio.to_thread(net.day_matrices, places, closed, walked)
        if kept is None:  # a day too big to keep
            time_m, dist_m = await asyncio.to_thread(net.matrices, places, closed, walked)
            loc = np.arange(len(places))
        else:
            time_m, dist_m, loc = kept
    baseline = None
    if kept_before is not None:
        base_of = np.full(len(time_m), -1, dtype=np.int64)
        base_of[loc[:n_known]] = kept_before[2]
        baseline = (kept_before[0], base_of)
    return DayMats(time_m, dist_m, loc, baseline, legs, complete)


def free_places(stops: list[dict[str, Any]], routes: list[dict[str, Any]]) -> list[int]:
    """The places (indices of the day's places: the hub, then ``stops``) of the stops on no
    route in force: a new order, a failed stop's next try, a stop an earlier re-plan left
    waiting. The quick answer puts them in, reading their rows and columns."""
    on_routes = {s["stop_id"] for r in routes for s in r["stops"]}
    return [i + 1 for i, s in enumerate(stops) if s["id"] not in on_routes]


def _hub_lines(net: Any, places: list[tuple[float, float]], closed: np.ndarray, walked: np.ndarray) -> DayLegs | None:
    legs: DayLegs | None = net.day_legs(places, closed, walked)
    if legs is not None:
        legs.fill_lines([0])
    return legs


async def fill_ahead(
    legs: DayLegs, ahead: dict[int, list[int]], vehicles: Sequence[Vehicle], stops: Sequence[PlanStop]
) -> None:
    """The legs a bike's range is checked on (services/day.py, ``_short_of_range``): from
    where it is through the stops ahead of it on its route in force, to its end."""
    where = {ps.id: ps.location for ps in stops}
    paths = [
        [v.start_location, *(where[str(s)] for s in ahead.get(int(v.id.removeprefix("shift-")), []) if str(s) in where)]
        + [v.end_location]
        for v in vehicles
    ]
    await asyncio.to_thread(legs.fill_paths, paths)


async def fill_free(legs: DayLegs, places: Sequence[int]) -> None:
    """The rows and columns of the stops on no route (:func:`free_places`)."""
    await asyncio.to_thread(legs.fill_lines, places)


async def fill_routes(legs: DayLegs, problem: Problem, routes: list[dict[str, Any]]) -> None:
    """The legs of the routes in force, as the quick answer and its checker ride them."""
    in_force = {f"shift-{r['shift']}": [str(s["stop_id"]) for s in r["stops"]] for r in routes}
    loops = {f"shift-{r['shift']}": [int(s.get("loop", 1)) for s in r["stops"]] for r in routes}
    await asyncio.to_thread(legs.fill_paths, route_paths(problem, in_force, loops))


def complete_later(complete: Callable[[], object] | None) -> None:
    """After a legs-first answer is saved: the whole matrices it skipped, in a thread."""
    if complete is None:
        return

    async def run() -> None:
        await asyncio.sleep(COMPLETE_AFTER_S)
        try:
            await asyncio.to_thread(complete)
        except Exception:  # noqa: BLE001 - the next re-plan computes them itself
            log.exception("the whole matrices after a closure's answer failed")

    task = asyncio.get_running_loop().create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)


async def completed() -> None:
    """Wait for the whole matrices being computed after answers (tests, shutting down)."""
    while _running:
        await asyncio.gather(*_running)
