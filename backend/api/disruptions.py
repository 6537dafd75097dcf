"""What happens to the day: couriers out of service (and, through /replan,
anything else a dispatcher wants re-planned). Each re-plans the running day."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, post, put

from backend.api.answers import idempotent, optional_key
from backend.api.auth import Principal, check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, DbId, Id, json_body
from backend.errors import NotFound
from backend.services.disruptions import assign_stop, courier_out_of_service, pin_order, release_stop
from backend.services.hub_scope import hub_of_courier, hub_of_stop

OUT_OF_SERVICE_EXAMPLE = ("A flat battery", {"reason": "flat battery at Kamppi"})


class OutOfServiceIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AssignIn(Body):
    courier_id: DbId


class PinIn(Body):
    stop_ids: Annotated[list[DbId], msgspec.Meta(max_length=500)]


async def _check_courier(user: Principal, courier_id: int) -> None:
    """The courier exists and is of a hub this dispatcher may act on."""
    check_hub(user, await hub_of_courier(courier_id))


class DisruptionController(Controller):
    tags = ["re-planning"]

    @post(
        "/couriers/{courier_id:int}/out-of-service",
        guards=[roles("dispatcher")],
        status_code=200,
        summary="A courier breaks down: their stops move to others, goods on the bike become a transfer",
    )
    async def out_of_service(
        self, ctx: Ctx, user: User, courier_id: Id, data: Annotated[OutOfServiceIn, json_body(OUT_OF_SERVICE_EXAMPLE)]
    ) -> dict[str, Any]:
        await _check_courier(user, courier_id)
        now = ctx.now()
        return await courier_out_of_service(ctx, courier_id, now.date(), now, reason=data.reason, by_user=user.id)

    @post(
        "/stops/{stop_id:int}/assign",
        guards=[roles("dispatcher")],
        status_code=200,
        summary="Move a stop to a courier; it stays with them in every later re-plan",
    )
    async def assign(
        self,
        ctx: Ctx,
        user: User,
        stop_id: Id,
        data: Annotated[AssignIn, json_body(("Give stop to courier 3", {"courierId": 3}))],
    ) -> dict[str, Any]:
        check_hub(user, await hub_of_stop(stop_id))
        return await assign_stop(ctx, stop_id, data.courier_id, ctx.now(), by_user=user.id)

    @delete(
        "/stops/{stop_id:int}/assign",
        guards=[roles("dispatcher")],
        status_code=204,
        summary="Release a stop moved by hand; later re-plans may move it again",
    )
    async def release(self, user: User, stop_id: Id) -> None:
        check_hub(user, await hub_of_stop(stop_id))
        if not await release_stop(stop_id):
            raise NotFound(f"Stop {stop_id} was not moved by hand.")

    @put(
        "/couriers/{courier_id:int}/pinned-order",
        guards=[roles("dispatcher")],
        status_code=200,
        summary="Pin an order of stops on a courier (others may come between); an empty list removes the pin",
        description="An Idempotency-Key is optional: a retry with the same key re-plans once and gets the same answer.",
    )
    async def pin(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        courier_id: Id,
        data: Annotated[PinIn, json_body(("Visit 12 before 15", {"stopIds": [12, 15]}))],
    ) -> Response[Any]:
        await _check_courier(user, courier_id)

        async def action() -> dict[str, Any]:
            return await pin_order(ctx, courier_id, data.stop_ids, ctx.now(), by_user=user.id)

        if optional_key(request) is None:
            return Response(await action())
        return await idempotent(request, user, 200, action)  # a retry re-plans once, answers the same
