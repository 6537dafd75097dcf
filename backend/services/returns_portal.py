"""The customer's return portal (no login): find an order by its number and postcode,
see what may go back, register a return handed in at a pickup point or collected by
a courier. The decisions are the pure core's (``backend/returns/requests.py``).

A wrong pair of order number and postcode answers one 404 sentence whether the order
exists or not, and wrong pairs are counted (per order number and per address, in the
login throttle's table) so the pairs cannot be tried in bulk.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

import msgspec
import segno

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import (
    LoginFailure,
    Order,
    OrderLine,
    PickupPoint,
    Product,
    ReturnEvent,
    ReturnItem,
    ReturnRequest,
    Route,
    ShopReturnPolicy,
    Stop,
)
from backend.dispatch.calendar import SLOTS, parse_hhmm
from backend.errors import Conflict, Invalid, NotFound, TooManyRequests
from backend.jobs import enqueue
from backend.returns.requests import (
    Ask,
    Choice,
    Decision,
    OrderedLine,
    Refused,
    decide,
    last_day,
    returnable,
    units,
)
from backend.returns.vocabulary import DEFAULT_POLICY, HandIn, Outcome, Reason, ReturnPolicy
from backend.services import stop_history
from backend.services.context import Context
from backend.services.idempotency import Answer, once
from backend.services.login_throttle import WINDOW
from backend.services.replanning import announce_if_not_applied, replan_hub
from backend.services.returns_events import emit_returns
from backend.structs import Body, DbId

NOT_FOUND = "We cannot find an order with this order number and postcode; check both on your confirmation email."
PER_ORDER, PER_ADDRESS = 10, 30  # wrong pairs within the login throttle's window
COURIER_SLOTS = ("morning", "afternoon", "evening")
SLOT_DAYS = 7  # a courier collection can be booked this many days ahead
LEAD = dt.timedelta(hours=2)  # a slot of today is offered until two hours before it starts
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a counter


class ItemIn(Body, kw_only=True):
    line_id: DbId
    reason: Reason
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    text: Annotated[str, msgspec.Meta(max_length=2000)] = ""  # the core asks for it with OTHER, and keeps it short


class ReturnIn(Body, kw_only=True):
    order_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    postcode: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    items: Annotated[list[ItemIn], msgspec.Meta(max_length=100)]
    outcome: Outcome
    hand_in: HandIn
    pickup_point_id: DbId | None = None  # hand-in at this point
    date: dt.date | None = None  # courier: the day and slot
    slot: Annotated[str, msgspec.Meta(max_length=16)] | None = None


def _norm(postcode: str) -> str:
    return "".join(postcode.split()).upper()


async def _throttled(reference: str, address: str, now: dt.datetime) -> None:
    for subject, limit in ((f"return:{reference.lower()[:100]}", PER_ORDER), (f"return-addr:{address}", PER_ADDRESS)):
        n = await LoginFailure.count().where((LoginFailure.subject == subject) & (LoginFailure.at > now - WINDOW))
        if n >= limit:
            raise TooManyRequests(
                "Too many tries with a wrong order number or postcode; try again in 15 minutes, "
                "or use the link in your confirmation email.",
                retry_after_s=int(WINDOW.total_seconds()),
            )


async def find_order(reference: str, postcode: str, address: str, now: dt.datetime) -> dict[str, Any]:
    """The order of this number and postcode; the same NotFound for a wrong pair as for no order."""
    reference = reference.strip()[:64]
    await _throttled(reference, address, now)
    order = await Order.select().where(Order.reference == reference).first() if reference else None
    if order is None or not order["postcode"] or _norm(order["postcode"]) != _norm(postcode):
        async with transaction():
            await LoginFailure.delete().where(LoginFailure.at < now - WINDOW)
            await LoginFailure.insert(
                LoginFailure(subject=f"return:{reference.lower()[:100]}", at=now),
                LoginFailure(subject=f"return-addr:{address}", at=now),
            )
        raise NotFound(NOT_FOUND)
    return dict(order)


async def policy_of(shop_id: int | None) -> ReturnPolicy:
    if shop_id is None:
        return DEFAULT_POLICY
    row = await ShopReturnPolicy.select(ShopReturnPolicy.policy).where(ShopReturnPolicy.shop == shop_id).first()
    raw = row["policy"] if row else None
    if isinstance(raw, str):
        raw = msgspec.json.decode(raw)
    return msgspec.convert(raw, ReturnPolicy) if raw else DEFAULT_POLICY


async def _lines(order_id: int) -> tuple[list[OrderedLine], int | None]:
    """The order's lines with category, name and how many are in a return already; and the selling shop."""
    rows = await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.id)
    skus = sorted({r["sku"] for r in rows}) or ["-"]
    products = {p["sku"]: p for p in await Product.select().where(Product.sku.is_in(skus))}
    returned: dict[int, int] = {}
    for item in await ReturnItem.select(ReturnItem.order_line, ReturnItem.quantity).where(
        (ReturnItem.request.order == order_id) & (ReturnItem.status != "unexpected")
    ):
        returned[item["order_line"]] = returned.get(item["order_line"], 0) + item["quantity"]
    lines = [
        OrderedLine(
            line_id=r["id"],
            sku=r["sku"],
            category=products.get(r["sku"], {}).get("category") or "general",
            name=products.get(r["sku"], {}).get("name") or r["sku"],
            quantity=r["quantity"],
            returned=returned.get(r["id"], 0),
        )
        for r in rows
    ]
    # The seller's policy applies: the shop of the products (or the shop the goods came from).
    shops = [products.get(r["sku"], {}).get("shop") or r["shop"] for r in rows]
    return lines, next((s for s in shops if s is not None), None)


