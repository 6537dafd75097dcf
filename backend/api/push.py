"""Web Push subscriptions for logged-in users (couriers' phones)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, QueryParameter

from backend.api.auth import authenticated, current_user
from backend.api.schemas import Body, Out
from backend.db.tables import PushSubscription
from backend.realtime.push_endpoint import PushEndpoints


class Keys(Body):
    p256dh: Annotated[str, msgspec.Meta(min_length=20, max_length=200)]
    auth: Annotated[str, msgspec.Meta(min_length=8, max_length=100)]


class SubscriptionIn(Body):
    endpoint: Annotated[str, msgspec.Meta(pattern=r"^https?://", max_length=2000,
                                          description="The push service's https:// URL for this browser")]
    keys: Keys
    expiration_time: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None


class PublicKey(Out):
    public_key: str


class PushController(Controller):
    path = "/push"
    tags = ["push"]

    @get("/key", summary="The VAPID public key (applicationServerKey) for pushManager.subscribe()")
    async def key(self, request: Request) -> PublicKey:
        return PublicKey(public_key=request.app.state.push_key)

    @post("/subscriptions", guards=[authenticated], status_code=201, summary="Subscribe this browser")
    async def subscribe(self, request: Request, data: JSONBody[SubscriptionIn]) -> dict[str, str]:
        user = await current_user(request)
        await save_subscription(data, request.app.state.push.endpoints, user_id=user.id)
        return {"endpoint": data.endpoint}

    @delete("/subscriptions", guards=[authenticated], summary="Unsubscribe a browser")
    async def unsubscribe(self, request: Request,
                          endpoint: Annotated[str, QueryParameter(name="endpoint")]) -> None:
        user = await current_user(request)
        await PushSubscription.delete().where(
            (PushSubscription.endpoint == endpoint) & (PushSubscription.user_id == user.id))


async def save_subscription(data: SubscriptionIn, endpoints: PushEndpoints, *, user_id: int | None = None,
                            order_id: int | None = None) -> None:
    """Insert or refresh (a browser may re-subscribe with the same endpoint), if
    the endpoint is one the server may send to."""
    await endpoints.check(data.endpoint)
    values = {"p256dh": data.keys.p256dh, "auth": data.keys.auth, "user_id": user_id, "order_id": order_id}
    if await PushSubscription.exists().where(PushSubscription.endpoint == data.endpoint):
        await PushSubscription.update(values).where(PushSubscription.endpoint == data.endpoint)
    else:
        await PushSubscription.insert(PushSubscription(endpoint=data.endpoint, **values))
