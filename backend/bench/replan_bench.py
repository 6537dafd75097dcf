"""`laadbak bench replan`: disruptions against a running day on a real server.

1. The clock (:mod:`backend.bench.replan_clock`): the real one when enough
   of the day is left, else the server and this process on a clock shifted
   to the morning with ``time-machine``.
2. The day, written into a throw-away SQLite file before the server starts:
   the demo city (:func:`backend.services.demo.seed`: hub, shops, pickup
   points, N couriers with bikes and shifts) with its shifts moved to start
   now, and orders through the same checks as ``POST /orders``
   (:func:`backend.services.orders.prepare`) until about ``stops`` stops:
   doors at addresses and at street points, windows of two hours, four
   hours or the whole day from now on, collective baskets from the shops, a
   few pickup-point deliveries.
3. A real server process (the harness's :class:`ServerProcess`). Through the
   API: the dispatcher plans the day (``POST /hubs/{id}/plans``); every
   courier logs in, connects ``/ws/courier``, starts the shift and scans the
   loading list; the dispatcher connects ``/ws/hub/{id}``
   (:mod:`backend.bench.replan_phones`).
4. The couriers ride their routes meanwhile (:mod:`backend.bench.replan_riders`): a stop
   each ``pace_s`` real seconds, positions on the way, arrive, deliver, collect, now and
   then fail, and back to the hub to load a later loop.
   Disruptions (:mod:`backend.bench.replan_disruptions`), one at a time (the next waits for the effect of the last, or
   ``timeout_s``): a failed stop (the courier's next delivery, after collecting
   the shop goods ahead of it: position there, arrive, fail; the server
   re-plans in the background by its failed-stop policy), a new same-day order
   (``POST /orders`` with an open window), a dispatcher moving a stop to the
   courier riding nearest to it (``POST /stops/{id}/assign``; its parcels are
   on the first courier's bike, as every bike was loaded), a manual
   ``POST /hubs/{id}/replan`` and now and then a courier out of service.
   Customer redirects (to another address or window) and street closures (a
   circle of 60 m around a stop on a route, for three hours) join the mix
   when the server's OpenAPI document has those endpoints. ``kinds`` narrows
   the mix to look at one kind of trouble at a time.
5. The cost of the remaining day, at the end (and at ``cost_samples - 1``
   points before): the live Problem built here the way the server builds it
   (``replanning.live_day`` + ``planning.load_day`` on the same SQLite file,
   with the positions the phones sent), the routes in force costed with the
   solver's objective, against a cold ``solve`` of the same Problem.

Latency of a disruption: from just before its request is sent to the first
``route.updated`` event *produced by that disruption* on an affected courier's
socket. Events are matched by ``change.reason``, the text the server puts on
every re-plan's route updates (``stop 12 failed: pickup_point``, ``new order
REF``, ``dispatch moved stop 12 to courier 3``, or the reason the bench sent);
ETA-only ``route.updated`` events have no ``change`` and never match. The
affected couriers are those the server names (``changedCouriers`` of the
answer, or of the ``plan.replanned`` event on the hub stream for the
background and order re-plans); ``all_ms`` is when the last of them had its
update. A disruption whose re-plan changed no route is ``no_change``; a
non-2xx answer is an error (status and message kept); one whose verdict or
updates did not come within ``timeout_s`` is a timeout.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import msgspec

# Imported once at the start, not when first needed: a long run then uses the code
# it started with throughout, also when the files change under it meanwhile.
from backend.bench.harness.api import ApiClient, problem_text
from backend.bench.harness.geometry import on_network
from backend.bench.harness.server import ServerProcess, raise_nofile
from backend.bench.replan_clock import (
    BenchError,
    check_time_machine,
    log,
    plan_clock,
)
from backend.bench.replan_day import seed_bench_day
from backend.bench.replan_disruptions import (
    MIX,
    OPTIONAL_KINDS,
    Disruption,
    ReplanBench,
    disruption_plan,
)
from backend.bench.replan_report import summary
from backend.bench.replan_riders import FAIL_RATE, PACE_S, POSITION_EVERY_S, Riders
from backend.db.engine import make_engine, use_database
from backend.db.tables import Route
from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Unplanned
from backend.dispatch.pool import new_pool
from backend.dispatch.quick import orders_cost
from backend.dispatch.replan import route_orders
from backend.dispatch.scheduling import build_route, loop_route
from backend.dispatch.solver import LATE_COST_PER_S, solve
from backend.dispatch.windows import merge_windows
from backend.services.day import live_day, load_day
from backend.services.demo import DEMO_PASSWORD
from backend.services.geo import Geo
from backend.shifted_clock import clock_env, shifted_clock

# --- the cost of the remaining day ---------------------------------------------------------


def routes_cost(problem: Any, orders: dict[str, list[str]], breaks: dict[str, list[int]] | None = None) -> int:
    """The solver's objective for these visiting orders, as the re-plan counts it
    (:func:`backend.dispatch.quick.orders_cost`: the legs at each bike's speed, or distance, from
    where it is through its stops to its end hub, and a used bike's fixed cost). Unplanned stops
    are not charged here. Every bike counts its ride home, used or not, on both sides of a
    comparison alike. ``breaks``: per bike the positions of its stops that start a new loop,
    each after a ride back to its hub."""
    loops = {
        vid: [1 + sum(1 for c in cuts if c <= j) for j in range(len(orders.get(vid, [])))]
        for vid, cuts in (breaks or {}).items()
    }
    return orders_cost(problem, orders, loops)


def in_force_orders(problem: Any, routes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The routes in force as the server hands them to the re-plan: per vehicle of the problem, its
    stops still in the problem, each stop once (backend/services/replanning.py and
    backend/dispatch/replan.py, ``_in_force``)."""
    stop_ids = {s.id for s in problem.stops}
    vehicle_ids = {v.id for v in problem.vehicles}
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for r in routes:
        vid = f"shift-{r['shift']}"
        if vid not in vehicle_ids:
            continue
        kept = []
        for planned in r["stops"]:
            sid = str(planned["stop_id"])  # as the route keeps it (route_store.stop_record)
            if sid in stop_ids and sid not in seen:
                seen.add(sid)
                kept.append(sid)
        out[vid] = kept
    return out


def in_force_breaks(routes: list[dict[str, Any]], orders: dict[str, list[str]]) -> dict[str, list[int]]:
    """Per vehicle, the positions in ``orders`` (from :func:`in_force_orders`) whose stop rides
    another loop than the stop before it (the route rows' ``loop``): a reload at the hub before it."""
    loop = {str(p["stop_id"]): int(p.get("loop", 1)) for r in routes for p in r["stops"]}
    return {
        vid: cuts
        for vid, ids in orders.items()
        if (cuts := [j for j in range(1, len(ids)) if loop.get(ids[j], 1) != loop.get(ids[j - 1], 1)])
    }


def plan_breaks(plan: Any) -> dict[str, list[int]]:
    """Per vehicle of ``plan``, the positions of its stops that start a new loop."""
    return {
        r.vehicle_id: cuts
        for r in plan.routes
        if (cuts := [j for j in range(1, len(r.stops)) if r.stops[j].loop != r.stops[j - 1].loop])
    }


def plan_of(problem: Any, orders: dict[str, list[str]], breaks: dict[str, list[int]] | None = None) -> Any:
    """The routes in force as a Plan, scheduled the solver's way, for the feasibility checker;
    a route with ``breaks`` in loops (:func:`backend.dispatch.scheduling.loop_route`).

    Uses the solver's own scheduling (private helpers, as backend/dispatch/replan.py does)."""
    pos = {s.id: k for k, s in enumerate(problem.stops)}
    windows = [merge_windows(s.windows) for s in problem.stops]
    vehicles = {v.id: v for v in problem.vehicles}
    by_id = {s.id: s for s in problem.stops}

    def route(vid: str, ids: list[str]) -> Any:
        seq, cuts = [pos[s] for s in ids], (breaks or {}).get(vid)
        if cuts:
            return loop_route(problem, vehicles[vid], seq, cuts, by_id=by_id)
        return build_route(problem, vehicles[vid], seq, windows, vehicles[vid].shift.start)

    routes = tuple(route(vid, ids) for vid, ids in orders.items() if ids)
    planned = {s for ids in orders.values() for s in ids}
    unplanned = tuple(
        Unplanned(stop_id=s.id, reason="no_capacity", detail="on no route in force")
        for s in problem.stops
        if s.id not in planned
    )
    return Plan(
        routes=routes,
        unplanned=unplanned,
        cost=routes_cost(problem, orders, breaks),
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=0.0,
        status="in force",
    )


def restricted(problem: Any, keep: set[str]) -> Any:
    """The Problem with only the stops in ``keep`` (groups kept whole)."""
    by_id = {s.id: s for s in problem.stops}
    delivery_of = {p: s.id for s in problem.stops for p in s.pickups}
    ok = {
        sid
        for sid in keep
        if sid in by_id
        and all(p in keep for p in by_id[sid].pickups)
        and (sid not in delivery_of or delivery_of[sid] in keep)
    }
    return msgspec.structs.replace(problem, stops=tuple(s for s in problem.stops if s.id in ok))


async def evaluate_remaining_day(
    geo: Any,
    hub_id: int,
    day: dt.date,
    positions: dict[int, tuple[float, float]],
    cold_time_limit: float,
    pool: ProcessPoolExecutor,
) -> dict[str, Any]:
    """In-force cost / cold cost of what is left of the day, as the server would build it now."""
    t0 = time.perf_counter()
    now = dt.datetime.now()
    live, routes = await _retry_locked(lambda: live_day(hub_id, day, now, positions))
    day_input = await _retry_locked(lambda: load_day(geo, hub_id, day, live))
    load_s = time.perf_counter() - t0
    problem = day_input.problem
    in_force = in_force_orders(problem, routes)
    in_breaks = in_force_breaks(routes, in_force)
    in_cost = routes_cost(problem, in_force, in_breaks)
    try:
        violations = check(problem, plan_of(problem, in_force, in_breaks))
    except (ImportError, TypeError) as exc:  # the solver's private scheduling changed: say so, go on
        violations = None
        log(f"could not check the routes in force: {exc!r}")
    in_planned = {s for ids in in_force.values() for s in ids}
    loop = asyncio.get_running_loop()
    cold = await loop.run_in_executor(pool, functools.partial(cold_solve, problem, cold_time_limit))
    cold_orders = route_orders(cold)
    cold_planned = {s for ids in cold_orders.values() for s in ids}
    result: dict[str, Any] = {
        "phase": "cost",
        "now": now.strftime("%H:%M:%S"),
        "stops": len(problem.stops),
        "vehicles": len(problem.vehicles),
        "locked": sum(1 for s in problem.stops if s.vehicles),
        "pre_unplanned": len(day_input.pre_unplanned),
        "load_day_s": round(load_s, 2),
        "matrix_s": round(day_input.matrix_s, 2),
        "in_force_cost": in_cost,
        "in_force_planned": len(in_planned),
        "in_force_unplanned": len(problem.stops) - len(in_planned),
        # what they are (kind/status of the stop rows): stops the re-plans could not place
        "in_force_unplanned_by": dict(
            collections.Counter(
                f"{day_input.stops[s.id]['kind']}/{day_input.stops[s.id]['status']}"
                for s in problem.stops
                if s.id not in in_planned and s.id in day_input.stops
            )
        ),
        "in_force_violations": None if violations is None else len(violations),
        "in_force_violation_rules": None
        if violations is None
        else dict(collections.Counter(v.rule for v in violations)),
        "in_force_violation_examples": [v.detail for v in (violations or [])[:3]],
        "cold_time_limit_s": cold_time_limit,
        "cold_cost": routes_cost(problem, cold_orders, plan_breaks(cold)),
        # several loops a shift: the routes in force and the cold plan's that ride more than one
        "in_force_multi_loop_routes": len(in_breaks),
        "in_force_reloads": sum(len(c) for c in in_breaks.values()),
        "cold_multi_loop_routes": len(plan_breaks(cold)),
        "cold_solver_objective": cold.cost,
        "cold_solve_s": round(cold.solve_s, 1),
        "cold_planned": len(cold_planned),
        "cold_unplanned": len(cold.unplanned),
        "cold_violations": len(check(problem, cold)),
        "cold_status": cold.status,
        "in_force_only": len(in_planned - cold_planned),
        "cold_only": len(cold_planned - in_planned),
    }
    in_late = lateness_s(problem, plan_of(problem, in_force, in_breaks))
    result.update(in_force_late_s=in_late, cold_late_s=lateness_s(problem, cold))
    basis_cost, basis = result["cold_cost"], "same stops planned"
    basis_late = result["cold_late_s"]
    if cold_planned != in_planned and in_planned:
        # A cost over other stops is no comparison: solve cold again on what the routes in force serve.
        sub = restricted(problem, in_planned)
        again = await loop.run_in_executor(pool, functools.partial(cold_solve, sub, cold_time_limit))
        again_planned = {s for ids in route_orders(again).values() for s in ids}
        basis_cost = routes_cost(sub, route_orders(again), plan_breaks(again))
        basis_late = lateness_s(sub, again)
        basis = (
            "cold solve restricted to the stops planned in force"
            if again_planned == in_planned
            else f"unequal: the restricted cold solve left {len(in_planned - again_planned)} of them out"
        )
        result.update(
            restricted_cold_cost=basis_cost,
            restricted_cold_planned=len(again_planned),
            restricted_cold_solve_s=round(again.solve_s, 1),
        )
    result["basis"] = basis
    raw = round(in_cost / basis_cost, 4) if basis_cost else None
    # A ratio over different sets of stops compares nothing: only on equal sets (the raw one stays beside).
    result["cost_ratio"] = raw if not basis.startswith("unequal") else None
    result["cost_ratio_unequal"] = raw if basis.startswith("unequal") else None
    # The solver's whole objective also charges each second past a stop's soft due time
    # (locked stops kept late rather than dropped): riding and waiting customers together.
    whole_in, whole_cold = in_cost + LATE_COST_PER_S * in_late, basis_cost + LATE_COST_PER_S * basis_late
    result["basis_late_s"] = basis_late
    result["objective_ratio"] = (
        round(whole_in / whole_cold, 4) if whole_cold and not basis.startswith("unequal") else None
    )
    return result


def cold_solve(problem: Any, time_limit_s: float) -> Any:
    """The cold plan the routes in force are compared with: OR-Tools (the solver's objective,
    as before); on a day with bikes that reload, OR-Tools then PyVRP's loops from its plan
    where PyVRP can express the day (OR-Tools rides one loop a shift), the better checked plan."""
    from backend.dispatch.portfolio import choose, engines_for, run_engine
    from backend.dispatch.reloads import reloading

    if not reloading(problem):
        return solve(problem, time_limit_s)
    (engine,) = engines_for(problem, ("ortools+pyvrp",))
    return choose(problem, run_engine(engine, problem, time_limit_s))[0]


def lateness_s(problem: Any, plan: Any) -> int:
    """Seconds past the stops' soft due times (``Stop.due_s``) in ``plan``, in all."""
    due = {s.id: s.due_s for s in problem.stops if s.due_s is not None}
    return sum(max(0, ps.start_s - due[ps.stop_id]) for r in plan.routes for ps in r.stops if ps.stop_id in due)


def _warm_up() -> None:
    import backend.dispatch.solver  # noqa: F401


async def _retry_locked(make: Callable[[], Any], tries: int = 5) -> Any:
    """SQLite may be busy with the server's writer for a moment."""
    for attempt in range(tries):
        try:
            return await make()
        except Exception as exc:
            if "locked" not in str(exc).lower() or attempt == tries - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


# --- the run --------------------------------------------------------------------------------


async def run_replan_bench(
    settings: Any,
    *,
    couriers: int = 60,
    stops: int = 2100,
    disruptions: int = 200,
    cold_time_limit: float = 60.0,
    replan_time_limit: float | None = None,
    plan_time_limit: float = 60.0,
    timeout_s: float = 15.0,
    cost_samples: int = 1,
    clock: str = "auto",
    day_hours: float = 8.0,
    seed: int = 7,
    kinds: list[str] | None = None,
    keep_dir: bool = False,
    multi_trip: float = 0.25,
    pace_s: float = PACE_S,
    position_every_s: float = POSITION_EVERY_S,
    ride_fail_rate: float = FAIL_RATE,
) -> dict[str, Any]:
    """Run the bench; returns ``{"instances": [...], "summary": {...}}`` (progress goes to stderr).
    ``multi_trip``: the share of small bikes that must ride several loops (0: none). ``pace_s``:
    real seconds each courier takes per stop while the disruptions come (0: they stand still),
    a position every ``position_every_s``, a stop failed at ``ride_fail_rate``
    (:mod:`backend.bench.replan_riders`)."""
    import logging

    if couriers < 2 or stops < couriers or disruptions < 1 or cost_samples < 1:
        raise BenchError("need at least 2 couriers, a stop per courier, 1 disruption and 1 cost sample")
    if not 0 <= multi_trip <= 1:
        raise BenchError(f"--multi-trip is a share of the bikes, from 0 to 1, not {multi_trip:g}")
    if pace_s < 0 or position_every_s <= 0 or not 0 <= ride_fail_rate <= 1:
        raise BenchError("--pace is 0 or more seconds, --position-every above 0 and --ride-fail-rate from 0 to 1")
    known = {*MIX, "out_of_service", *OPTIONAL_KINDS}
    if kinds and (unknown := sorted(set(kinds) - known)):
        raise BenchError(f"unknown disruption kind(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    real_now = dt.datetime.now()
    offset, clock_words = plan_clock(clock, day_hours, real_now)
    check_time_machine(offset, real_now, day_hours)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    raise_nofile()
    tmp = Path(tempfile.mkdtemp(prefix="laadbak-replanbench-"))
    server: ServerProcess | None = None
    bench: ReplanBench | None = None
    pool = new_pool(1)
    pool.submit(_warm_up)  # the cold solver's process imports the solver now, as the server does
    try:
        with shifted_clock(offset):
            # 1-2. the day
            geo, day, seeded, seed_row = await _seed(
                settings,
                tmp,
                couriers=couriers,
                stops=stops,
                day_hours=day_hours,
                seed=seed,
                clock_words=clock_words,
                multi_trip=multi_trip,
            )
            instances: list[dict[str, Any]] = [seed_row]
            # 3. the server, the plan, the phones
            env = clock_env(offset, tmp / "clock")
            if replan_time_limit is not None:
                env["LAADBAK_REPLAN_TIME_LIMIT"] = str(replan_time_limit)
            server = ServerProcess(tmp, f"sqlite:///{tmp / 'bench.sqlite'}", map_path=settings.map_path, env=env)
            replan_limit = replan_time_limit if replan_time_limit is not None else settings.replan_time_limit_s
            await asyncio.to_thread(server.start)
            log(f"server pid {server.pid} on {server.base}; re-plan time limit {replan_limit:g} s")
            bench = ReplanBench(
                base=server.base,
                ws_base=server.ws_base,
                hub_id=seeded["hub_id"],
                day=day,
                timeout_s=timeout_s,
                rng=random.Random(seed + 1),
                password=DEMO_PASSWORD,
            )
            bench.addresses = [a for a in geo.geocoder.addresses() if on_network(geo, a.lat, a.lon)]
            instances.append(await _plan_day(bench, plan_time_limit))
            instances[-1].update(await _loops_planned(seeded["hub_id"], day))
            instances.append(await bench.connect([f"courier{i}" for i in range(1, couriers + 1)]))
            log(f"{couriers} couriers on the road, bikes loaded ({instances[-1]['parcels_loaded']} parcels)")
            # 4. the disruptions (and 5. cost samples along the way)
            run = Run(geo, server, bench, pool, cold_time_limit, riding=(pace_s, position_every_s, ride_fail_rate))
            records, costs = await run.disrupt_all(
                disruptions, cost_samples, couriers=couriers, seed=seed, only=set(kinds) if kinds else None
            )
            instances.extend(d.as_json() for d in records)
            instances.extend(costs)
            instances.extend(run.closing_rows())
            figures = summary(
                records,
                costs[-1],
                couriers=couriers,
                stops=seeded["stops"],
                replan_limit=replan_limit,
                cold_time_limit=cold_time_limit,
                run_s=run.run_s,
                server_cpu_s=run.server_cpu_s,
                clock=clock_words,
                kinds_skipped=sorted(set(OPTIONAL_KINDS) - set(run.extra_kinds)),
                riding=run.riding_row,
                loops={
                    "multi_trip_bikes": seeded["multi_trip_bikes"],
                    "planned_multi_loop_routes": instances[1]["multi_loop_routes"],
                    "in_force_multi_loop_routes": costs[-1].get("in_force_multi_loop_routes"),
                },
            )
            return {"instances": instances, "summary": figures}
    finally:
        if bench is not None:
            await bench.close()
        pool.shutdown(wait=False, cancel_futures=True)
        if server is not None:
            server.stop()
        if keep_dir:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


async def _seed(
    settings: Any,
    tmp: Path,
    *,
    couriers: int,
    stops: int,
    day_hours: float,
    seed: int,
    clock_words: str,
    multi_trip: float,
) -> tuple[Any, dt.date, dict[str, Any], dict[str, Any]]:
    """The map, today, and the day written into ``tmp/bench.sqlite`` (on the bench clock)."""
    t0 = time.monotonic()
    geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
    (tmp / "cache").symlink_to(settings.cache_dir.resolve(), target_is_directory=True)  # no map rebuild
    use_database(make_engine(f"sqlite:///{tmp / 'bench.sqlite'}"))
    now = dt.datetime.now()
    day = now.date()
    start_s = now.hour * 3600 + now.minute * 60
    seeded = await seed_bench_day(
        geo, day, start_s, couriers=couriers, stops=stops, day_hours=day_hours, seed=seed, multi_trip=multi_trip
    )
    log(
        f"seeded {seeded['orders']} orders ({seeded['stops']} stops) for {couriers} couriers, "
        f"{seeded['start']}-{seeded['end']}, clock {clock_words} ({tmp})"
    )
    row = {
        "phase": "seed",
        "clock": clock_words,
        "day": day.isoformat(),
        **seeded,
        "seconds": round(time.monotonic() - t0, 1),
    }
    return geo, day, seeded, row


async def _loops_planned(hub_id: int, day: dt.date) -> dict[str, int]:
    """How many of the day's routes in force ride several loops, and their reloads in all."""

    async def read() -> list[dict[str, Any]]:
        query = Route.select(Route.reloads).where(
            (Route.hub == hub_id) & (Route.plan_date == day) & Route.current.eq(True)
        )
        return await query.output(load_json=True)

    rows = await _retry_locked(read)
    return {
        "multi_loop_routes": sum(1 for r in rows if r["reloads"]),
        "reloads": sum(len(r["reloads"] or []) for r in rows),
    }


async def _plan_day(bench: ReplanBench, plan_time_limit: float) -> dict[str, Any]:
    """The dispatcher logs in and plans the day through the API."""
    bench.dispatcher = await bench.login("dispatcher")
    bench.dispatcher.timeout = plan_time_limit + 600
    t1 = time.monotonic()
    status, run = await bench.dispatcher.send(
        f"/hubs/{bench.hub_id}/plans", {"date": bench.day.isoformat(), "timeLimitS": plan_time_limit}
    )
    if status != 201:
        raise BenchError(f"planning the day failed: {status} {problem_text(run)}")
    figures = run["figures"]
    log(
        f"day planned: {figures.get('planned')} stops on routes, {figures.get('unplanned')} unplanned "
        f"({figures.get('totalS')} s)"
    )
    bench.dispatcher.timeout = max(120.0, bench.timeout_s * 4)
    return {
        "phase": "plan",
        "seconds": round(time.monotonic() - t1, 1),
        "time_limit_s": plan_time_limit,
        **{
            k: figures.get(k)
            for k in (
                "stops",
                "planned",
                "unplanned",
                "couriersUsed",
                "matrixS",
                "solveS",
                "totalS",
                "violations",
                "solverStatus",
            )
        },
    }


class Run:
    """The disruptions, one after the other, with cost samples along the way."""

    def __init__(
        self,
        geo: Any,
        server: ServerProcess,
        bench: ReplanBench,
        pool: ProcessPoolExecutor,
        cold_time_limit: float,
        riding: tuple[float, float, float] = (0.0, 1.0, 0.0),
    ) -> None:
        self.geo, self.server, self.bench, self.pool = geo, server, bench, pool
        self.cold_time_limit = cold_time_limit
        self.extra_kinds: dict[str, str] = {}
        self.run_s = self.server_cpu_s = 0.0
        # Riders' settings: pace_s (0: the couriers stand still), position_every_s, fail_rate
        self.riding = dict(zip(("pace_s", "position_every_s", "fail_rate"), riding, strict=True))
        self.riding_row: dict[str, Any] = {}

    async def disrupt_all(
        self, disruptions: int, cost_samples: int, *, couriers: int, seed: int, only: set[str] | None
    ) -> tuple[list[Disruption], list[dict[str, Any]]]:
        bench = self.bench
        assert bench.dispatcher is not None
        self.extra_kinds = await _optional_kinds(bench.dispatcher)
        kinds = disruption_plan(
            disruptions, couriers, random.Random(seed + 2), {k: OPTIONAL_KINDS[k][1] for k in self.extra_kinds}, only
        )
        sample_at = {round(disruptions * (i + 1) / cost_samples) for i in range(cost_samples - 1)}
        records: list[Disruption] = []
        costs: list[dict[str, Any]] = []
        cpu0 = self.server.cpu_s() or 0.0
        t_run = time.monotonic()
        riders = Riders(list(bench.phones.values()), random.Random(seed + 3), **self.riding)
        riders.start()
        try:
            await riders.under_way()  # the disruptions come to a day whose couriers are out and acting
            await self._one_by_one(kinds, records, costs, sample_at)
        finally:
            await riders.stop()
            self.riding_row = riders.figures()
        log(
            f"riding: {self.riding_row['stops_done']} stops done ({self.riding_row['failed']} failed), "
            f"{self.riding_row['positions']} positions, {self.riding_row['reloads']} reloads"
        )
        self.run_s = time.monotonic() - t_run
        self.server_cpu_s = (self.server.cpu_s() or 0.0) - cpu0
        await asyncio.sleep(1.0)
        costs.append(await self.cost_sample(len(kinds)))
        return records, costs

    async def _one_by_one(
        self, kinds: list[str], records: list[Disruption], costs: list[dict[str, Any]], sample_at: set[int]
    ) -> None:
        bench = self.bench
        for n, kind in enumerate(kinds, start=1):
            d = Disruption(n, kind)
            await bench.disrupt(d, self.extra_kinds)
            records.append(d)
            row = d.as_json()
            if n % 10 == 0 or n == len(kinds) or d.outcome in ("error", "timeout"):
                log(
                    f"#{n} {kind}: {d.outcome} first {row['first_ms']} ms, all {row['all_ms']} ms, "
                    f"server {row['server_total_s']} s" + (f" - {d.detail}" if d.detail else "")
                )
            if n in sample_at:
                costs.append(await self.cost_sample(n))
            await asyncio.sleep(0.3)  # the server settles (ETA refreshes) before the next one

    async def cost_sample(self, after: int) -> dict[str, Any]:
        log(f"cost after {after} disruptions: a {self.cold_time_limit:g} s cold solve of the remaining day")
        sample = await evaluate_remaining_day(
            self.geo, self.bench.hub_id, self.bench.day, self.bench.positions(), self.cold_time_limit, self.pool
        )
        sample["after_disruptions"] = after
        log(
            f"in force {sample['in_force_cost']} vs cold {sample['cold_cost']} ({sample['basis']}): "
            f"ratio {sample['cost_ratio'] or sample['cost_ratio_unequal']}"
        )
        return sample

    def closing_rows(self) -> list[dict[str, Any]]:
        """The sockets' and the server log's rows, after the run."""
        phones = self.bench.phones.values()
        sockets = {
            "phase": "sockets",
            "drops": sum(s.drops for s in phones),
            "duplicates": sum(s.duplicates for s in phones),
            "hub_drops": self.bench.hub.drops if self.bench.hub else None,
            "errors": [e for s in phones for e in s.errors][:10],
        }
        server_log = self.server.warnings()
        server_log["follow_up_failures"] = self.server.log_path.read_text(errors="replace").count(
            "a follow-up job failed"
        )
        return [sockets, self.riding_row, {"phase": "server_log", **server_log}]


async def _optional_kinds(dispatcher: ApiClient) -> dict[str, str]:
    """Disruption endpoints other engineers are adding: used when the server's OpenAPI has them."""
    status, schema = await dispatcher.get("/schema/openapi.json")
    paths = set((schema or {}).get("paths", {})) if status == 200 and isinstance(schema, dict) else set()
    found = {}
    for kind, (path, _) in OPTIONAL_KINDS.items():
        if path in paths:
            found[kind] = path
    if found:
        log(f"optional disruptions found: {', '.join(found)}")
    return found
