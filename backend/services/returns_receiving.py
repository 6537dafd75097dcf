"""Receiving returns at the hub (role ``returns``, hub-scoped): scan the return's code
or the parcel's label to see the expected items (one per unit), then receive what is in the parcel:
each unit that arrived is received and can be inspected, even when others of its line did not.
What is expected and not there is recorded as missing; what is there and was not
expected is recorded as an exception (an unexpected item), both in the return's history.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.tables import Parcel, ReturnEvent, ReturnItem, ReturnRequest
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.services.returns_events import emit_returns
from backend.services.returns_portal import return_view
from backend.services.scanner_settings import is_label_or_return, read_scan, wedge_of
from backend.services.warehouse_stock import full_catalogue
from backend.structs import Body
from backend.warehouse.barcodes import BarcodeError

# Not received yet: registered, handed in at a pickup point, collected by the courier.
ON_THE_WAY = ("registered", "at_point", "collected")

MAX_UNITS = 500  # per parcel: every unit becomes a row of its own
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class ReceivedIn(Body):
    code: Code  # the product's SKU or barcode as scanned
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1


class ReceiveIn(Body):
    items: Annotated[list[ReceivedIn], msgspec.Meta(max_length=200)]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


def _check_hub(role: str, user_hub: int | None, hub: int) -> None:
    if role != "admin" and user_hub != hub:
        raise Forbidden("This return belongs to another hub; it is received there.")


async def find(code: str, role: str, user_hub: int | None) -> dict[str, Any]:
    """The return of a scanned code: its own code (the QR) or the label of the order's parcel."""
    code = (await read_scan(code, user_hub, is_label_or_return)).upper()
    row = await ReturnRequest.select(ReturnRequest.id, ReturnRequest.hub).where(ReturnRequest.code == code).first()
    if row is None:
        parcel = await Parcel.select(Parcel.order).where(Parcel.barcode == code).first()
        if parcel is not None:
            row = await (
                ReturnRequest.select(ReturnRequest.id, ReturnRequest.hub)
                .where((ReturnRequest.order == parcel["order"]) & ReturnRequest.status.is_in(list(ON_THE_WAY)))
                .order_by(ReturnRequest.id)
                .first()
            )
    if row is None:
        raise NotFound(f"No return waits for code {code}; scan the return code (R-…) or the parcel's label again.")
    _check_hub(role, user_hub, row["hub"])
    return await return_view(row["id"])


async def _skus(items: list[ReceivedIn], hub: int | None) -> dict[str, int]:
    """The scanned codes as SKUs with their quantities (an unknown code is refused with its sentence)."""
    catalogue = await full_catalogue()

    async def known(code: str) -> bool:
        try:
            return code in catalogue.by_sku or catalogue.find_gtin(code) is not None
        except BarcodeError:
            return False

    total = sum(i.quantity for i in items)
    if total > MAX_UNITS:
        raise Invalid(
            f"{total} units scanned; a return parcel holds at most {MAX_UNITS}: check the quantities and receive again."
        )
    out: dict[str, int] = {}
    wedge = await wedge_of(hub)
    for item in items:
        code = await read_scan(item.code, hub, known, wedge=wedge)
        product = catalogue.by_sku.get(code)
        if product is None:
            try:
                product = catalogue.find_gtin(code)
            except BarcodeError as e:
                raise Invalid(str(e)) from None
        sku = product.sku if product is not None else code  # unknown: kept as scanned
        out[sku] = out.get(sku, 0) + item.quantity
    return out


async def receive(
    request_id: int, data: ReceiveIn, user_id: int, role: str, user_hub: int | None, now: dt.datetime
) -> dict[str, Any]:
    """Receive the parcel's contents once: expected items received or missing, the rest unexpected."""
    found = await _skus(data.items, user_hub)
    async with transaction():
        r = await ReturnRequest.select().where(ReturnRequest.id == request_id).first()
        if r is None:
            raise NotFound(f"There is no return {request_id}.")
        _check_hub(role, user_hub, r["hub"])
        if r["status"] not in ON_THE_WAY:
            raise Conflict(f"Return {r['code']} was received already; scan the next parcel.")
        left = dict(found)
        missing, unexpected = [], []
        for item in await ReturnItem.select().where(ReturnItem.request == request_id).order_by(ReturnItem.id):
            got = min(item["quantity"], left.get(item["sku"], 0))
            left[item["sku"]] = left.get(item["sku"], 0) - got
            status = "received" if got == item["quantity"] else "missing"
            if got < item["quantity"]:
                missing.append(f"{item['quantity'] - got} × {item['sku']}")
            await ReturnItem.update({ReturnItem.received: got, ReturnItem.status: status}).where(
                ReturnItem.id == item["id"]
            )
        for sku, n in left.items():
            if n > 0:  # one row per unit, as the expected ones: each is inspected on its own
                unexpected.append(f"{n} × {sku}")
                await ReturnItem.insert(
                    *(
                        ReturnItem(request=request_id, sku=sku, quantity=0, received=1, status="unexpected")
                        for _ in range(n)
                    )
                )
        await ReturnRequest.update({ReturnRequest.status: "received", ReturnRequest.received_at: now}).where(
            ReturnRequest.id == request_id
        )
        events = [ReturnEvent(request=request_id, at=now, state="received", by_user=user_id, detail=data.note)]
        if missing:
            events.append(
                ReturnEvent(request=request_id, at=now, state="missing", by_user=user_id, detail=", ".join(missing))
            )
        if unexpected:
            detail = "not in the return: " + ", ".join(unexpected)
            events.append(ReturnEvent(request=request_id, at=now, state="exception", by_user=user_id, detail=detail))
        await ReturnEvent.insert(*events)
        await emit_returns(
            "return.received",
            {"returnId": request_id, "code": r["code"], "missing": missing, "unexpected": unexpected},
            hub_id=r["hub"],
        )
    return await history_view(request_id)


def hub_of_user(role: str, user_hub: int | None) -> int:
    if user_hub is None:
        raise Forbidden("Your account belongs to no hub; ask a dispatcher to set your hub.")
    return user_hub


async def history_of(request_id: int, role: str, user_hub: int | None) -> dict[str, Any]:
    r = await ReturnRequest.select(ReturnRequest.hub).where(ReturnRequest.id == request_id).first()
    if r is None:
        raise NotFound(f"There is no return {request_id}.")
    _check_hub(role, user_hub, r["hub"])
    return await history_view(request_id)


async def history_view(request_id: int) -> dict[str, Any]:
    view = await return_view(request_id)
    events = await ReturnEvent.select().where(ReturnEvent.request == request_id).order_by(ReturnEvent.id)
    view["history"] = [
        {"at": e["at"].isoformat(), "state": e["state"], "byUser": e["by_user"], "detail": e["detail"]} for e in events
    ]
    return view


async def waiting(hub_id: int) -> list[dict[str, Any]]:
    """The hub's returns not received yet, oldest first."""
    rows = await (
        ReturnRequest.select(
            ReturnRequest.id,
            ReturnRequest.code,
            ReturnRequest.hand_in,
            ReturnRequest.created_at,
            ReturnRequest.order.reference,
        )
        .where((ReturnRequest.hub == hub_id) & ReturnRequest.status.is_in(list(ON_THE_WAY)))
        .order_by(ReturnRequest.id)
    )
    return [
        {
            "id": r["id"],
            "code": r["code"],
            "handIn": r["hand_in"],
            "orderNumber": r["order.reference"],
            "createdAt": r["created_at"].isoformat(),
        }
        for r in rows
    ]