async def delivered_on(order_id: int) -> dt.date | None:
    row = await (
        Stop.select(Stop.completed_at)
        .where((Stop.order == order_id) & (Stop.kind == "delivery") & (Stop.status == "delivered"))
        .order_by(Stop.completed_at, ascending=False)
        .first()
    )
    return row["completed_at"].date() if row and row["completed_at"] else None


def courier_slots(now: dt.datetime) -> list[dict[str, str]]:
    """The collection slots a customer may choose: today's still ahead, then the next days'."""
    out = []
    for d in range(SLOT_DAYS + 1):
        day = now.date() + dt.timedelta(days=d)
        for name in COURIER_SLOTS:
            start, end = SLOTS[name]
            if dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=parse_hhmm(start)) - LEAD >= now:
                out.append({"date": day.isoformat(), "slot": name, "start": start, "end": end})
    return out


async def portal_view(reference: str, postcode: str, address: str, now: dt.datetime) -> dict[str, Any]:
    """What the portal shows after the order is found: its items (why not, for those that
    cannot go back), the policy's fees and bonus, the hand-in points, the courier slots."""
    order = await find_order(reference, postcode, address, now)
    lines, shop_id = await _lines(order["id"])
    policy = await policy_of(shop_id)
    delivered = await delivered_on(order["id"])
    points = await PickupPoint.select(PickupPoint.id, PickupPoint.name, PickupPoint.address).where(
        (PickupPoint.hub == order["hub"]) | PickupPoint.hub.is_null()
    )
    return {
        "orderNumber": order["reference"],
        "deliveredOn": delivered.isoformat() if delivered else None,
        "lastDay": last_day(delivered, policy).isoformat() if delivered else None,
        "items": [
            {
                "lineId": r.line.line_id,
                "sku": r.line.sku,
                "name": r.line.name,
                "category": r.line.category,
                "quantity": r.line.quantity,
                "returnable": r.returnable,
                "whyNot": r.why_not or None,
                "code": r.code or None,
            }
            for r in returnable(lines, delivered, now.date(), policy)
        ],
        "reasons": [r.value for r in Reason],
        "fees": {r.value: policy.fee_cents(r) for r in Reason},
        "exchangeBonusCents": policy.exchange_bonus_cents,
        "pickupPoints": [{"id": p["id"], "name": p["name"], "address": p["address"]} for p in points],
        "courierSlots": courier_slots(now),
        # the order's returns so far: a customer who lost the code finds it here again
        "returns": [await return_view(r["id"]) for r in await _returns_of(order["id"])],
    }


