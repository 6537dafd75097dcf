"""The parcel label: a 100 × 150 mm PDF with the parcel's barcode as Code 128 (what the
courier app scans when loading and delivering), the stop's address, the hub, the slot,
the route and loop when the parcel is on one, and the shops whose goods it holds."""

from __future__ import annotations

import io
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from backend.db.tables import Courier, Hub, Order, OrderLine, PackJob, Parcel, Product, Shop, Stop
from backend.errors import NotFound
from backend.services.route_store import routes_in_force

PAGE = (100 * mm, 150 * mm)


def barcode_of(value: str) -> Code128:
    """The label's barcode object (tests read its value back)."""
    return Code128(value, barWidth=0.42 * mm, barHeight=22 * mm, humanReadable=True, quiet=True)


def render(facts: dict[str, Any]) -> bytes:
    """The PDF of one label from its facts (a pure drawing; no database)."""
    out = io.BytesIO()
    c = Canvas(out, pagesize=PAGE, pageCompression=0)
    c.setTitle(f"Parcel {facts['barcode']}")
    width, height = PAGE
    y = height - 12 * mm
    c.setFont("Helvetica-Bold", 16)
    c.drawString(6 * mm, y, facts["name"][:34])
    y -= 7 * mm
    c.setFont("Helvetica", 11)
    for line in facts["address"]:
        c.drawString(6 * mm, y, line[:48])
        y -= 5.5 * mm
    y -= 2 * mm
    c.setFont("Helvetica-Bold", 12)
    c.drawString(6 * mm, y, f"{facts['date']}  {facts['slot']}")
    y -= 6 * mm
    c.setFont("Helvetica", 10)
    for line in facts["details"]:
        c.drawString(6 * mm, y, line[:56])
        y -= 5 * mm
    code = barcode_of(facts["barcode"])
    code.drawOn(c, max(2 * mm, (width - code.width) / 2), 14 * mm)
    c.setFont("Helvetica", 8)
    c.drawString(6 * mm, 6 * mm, f"Order {facts['reference']} · parcel {facts['parcelId']}")
    c.showPage()
    c.save()
    return out.getvalue()


async def _facts(parcel: dict[str, Any]) -> dict[str, Any]:
    order = await Order.select().where(Order.id == parcel["order"]).first()
    if order is None:
        raise NotFound(f"The order of parcel {parcel['id']} is gone.")
    hub = await Hub.select(Hub.name).where(Hub.id == order["hub"]).first()
    stop = (
        await Stop.select(Stop.id, Stop.address).where((Stop.order == order["id"]) & (Stop.kind == "delivery")).first()
    )
    skus = [r["sku"] for r in await OrderLine.select(OrderLine.sku).where(OrderLine.order == order["id"])]
    shop_ids = {r["shop"] for r in await Product.select(Product.shop).where(Product.sku.is_in(skus or [""]))} - {None}
    shops = [r["name"] for r in await Shop.select(Shop.name).where(Shop.id.is_in(sorted(shop_ids) or [-1]))]
    job = await PackJob.select(PackJob.box).where(PackJob.parcel_id == parcel["id"]).first()
    route_line = ""
    for route in await routes_in_force(order["hub"], order["delivery_date"]):
        planned = next((s for s in route["stops"] if stop and s["stop_id"] == stop["id"]), None)
        if planned is not None:
            courier = await Courier.select(Courier.name).where(Courier.id == route["courier"]).first()
            route_line = f"Route: {courier['name'] if courier else route['courier']}, loop {planned.get('loop', 1)}"
    window = f"{order['window_start']:%H:%M}-{order['window_end']:%H:%M}"
    address = (
        stop["address"] if stop and stop["address"] else order["address"]
    ) or f"{order['lat']:.5f}, {order['lon']:.5f}"
    details = [
        f"Hub: {hub['name'] if hub else order['hub']}",
        *([route_line] if route_line else []),
        *([f"From: {', '.join(shops)}"] if shops else []),
        f"{parcel['weight_kg']:.2f} kg · {parcel['volume_l']:.1f} l" + (f" · box {job['box']}" if job else ""),
    ]
    return {
        "barcode": parcel["barcode"],
        "parcelId": parcel["id"],
        "reference": order["reference"],
        "name": order["customer_name"],
        "address": [part.strip() for part in address.split(",") if part.strip()],
        "date": order["delivery_date"].isoformat(),
        "slot": f"{order['slot'] or 'window'} {window}",
        "details": details,
    }


async def label_pdf(parcel_id: int, hub: int | None) -> bytes:
    """The label of a parcel of ``hub`` (None: any hub, an admin)."""
    parcel = (
        await Parcel.select(*Parcel.all_columns(), Parcel.order.hub.as_alias("hub"))
        .where(Parcel.id == parcel_id)
        .first()
    )
    if parcel is None or (hub is not None and parcel["hub"] != hub):
        raise NotFound(f"There is no parcel {parcel_id} at your hub.")
    return render(await _facts(parcel))
