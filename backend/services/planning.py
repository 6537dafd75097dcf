"""Planning a hub's day: load from the database, solve in the pool, check, save.

The pure core gets a ``Problem`` (matrices, vehicles, stops) and returns a
``Plan``; this module only translates between rows and those Structs and
writes the result, with its outbox events, in one transaction (through
:mod:`backend.services.route_store`).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from backend.db.engine import transaction
from backend.db.tables import PlanRun, Route
from backend.dispatch.calendar import at
from backend.dispatch.model import Plan, Unplanned
from backend.dispatch.portfolio import solve_best_async
from backend.dispatch.scheduling import earliest_plan
from backend.errors import Forbidden, NotFound
from backend.realtime.outbox import emit
from backend.services import route_store
from backend.services.context import Context
from backend.services.courier import reload_views, route_view, stop_views
from backend.services.day import DayInput, hub_lock, load_day
from backend.structs import Out

# Names backend/bench still imports from here (ws_bench, replan_bench); they belong to
# services.day and services.route_store now. To go once the benches import from there.


async def plan_day(ctx: Context, hub_id: int, day: dt.date, time_limit_s: float | None = None) -> int:
    """Plan the day and save it; returns the plan run's id."""
    limit = time_limit_s or ctx.plan_time_limit_s
    async with hub_lock(hub_id):  # a re-plan of the same day waits, and starts from this plan
        t0 = time.perf_counter()
        day_input = await load_day(ctx.geo, hub_id, day)
        # every engine that can plan this day, one per core; the best checked plan wins
        scores: list[dict[str, Any]] = []
        plan = await solve_best_async(day_input.problem, limit, executor=ctx.pool, report=scores)
        violations = next(s["violations"] for s in scores if s["won"])
        total_s = time.perf_counter() - t0
        engines = [
            {
                "engine": s["engine"],
                "cost": s["cost"],
                "unplanned": s["unplanned"],
                "violations": s["violations"],
                "solveS": s["solve_s"],
                "won": s["won"],
            }
            for s in scores
        ]
        return await save_plan(hub_id, day, limit, day_input, plan, violations, total_s, engines)


async def save_plan(
    hub_id: int,
    day: dt.date,
    time_limit_s: float,
    day_input: DayInput,
    plan: Plan,
    violations: int,
    total_s: float,
    engines: list[dict[str, Any]] | None = None,
) -> int:
    # kept as it will be ridden: from the shift start, as early as the route allows
    plan = earliest_plan(day_input.problem, plan)
    unplanned = [*day_input.pre_unplanned, *plan.unplanned]
    figures = {
        "stops": len(day_input.stops),
        "planned": sum(len(r.stops) for r in plan.routes),
        "unplanned": len(unplanned),
        "couriers": len(day_input.shifts),
        "couriersUsed": sum(1 for r in plan.routes if r.stops),
        "distanceM": plan.distance_m,
        "durationS": plan.duration_s,
        "matrixS": round(day_input.matrix_s, 3),
        "solveS": round(plan.solve_s, 3),
        "totalS": round(total_s, 3),
        "solverStatus": plan.status,
        "engine": plan.engine,
        "violations": violations,
        "engines": engines or [],  # every run's plan: what each engine found in the limit
    }
    inputs = {
        "stops": len(day_input.problem.stops),
        "vehicles": len(day_input.problem.vehicles),
        "shiftIds": [s["id"] for s in day_input.shifts.values()],
    }
    async with transaction():
        await route_store.guard_routes(hub_id)
        run_id = await route_store.add_run(
            hub_id,
            day,
            violations=violations,
            time_limit_s=time_limit_s,
            inputs=inputs,
            figures=figures,
            unplanned=[_unplanned_json(u, day_input) for u in unplanned],
        )
        versions = await route_store.current_versions(hub_id, day)
        before = await route_store.routes_in_force(hub_id, day)
        await route_store.retire_all(hub_id, day)
        await route_store.mark_stops(
            [int(ps.stop_id) for r in plan.routes for ps in r.stops],
            [int(u.stop_id) for u in unplanned],
            detail=f"Plan of the day (run {run_id})",
            details=route_store.whose_routes(plan, day_input.shifts) | {int(u.stop_id): u.detail for u in unplanned},
        )
        await route_store.record_moves(before, plan, day_input.shifts, f"Plan of the day (run {run_id})")
        for r in plan.routes:
            if not r.stops:
                continue
            shift = day_input.shifts[r.vehicle_id]
            courier = shift["courier"]
            written = await route_store.add_version(
                {
                    "plan_run": run_id,
                    "hub": hub_id,
                    "courier": courier,
                    "shift": shift["id"],
                    "plan_date": day,
                    "version": versions.get(courier, 0) + 1,
                    "current": True,
                    "start": at(day, r.start_s),
                    "end": at(day, r.end_s),
                    "distance_m": r.distance_m,
                    "duration_s": r.duration_s,
                    "stops": route_store.stop_records(r, day_input.stops, day),
                    "reloads": route_store.reload_records(r, day),
                }
            )
            route_row = await route_store.read_route(written["id"])
            assert route_row is not None  # written in this transaction
            await emit("route.planned", await route_view(route_row), courier_id=courier, hub_id=hub_id)
        await emit("plan.finished", {"planRunId": run_id, "date": day.isoformat(), "figures": figures}, hub_id=hub_id)
    return run_id


