"""Dispatchers' messages to couriers: sent (told live and by push) and listed by day."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post

from backend.api.answers import optional_key, respond
from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, OptionalDateQuery, json_body
from backend.services.courier_messages import messages_of, send_message_once
from backend.services.hub_scope import hub_of_courier

MESSAGE_EXAMPLE = ("Ask to call the hub", {"text": "Please call the hub when you can."})


class MessageIn(Body):
    # The 1-500 characters (after stripping) are checked by the service, with a sentence (422).
    text: Annotated[str, msgspec.Meta(max_length=4000)]


class MessageController(Controller):
    tags = ["desk"]

    @post(
        "/couriers/{courier_id:int}/messages",
        guards=[roles("dispatcher")],
        status_code=201,
        summary="Send a courier a message (plain text, 1-500 characters); shown on their phone and pushed "
        "(an Idempotency-Key is optional: a retry with the same key sends it once)",
    )
    async def send(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        courier_id: Id,
        data: Annotated[MessageIn, json_body(MESSAGE_EXAMPLE)],
    ) -> Response[Any]:
        check_hub(user, await hub_of_courier(courier_id))
        key = optional_key(request)
        answer = await send_message_once(
            courier_id, data.text, sent_by=user.id, now=ctx.now(), key=key, body=await request.body()
        )
        return respond(request, answer)

    @get(
        "/couriers/{courier_id:int}/messages",
        guards=[roles("dispatcher")],
        summary="The messages sent to a courier on a day (default today), oldest first",
    )
    async def listing(
        self, ctx: Ctx, user: User, courier_id: Id, date: OptionalDateQuery = None
    ) -> list[dict[str, Any]]:
        check_hub(user, await hub_of_courier(courier_id))
        return await messages_of(courier_id, date or ctx.now().date())
