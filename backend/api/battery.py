"""A bike's battery level, reported by its courier's app or by a dispatcher of the
courier's hub; re-plans then start the bike with the range it has left."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, post

from backend.api.answers import optional_key, respond
from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, json_body
from backend.errors import Forbidden
from backend.services.battery import report_battery_once
from backend.services.hub_scope import hub_of_courier

LEVEL_EXAMPLE = ("The battery at 55 %", {"levelPct": 55})
CHARGED_EXAMPLE = ("Charged at the hub", {"charged": True})


class BatteryIn(Body):
    # 0-100 is checked by the service, with a sentence naming the field (422).
    level_pct: float | None = None
    charged: bool = False


class BatteryController(Controller):
    tags = ["re-planning"]

    @post(
        "/couriers/{courier_id:int}/battery",
        guards=[roles("dispatcher", "courier")],
        status_code=201,
        summary="Report the battery level of a courier's bike (0-100 %, or charged); re-plans start the bike "
        "with the range it has left (an Idempotency-Key is optional: a retry with the same key keeps it once)",
    )
    async def report(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        courier_id: Id,
        data: Annotated[BatteryIn, json_body(LEVEL_EXAMPLE, CHARGED_EXAMPLE)],
    ) -> Response[Any]:
        hub = await hub_of_courier(courier_id)
        if user.role == "courier":
            if user.courier_id != courier_id:
                raise Forbidden("A courier reports the battery of their own bike only.")
        else:
            check_hub(user, hub)
        key = optional_key(request)
        answer = await report_battery_once(
            courier_id,
            data.level_pct,
            data.charged,
            by_user=user.id,
            now=ctx.now(),
            key=key,
            body=await request.body(),
            max_speed_kmh=ctx.settings.trail_max_kmh,
        )
        return respond(request, answer)
