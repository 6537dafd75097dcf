"""Street and zone closures: dispatchers close a street or an area for a time span;
the running day is re-planned around it, and again when it reopens."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post

from backend.api.answers import optional_key, respond
from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, OptionalDateQuery, json_body
from backend.services.closures import (
    ClosureOut,
    add_closure_once,
    hub_of_closure,
    list_closures,
    remove_closure,
)
from backend.structs import LocalDateTime

CLOSURE_EXAMPLES = (
    (
        "A street closed for a market",
        {
            "reason": "Christmas market",
            "street": "Aleksanterinkatu",
            "start": "2026-11-23T10:00:00",
            "end": "2026-11-23T16:00:00",
        },
    ),
    (
        "An area closed around road works",
        {
            "reason": "water main burst",
            "circle": {"lat": 60.1672, "lon": 24.9441, "radiusM": 120},
            "start": "2026-11-23T09:00:00",
            "end": "2026-11-23T18:00:00",
        },
    ),
    (
        "A square closed (polygon of [lat, lon] corners)",
        {
            "reason": "demonstration",
            "zone": [[60.1687, 24.9515], [60.1687, 24.9535], [60.1676, 24.9535], [60.1676, 24.9515]],
            "start": "2026-11-23T12:00:00",
            "end": "2026-11-23T14:00:00",
        },
    ),
)


class CircleIn(Body):
    lat: float
    lon: float
    radius_m: float  # checked, with a sentence, by the closures service


class ClosureIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    start: LocalDateTime
    end: LocalDateTime
    # What is closed: a street by its name on the map, an area (a polygon of [lat, lon]
    # corners, or a circle), or a street within an area (a stretch of it).
    street: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    zone: Annotated[list[tuple[float, float]], msgspec.Meta(max_length=1000)] | None = None
    circle: CircleIn | None = None


class ClosureController(Controller):
    tags = ["re-planning"]

    @post(
        "/hubs/{hub_id:int}/closures",
        guards=[roles("dispatcher")],
        status_code=201,
        summary="Close a street or an area for a time span; the running day is re-planned around it "
        "(an Idempotency-Key is optional: a retry with the same key closes and re-plans once)",
    )
    async def create(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        hub_id: Id,
        data: Annotated[ClosureIn, json_body(*CLOSURE_EXAMPLES)],
    ) -> Response[Any]:
        check_hub(user, hub_id)
        centre = (data.circle.lat, data.circle.lon, data.circle.radius_m) if data.circle else None
        key = optional_key(request)
        answer = await add_closure_once(
            ctx,
            hub_id,
            reason=data.reason,
            start=data.start,
            end=data.end,
            street=data.street,
            zone=data.zone,
            centre=centre,
            now=ctx.now(),
            user_id=user.id,
            key=key,
            body=await request.body(),
        )
        return respond(request, answer)

    @get(
        "/hubs/{hub_id:int}/closures",
        guards=[roles("dispatcher")],
        summary="The hub's closures on a day (without a date: those not ended yet)",
    )
    async def listing(self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDateQuery = None) -> list[ClosureOut]:
        check_hub(user, hub_id)
        return await list_closures(ctx, hub_id, date, ctx.now())

    @delete(
        "/closures/{closure_id:int}",
        guards=[roles("dispatcher")],
        status_code=200,
        summary="Reopen: delete a closure; the running day is re-planned when it was in force",
    )
    async def remove(self, ctx: Ctx, user: User, closure_id: Id) -> ClosureOut:
        check_hub(user, await hub_of_closure(closure_id))
        return await remove_closure(ctx, closure_id, now=ctx.now())
