"""PyVRP's search with every visit required, optional only when that finds no plan.

With every visit optional (at a prize above anything serving it could cost)
PyVRP's search lands far worse on a day where every visit fits: on the demo
day's baskets relaxation (303 stops), 4 s, 29473 and 30477 (seeds 1, 2) against
27054 and 25850 with every visit required (issue #15). So the search starts
with every visit required and runs the whole limit so when it has a plan of
every visit by ``REQUIRED_SHARE`` of the limit; else it stops there and the rest
of the limit goes to a search with every visit optional, from its best (a day
with too little room: the best plan of what fits).

A search without a warm start starts from an empty solution made locally optimal,
not from PyVRP's own start (a random one): :func:`search`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

# a required-visits search without a plan of every visit at this share of the limit gives up
# (at half, a run short of CPU on the demo baskets relaxation, 1.3 s of a 5 s limit, had none
# yet where the day fits, and its optional rest ended at 30181 against 26388-27367)
REQUIRED_SHARE = 0.8
_INFEASIBLE = (1 << 63) - 1  # what PyVRP's CostEvaluator.cost gives an infeasible solution
# the late-acceptance history of PyVRP's local search: this many iterations a second of the
# limit, within these bounds (PyVRP's default, 300, suits runs of minutes). A run of a few
# seconds makes a few hundred iterations, and with 300 it accepted almost any candidate for
# most of them: demo multi_trip, 5 s, seeds 1-3: 25842, 26079, 25702 with 300; 25091, 24924,
# 24788 with 30; 24301, 24866, 24831 with 5; baskets relaxation, 4 s: 27794, 27087, 29266
# with 300; 25945, 25142, 25618 with 10. Per second of a 10 s run (seeds 1, 2; baskets: the
# relaxed run, seeds 1-3): 5 a second was the best of 2, 5 and 30: plain 17348, 17272 (2:
# 17423, 17782; 30: 17380, 17341), multi_trip 24240, 24238 (2: 24720, 24040), baskets
# 23897, 24321, 24043 (2: 24822, 24884, 24459).
HISTORY_PER_S = 5.0
HISTORY_BOUNDS = (5, 300)
# On a day of single visits (no windows to choose from, no loops likely, no locks, no pairs)
# of at most PACE_MAX_CLIENTS the history is sized by the search's own pace instead: a probe
# of PROBE_SHARE of the time measures it, and the search proper starts again from the same
# start with PACE_HISTORY_SHARE of the iterations it will make at that pace (never shorter
# than the rule above). Such a day stalls in a local optimum with the short history: city day
# of 500 stops, plain, 10 s, two runs at a time, 9 seeds at 50: mean 23,283 (23,103-23,469);
# 8 seeds at 150-300 from the start (1.5-3 % of its 7,000-11,000 iterations): mean 23,008;
# sized after a first second at 50 and gone on from its best: mean 23,168 (the long
# history's first steps, which take any candidate better than the start, are what gains);
# sized by a probe, 4 % (about 200), 12 seeds: mean 23,043 (22,818-23,481). Demo plain:
# 17,367 and 17,290 at 50; 17,211 and 17,191 at 250; by a probe 17,107-17,293. Where a
# stop's windows or a bike's loops are choices the short history stays ahead (city 500
# multi_trip 31,916, 32,156 at 50, 33,259, 32,785 at 100; windows 21,188, 21,768, 21,261
# at 50, 21,651, 21,581, 21,275 at 150). On the city day of
# 2,000 stops (1,436 visits) 50 is already about 2 % of its 1,500-2,000 iterations in 10 s
# (300: 59,105, 58,423 against 57,238, 57,806), a probe sees 17 iterations in 0.3 s, and a
# search broken by a probe and gone on from its best lost about 1 % (58,062-59,012 in four
# seeds against 57,031-58,841): no probe there.
PROBE_SHARE = 0.03
PACE_HISTORY_SHARE = 0.04
PACE_MAX_CLIENTS = 1000
# how often at most a watcher sees a search's new best (each look costs the search its time)
WATCH_EVERY_S = 0.5


def solve_params(limit_s: float, watch: Watch | None = None) -> Any:
    """PyVRP's search parameters for a run of ``limit_s`` seconds: its history
    (``HISTORY_PER_S``), and ``watch`` told of its best solutions."""
    import pyvrp

    lo, hi = HISTORY_BOUNDS
    history = min(hi, max(lo, round(HISTORY_PER_S * limit_s)))
    ils = pyvrp.IteratedLocalSearchParams(history_length=history)
    if watch is not None:
        ils = pyvrp.IteratedLocalSearchParams(history_length=history, callbacks=watch.callbacks())
    return pyvrp.SolveParams(ils=ils)


class Watch:
    """What a caller follows of a PyVRP search. ``see`` is shown its new best solutions, at
    most one every ``WATCH_EVERY_S`` (each look costs the search its time), and from
    ``decide_at`` (perf_counter seconds) on the search stops as soon as ``go_on()`` says no,
    having shown ``see`` its newest best first. The layers that know the search's data set
    ``mapping`` and ``convert`` (a solution into what ``see`` takes)."""

    def __init__(
        self, see: Callable[[Any], None], *, go_on: Callable[[], bool] | None = None, decide_at: float = math.inf
    ) -> None:
        self.see, self.go_on, self.decide_at = see, go_on, decide_at
        self.mapping: Any = None
        self.convert: Callable[[Any], Any] = lambda solution: solution
        self._pending: Any = None
        self._next = 0.0
        self._decided = False

    def best(self, solution: Any) -> None:
        self._pending = solution
        if time.perf_counter() >= self._next:
            self.flush()

    def flush(self) -> None:
        """Show ``see`` the newest best, if it has not seen it."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.see(self.convert(pending))
            self._next = time.perf_counter() + WATCH_EVERY_S

    def stop(self) -> bool:
        """Whether the search should stop now."""
        if self.go_on is None or time.perf_counter() < self.decide_at:
            return False
        if not self._decided:
            self._decided = True
            self.flush()
        return not self.go_on()

    def callbacks(self) -> Any:
        import pyvrp

        watch = self

        class _OnBest(pyvrp.IteratedLocalSearchCallbacks):
            def on_best(self, best: Any) -> None:
                watch.best(best)

        return _OnBest()


