"""The planner's engines side by side on the process pool's cores; the best checked plan wins.

OR-Tools (:mod:`backend.dispatch.solver`) models everything the product relies
on: locks, pinned orders, several windows, soft due times, warm starts from the
routes in force. PyVRP (:mod:`backend.dispatch.pyvrp_engine`) is the stronger
search on the problems it can express. A run is one worker's job:

* ``"ortools"``: OR-Tools for the whole limit;
* ``"pyvrp"``: PyVRP for the whole limit, each such run with a seed of its own;
* ``"ortools+pyvrp"``: OR-Tools for ``WARM_SHARE`` of the limit, then PyVRP
  from OR-Tools' plan for the rest; both plans come back. On a problem PyVRP
  cannot express it is OR-Tools for the whole limit;
* ``"relaxed"``: for a day PyVRP can only relax (shop baskets, locks on shop
  pairs, pins, soft due times): PyVRP on the relaxation, then OR-Tools on the
  day from its folded routes (:mod:`backend.dispatch.pyvrp_translate`); a
  ``"pyvrp"`` run becomes this run on such a day, and so does an
  ``"ortools+pyvrp"`` run on a cold day of at most ``RELAXED_ONLY_MAX_STOPS``
  that likely needs no loops (``ONE_LOOP_SHARE``); where baskets share shops
  (:func:`shops_shared`) both runs of such a day are ``"relaxed-split"`` ones;
* ``"relaxed-split"``: ``"relaxed"`` with each basket of several shops split
  into one shipment per shop, so that the shops are visited where they suit
  rather than back to back (as OR-Tools' model and the other relaxation keep
  them);
* ``"second"``: the product's second start, chosen by the day
  (:func:`engines_for`): on a cold day PyVRP can express, a second cold
  ``"pyvrp"`` run (another seed); elsewhere as ``"ortools+pyvrp"``.

On a day with bikes that may reload at their hub (``Vehicle.reload_s``), the
PyVRP runs plan several loops a shift (:mod:`backend.dispatch.reloads`: reload
depots), and so does OR-Tools (:mod:`backend.dispatch.ortools_reloads`: reload
nodes), also on the days PyVRP cannot express.

A delivery with several windows is one PyVRP client per window in a mutually
exclusive group (exact) for a cold ``"pyvrp"`` run. A stop of a shop pair with
several windows (a shipment step has one), and for ``"ortools+pyvrp"`` every
stop of several windows, is kept to the window OR-Tools' plan serves it in, or
to its first (:func:`one_window`): a restriction, so every plan PyVRP finds is
a plan of the day.

For a cold plan of a problem PyVRP can express, the default runs
(``DEFAULT_ENGINES``) are two cold PyVRP searches with seeds of their own on
the two cores: OR-Tools' start (``"ortools+pyvrp"``) never came out ahead of a
second seed, and with several windows it keeps each stop to OR-Tools' window
(``COLD_SECOND``). A cold plan of a day PyVRP can only
relax runs two ``"relaxed"`` runs (two seeds) up to ``RELAXED_ONLY_MAX_STOPS``
stops, OR-Tools beside ``"relaxed"`` above or when the day likely needs loops
(two different starts). Every
warm start from the routes in force goes to OR-Tools alone. Every plan is judged by the
independent checker (:func:`backend.dispatch.feasibility.check`) before it may
win; among the plans without violations the one with fewer stops left out
wins, then the one costing less by the problem's own objective
(:func:`plan_cost`), then the earlier run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
from collections.abc import Callable
from typing import Any

import msgspec

from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Problem, Stop
from backend.dispatch.solver import LATE_COST_PER_S, get_pool, solve, travel_time

ENGINES = ("ortools", "pyvrp", "ortools+pyvrp", "relaxed", "relaxed-split", "second")
_RELAXED = ("relaxed", "relaxed-split")
DEFAULT_ENGINES = ("second", "pyvrp")
# A cold day PyVRP can express: what the "second" run is. PyVRP cold against OR-Tools then
# PyVRP (10 s, best of each run's seeds 2-3; 2 cores): city 500 windows 21,090 against
# 22,026, multi_trip 31,830 / 32,093, plain 23,103 / 23,163; city 2,000 windows 57,158 /
# 64,529, multi_trip 109,751 / 112,043, plain 57,823 / 57,759; demo windows 16,412 /
# 17,197, multi_trip 23,898 / 24,526, plain 17,142 / 17,179 (issue #15, session 26).
COLD_SECOND = "pyvrp"
# the share of the limit "ortools+pyvrp" gives OR-Tools before PyVRP takes over
WARM_SHARE = 0.2
# a cold day PyVRP can only relax, up to this many stops, runs only "relaxed" runs: on the
# demo day OR-Tools cold never won there (10 s: baskets 39352 against 25837 relaxed, locks
# 19366 against 18844); on bigger days (unmeasured) OR-Tools stays the second start
RELAXED_ONLY_MAX_STOPS = 500
# a day whose goods fill more of the fleet than this likely needs loops (see _needs_loops)
ONE_LOOP_SHARE = 0.8
# the process hop out and back, and re-timing PyVRP's routes, come out of its limit
_HOP_S = 0.05


def pyvrp_can_plan(problem: Problem) -> bool:
    """PyVRP is installed and can express ``problem``, or its one-window restriction
    (:func:`one_window`; see ``pyvrp_engine.unsupported``)."""
    from backend.dispatch import pyvrp_engine

    try:
        pyvrp_engine.require_pyvrp()
    except pyvrp_engine.PyVRPUnavailable:
        return False
    return bool(problem.stops and problem.vehicles) and pyvrp_engine.unsupported(one_window(problem)) is None


def one_window(problem: Problem, warm: Plan | None = None) -> Problem:
    """``problem`` with stops of several windows kept to one: the one ``warm`` serves it in,
    else its first. A restriction: every plan of it is a plan of ``problem``.

    Without ``warm`` only the stops of shop pairs (a shipment step has one window in
    PyVRP); a lone visit keeps its windows, a client group in PyVRP. With ``warm``
    every such stop: PyVRP then improves on OR-Tools' choice of windows (a second,
    different search beside the cold one, which chooses among all windows)."""
    paired = {p for s in problem.stops for p in s.pickups}

    def narrowed(s: Stop) -> bool:
        return len(s.windows) > 1 and (warm is not None or bool(s.pickups) or s.id in paired)

    if not any(narrowed(s) for s in problem.stops):
        return problem
    served = {ps.stop_id: ps.start_s for r in (warm.routes if warm else ()) for ps in r.stops}
    stops = []
    for s in problem.stops:
        if narrowed(s):
            t = served.get(s.id)
            w = next((w for w in s.windows if t is not None and w.contains(t)), s.windows[0])
            s = msgspec.structs.replace(s, windows=(w,))
        stops.append(s)
    return msgspec.structs.replace(problem, stops=tuple(stops))


def engines_for(problem: Problem, engines: tuple[str, ...] = DEFAULT_ENGINES, *, warm: bool = False) -> tuple[str, ...]:
    """The runs of ``engines`` that can plan ``problem``, one per worker.

    Without PyVRP (not installed, a problem it cannot express, or a warm start
    from the routes in force) a ``"pyvrp"`` run is dropped and ``"ortools+pyvrp"``
    is OR-Tools alone; at least one OR-Tools run is always left. On a cold plan
    of a day PyVRP can only relax, a ``"pyvrp"`` run is a ``"relaxed"`` one, and
    an ``"ortools+pyvrp"`` run on such a day of at most ``RELAXED_ONLY_MAX_STOPS``
    stops that likely needs no loops is a second ``"relaxed"`` one; where baskets share
    shops (:func:`shops_shared`) both are ``"relaxed-split"`` runs on such a day (a
    ``"relaxed-split"`` run is a ``"relaxed"`` one where they do not).
    A relaxed run on a day PyVRP can express is a ``"pyvrp"`` one. A ``"second"`` run is
    ``COLD_SECOND`` on a cold day PyVRP can express, else an ``"ortools+pyvrp"`` one.
    """
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ValueError(f"unknown engines {', '.join(unknown) or repr(engines)} (choose from {', '.join(ENGINES)})")
    if not warm and pyvrp_can_plan(problem):
        return tuple("pyvrp" if e in _RELAXED else COLD_SECOND if e == "second" else e for e in engines)
    engines = tuple("ortools+pyvrp" if e == "second" else e for e in engines)
    if not warm and any(e in ("pyvrp", *_RELAXED) for e in engines) and _can_relax(problem):
        # a small day: "ortools+pyvrp" is a second relaxed run (split where it can be), not
        # OR-Tools cold; not on a day that needs loops (a relaxed run's PyVRP rides one loop)
        small = len(problem.stops) <= RELAXED_ONLY_MAX_STOPS and not _needs_loops(problem)
        split = "relaxed-split" if shops_shared(problem) else "relaxed"
        # where baskets share shops a small day's runs are both split (two seeds): back to
        # back, on the demo day, they stayed dearer than the split ones (25,220 against
        # 24,109-24,993 for the product's plan)
        kind = {"pyvrp": split if small else "relaxed", "relaxed": "relaxed", "relaxed-split": split}
        if small:
            kind["ortools+pyvrp"] = split
        return tuple(kind.get(e, "ortools") for e in engines)
    out = tuple("ortools" for e in engines if e not in ("pyvrp", *_RELAXED))
    return out[:1] or ("ortools",)


def shops_shared(problem: Problem) -> bool:
    """A basket has several shops and some shop's place serves several baskets: where a
    split relaxation pays (``"relaxed-split"``). Back to back, each basket's shops are
    ridden to again for the next basket; on the demo day (36 baskets, 16 of two shops, all
    at six shops) split runs at 10 s came out 1-12 % cheaper than back-to-back ones when a
    plan of theirs passed the checker, on the city day of 500 stops (no two baskets at one
    shop) 5-8 % dearer (their folds broke payloads: OR-Tools repaired)."""
    baskets = [s for s in problem.stops if s.pickups]
    if not any(len(s.pickups) > 1 for s in baskets):
        return False
    place = {s.id: s.location for s in problem.stops}
    at: dict[int, set[str]] = {}
    for s in baskets:
        for p in s.pickups:
            at.setdefault(place[p], set()).add(s.id)
    return any(len(doors) > 1 for doors in at.values())


def _needs_loops(problem: Problem) -> bool:
    """Some bike may reload and the day's goods fill more than ``ONE_LOOP_SHARE`` of the
    fleet's payload or volume: it likely needs loops (the demo's bikes may all reload, but
    its baskets and locks fit one loop each)."""
    from backend.dispatch.reloads import reloading

    if not reloading(problem):
        return False
    kg = sum(s.weight_kg for s in problem.stops)
    litres = sum(s.volume_l for s in problem.stops)
    fleet_kg = sum(v.payload_kg for v in problem.vehicles)
    fleet_l = sum(v.volume_l for v in problem.vehicles)
    return kg > ONE_LOOP_SHARE * fleet_kg or litres > ONE_LOOP_SHARE * fleet_l


def _can_relax(problem: Problem) -> bool:
    from backend.dispatch import pyvrp_engine
    from backend.dispatch.pyvrp_translate import can_relax

    try:
        pyvrp_engine.require_pyvrp()
    except pyvrp_engine.PyVRPUnavailable:
        return False
    return can_relax(problem)


def plan_cost(problem: Problem, plan: Plan) -> int:
    """What ``plan`` costs by ``problem``'s objective, whichever engine made it.

    Riding (metres or seconds at the bike's speed, as ``problem.cost`` says; the rides
    back to the hub to reload included),
    each used bike's fixed cost, and ``LATE_COST_PER_S`` per second a stop's
    service starts past its soft due time.
    """
    by_time = problem.cost == "time"
    vehicles = {v.id: v for v in problem.vehicles}
    place = {s.id: s.location for s in problem.stops}
    due = {s.id: s.due_s for s in problem.stops if s.due_s is not None}
    T, D = problem.time_s, problem.dist_m
    total = 0
    for r in plan.routes:
        if not r.stops:
            continue
        v = vehicles[r.vehicle_id]
        total += int(v.fixed_cost)
        path = [v.start_location]
        for j, ps in enumerate(r.stops):
            if j and ps.loop != r.stops[j - 1].loop:
                path.append(v.reload_place)  # back to the hub to reload
            path.append(place[ps.stop_id])
        path.append(v.end_location)
        for a, b in zip(path, path[1:], strict=False):
            total += travel_time(int(T[a][b]), v.speed_factor) if by_time else int(D[a][b])
        total += sum(LATE_COST_PER_S * max(0, ps.start_s - due[ps.stop_id]) for ps in r.stops if ps.stop_id in due)
    return total


def choose(problem: Problem, plans: list[Plan]) -> tuple[Plan, list[dict[str, Any]]]:
    """The winning plan of ``plans`` (in run order) and what each plan scored."""
    scored: list[dict[str, Any]] = []
    for plan in plans:
        scored.append(
            {
                "engine": plan.engine,
                "violations": len(check(problem, plan)),
                "unplanned": len(plan.unplanned),
                "cost": plan_cost(problem, plan),
                "status": plan.status,
                "solve_s": round(plan.solve_s, 3),
            }
        )
    best = min(
        range(len(plans)),
        key=lambda i: (int(scored[i]["violations"]) > 0, int(scored[i]["unplanned"]), int(scored[i]["cost"]), i),
    )
    for i, score in enumerate(scored):
        score["won"] = i == best
    return plans[best], scored


def run_engine(
    engine: str,
    problem: Problem,
    time_limit_s: float,
    seed: int = 1,
    coords: list[tuple[float, float]] | None = None,
    ortools_kwargs: dict[str, Any] | None = None,
) -> list[Plan]:
    """One run (see the module docstring) within ``time_limit_s``: its plans, in the order made.
    A ``"second"`` run is resolved by :func:`engines_for` first."""
    from backend.dispatch.pyvrp_engine import solve_pyvrp
    from backend.dispatch.reloads import reloading, solve_reloads

    # bikes that may ride several loops: PyVRP's runs plan loops (OR-Tools rides one)
    pyvrp_run = solve_reloads if reloading(problem) else solve_pyvrp
    kwargs = ortools_kwargs or {}
    if engine == "ortools":
        return [solve(problem, time_limit_s, **kwargs)]
    limit = max(0.01, time_limit_s - _HOP_S)
    if engine == "pyvrp":
        return [pyvrp_run(one_window(problem), limit, seed=seed, coords=coords)]
    if engine == "second":
        (engine,) = engines_for(problem, (engine,), warm=bool(kwargs.get("initial_routes")))
        return run_engine(engine, problem, time_limit_s, seed, coords, ortools_kwargs)
    if engine in _RELAXED:
        from backend.dispatch.pyvrp_translate import solve_relaxed

        split = engine == "relaxed-split"
        return solve_relaxed(problem, limit, seed=seed, coords=coords, ortools_kwargs=kwargs, split=split)
    first = solve(problem, time_limit_s * WARM_SHARE, **kwargs)
    rest = max(0.01, limit - first.solve_s)
    then = pyvrp_run(one_window(problem, first), rest, seed=seed, coords=coords, warm=first)
    # both clocks, end to end
    then = msgspec.structs.replace(then, solve_s=first.solve_s + then.solve_s)
    return [first, then]


def _runs(
    problem: Problem,
    engines: tuple[str, ...],
    seed: int,
    ortools_kwargs: dict[str, Any],
) -> list[tuple[str, int]]:
    use = engines_for(problem, engines, warm=bool(ortools_kwargs.get("initial_routes")))
    return [(e, seed + k) for k, e in enumerate(use)]


def run_limit(executor: concurrent.futures.Executor, runs: int, time_limit_s: float) -> float:
    """Each run's limit: all of ``time_limit_s`` when the pool runs every run at once; with
    fewer workers than runs they take turns, each for its share, so that the plan still
    comes within the limit (two runs on one worker took twice the limit: 121 s at 60 s)."""
    workers = getattr(executor, "_max_workers", None)  # the standard pools'; any other: at once
    if not isinstance(workers, int) or workers < 1 or workers >= runs:
        return time_limit_s
    return time_limit_s / math.ceil(runs / workers)


def solve_best(
    problem: Problem,
    time_limit_s: float = 10.0,
    *,
    executor: concurrent.futures.Executor | None = None,
    engines: tuple[str, ...] = DEFAULT_ENGINES,
    seed: int = 1,
    coords: list[tuple[float, float]] | None = None,
    report: list[dict[str, Any]] | None = None,
    **ortools_kwargs: Any,
) -> Plan:
    """Plan ``problem`` with every run of ``engines`` that can, at once, within ``time_limit_s``.

    Runs go to ``executor`` (the module pool when None; give it a worker per
    run, else they take turns); a lone run runs here, in this process.
    ``ortools_kwargs`` go to :func:`backend.dispatch.solver.solve`; an
    ``initial_routes`` warm start keeps the plan with OR-Tools. ``report``, if
    given, receives each plan's score (see :func:`choose`).
    """
    runs = _runs(problem, engines, seed, ortools_kwargs)
    if len(runs) == 1:
        plans = run_engine(runs[0][0], problem, time_limit_s, runs[0][1], coords, ortools_kwargs)
    else:
        pool = executor or get_pool()
        limit = run_limit(pool, len(runs), time_limit_s)
        futures = [pool.submit(run_engine, e, problem, limit, s, coords, ortools_kwargs) for e, s in runs]
        plans = [p for f in futures for p in f.result()]
    best, scored = choose(problem, plans)
    if report is not None:
        report.extend(scored)
    return best


async def solve_best_async(
    problem: Problem,
    time_limit_s: float = 10.0,
    *,
    executor: concurrent.futures.Executor | None = None,
    engines: tuple[str, ...] = DEFAULT_ENGINES,
    seed: int = 1,
    report: list[dict[str, Any]] | None = None,
    **ortools_kwargs: Any,
) -> Plan:
    """:func:`solve_best` for the event loop: every run in the pool, the choice in a thread."""
    runs = _runs(problem, engines, seed, ortools_kwargs)
    loop = asyncio.get_running_loop()
    pool = executor or get_pool()
    call: Callable[..., list[Plan]] = run_engine
    limit = run_limit(pool, len(runs), time_limit_s)
    results = await asyncio.gather(
        *(loop.run_in_executor(pool, call, e, problem, limit, s, None, ortools_kwargs) for e, s in runs)
    )
    # checked once, here, also a lone plan: the caller reads its violations from the report
    best, scored = await asyncio.to_thread(choose, problem, [p for ps in results for p in ps])
    if report is not None:
        report.extend(scored)
    return best
