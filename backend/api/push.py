"""Web Push subscriptions for logged-in users (couriers' phones)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import JSONBody, QueryParameter

from backend.api.auth import authenticated
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Out
from backend.realtime.push_endpoint import PushEndpoints
from backend.services import push_subscriptions as service


class Keys(Body):
    p256dh: Annotated[str, msgspec.Meta(min_length=20, max_length=200)]
    auth: Annotated[str, msgspec.Meta(min_length=8, max_length=100)]


class SubscriptionIn(Body):
    endpoint: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^https?://", max_length=2000, description="The push service's https:// URL for this browser"
        ),
    ]
    keys: Keys
    expiration_time: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None


class PublicKey(Out):
    public_key: str


class PushController(Controller):
    path = "/push"
    tags = ["push"]

    @get("/key", summary="The VAPID public key (applicationServerKey) for pushManager.subscribe()")
    async def key(self, ctx: Ctx) -> PublicKey:
        return PublicKey(public_key=ctx.push_key)

    @post("/subscriptions", guards=[authenticated], status_code=201, summary="Subscribe this browser")
    async def subscribe(self, ctx: Ctx, user: User, data: JSONBody[SubscriptionIn]) -> dict[str, str]:
        await save_subscription(data, ctx.push_endpoints(), user_id=user.id)
        return {"endpoint": data.endpoint}

    @delete("/subscriptions", guards=[authenticated], summary="Unsubscribe a browser")
    async def unsubscribe(self, user: User, endpoint: Annotated[str, QueryParameter(name="endpoint")]) -> None:
        await service.remove_subscription(endpoint, user.id)


async def save_subscription(
    data: SubscriptionIn, endpoints: PushEndpoints, *, user_id: int | None = None, order_id: int | None = None
) -> None:
    """Keep the browser's subscription (for a user, or for an order's tracking page)."""
    await service.save_subscription(
        endpoints, data.endpoint, p256dh=data.keys.p256dh, auth=data.keys.auth, user_id=user_id, order_id=order_id
    )
