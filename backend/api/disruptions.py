"""What happens to the day: couriers out of service (and, through /replan,
anything else a dispatcher wants re-planned). Each re-plans the running day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, post, put

from backend.api.auth import check_hub, current_user, roles
from backend.api.schemas import Body, DbId, Id, json_body
from backend.db.tables import Courier, Stop
from backend.errors import NotFound
from backend.services.replanning import assign_stop, courier_out_of_service, pin_order, release_stop

OUT_OF_SERVICE_EXAMPLE = ("A flat battery", {"reason": "flat battery at Kamppi"})


class OutOfServiceIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AssignIn(Body):
    courier_id: DbId


class PinIn(Body):
    stop_ids: Annotated[list[DbId], msgspec.Meta(max_length=500)]


async def _check_courier(request: Request, courier_id: int) -> None:
    """The courier exists and is of a hub this dispatcher may act on."""
    courier = await Courier.select(Courier.id, Courier.hub).where(Courier.id == courier_id).first()
    if courier is None:
        raise NotFound(f"There is no courier with id {courier_id}.")
    check_hub(await current_user(request), courier["hub"])


class DisruptionController(Controller):
    tags = ["re-planning"]

    @post("/couriers/{courier_id:int}/out-of-service", guards=[roles("dispatcher")], status_code=200,
          summary="A courier breaks down: their stops move to others, goods on the bike become a transfer")
    async def out_of_service(self, request: Request, courier_id: Id,
                             data: Annotated[OutOfServiceIn, json_body(OUT_OF_SERVICE_EXAMPLE)]) -> dict[str, Any]:
        await _check_courier(request, courier_id)
        state = request.app.state
        now = dt.datetime.now()
        return await courier_out_of_service(state.geo, state.executor, courier_id, now.date(), now,
                                            reason=data.reason, time_limit_s=state.settings.replan_time_limit_s,
                                            positions=state.positions.places())

    @post("/stops/{stop_id:int}/assign", guards=[roles("dispatcher")], status_code=200,
          summary="Move a stop to a courier; it stays with them in every later re-plan")
    async def assign(self, request: Request, stop_id: Id,
                     data: Annotated[AssignIn, json_body(("Give stop to courier 3", {"courierId": 3}))]
                     ) -> dict[str, Any]:
        user = await current_user(request)
        stop = await Stop.select(Stop.hub).where(Stop.id == stop_id).first()
        if stop is None:
            raise NotFound(f"There is no stop with id {stop_id}.")
        check_hub(user, stop["hub"])
        state = request.app.state
        now = dt.datetime.now()
        return await assign_stop(state.geo, state.executor, stop_id, data.courier_id, now,
                                 time_limit_s=state.settings.replan_time_limit_s, positions=state.positions.places())

    @delete("/stops/{stop_id:int}/assign", guards=[roles("dispatcher")], status_code=204,
            summary="Release a stop moved by hand; later re-plans may move it again")
    async def release(self, request: Request, stop_id: Id) -> None:
        user = await current_user(request)
        stop = await Stop.select(Stop.hub).where(Stop.id == stop_id).first()
        if stop is None:
            raise NotFound(f"There is no stop with id {stop_id}.")
        check_hub(user, stop["hub"])
        if not await release_stop(stop_id):
            raise NotFound(f"Stop {stop_id} was not moved by hand.")

    @put("/couriers/{courier_id:int}/pinned-order", guards=[roles("dispatcher")], status_code=200,
         summary="Pin an order of stops on a courier (others may come between); an empty list removes the pin")
    async def pin(self, request: Request, courier_id: Id,
                  data: Annotated[PinIn, json_body(("Visit 12 before 15", {"stopIds": [12, 15]}))]) -> dict[str, Any]:
        await _check_courier(request, courier_id)
        state = request.app.state
        return await pin_order(state.geo, state.executor, courier_id, data.stop_ids, dt.datetime.now(),
                               time_limit_s=state.settings.replan_time_limit_s, positions=state.positions.places())