class RequiredFirstStop:
    """A PyVRP stopping criterion: at ``deadline`` (perf_counter seconds), at ``give_up``
    while the best solution is still infeasible, or when ``watch`` says so."""

    def __init__(self, deadline: float, give_up: float, watch: Watch | None = None) -> None:
        self.deadline = deadline
        self.give_up = give_up
        self.watch = watch
        self.gave_up = False

    def __call__(self, best_cost: int) -> bool:
        now = time.perf_counter()
        if now >= self.deadline or (self.watch is not None and self.watch.stop()):
            return True
        self.gave_up = now >= self.give_up and best_cost >= _INFEASIBLE
        return self.gave_up


def search_required_first(
    build: Callable[[bool], tuple[Any, Any]],
    deadline: float,
    *,
    seed: int,
    initial: Callable[[Any, Any], Any] | None = None,
    stats: dict[str, float] | None = None,
    watch: Watch | None = None,
) -> tuple[Any, Any]:
    """PyVRP's best solution by ``deadline`` (perf_counter seconds), and the mapping of its data.

    ``build(optional)`` makes the PyVRP data and mapping (visits optional or required);
    ``initial(data, mapping)``, if given, the first solution of the required search;
    ``watch``, if given, follows the required search (:class:`Watch`).
    """
    from pyvrp.stop import MaxRuntime

    data, mapping = build(False)
    first = initial(data, mapping) if initial is not None else None
    now = time.perf_counter()
    stop = RequiredFirstStop(deadline, now + REQUIRED_SHARE * max(0.0, deadline - now), watch)
    if watch is not None:
        watch.mapping = mapping
    result = search(data, stop, solve_params(deadline - now, watch), seed, first, mapping.lock_dims, deadline)
    best, iterations = result.best, result.num_iterations
    required = best.is_feasible()
    if not required:
        data, mapping = build(True)
        left = max(0.01, deadline - time.perf_counter())
        initial = same_solution(data, best)
        result = search(data, MaxRuntime(left), solve_params(left), seed, initial, mapping.lock_dims, deadline)
        best, iterations = result.best, iterations + result.num_iterations
    if stats is not None:
        stats["iterations"] = float(iterations)
        stats["required"] = float(required)  # 1.0: a plan of every visit
    return best, mapping


