"""Planning a day, plan runs, and routes (couriers read only their own)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post

from backend.api.auth import authenticated, check_hub, current_user, roles
from backend.api.schemas import (
    PLAN_EXAMPLE,
    Body,
    DateQuery,
    HubIdQuery,
    Id,
    OptionalDateQuery,
    json_body,
)
from backend.db.tables import PlanRun, Route
from backend.errors import Forbidden, NotFound
from backend.dispatch.replan import DEFAULT_MIN_GAIN_S
from backend.services.planning import PlanRunOut, RouteOut, plan_day, read_plan_run, route_out
from backend.services.replanning import replan_hub

DISPATCH = [roles("dispatcher")]



class PlanIn(Body):
    date: dt.date
    time_limit_s: Annotated[float, msgspec.Meta(ge=1, le=300)] | None = None




REPLAN_EXAMPLE = ("A street closed at the market", {"reason": "Kauppatori closed 10:00-14:00", "timeLimitS": 1})


class ReplanIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "dispatcher"
    time_limit_s: Annotated[float, msgspec.Meta(ge=0.2, le=60)] | None = None
    min_gain_s: Annotated[int, msgspec.Meta(ge=0, le=3600)] | None = None


class PlanController(Controller):
    tags = ["planning"]

    @post("/hubs/{hub_id:int}/plans", guards=DISPATCH, status_code=201,
          summary="Plan a hub's day: routes for every courier shift, unplanned stops with reasons")
    async def plan(self, request: Request, hub_id: Id, data: Annotated[PlanIn, json_body(PLAN_EXAMPLE)]) -> PlanRunOut:
        user = await current_user(request)
        check_hub(user, hub_id)
        state = request.app.state
        limit = data.time_limit_s or state.settings.plan_time_limit_s
        run_id = await plan_day(state.geo, state.executor, hub_id, data.date, limit)
        return await read_plan_run(run_id)

    @post("/hubs/{hub_id:int}/replan", guards=DISPATCH, status_code=200,
          summary="Re-plan what is left of today from the routes in force; only changed routes are published")
    async def replan(self, request: Request, hub_id: Id,
                     data: Annotated[ReplanIn, json_body(REPLAN_EXAMPLE)]) -> dict[str, Any]:
        user = await current_user(request)
        check_hub(user, hub_id)
        state = request.app.state
        now = dt.datetime.now()
        return await replan_hub(state.geo, state.executor, hub_id, now.date(), now, reason=data.reason,
                                time_limit_s=data.time_limit_s or state.settings.replan_time_limit_s,
                                min_gain_s=data.min_gain_s if data.min_gain_s is not None else DEFAULT_MIN_GAIN_S,
                                positions=state.positions.places())

    @get("/plan-runs", guards=DISPATCH, summary="Plan runs of a hub, newest first")
    async def list_runs(self, request: Request, hub_id: HubIdQuery, date: OptionalDateQuery = None) -> list[PlanRunOut]:
        check_hub(await current_user(request), hub_id)
        query = PlanRun.select(PlanRun.id).where(PlanRun.hub == hub_id).order_by(PlanRun.id, ascending=False)
        if date is not None:
            query = query.where(PlanRun.plan_date == date)
        return [await read_plan_run(r["id"]) for r in await query]

    @get("/plan-runs/{run_id:int}", guards=DISPATCH, summary="Read a plan run")
    async def read_run(self, request: Request, run_id: Id) -> PlanRunOut:
        run = await read_plan_run(run_id)
        check_hub(await current_user(request), run.hub_id)
        return run


class RouteController(Controller):
    path = "/routes"
    tags = ["routes"]

    @get("/", guards=DISPATCH, summary="The current routes of a hub's day")
    async def list_routes(self, request: Request, hub_id: HubIdQuery, date: DateQuery) -> list[RouteOut]:
        check_hub(await current_user(request), hub_id)
        rows = await Route.select().where(
            (Route.hub == hub_id) & (Route.plan_date == date) & (Route.current == True)  # noqa: E712
        ).order_by(Route.courier).output(load_json=True)
        return [await route_out(r) for r in rows]

    @get("/mine", guards=[authenticated], summary="The logged-in courier's current route for a day")
    async def mine(self, request: Request, date: DateQuery) -> RouteOut:
        user = await current_user(request)
        if user.courier_id is None:
            raise NotFound("You are not a courier, so you have no route.")
        row = await Route.select().where(
            (Route.courier == user.courier_id) & (Route.plan_date == date) & (Route.current == True)  # noqa: E712
        ).output(load_json=True).first()
        if row is None:
            raise NotFound(f"You have no route on {date} yet.")
        return await route_out(row)

    @get("/{route_id:int}", guards=[authenticated], summary="Read a route (couriers: only their own)")
    async def read(self, request: Request, route_id: Id) -> RouteOut:
        user = await current_user(request)
        row = await Route.select().where(Route.id == route_id).output(load_json=True).first()
        # A courier learns nothing about other couriers' routes, not even that they exist.
        if row is None or (user.role == "courier" and row["courier"] != user.courier_id):
            raise NotFound(f"There is no route {route_id} for you.")
        if user.role not in ("admin", "dispatcher", "courier"):
            raise Forbidden("Only dispatchers and couriers read routes.")
        if user.role == "dispatcher":
            check_hub(user, row["hub"])
        return await route_out(row)
