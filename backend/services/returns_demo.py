"""The demo's returns: orders delivered in the past days (a customer can return from them
in the portal with their order number and postcode), two returns waiting at the hub to be
received, a partner shop's return policy, the hub's returns settings (its labour rate), and the
``returns`` login."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from backend.db.returns_settings_tables import HubReturnsSettings
from backend.db.tables import (
    Order,
    OrderLine,
    ReturnEvent,
    ReturnItem,
    ReturnRequest,
    ShopReturnPolicy,
    Stop,
    User,
)
from backend.returns.settings import DEFAULTS
from backend.returns.vocabulary import ReturnPolicy
from backend.services.returns_settings import to_body

POSTCODE = "00100"
# The partner shop's policy (the vase's seller): 14 days, food not returnable, a fee for changed my mind.
SHOP_POLICY = ReturnPolicy(
    not_returnable_categories=frozenset({"food"}), changed_mind_fee_cents=395, exchange_bonus_cents=500
)
# The demo hub's returns settings: the built-in tables, and what an hour of reconditioning costs
# it (so the figures' labour has a price).
HUB_SETTINGS = msgspec.structs.replace(DEFAULTS, labour_cents_per_hour=2400)
# reference, days since delivery, lines (SKU, quantity), the return waiting at the hub [(SKU, qty, reason)]
ORDERS: tuple[tuple[str, int, tuple[tuple[str, int], ...], tuple[tuple[str, int, str], ...]], ...] = (
    ("DEMO-R1", 2, (("SOCKS-W", 2), ("LAMP-DESK", 1), ("HONEY-450", 1), ("VASE-HAND", 1)), ()),
    ("DEMO-R2", 3, (("MUG-STON", 2), ("BOOK-PB", 1)), (("MUG-STON", 1, "damaged_on_arrival"),)),
    ("DEMO-R3", 1, (("LAMP-DESK", 1), ("SOCKS-W", 1)), (("LAMP-DESK", 1, "defective"),)),
    ("DEMO-R4", 30, (("SOCKS-W", 1),), ()),  # after the window
)
# What the demo's customers paid per unit (cents): the returns desk's refunds start from it.
PRICES = {"SOCKS-W": 1295, "LAMP-DESK": 4950, "HONEY-450": 895, "VASE-HAND": 3900, "MUG-STON": 1450, "BOOK-PB": 1999}


async def seed_returns(
    hub_id: int,
    day: dt.date,
    places: list[tuple[float, float, str]],
    shop_id: int | None,
    point_id: int | None,
    password_hash: str,
) -> list[str]:
    """Call inside the demo's transaction; answers the order numbers a customer can try."""
    await User.insert(
        User(username="returns", password_hash=password_hash, role="returns", display_name="Returns", hub_id=hub_id)
    )
    await HubReturnsSettings.insert(HubReturnsSettings(hub=hub_id, settings=msgspec.to_builtins(to_body(HUB_SETTINGS))))
    if shop_id is not None:
        await ShopReturnPolicy.insert(ShopReturnPolicy(shop=shop_id, policy=msgspec.to_builtins(SHOP_POLICY)))
    for n, (ref, days_ago, lines, waiting) in enumerate(ORDERS):
        lat, lon, address = places[n % len(places)]
        when = dt.datetime.combine(day - dt.timedelta(days=days_ago), dt.time(11))
        oid = await _delivered(hub_id, ref, lat, lon, address, when)
        ids = await OrderLine.insert(
            *(
                OrderLine(order=oid, sku=sku, quantity=q, status="picked", picked=q, price_cents=PRICES.get(sku, 0))
                for sku, q in lines
            )
        )
        by_sku = {sku: row["id"] for (sku, _), row in zip(lines, ids, strict=True)}
        if waiting:
            # registered the evening it was delivered: in the past for every demo order
            await _waiting(hub_id, oid, n, point_id, by_sku, waiting, when + dt.timedelta(hours=7))
    return [o[0] for o in ORDERS]


async def _delivered(hub_id: int, ref: str, lat: float, lon: float, address: str, when: dt.datetime) -> int:
    start, end = when.replace(hour=10), when.replace(hour=12)
    oid = (
        await Order.insert(
            Order(
                reference=ref,
                hub=hub_id,
                customer_name="Demo customer",
                address=address,
                postcode=POSTCODE,
                lat=lat,
                lon=lon,
                delivery_date=when.date(),
                status="delivered",
                window_start=start,
                window_end=end,
            )
        )
    )[0]["id"]
    await Stop.insert(
        Stop(
            order=oid,
            hub=hub_id,
            kind="delivery",
            address=address,
            lat=lat,
            lon=lon,
            plan_date=when.date(),
            status="delivered",
            completed_at=when,
            window_start=start,
            window_end=end,
        )
    )
    return int(oid)


async def _waiting(
    hub_id: int,
    order_id: int,
    n: int,
    point_id: int | None,
    by_sku: dict[str, int],
    items: tuple[tuple[str, int, str], ...],
    at: dt.datetime,
) -> None:
    row: dict[str, Any] = (
        await ReturnRequest.insert(
            ReturnRequest(
                code=f"R-DEMO{n:04d}",
                order=order_id,
                hub=hub_id,
                outcome="refund",
                hand_in="pickup_point",
                pickup_point=point_id,
                created_at=at,
            )
        )
    )[0]
    await ReturnItem.insert(
        *(
            ReturnItem(request=row["id"], order_line=by_sku[sku], sku=sku, quantity=1, reason=reason)
            for sku, q, reason in items
            for _ in range(q)  # a row per unit, as the portal writes them
        )
    )
    await ReturnEvent.insert(ReturnEvent(request=row["id"], at=at, state="registered", detail="demo"))
