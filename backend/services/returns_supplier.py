"""Back to the supplier (docs/returns.md): the items whose end is "supplier", listed by the shop
that sold them until they are sent, and sent in one parcel per supplier under its reference
(a track-and-trace number or the carrier's note), once per item. Written to each return's history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.returns_supplier_tables import ReturnShipment
from backend.db.tables import Product, ReturnEvent, ReturnInspection
from backend.errors import Conflict, Invalid
from backend.services.returns_events import emit_returns
from backend.services.returns_inspection import check_hub, desk_hub
from backend.services.sessions import Principal
from backend.structs import Body

UNKNOWN_SUPPLIER = ""  # an item whose SKU names no shop: sent apart from every shop's


class ShipmentIn(Body, kw_only=True):
    items: Annotated[list[int], msgspec.Meta(min_length=1, max_length=200)]  # return item ids
    reference: Annotated[str, msgspec.Meta(max_length=80)]


async def supplier_list(user: Principal, shipped: bool = False) -> list[dict[str, Any]]:
    """The hub's items that end with their supplier, newest first, with the shop that sold them:
    those still to send (``shipped`` False) or those sent, with their parcel."""
    hub = desk_hub(user)
    rows = await (
        ReturnInspection.select(
            ReturnInspection.item,
            ReturnInspection.sku,
            ReturnInspection.grade,
            ReturnInspection.note,
            ReturnInspection.findings,
            ReturnInspection.finished_at,
            ReturnInspection.request.code,
        )
        .where(
            (ReturnInspection.hub == hub)
            & (ReturnInspection.ends_as == "supplier")
            & (ReturnInspection.status == "finished")
        )
        .order_by(ReturnInspection.finished_at, ascending=False)
        .order_by(ReturnInspection.item, ascending=False)
        .output(load_json=True)
    )
    sent = await _sent([r["item"] for r in rows])
    shops = await _shops_of([r["sku"] for r in rows])
    return [
        {
            "itemId": r["item"],
            "returnCode": r["request.code"],
            "sku": r["sku"],
            "shop": shops.get(r["sku"]),
            "grade": r["grade"],
            "findings": r["findings"],
            "note": r["note"],
            "finishedAt": r["finished_at"].isoformat() if r["finished_at"] else None,
            "shipment": sent.get(r["item"]),
        }
        for r in rows
        if (r["item"] in sent) == shipped
    ]


async def ship(data: ShipmentIn, user: Principal, now: dt.datetime) -> dict[str, Any]:
    """The items leave for their supplier in one parcel: all of one supplier, each finished with
    the end "supplier" and not sent before; all or none are recorded."""
    reference = data.reference.strip()
    if not reference:
        raise Invalid("Give the parcel's reference: its track-and-trace number, or a note on how it went.")
    items = sorted(set(data.items))  # a code scanned twice is one item
    hub = desk_hub(user)
    async with transaction():
        await write_guard("return_supplier", hub)
        rows = {
            r["item"]: r
            for r in await ReturnInspection.select(
                ReturnInspection.item,
                ReturnInspection.request,
                ReturnInspection.hub,
                ReturnInspection.sku,
                ReturnInspection.status,
                ReturnInspection.disposition,
                ReturnInspection.ends_as,
            ).where(ReturnInspection.item.is_in(items))
        }
        for item in items:
            row = rows.get(item)
            if row is None:
                raise Invalid(f"Item {item} has not been inspected; only finished items go back to a supplier.")
            check_hub(user, row["hub"])
            if row["disposition"] != "supplier":
                way = row["disposition"] or "none yet"
                raise Conflict(f"Item {item} does not go back to its supplier (its way: {way}); leave it out.")
            if row["status"] != "finished" or row["ends_as"] != "supplier":
                raise Conflict(f"Item {item} is not finished yet: work its task list through, then send it.")
        already = await _sent(items)
        if already:
            item, went = min(already.items())
            raise Conflict(f"Item {item} went to its supplier on {went['at'][:10]} (reference {went['reference']}).")
        shops = await _shops_of([rows[i]["sku"] for i in items])
        suppliers = {i: shops.get(rows[i]["sku"]) or UNKNOWN_SUPPLIER for i in items}
        if len(set(suppliers.values())) > 1:
            named = "; ".join(f"item {i}: {s or 'no known supplier'}" for i, s in suppliers.items())
            raise Invalid(f"One parcel goes to one supplier; send these apart ({named}).")
        supplier = suppliers[items[0]]
        await ReturnShipment.insert(
            *(
                ReturnShipment(item=i, hub=hub, supplier=supplier, reference=reference, by_user=user.id, at=now)
                for i in items
            )
        )
        await ReturnEvent.insert(
            *(
                ReturnEvent(
                    request=rows[i]["request"],
                    at=now,
                    state="to_supplier",
                    by_user=user.id,
                    detail=f"item {i} sent to {supplier or 'its supplier'}, reference {reference}",
                )
                for i in items
            )
        )
        await emit_returns("return.shipped", {"items": items, "supplier": supplier, "reference": reference}, hub_id=hub)
    return {"items": items, "supplier": supplier, "reference": reference, "at": now.isoformat()}


async def _sent(items: list[int]) -> dict[int, dict[str, Any]]:
    if not items:
        return {}
    rows = await ReturnShipment.select(
        ReturnShipment.item, ReturnShipment.supplier, ReturnShipment.reference, ReturnShipment.at
    ).where(ReturnShipment.item.is_in(items))
    return {
        r["item"]: {"supplier": r["supplier"], "reference": r["reference"], "at": r["at"].isoformat()} for r in rows
    }


async def _shops_of(skus: list[str]) -> dict[str, str | None]:
    if not skus:
        return {}
    rows = await Product.select(Product.sku, Product.shop.name).where(Product.sku.is_in(sorted(set(skus))))
    return {r["sku"]: r["shop.name"] for r in rows}
