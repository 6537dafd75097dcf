"""Packing at the hub: the service around ``backend/warehouse/packing.py``.

Start from a tote (the order it holds), verify every item by scan, close the parcel in
the box chosen (the suggestion unless the packer takes another) with the shop's packing
options confirmed. Closing, in one transaction under the hub's warehouse lock: the
order's hub parcel gets its real weight and volume (created when the order had none),
the delivery stop its load, the totes are emptied, a ``parcel.packed`` event, and, when
the day already runs on routes and the stop is not on one (or grew), a durable ``replan``
job (backend/services/follow_ups.py) that plans it into the running routes. A day not
yet planned takes the stop in with its planning.

A refusal is a 4xx with a sentence and a code, nothing written; the API applies each
POST once per Idempotency-Key, and a scan id counts its unit once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from backend.db.engine import transaction
from backend.db.tables import Order, OrderLine, PackJob, Parcel, Product, Shop, Stop, Tote
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.jobs import queue as jobs
from backend.realtime.outbox import emit
from backend.services.orders import new_barcode
from backend.services.route_store import routes_in_force
from backend.services.scanner_settings import wedge_of
from backend.services.warehouse_stock import hold_hub, scanned_product
from backend.warehouse import packing
from backend.warehouse.barcodes import parse_scan
from backend.warehouse.packing import BOXES, Item, PackError, PackingOptions, PackState

PICKED = ("picked", "short")  # a hub line is done picking
_STARTABLE = {"released": "is still being picked", "open": "is not released for picking yet"}


def _refused(e: PackError) -> Invalid:
    return Invalid(e.message, code=e.code, **e.extra)


def packer_hub(role: str, hub_id: int | None) -> int | None:
    """The hub a packer works at (None: an admin, every hub)."""
    if role != "admin" and hub_id is None:
        raise Forbidden("Your account belongs to no hub; ask a dispatcher to set your hub.")
    return None if role == "admin" else hub_id


# --- reading ----------------------------------------------------------------------------------


async def _job(job_id: int, hub: int | None) -> dict[str, Any]:
    row = await PackJob.select().where(PackJob.id == job_id).output(load_json=True).first()
    if row is None or (hub is not None and row["hub"] != hub):
        raise NotFound(f"There is no packing {job_id} at your hub.")
    return row


async def _lines(order_id: int) -> list[dict[str, Any]]:
    return await OrderLine.select().where((OrderLine.order == order_id) & (OrderLine.source != "shop"))


def _expected(lines: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        if line["picked"] > 0:
            out[line["sku"]] = out.get(line["sku"], 0) + line["picked"]
    return out


async def _products(skus: list[str]) -> dict[str, dict[str, Any]]:
    rows = await Product.select().where(Product.sku.is_in(skus or [""])).output(load_json=True)
    return {r["sku"]: r for r in rows}


def _items(expected: dict[str, int], products: dict[str, dict[str, Any]]) -> list[Item]:
    return [
        Item(
            sku=sku,
            quantity=n,
            volume_ml=products[sku]["volume_ml"] if sku in products else 0,
            weight_g=products[sku]["weight_g"] if sku in products else 0,
            longest_mm=products[sku]["longest_mm"] if sku in products else 0,
        )
        for sku, n in sorted(expected.items())
    ]


async def options_of_order(products: dict[str, dict[str, Any]]) -> tuple[PackingOptions, list[str]]:
    """The packing options of the shops whose goods the order holds (merged), and their names."""
    shop_ids = sorted({p["shop"] for p in products.values() if p["shop"] is not None})
    shops = await Shop.select(Shop.name, Shop.packing).where(Shop.id.is_in(shop_ids or [-1])).output(load_json=True)
    opts = [msgspec.convert(s["packing"] or {}, PackingOptions) for s in shops]
    return packing.merged(opts), [s["name"] for s in shops]


def _box_view(box: packing.Box) -> dict[str, Any]:
    return {
        "code": box.code,
        "lengthMm": box.length_mm,
        "widthMm": box.width_mm,
        "heightMm": box.height_mm,
        "maxKg": box.max_kg,
    }


async def _view(row: dict[str, Any]) -> dict[str, Any]:
    order = (
        await Order.select(Order.id, Order.reference, Order.customer_name).where(Order.id == row["order_id"]).first()
    )
    lines = await _lines(row["order_id"])
    expected = _expected(lines)
    products = await _products(sorted(expected))
    state = PackState(order_id=row["order_id"], expected=expected, scans=row["scans"])
    counted = state.counted()
    items = _items(expected, products)
    try:
        suggested: dict[str, Any] | None = _box_view(packing.suggest_box(items))
    except PackError:
        suggested = None
    options, shops = await options_of_order(products)
    totes = await Tote.select(Tote.code).where(Tote.order_id == row["order_id"]).order_by(Tote.code)
    parcel = None
    if row["parcel_id"] is not None:
        parcel = (
            await Parcel.select(Parcel.id, Parcel.barcode, Parcel.weight_kg, Parcel.volume_l)
            .where(Parcel.id == row["parcel_id"])
            .first()
        )
    return {
        "id": row["id"],
        "hubId": row["hub"],
        "status": row["status"],
        "order": {"id": order["id"], "reference": order["reference"], "customerName": order["customer_name"]}
        if order
        else None,
        "totes": [t["code"] for t in totes] or row["totes"],
        "items": [
            {
                "sku": sku,
                "name": products.get(sku, {}).get("name", sku),
                "gtin": (products.get(sku, {}).get("gtins") or [""])[0],
                "quantity": n,
                "scanned": counted.get(sku, 0),
            }
            for sku, n in sorted(expected.items())
        ],
        "short": [{"sku": line["sku"], "quantity": line["short"]} for line in lines if line["short"]],
        "missing": packing.missing(state),
        "complete": not packing.missing(state),
        "suggestedBox": suggested,
        "box": row["box"] or (suggested or {}).get("code", ""),
        "boxes": [_box_view(b) for b in BOXES],
        "shops": shops,
        "options": {"steps": options.steps(), "cardMessage": options.card_message},
        "applied": row["options"],
        "parcel": None
        if parcel is None
        else {
            **parcel,
            "weightKg": parcel.pop("weight_kg"),
            "volumeL": parcel.pop("volume_l"),
            "labelUrl": f"/pack/parcels/{parcel['id']}/label.pdf",
        },
    }


async def view(job_id: int, role: str, hub_id: int | None) -> dict[str, Any]:
    return await _view(await _job(job_id, packer_hub(role, hub_id)))


# --- starting from a tote -----------------------------------------------------------------------


async def start(code: str, user_id: int, role: str, hub_id: int | None, now: dt.datetime) -> dict[str, Any]:
    """Open (or resume) the packing of the order the scanned tote holds."""
    hub = packer_hub(role, hub_id)
    wedge = await wedge_of(hub_id)
    scan = parse_scan(code, prefix=wedge.prefix, suffix=wedge.suffix)
    if scan.kind != "tote":
        raise Invalid(f"{scan.text or code!r} is not a tote; scan the label of a tote (T-0042).", code="not_a_tote")
    async with transaction():
        tote = await Tote.select().where(Tote.code == scan.code).first()
        if tote is None or (hub is not None and tote["hub"] != hub):
            raise Invalid(f"Tote {scan.code} is not a tote of your hub; scan one from the carts.", code="unknown_tote")
        await hold_hub(tote["hub"])
        if tote["order_id"] is None:
            raise Invalid(f"Tote {scan.code} holds no order; it is empty or packed already.", code="tote_empty")
        order_id = tote["order_id"]
        existing = await PackJob.select().where(PackJob.order_id == order_id).output(load_json=True).first()
        if existing is not None and existing["status"] == "closed":
            raise Conflict(f"Order {order_id} is packed already; empty tote {scan.code}.", code="already_packed")
        lines = await _lines(order_id)
        busy = [line for line in lines if line["status"] not in PICKED]
        if busy:
            why = _STARTABLE.get(busy[0]["status"], "is not picked yet")
            raise Conflict(f"Order {order_id} {why}; pack it when every line is picked.", code="not_picked")
        if not _expected(lines):
            raise Invalid(
                f"Nothing of order {order_id} was picked (all short); tell the dispatcher.", code="nothing_to_pack"
            )
        if existing is None:
            job_id = (
                await PackJob.insert(
                    PackJob(hub=tote["hub"], order_id=order_id, totes=[scan.code], packer=user_id, started_at=now)
                )
            )[0]["id"]
        else:
            job_id = existing["id"]
            totes = sorted({*existing["totes"], scan.code})
            await PackJob.update({PackJob.totes: totes, PackJob.packer: user_id}).where(PackJob.id == job_id)
    return await _view(await _job(job_id, hub))


# --- verifying by scan --------------------------------------------------------------------------


async def _other_orders(hub: int, order_id: int) -> dict[str, int]:
    """SKU -> another order of the hub whose goods wait in totes (for "belongs to order N")."""
    orders = {
        t["order_id"] for t in await Tote.select(Tote.order_id).where((Tote.hub == hub) & Tote.order_id.is_not_null())
    }
    orders.discard(order_id)
    if not orders:
        return {}
    rows = await OrderLine.select(OrderLine.sku, OrderLine.order).where(
        OrderLine.order.is_in(sorted(orders)) & (OrderLine.picked > 0)
    )
    return {r["sku"]: r["order"] for r in sorted(rows, key=lambda r: -r["order"])}


async def scan_item(job_id: int, scan_id: str, code: str, role: str, hub_id: int | None) -> dict[str, Any]:
    """One unit scanned into the parcel: counted once per scan id; a wrong one refused."""
    hub = packer_hub(role, hub_id)
    product = await scanned_product(code, hub_id)
    async with transaction():
        row = await _job(job_id, hub)
        await hold_hub(row["hub"])
        row = await _job(job_id, hub)  # fresh under the lock
        if row["status"] != "open":
            raise Conflict(f"Packing {job_id} is closed; start the next order from its tote.", code="closed")
        state = PackState(
            order_id=row["order_id"], expected=_expected(await _lines(row["order_id"])), scans=row["scans"]
        )
        try:
            done = packing.scan_item(
                state, scan_id, product.sku, await _other_orders(row["hub"], row["order_id"]), product.name
            )
        except PackError as e:
            raise _refused(e) from None
        if not done.replayed:
            await PackJob.update({PackJob.scans: done.state.scans}).where(PackJob.id == job_id)
    return await _view(await _job(job_id, hub))


# --- closing the parcel ---------------------------------------------------------------------------


class CloseIn(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    box: str = ""  # "" takes the suggestion
    options: list[str] = []  # the shop's steps done: branded_box, card, gift_wrap


async def close(
    job_id: int, data: CloseIn, user_id: int, role: str, hub_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    """Close the parcel: checks, then parcel, stop, totes, event and (on a running day) the
    re-plan job in one transaction."""
    hub = packer_hub(role, hub_id)
    async with transaction():
        row = await _job(job_id, hub)
        await hold_hub(row["hub"])
        row = await _job(job_id, hub)
        if row["status"] != "open":
            raise Conflict(f"Packing {job_id} is closed already; print its label again if needed.", code="closed")
        expected = _expected(await _lines(row["order_id"]))
        products = await _products(sorted(expected))
        state = PackState(order_id=row["order_id"], expected=expected, scans=row["scans"])
        items = _items(expected, products)
        options, _ = await options_of_order(products)
        try:
            packing.require_complete(state, {s: p["name"] for s, p in products.items()})
            box = packing.choose_box(data.box, items) if data.box else packing.suggest_box(items)
            packing.require_options(options, data.options)
        except PackError as e:
            raise _refused(e) from None
        weight_kg, volume_l = packing.parcel_measure(items, box)
        parcel_id = await _write_parcel(row["order_id"], weight_kg, volume_l)
        await PackJob.update(
            {
                PackJob.status: "closed",
                PackJob.box: box.code,
                PackJob.options: sorted(set(data.options)),
                PackJob.parcel_id: parcel_id,
                PackJob.packer: user_id,
                PackJob.closed_at: now,
            }
        ).where(PackJob.id == job_id)
        await Tote.update({Tote.order_id: None, Tote.batch_id: None, Tote.bound_at: None}).where(
            Tote.order_id == row["order_id"]
        )
        dispatch = await _into_the_day(row["hub"], row["order_id"], now)
        await emit(
            "parcel.packed",
            {"orderId": row["order_id"], "parcelId": parcel_id, "box": box.code, "dispatch": dispatch},
            hub_id=row["hub"],
        )
    return {**(await _view(await _job(job_id, hub))), "dispatch": dispatch}


async def _write_parcel(order_id: int, weight_kg: float, volume_l: float) -> int:
    """The order's hub parcel with its real weight and volume (created if it had none); the
    delivery stop then carries every parcel of the order."""
    hub_parcel = (
        await Parcel.select(Parcel.id)
        .where((Parcel.order == order_id) & Parcel.shop.is_null())
        .order_by(Parcel.id)
        .first()
    )
    if hub_parcel is None:
        parcel_id: int = (
            await Parcel.insert(Parcel(order=order_id, barcode=new_barcode(), weight_kg=weight_kg, volume_l=volume_l))
        )[0]["id"]
    else:
        parcel_id = hub_parcel["id"]
        await Parcel.update({Parcel.weight_kg: weight_kg, Parcel.volume_l: volume_l}).where(Parcel.id == parcel_id)
    parcels = await Parcel.select(Parcel.weight_kg, Parcel.volume_l).where(Parcel.order == order_id)
    await Stop.update(
        {
            Stop.weight_kg: round(sum(p["weight_kg"] for p in parcels), 3),
            Stop.volume_l: round(sum(p["volume_l"] for p in parcels), 2),
        }
    ).where((Stop.order == order_id) & (Stop.kind == "delivery"))
    return parcel_id


async def _into_the_day(hub: int, order_id: int, now: dt.datetime) -> str:
    """How the packed parcel reaches a bike: with the day's planning (``with_the_plan``),
    already on a route (``on_route``), or by a durable re-plan of the running day
    (``replan``: the ``replan`` job, written in this transaction)."""
    order = await Order.select(Order.reference, Order.delivery_date).where(Order.id == order_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} is gone; nothing to dispatch.")
    day = order["delivery_date"]
    routes = await routes_in_force(hub, day)
    if not routes:
        return "with_the_plan"
    stop = (
        await Stop.select(Stop.id, Stop.weight_kg, Stop.volume_l)
        .where((Stop.order == order_id) & (Stop.kind == "delivery"))
        .first()
    )
    planned = {s["stop_id"]: s for r in routes for s in r["stops"]}
    on_route = stop is not None and stop["id"] in planned
    if on_route:
        return "on_route"
    await jobs.enqueue(
        "replan",
        f"packed:{order_id}",
        {"hubId": hub, "date": day.isoformat(), "reason": f"packed order {order['reference']}"},
        run_after=now,
    )
    return "replan"


# --- the shops' packing options ----------------------------------------------------------------------


async def set_shop_options(shop_id: int, data: PackingOptions, role: str, hub_id: int | None) -> dict[str, Any]:
    """The dispatcher of the shop's hub (or an admin) sets how its goods are packed."""
    shop = await Shop.select(Shop.id, Shop.hub).where(Shop.id == shop_id).first()
    if shop is None or (role != "admin" and shop["hub"] is not None and shop["hub"] != hub_id):
        raise NotFound(f"There is no shop {shop_id} at your hub.")
    if len(data.card_message) > 300:
        raise Invalid("The card's message is too long; keep it under 300 characters.", code="card_too_long")
    if data.card_message and not data.card:
        raise Invalid("A card message needs the card: set card to true, or leave the message empty.", code="card_off")
    stored = msgspec.to_builtins(data)
    async with transaction():
        await Shop.update({Shop.packing: stored}).where(Shop.id == shop_id)
    return {"shopId": shop_id, **stored}


async def shop_options(shop_id: int, role: str, hub_id: int | None) -> dict[str, Any]:
    shop = await Shop.select(Shop.id, Shop.hub, Shop.packing).where(Shop.id == shop_id).output(load_json=True).first()
    if shop is None or (role != "admin" and shop["hub"] is not None and shop["hub"] != hub_id):
        raise NotFound(f"There is no shop {shop_id} at your hub.")
    return {"shopId": shop_id, **msgspec.to_builtins(msgspec.convert(shop["packing"] or {}, PackingOptions))}


async def unpacked_orders(order_ids: list[int]) -> set[int]:
    """Of these orders, those with hub goods not packed yet (their parcel is not ready)."""
    if not order_ids:
        return set()
    with_lines = {
        r["order"]
        for r in await OrderLine.select(OrderLine.order).where(
            OrderLine.order.is_in(order_ids) & (OrderLine.source != "shop")
        )
    }
    if not with_lines:
        return set()
    packed = {
        r["order_id"]
        for r in await PackJob.select(PackJob.order_id).where(
            PackJob.order_id.is_in(sorted(with_lines)) & (PackJob.status == "closed")
        )
    }
    return with_lines - packed
