"""What happens to the day: couriers out of service (and, through /replan,
anything else a dispatcher wants re-planned). Each re-plans the running day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post

from backend.api.auth import check_hub, current_user, roles
from backend.api.schemas import Body, Id, json_body
from backend.db.tables import Courier
from backend.errors import NotFound
from backend.services.replanning import courier_out_of_service

OUT_OF_SERVICE_EXAMPLE = ("A flat battery", {"reason": "flat battery at Kamppi"})


class OutOfServiceIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class DisruptionController(Controller):
    tags = ["re-planning"]

    @post("/couriers/{courier_id:int}/out-of-service", guards=[roles("dispatcher")], status_code=200,
          summary="A courier breaks down: their stops move to others, goods on the bike become a transfer")
    async def out_of_service(self, request: Request, courier_id: Id,
                             data: Annotated[OutOfServiceIn, json_body(OUT_OF_SERVICE_EXAMPLE)]) -> dict[str, Any]:
        user = await current_user(request)
        courier = await Courier.select(Courier.id, Courier.hub).where(Courier.id == courier_id).first()
        if courier is None:
            raise NotFound(f"There is no courier with id {courier_id}.")
        check_hub(user, courier["hub"])
        state = request.app.state
        now = dt.datetime.now()
        return await courier_out_of_service(state.geo, state.executor, courier_id, now.date(), now,
                                            reason=data.reason, time_limit_s=state.settings.replan_time_limit_s,
                                            positions=state.positions.places())
