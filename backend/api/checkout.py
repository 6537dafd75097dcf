"""The webshop's check-out: options, holds, and the order from a hold (X-Api-Key, per shop),
and the hub's side: a key for a shop (dispatchers of its hub, admins)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put

from backend.api.answers import optional_key, respond
from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, json_body
from backend.services import checkout as service
from backend.services.checkout_keys import shop_of_key
from backend.services.hub_scope import hub_of_shop

OPTIONS_EXAMPLE = (
    "An address and two parcels",
    {"address": "Fredrikinkatu 20", "parcels": [{"weightG": 2500, "volumeMl": 12000, "longestCm": 45}]},
)
HOLD_EXAMPLE = ("An option's id from the options", {"optionId": "lZYBAatyMDI2LTEyLTA5...."})
SLOTS_EXAMPLE = (
    "An evening and a morning",
    {
        "slots": [
            {"name": "evening", "start": "18:00", "end": "22:00", "priceCents": 595, "leadMin": 360},
            {"name": "morning", "start": "08:00", "end": "12:00", "priceCents": 495, "leadMin": 180},
        ]
    },
)
KEY_EXAMPLE = ("A label", {"label": "check-out of the web shop"})
ORDER_EXAMPLE = ("The customer", {"reference": "WEB-1001", "customerName": "Mia", "customerPhone": "+358401234567"})


def _shop_key(request: Request[Any, Any, Any]) -> str | None:
    return request.headers.get("x-api-key")


class KeyIn(Body):
    label: Annotated[str, msgspec.Meta(max_length=80)] = ""


class CheckoutController(Controller):
    """No login: the shop's key in X-Api-Key is the credential (never in the URL)."""

    path = "/checkout"
    tags = ["checkout"]

    @post("/options", status_code=200, summary="The delivery options for an address and its parcels")
    async def options(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: Annotated[service.OptionsIn, json_body(OPTIONS_EXAMPLE)]
    ) -> service.OptionsOut:
        shop = await shop_of_key(_shop_key(request))
        return await service.checkout_options(ctx, shop, data)

    @post("/holds", status_code=201, summary="Hold an option for a few minutes: its room is kept for this shop")
    async def hold(
        self, ctx: Ctx, request: Request[Any, Any, Any], data: Annotated[service.HoldIn, json_body(HOLD_EXAMPLE)]
    ) -> service.HoldOut:
        shop = await shop_of_key(_shop_key(request))
        return await service.hold_option(ctx, shop, data)

    @get("/holds/{hold_id:int}", summary="A hold of this shop: its expiry and its order once made")
    async def read_hold(self, request: Request[Any, Any, Any], hold_id: Id) -> service.HoldOut:
        shop = await shop_of_key(_shop_key(request))
        return await service.read_hold(shop, hold_id)

    @post(
        "/holds/{hold_id:int}/order",
        status_code=201,
        summary="Make the order of a hold, once (Idempotency-Key; a second call answers the same order)",
    )
    async def order(
        self,
        ctx: Ctx,
        request: Request[Any, Any, Any],
        hold_id: Id,
        data: Annotated[service.HoldOrderIn, json_body(ORDER_EXAMPLE)],
    ) -> Response[Any]:
        shop = await shop_of_key(_shop_key(request))
        key = optional_key(request)
        answer = await service.order_from_hold_once(ctx, shop, hold_id, data, key=key, body=await request.body())
        return respond(request, answer)


class ShopKeyController(Controller):
    path = "/shops/{shop_id:int}/api-keys"
    tags = ["checkout"]

    @post("/", guards=[roles("dispatcher")], summary="A new check-out API key for a shop (shown once)")
    async def create(self, user: User, shop_id: Id, data: Annotated[KeyIn, json_body(KEY_EXAMPLE)]) -> dict[str, Any]:
        check_hub(user, await hub_of_shop(shop_id))
        return await service.new_api_key(shop_id, data.label)


class HubSlotController(Controller):
    path = "/hubs/{hub_id:int}/checkout-slots"
    tags = ["checkout"]

    @get("/", guards=[roles("dispatcher")], summary="The delivery slots the hub sells at check-out")
    async def read(self, user: User, hub_id: Id) -> list[service.SlotOut]:
        check_hub(user, hub_id)
        return await service.hub_slots(hub_id)

    @put("/", guards=[roles("dispatcher")], summary="Replace the hub's check-out slots ([]: the defaults)")
    async def replace(
        self, user: User, hub_id: Id, data: Annotated[service.SlotsIn, json_body(SLOTS_EXAMPLE)]
    ) -> list[service.SlotOut]:
        check_hub(user, hub_id)
        return await service.set_hub_slots(hub_id, data)


CHECKOUT_CONTROLLERS = (CheckoutController, ShopKeyController, HubSlotController)
