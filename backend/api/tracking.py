"""The customer's tracking page and its data; the token is the only key."""

from __future__ import annotations

import asyncio
import weakref
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, PathParameter
from litestar.response import File

from backend.api.answers import respond
from backend.api.deps import Ctx
from backend.api.push import SubscriptionIn, save_subscription
from backend.api.schemas import json_body
from backend.errors import Invalid
from backend.services.idempotency import fingerprint
from backend.services.redirect import RedirectIn, redirect, redirect_once
from backend.services.tracking import order_by_token, tracking_view
from backend.settings import REPO_ROOT

Token = Annotated[str, PathParameter(name="token", min_length=10, max_length=64)]
PAGE = REPO_ROOT / "pwa" / "static" / "track" / "index.html"
REDIRECT_EXAMPLES = (
    ("Another window that day", {"kind": "window", "window": "evening"}),
    ("An explicit window", {"kind": "window", "window": "18:00-20:00"}),
    ("A pickup point (one of redirectOptions)", {"kind": "pickup_point", "pickupPointId": 3}),
    ("Another address, same window", {"kind": "address", "address": "Fredrikinkatu 20"}),
)
# Same-key requests of this process queue here, so a double-click's twin gets
# the first one's stored answer instead of racing it.
_KEY_LOCKS: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


class TrackingController(Controller):
    path = "/track"
    tags = ["tracking"]

    @get("/{token:str}", summary="The tracking page (HTML)", include_in_schema=False)
    async def page(self, token: Token) -> File:
        await order_by_token(token)
        return File(path=PAGE, filename="index.html", content_disposition_type="inline", media_type="text/html")

    @get("/{token:str}/status", summary="Where the order is: status, ETA window, courier when near, redirect choices")
    async def status(self, ctx: Ctx, token: Token) -> dict[str, Any]:
        return await tracking_view(ctx, token, ctx.now())

    @post("/{token:str}/push", status_code=201, summary="Get push messages about this order")
    async def subscribe(self, ctx: Ctx, token: Token, data: JSONBody[SubscriptionIn]) -> dict[str, str]:
        order = await order_by_token(token)
        await save_subscription(data, ctx.push_endpoints(), order_id=order["id"])
        return {"endpoint": data.endpoint}

    @post(
        "/{token:str}/redirect",
        status_code=200,
        summary="Send the parcel elsewhere before delivery: another window, a pickup point, another address",
        description="Taken only when a courier can still bring it there (the running day is re-planned); "
        "otherwise 409 with `redirectOptions`. Send an Idempotency-Key header (a new UUID per "
        "choice, the same on a retry): a replay gets the stored answer and changes nothing.",
    )
    async def redirect_parcel(
        self, request: Request, ctx: Ctx, token: Token, data: Annotated[RedirectIn, json_body(*REDIRECT_EXAMPLES)]
    ) -> Response[Any]:
        order = await order_by_token(token)
        now = ctx.now()
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            return Response(await redirect(ctx, order, data, now), status_code=200)
        if len(key) > 80:
            raise Invalid("The Idempotency-Key is longer than 80 characters; send a UUID.")
        scoped = f"track:{order['id']}:{key}"  # no user here: the order scopes the key (user id 0 never exists)
        lock = _KEY_LOCKS.get(scoped)
        if lock is None:
            lock = _KEY_LOCKS[scoped] = asyncio.Lock()
        async with lock:
            # the change and its stored answer commit together (see services/redirect.py)
            answer = await redirect_once(
                ctx,
                order,
                data,
                now,
                scoped_key=scoped,
                print_=fingerprint(request.method, request.url.path, await request.body()),
            )
        return respond(request, answer)
