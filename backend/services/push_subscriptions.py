"""Web Push subscriptions: a logged-in user's browser, or a customer's for one order."""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column

from backend.db.tables import PushSubscription
from backend.realtime.push_endpoint import PushEndpoints


async def save_subscription(
    endpoints: PushEndpoints,
    endpoint: str,
    *,
    p256dh: str,
    auth: str,
    user_id: int | None = None,
    order_id: int | None = None,
) -> None:
    """Insert or refresh (a browser may re-subscribe with the same endpoint), if
    the endpoint is one the server may send to."""
    await endpoints.check(endpoint)
    values: dict[Column | str, Any] = {"p256dh": p256dh, "auth": auth, "user_id": user_id, "order_id": order_id}
    if await PushSubscription.exists().where(PushSubscription.endpoint == endpoint):
        await PushSubscription.update(values).where(PushSubscription.endpoint == endpoint)
    else:
        await PushSubscription.insert(
            PushSubscription(endpoint=endpoint, p256dh=p256dh, auth=auth, user_id=user_id, order_id=order_id)
        )


async def remove_subscription(endpoint: str, user_id: int) -> None:
    """The user's browser no longer wants push messages."""
    await PushSubscription.delete().where(
        (PushSubscription.endpoint == endpoint) & (PushSubscription.user_id == user_id)
    )