async def _returns_of(order_id: int) -> list[dict[str, Any]]:
    return (
        await ReturnRequest.select(ReturnRequest.id).where(ReturnRequest.order == order_id).order_by(ReturnRequest.id)
    )


def qr_svg(code: str) -> str:
    """The return code as a QR code, an SVG data URI the page shows as an image."""
    return str(segno.make(code, error="m").svg_data_uri(scale=6, border=2))


async def return_view(request_id: int) -> dict[str, Any]:
    r = (
        await ReturnRequest.select(*ReturnRequest.all_columns(), ReturnRequest.pickup_point.name)
        .where(ReturnRequest.id == request_id)
        .first()
    )
    if r is None:
        raise NotFound(f"There is no return {request_id}.")
    items = await ReturnItem.select().where(ReturnItem.request == request_id).order_by(ReturnItem.id)
    chosen: dict[tuple[int | None, str], int] = {}  # the units counted back into the lines the customer chose
    for i in items:
        if i["quantity"]:
            chosen[(i["order_line"], i["sku"])] = chosen.get((i["order_line"], i["sku"]), 0) + i["quantity"]
    return {
        "id": r["id"],
        "code": r["code"],
        "qr": qr_svg(r["code"]),
        "status": r["status"],
        "outcome": r["outcome"],
        "handIn": r["hand_in"],
        "pickupPoint": {"id": r["pickup_point"], "name": r["pickup_point.name"]} if r["pickup_point"] else None,
        "collect": {"date": r["collect_date"].isoformat(), "slot": r["slot"]} if r["collect_date"] else None,
        "stopId": r["stop"],
        "feeCents": r["fee_cents"],
        "bonusCents": r["bonus_cents"],
        "lines": [{"lineId": line, "sku": sku, "quantity": n} for (line, sku), n in chosen.items()],
        "items": [
            {
                "id": i["id"],  # the item the returns desk inspects
                "lineId": i["order_line"],
                "sku": i["sku"],
                "quantity": i["quantity"],
                "received": i["received"],
                "feeCents": i["fee_cents"],
                "bonusCents": i["bonus_cents"],
                "reason": i["reason"],
                "text": i["text"],
                "status": i["status"],
            }
            for i in items
        ],
    }


def _new_code() -> str:
    return "R-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


async def _hand_in(data: ReturnIn, order: dict[str, Any], now: dt.datetime) -> tuple[int | None, dt.date | None, str]:
    """The pickup point, or the courier's day and slot, checked."""
    if data.hand_in is HandIn.PICKUP_POINT:
        if data.pickup_point_id is None:
            raise Invalid("Choose the pickup point where you hand in the parcel.")
        pp = await PickupPoint.select(PickupPoint.hub).where(PickupPoint.id == data.pickup_point_id).first()
        if pp is None or pp["hub"] not in (None, order["hub"]):
            raise Invalid("This pickup point does not take returns for this order; choose one from the list.")
        return data.pickup_point_id, None, ""
    offered = {(s["date"], s["slot"]) for s in courier_slots(now)}
    if data.date is None or data.slot is None or (data.date.isoformat(), data.slot) not in offered:
        raise Invalid(
            "Choose one of the offered collection slots (a day within a week, morning, afternoon or evening)."
        )
    return None, data.date, data.slot


async def _courier_stop(
    order: dict[str, Any], day: dt.date, slot: str, decision: Decision, code: str, now: dt.datetime
) -> int:
    """The return as a pickup stop at the customer's door, brought back to the hub."""
    skus = [a.sku for a in decision.lines]
    products = {p["sku"]: p for p in await Product.select().where(Product.sku.is_in(skus))}
    qty = {a.sku: a.quantity for a in decision.lines}
    weight = sum(products.get(s, {}).get("weight_g", 0) * n for s, n in qty.items()) / 1000
    volume = sum(products.get(s, {}).get("volume_ml", 0) * n for s, n in qty.items()) / 1000
    start, end = (dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=parse_hhmm(t)) for t in SLOTS[slot])
    row = await Stop.insert(
        Stop(
            order=order["id"],
            hub=order["hub"],
            kind="pickup",
            shop=None,
            pickup_point=None,
            address=order["address"],
            lat=order["lat"],
            lon=order["lon"],
            plan_date=day,
            window_start=start,
            window_end=end,
            service_s=120,
            weight_kg=max(weight, 0.5),  # a parcel at least: unknown products still take room
            volume_l=max(volume, 2.0),
        )
    )
    stop_id = int(row[0]["id"])
    await stop_history.record([stop_id], "created", detail=f"Return {code} collected at the door", at=now)
    # Into the day's routes the usual way: a re-plan when routes are in force, else the day's plan takes it.
    await enqueue("return_pickup", f"return_pickup:{stop_id}", {"hubId": order["hub"], "date": day.isoformat()})
    return stop_id


