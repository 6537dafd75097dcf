"""What was ridden and done: a courier's trail, the hub's figures of the day, and
the exports (the day as CSV, a trail as GPX). Dispatchers of the hub (and admins)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id, OptionalDateQuery
from backend.services.hub_scope import hub_of_courier
from backend.services.ridden import courier_trail, day_csv, hub_figures, trail_gpx

DISPATCH = [roles("dispatcher")]
CSV = "text/csv; charset=utf-8"
GPX = "application/gpx+xml"


def _file(body: str, media_type: str, filename: str) -> Response[str]:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class RiddenController(Controller):
    tags = ["the day's figures"]

    @get(
        "/couriers/{courier_id:int}/trail",
        guards=DISPATCH,
        summary="A courier's ridden trail of a day, with km ridden, speed now, last position and range left",
    )
    async def trail(self, ctx: Ctx, user: User, courier_id: Id, date: OptionalDateQuery = None) -> dict[str, Any]:
        check_hub(user, await hub_of_courier(courier_id))
        now = ctx.now()
        return await courier_trail(ctx, courier_id, date or now.date(), now)

    @get(
        "/couriers/{courier_id:int}/trail.gpx",
        guards=DISPATCH,
        summary="A courier's ridden trail of a day as GPX 1.1",
        media_type=GPX,
        responses={200: ResponseSpec(data_container=str, description="GPX 1.1: one trk, one trkseg", media_type=GPX)},
    )
    async def gpx(self, ctx: Ctx, user: User, courier_id: Id, date: OptionalDateQuery = None) -> Response[str]:
        check_hub(user, await hub_of_courier(courier_id))
        day = date or ctx.now().date()
        return _file(await trail_gpx(ctx, courier_id, day), GPX, f"laadbak-courier-{courier_id}-{day}.gpx")

    @get(
        "/hubs/{hub_id:int}/figures",
        guards=DISPATCH,
        summary="The hub's figures of a day: stops done, on time, first attempts, km ridden, CO2 avoided",
    )
    async def figures(self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDateQuery = None) -> dict[str, Any]:
        check_hub(user, hub_id)
        return await hub_figures(ctx, hub_id, date or ctx.now().date())

    @get(
        "/hubs/{hub_id:int}/day.csv",
        guards=DISPATCH,
        summary="The hub's day as CSV: one row per stop with courier, times, status and reason",
        media_type=CSV,
        responses={
            200: ResponseSpec(
                data_container=str,
                description="CSV with a header row",
                media_type=CSV,
                examples=[Example(value="stopId,orderReference,kind,...\r\n")],
            )
        },
    )
    async def csv(self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDateQuery = None) -> Response[str]:
        check_hub(user, hub_id)
        day = date or ctx.now().date()
        return _file(await day_csv(hub_id, day), CSV, f"laadbak-hub-{hub_id}-{day}.csv")