def search(
    data: Any, stop: Any, params: Any, seed: int, initial: Any = None, lock_dims: int = 0, deadline: float | None = None
) -> Any:
    """PyVRP's search (as ``pyvrp.solve``) until ``stop``, from ``initial``; without one, from
    its local search run to a local optimum from an empty solution, which puts each visit in
    where its neighbours are (one local search for both: its neighbour lists, 0.2 s on 1,436
    visits, are built once). With ``lock_dims`` (locks kept as load dimensions,
    :mod:`backend.dispatch.lock_codes`) the start rides each lock's visits on its bike and
    the neighbour lists join the visits of one lock (:func:`~backend.dispatch.lock_codes.lock_start`).

    PyVRP's own start is a random solution made locally optimal the same way, before
    the stopping criterion is first asked: on a city day of 1,436 visits (``bench plan
    --suite city --stops 2000``, plain) that took 1.2 s against 0.6 s from empty and
    landed worse, and the 10 s search from it ended 3-4 % worse (seeds 1, 2: riding
    66445, 67429 against 64724, 63466); on 500 stops and in loops (reload depots) the
    two starts came out level.

    With ``deadline`` (perf_counter seconds) on a day of single visits (:func:`sized_by_pace`)
    the history is sized by the search's own pace, measured by a probe.
    """
    import pyvrp

    from backend.dispatch.lock_codes import lock_start

    ls, penalties = _local_search(data, params, seed, lock_dims)
    if initial is None:  # (pyvrp.solve with an initial solution starts from it as it is)
        initial = ls(lock_start(data, lock_dims), penalties.max_cost_evaluator(), exhaustive=True)
    if deadline is None or not sized_by_pace(data, lock_dims):
        return pyvrp.IteratedLocalSearch(data, penalties, ls, initial, params.ils).run(stop, collect_stats=False)
    start = time.perf_counter()
    probe = _Probe(stop, start + PROBE_SHARE * max(0.0, deadline - start))
    seen = pyvrp.IteratedLocalSearch(data, penalties, ls, initial, params.ils).run(probe, collect_stats=False)
    if probe.stopped:
        return seen
    history = pace_history(seen.num_iterations, time.perf_counter() - start, deadline - time.perf_counter())
    ils = dataclasses.replace(params.ils, history_length=max(history, params.ils.history_length))
    # from the start again: the long history's first steps are what gains
    result = pyvrp.IteratedLocalSearch(data, penalties, ls, initial, ils).run(stop, collect_stats=False)
    best = seen.best if seen.cost() < result.cost() else result.best
    iterations = seen.num_iterations + result.num_iterations
    return pyvrp.Result(best, pyvrp.Statistics(collect_stats=False), iterations, time.perf_counter() - start)


def sized_by_pace(data: Any, lock_dims: int = 0) -> bool:
    """Whether a search of ``data`` sizes its history by its pace: a day of at most
    ``PACE_MAX_CLIENTS`` single visits, with no windows to choose from (client groups), no
    locks, no pairs, and no loops likely (where bikes may reload, the goods fill at most
    ``portfolio.ONE_LOOP_SHARE`` of the fleet's room, as the portfolio judges loops likely)."""
    from backend.dispatch.portfolio import ONE_LOOP_SHARE  # here: the portfolio imports this module

    if data.num_groups or data.num_shipments or lock_dims or data.num_clients > PACE_MAX_CLIENTS:
        return False
    types = data.vehicle_types()
    if not any(vt.reload_depots for vt in types):
        return True
    for dim in range(data.num_load_dimensions):
        goods = sum(c.delivery[dim] + c.pickup[dim] for c in data.clients())
        room = sum(vt.capacity[dim] * vt.num_available for vt in types)
        if goods > ONE_LOOP_SHARE * room:
            return False
    return True


def pace_history(iterations: int, seconds: float, left_s: float) -> int:
    """``PACE_HISTORY_SHARE`` of the iterations a search will make in ``left_s`` at the pace
    of ``iterations`` in ``seconds``, within ``HISTORY_BOUNDS``."""
    lo, hi = HISTORY_BOUNDS
    expected = iterations / max(seconds, 1e-3) * max(0.0, left_s)
    return min(hi, max(lo, round(PACE_HISTORY_SHARE * expected)))


class _Probe:
    """A stopping criterion: ``stop``'s, or at ``until`` (perf_counter seconds); ``stopped``
    says whether ``stop`` ended it."""

    def __init__(self, stop: Any, until: float) -> None:
        self.stop, self.until, self.stopped = stop, until, False

    def __call__(self, best_cost: int) -> bool:
        self.stopped = bool(self.stop(best_cost))
        return self.stopped or time.perf_counter() >= self.until


def _local_search(data: Any, params: Any, seed: int, lock_dims: int = 0) -> tuple[Any, Any]:
    """PyVRP's local search and penalty manager for ``data``, made as ``pyvrp.solve`` makes them
    (the neighbour lists of locked visits joined, :func:`~backend.dispatch.lock_codes.lock_neighbours`)."""
    import pyvrp
    from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours

    from backend.dispatch.lock_codes import lock_neighbours

    ls = LocalSearch(
        data,
        pyvrp.RandomNumberGenerator(seed=seed),
        lock_neighbours(data, compute_neighbours(data, params.neighbourhood), lock_dims),
        PerturbationManager(params.perturbation),
    )
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    return ls, pyvrp.PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)


def same_solution(data: Any, solution: Any) -> Any:
    """``solution``'s routes (reloads included) as a solution of ``data`` (same indices)."""
    from pyvrp import Activity, Route, Solution

    routes = []
    for r in solution.routes():
        acts = [Activity(a.type, a.idx) for a in r.schedule()[1:-1]]
        routes.append(Route(data, acts, r.vehicle_type()))
    return Solution(data, routes)
