"""Returns: the customer's portal (no login; the order number and postcode are the key)
and receiving at the hub (role ``returns``, the user's hub only). See docs/returns.md."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, PathParameter

from backend.api.answers import idempotent, optional_key, respond
from backend.api.auth import roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id, json_body
from backend.services import returns_policy as policies
from backend.services import returns_portal as portal
from backend.services import returns_receiving as receiving
from backend.services.idempotency import fingerprint
from backend.structs import Body

ScanCode = Annotated[str, PathParameter(min_length=1, max_length=80)]
FIND_EXAMPLE = ("Find an order", {"orderNumber": "DEMO-R1", "postcode": "00100"})
RETURN_EXAMPLES = (
    (
        "Two items back at a pickup point, refund",
        {
            "orderNumber": "DEMO-R1",
            "postcode": "00100",
            "items": [{"lineId": 12, "quantity": 1, "reason": "too_small"}],
            "outcome": "refund",
            "handIn": "pickup_point",
            "pickupPointId": 3,
        },
    ),
    (
        "Collected by a courier, exchange",
        {
            "orderNumber": "DEMO-R1",
            "postcode": "00100",
            "items": [{"lineId": 12, "quantity": 1, "reason": "other", "text": "The colour is not as shown"}],
            "outcome": "exchange",
            "handIn": "courier",
            "date": "2026-12-07",
            "slot": "evening",
        },
    ),
)
RECEIVE_EXAMPLE = ("The parcel held one jacket and one scarf", {"items": [{"code": "JAS-42"}, {"code": "SJAAL-1"}]})


class FindIn(Body):
    order_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    postcode: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class ReturnPortalController(Controller):
    path = "/portal/returns"
    tags = ["returns"]

    @post(
        "/find",
        status_code=200,
        summary="Find an order by its number and postcode: the items that may go back, fees, points, slots",
        description="A wrong pair answers the same 404 whether the order exists or not; too many wrong pairs "
        "from one address or for one order number answer 429 for 15 minutes.",
    )
    async def find(
        self, request: Request, ctx: Ctx, data: Annotated[FindIn, json_body(FIND_EXAMPLE)]
    ) -> dict[str, Any]:
        return await portal.portal_view(data.order_number, data.postcode, _address(request), ctx.now())

    @post(
        "/",
        status_code=201,
        summary="Register a return: items with reasons, refund or exchange, pickup point or courier slot",
        description="Send an Idempotency-Key header (a new UUID per return, the same on a retry): a replay "
        "answers the same return and registers nothing twice. An item already in a return: 409.",
    )
    async def create(
        self, request: Request, ctx: Ctx, data: Annotated[portal.ReturnIn, json_body(*RETURN_EXAMPLES)]
    ) -> Response[Any]:
        print_ = fingerprint(request.method, request.url.path, await request.body())
        answer = await portal.create_return(data, _address(request), ctx.now(), optional_key(request), print_)
        return respond(request, answer)


class ReturnReceivingController(Controller):
    path = "/receiving/returns"
    tags = ["returns"]
    guards = [roles("returns")]

    @get("/", summary="The hub's returns not received yet")
    async def waiting(self, user: User) -> list[dict[str, Any]]:
        return await receiving.waiting(receiving.hub_of_user(user.role, user.hub_id))

    @get("/scan/{code:str}", summary="The return of a scanned code (its R-code or the parcel's label): expected items")
    async def scan(self, user: User, code: ScanCode) -> dict[str, Any]:
        return await receiving.find(code, user.role, user.hub_id)

    @get("/{return_id:int}", summary="A return with its items and history")
    async def one(self, user: User, return_id: Id) -> dict[str, Any]:
        return await receiving.history_of(return_id, user.role, user.hub_id)

    @post(
        "/{return_id:int}/receive",
        status_code=200,
        summary="Receive the parcel's contents: expected items received or missing, others an exception",
        description="Idempotency-Key required; receiving a return a second time answers 409.",
    )
    async def receive(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        return_id: Id,
        data: Annotated[receiving.ReceiveIn, json_body(RECEIVE_EXAMPLE)],
    ) -> Response[Any]:
        async def action() -> dict[str, Any]:
            return await receiving.receive(return_id, data, user.id, user.role, user.hub_id, ctx.now())

        return await idempotent(request, user, 200, action)


class ShopReturnPolicyController(Controller):
    path = "/shops/{shop_id:int}/return-policy"
    tags = ["returns"]
    guards = [roles("dispatcher")]

    @get("", summary="A shop's return policy (the default when the shop has set none)")
    async def read(self, user: User, shop_id: Id) -> dict[str, Any]:
        return await policies.shop_policy(shop_id, user.role, user.hub_id)

    @put(
        "",
        summary="Set a shop's return policy whole: the window in days, SKUs and categories that cannot go back, "
        "the reasons that are free, the fees and the exchange bonus (cents)",
    )
    async def write(self, user: User, shop_id: Id, data: JSONBody[policies.PolicyIn]) -> dict[str, Any]:
        return await policies.set_shop_policy(shop_id, data, user.role, user.hub_id)


RETURN_CONTROLLERS = (ReturnPortalController, ReturnReceivingController, ShopReturnPolicyController)