async def create_return(data: ReturnIn, address: str, now: dt.datetime, key: str | None, print_: str) -> Answer:
    """Register the return once per Idempotency-Key (a replay answers the same return)."""
    order = await find_order(data.order_number, data.postcode, address, now)

    async def prepare() -> Any:
        point, day, slot = await _hand_in(data, order, now)

        async def write() -> dict[str, Any]:
            # Decided inside the write, serialised per order: two requests at once cannot both return the last item.
            await write_guard("returns", order["id"])
            lines, shop_id = await _lines(order["id"])
            ask = Ask(
                items=tuple(
                    Choice(line_id=i.line_id, quantity=i.quantity, reason=i.reason, text=i.text) for i in data.items
                ),
                outcome=data.outcome,
                hand_in=data.hand_in,
            )
            try:
                decision = decide(lines, await delivered_on(order["id"]), now.date(), await policy_of(shop_id), ask)
            except Refused as e:
                raise (Conflict if e.code == "already_returned" else Invalid)(e.sentence, code=e.code) from None
            code = _new_code()
            stop_id = await _courier_stop(order, day, slot, decision, code, now) if day is not None else None
            rid = (
                await ReturnRequest.insert(
                    ReturnRequest(
                        code=code,
                        order=order["id"],
                        hub=order["hub"],
                        shop=shop_id,
                        outcome=decision.outcome.value,
                        hand_in=decision.hand_in.value,
                        pickup_point=point,
                        collect_date=day,
                        slot=slot,
                        stop=stop_id,
                        fee_cents=decision.fee_cents,
                        bonus_cents=decision.bonus_cents,
                        created_at=now,
                    )
                )
            )[0]["id"]
            # One row per unit: each unit is received, graded, refunded and stocked on its own.
            await ReturnItem.insert(
                *(
                    ReturnItem(
                        request=rid,
                        order_line=u.line_id,
                        sku=u.sku,
                        quantity=1,
                        reason=u.reason.value,
                        text=u.text,
                        fee_cents=u.fee_cents,
                        bonus_cents=u.bonus_cents,
                    )
                    for u in units(decision)
                )
            )
            where = f"courier {day} {slot}" if day else f"pickup point {point}"
            await ReturnEvent.insert(
                ReturnEvent(request=rid, at=now, state="registered", detail=f"by the customer, {where}")
            )
            await emit_returns(
                "return.registered", {"returnId": rid, "code": code, "orderId": order["id"]}, hub_id=order["hub"]
            )
            return await return_view(rid)

        return write

    if key is None:
        async with transaction():
            write = await prepare()
            return Answer(201, await write(), replayed=False)
    return await once(f"return-{order['id']}", key, print_, 201, prepare=prepare)


async def plan_in_return_pickup(ctx: Context, hub_id: int, day: dt.date, now: dt.datetime) -> dict[str, Any] | None:
    """A return's pickup stop into the day's routes: a re-plan when the day has routes in force
    (None when it has none yet: the day's plan takes the open stop with the others)."""
    if not await Route.exists().where((Route.hub == hub_id) & (Route.plan_date == day) & (Route.current == True)):  # noqa: E712
        return None
    result = await replan_hub(ctx, hub_id, day, max(now, dt.datetime.combine(day, dt.time())), reason="return pickup")
    await announce_if_not_applied(hub_id, day, result, now)
    return result
