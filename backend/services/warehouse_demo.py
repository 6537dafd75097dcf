"""The demo's warehouse: a few aisles of bins at the demo hub, a small catalogue, order
lines for some of the day's hub-fulfilled orders, stock for them (one product only at a
partner shop, so a line ships from the store), and the ``picker`` login."""

from __future__ import annotations

import datetime as dt
import random

from backend.db.tables import Order, OrderLine, Parcel, User
from backend.services.warehouse_stock import add_bins, add_products, receive
from backend.warehouse.barcodes import with_check_digit
from backend.warehouse.ledger import Place
from backend.warehouse.products import Product, graded

# (SKU, name, weight g, volume ml, category): things a city's micro-hub sends out
ITEMS = (
    ("COF-250", "Coffee beans 250 g", 260, 600, "food"),
    ("TEA-20", "Green tea, 20 bags", 60, 300, "food"),
    ("CHOC-100", "Dark chocolate 100 g", 110, 150, "food"),
    ("SOAP-BAR", "Olive soap bar", 120, 150, "general"),
    ("CANDLE-M", "Candle, medium", 400, 500, "home"),
    ("BOOK-PB", "Paperback novel", 300, 450, "books"),
    ("SOCKS-W", "Wool socks", 90, 400, "clothing"),
    ("MUG-STON", "Stoneware mug", 380, 900, "home"),
    ("HONEY-450", "Honey 450 g", 560, 400, "food"),
    ("JAM-ST", "Strawberry jam", 420, 350, "food"),
    ("LAMP-DESK", "Desk lamp", 1400, 6000, "electronics"),
)
SHOP_ITEM = ("VASE-HAND", "Hand-thrown vase", 900, 3000, "home")  # sold by a partner shop, not stocked at the hub
LINE_SHARE = 0.4  # of the hub-fulfilled orders of the demo day


def _gtin(n: int) -> str:
    return with_check_digit(f"87{n:010d}")


def catalogue() -> list[Product]:
    products = [
        Product(sku=sku, name=name, barcodes=(_gtin(i + 1),), weight_g=w, volume_ml=v, category=c)
        for i, (sku, name, w, v, c) in enumerate((*ITEMS, SHOP_ITEM))
    ]
    # a reconditioned lamp: its own variant with its own label
    lamp = next(p for p in products if p.sku == "LAMP-DESK")
    return [*products, graded(lamp, "B", barcodes=(_gtin(99),))]


async def seed_warehouse(
    hub_id: int, day: dt.date, shop_ids: list[int], rng: random.Random, password_hash: str, now: dt.datetime
) -> dict[str, int]:
    """Everything of the demo's warehouse; answers what was made (bins, products, lines)."""
    await User.insert(
        User(username="picker", password_hash=password_hash, role="picker", display_name="Picker", hub_id=hub_id)
    )
    bins = await add_bins(hub_id, aisles=6, bays=12, levels=2)
    products = catalogue()
    shop = shop_ids[0] if shop_ids else None
    await add_products(products, shops={SHOP_ITEM[0]: shop} if shop else None)
    basket_orders = {r["order"] for r in await Parcel.select(Parcel.order).where(Parcel.shop.is_not_null())}
    orders = [
        r["id"]
        for r in await Order.select(Order.id)
        .where(
            (Order.hub == hub_id)
            & (Order.delivery_date == day)
            & Order.slot.is_in(["morning", "afternoon", "evening"])
            & Order.pickup_point.is_null()
        )
        .order_by(Order.id)
        if r["id"] not in basket_orders
    ]
    hub_skus = [sku for sku, *_ in ITEMS]
    wanted: dict[str, int] = {}
    lines = []
    for oid in orders:
        if rng.random() >= LINE_SHARE:
            continue
        for sku in rng.sample(hub_skus, k=rng.choice((1, 1, 2, 3))):
            qty = rng.choice((1, 1, 1, 2, 3))
            lines.append(OrderLine(order=oid, sku=sku, quantity=qty))
            wanted[sku] = wanted.get(sku, 0) + qty
        if shop is not None and rng.random() < 0.1:
            lines.append(OrderLine(order=oid, sku=SHOP_ITEM[0], quantity=1))
    if lines:
        await OrderLine.insert(*lines)
    # Stock for the day and some to spare, in one or two bins per product; the lamp's
    # reconditioned variant beside it.
    free = rng.sample(bins, k=2 * len(hub_skus) + 1)
    for i, sku in enumerate(hub_skus):
        need = wanted.get(sku, 0) + 6
        first = need // 2 + 1
        await receive(hub_id, Place("bin", free[2 * i]), sku, first, None, now)
        await receive(hub_id, Place("bin", free[2 * i + 1]), sku, need - first + 2, None, now)
    await receive(hub_id, Place("bin", free[-1]), "LAMP-DESK/B", 3, None, now)
    if shop is not None:
        await receive(hub_id, Place("shop", str(shop)), SHOP_ITEM[0], 20, None, now)
    return {"bins": len(bins), "products": len(products), "orderLines": len(lines)}
