"""Planning a day, plan runs, and routes (couriers read only their own)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post

from backend.api.auth import authenticated, check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import (
    PLAN_EXAMPLE,
    Body,
    DateQuery,
    HubIdQuery,
    Id,
    OptionalDateQuery,
    json_body,
)
from backend.dispatch.replan import DEFAULT_MIN_GAIN_S
from backend.services.planning import (
    PlanRunOut,
    RouteOut,
    courier_route,
    hub_routes,
    plan_day,
    plan_runs,
    read_plan_run,
    route_for,
)
from backend.services.replanning import replan_hub

DISPATCH = [roles("dispatcher")]


class PlanIn(Body):
    date: dt.date
    time_limit_s: Annotated[float, msgspec.Meta(ge=1, le=300)] | None = None


REPLAN_EXAMPLE = ("A street closed at the market", {"reason": "Kauppatori closed 10:00-14:00", "timeLimitS": 1})


# of the re-plan's limit, for the answer to a re-plan asked for by hand without a limit
BY_HAND_SHARE = 0.6


class ReplanIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "dispatcher"
    time_limit_s: Annotated[float, msgspec.Meta(ge=0.2, le=60)] | None = None
    min_gain_s: Annotated[int, msgspec.Meta(ge=0, le=3600)] | None = None


class PlanController(Controller):
    tags = ["planning"]

    @post(
        "/hubs/{hub_id:int}/plans",
        guards=DISPATCH,
        status_code=201,
        summary="Plan a hub's day: routes for every courier shift, unplanned stops with reasons",
    )
    async def plan(
        self, ctx: Ctx, user: User, hub_id: Id, data: Annotated[PlanIn, json_body(PLAN_EXAMPLE)]
    ) -> PlanRunOut:
        check_hub(user, hub_id)
        return await read_plan_run(await plan_day(ctx, hub_id, data.date, data.time_limit_s))

    @post(
        "/hubs/{hub_id:int}/replan",
        guards=DISPATCH,
        status_code=200,
        summary="Re-plan what is left of today from the routes in force; only changed routes are published",
    )
    async def replan(
        self, ctx: Ctx, user: User, hub_id: Id, data: Annotated[ReplanIn, json_body(REPLAN_EXAMPLE)]
    ) -> dict[str, Any]:
        check_hub(user, hub_id)
        now = ctx.now()
        # Asked for by hand: the solver's plan. Without a limit of its own, an answer in
        # part of the re-plan's limit (the phones wait for it) and a longer search after
        # it, published when it gains enough, as after every quick answer.
        short = data.time_limit_s is None
        return await replan_hub(
            ctx,
            hub_id,
            now.date(),
            now,
            reason=data.reason,
            time_limit_s=BY_HAND_SHARE * ctx.replan_time_limit_s if short else data.time_limit_s,
            min_gain_s=data.min_gain_s if data.min_gain_s is not None else DEFAULT_MIN_GAIN_S,
            by_user=user.id,
            quick=False,
            search_after=short,
        )

    @get("/plan-runs", guards=DISPATCH, summary="Plan runs of a hub, newest first")
    async def list_runs(self, user: User, hub_id: HubIdQuery, date: OptionalDateQuery = None) -> list[PlanRunOut]:
        check_hub(user, hub_id)
        return await plan_runs(hub_id, date)

    @get("/plan-runs/{run_id:int}", guards=DISPATCH, summary="Read a plan run")
    async def read_run(self, user: User, run_id: Id) -> PlanRunOut:
        run = await read_plan_run(run_id)
        check_hub(user, run.hub_id)
        return run


class RouteController(Controller):
    path = "/routes"
    tags = ["routes"]

    @get("/", guards=DISPATCH, summary="The current routes of a hub's day")
    async def list_routes(self, user: User, hub_id: HubIdQuery, date: DateQuery) -> list[RouteOut]:
        check_hub(user, hub_id)
        return await hub_routes(hub_id, date)

    @get("/mine", guards=[authenticated], summary="The logged-in courier's current route for a day")
    async def mine(self, user: User, date: DateQuery) -> RouteOut:
        return await courier_route(user.courier_id, date)

    @get("/{route_id:int}", guards=[authenticated], summary="Read a route (couriers: only their own)")
    async def read(self, user: User, route_id: Id) -> RouteOut:
        route = await route_for(route_id, role=user.role, courier_id=user.courier_id)
        if user.role == "dispatcher":
            check_hub(user, route.hub_id)
        return route
