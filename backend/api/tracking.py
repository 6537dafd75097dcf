"""The customer's tracking page and its data; the token is the only key."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter
from litestar.response import File

from backend.api.push import SubscriptionIn, save_subscription
from backend.services.tracking import order_by_token, tracking_view
from backend.settings import REPO_ROOT

Token = Annotated[str, PathParameter(name="token", min_length=10, max_length=64)]
PAGE = REPO_ROOT / "pwa" / "static" / "track" / "index.html"


class TrackingController(Controller):
    path = "/track"
    tags = ["tracking"]

    @get("/{token:str}", summary="The tracking page (HTML)", include_in_schema=False)
    async def page(self, token: Token) -> File:
        await order_by_token(token)
        return File(path=PAGE, filename="index.html", content_disposition_type="inline", media_type="text/html")

    @get("/{token:str}/status", summary="Where the order is: status, ETA window, courier when near")
    async def status(self, request: Request, token: Token) -> dict[str, Any]:
        return await tracking_view(token, request.app.state.positions)

    @post("/{token:str}/push", status_code=201, summary="Get push messages about this order")
    async def subscribe(self, token: Token, data: JSONBody[SubscriptionIn]) -> dict[str, str]:
        order = await order_by_token(token)
        await save_subscription(data, order_id=order["id"])
        return {"endpoint": data.endpoint}