def _unplanned_json(u: Unplanned, day_input: DayInput) -> dict[str, Any]:
    row = day_input.stops[u.stop_id]
    return {
        "stopId": int(u.stop_id),
        "orderId": row["order"],
        "kind": row["kind"],
        "reason": u.reason,
        "detail": u.detail,
    }


class PlanRunOut(Out):
    id: int
    hub_id: int
    date: dt.date
    status: str
    time_limit_s: float
    figures: dict[str, Any]
    unplanned: list[dict[str, Any]]
    route_ids: list[int]


class RouteOut(Out):
    id: int
    plan_run_id: int
    hub_id: int
    courier_id: int
    shift_id: int
    date: dt.date
    version: int
    current: bool
    start: dt.datetime
    end: dt.datetime
    distance_m: int
    duration_s: int
    stops: list[dict[str, Any]]
    reloads: list[dict[str, Any]] = []


async def read_plan_run(run_id: int) -> PlanRunOut:
    row = await PlanRun.select().where(PlanRun.id == run_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"There is no plan run with id {run_id}.")
    routes = await Route.select(Route.id).where(Route.plan_run == run_id).order_by(Route.id)
    return PlanRunOut(
        id=row["id"],
        hub_id=row["hub"],
        date=row["plan_date"],
        status=row["status"],
        time_limit_s=row["time_limit_s"],
        figures=row["figures"],
        unplanned=row["unplanned"],
        route_ids=[r["id"] for r in routes],
    )


async def route_out(row: dict[str, Any]) -> RouteOut:
    """A route with its stops as they stand now (status, parcels, live ETAs)."""
    return RouteOut(
        id=row["id"],
        plan_run_id=row["plan_run"],
        hub_id=row["hub"],
        courier_id=row["courier"],
        shift_id=row["shift"],
        date=row["plan_date"],
        version=row["version"],
        current=row["current"],
        start=row["start"],
        end=row["end"],
        distance_m=row["distance_m"],
        duration_s=row["duration_s"],
        stops=await stop_views(row),
        reloads=reload_views(row),
    )


async def plan_runs(hub_id: int, day: dt.date | None) -> list[PlanRunOut]:
    """The hub's plan runs (of ``day``, if given), newest first."""
    query = PlanRun.select(PlanRun.id).where(PlanRun.hub == hub_id).order_by(PlanRun.id, ascending=False)
    if day is not None:
        query = query.where(PlanRun.plan_date == day)
    return [await read_plan_run(r["id"]) for r in await query]


async def hub_routes(hub_id: int, day: dt.date) -> list[RouteOut]:
    """The routes in force of the hub's day."""
    return [await route_out(r) for r in await route_store.routes_in_force(hub_id, day)]


async def courier_route(courier_id: int | None, day: dt.date) -> RouteOut:
    """A courier's route in force on ``day``; NotFound for a user who is not a courier, or has none."""
    if courier_id is None:
        raise NotFound("You are not a courier, so you have no route.")
    row = (
        await Route.select()
        .where((Route.courier == courier_id) & (Route.plan_date == day) & (Route.current.eq(True)))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound(f"You have no route on {day} yet.")
    return await route_out(row)


async def route_for(route_id: int, *, role: str, courier_id: int | None) -> RouteOut:
    """A route, for a reader of ``role``: a courier only reads their own (and learns nothing
    about other couriers' routes, not even that they exist). The caller checks a
    dispatcher's hub against the answer's ``hub_id``."""
    row = await route_store.read_route(route_id)
    if row is None or (role == "courier" and row["courier"] != courier_id):
        raise NotFound(f"There is no route {route_id} for you.")
    if role not in ("admin", "dispatcher", "courier"):
        raise Forbidden("Only dispatchers and couriers read routes.")
    return await route_out(row)
