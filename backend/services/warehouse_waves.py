"""Releasing a wave: the order lines whose slot's cut-off has come are allocated to the
hub's bins or a partner shop (``backend/warehouse/ledger.py``), grouped into batches
with their pick lists in walking order (``backend/warehouse/waves.py``), and written
as pick batches; a ship-from-store line becomes a shop pickup stop of its order, as a
basket's goods do, and a day already on routes is re-planned to take it (a durable
``replan`` job). A dispatcher releases a wave (early or not) through the API; at its
release time it is released on its own (services/wave_release.py). The supervisor's
figures per wave come from the same rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Literal

import msgspec

from backend.db.engine import transaction
from backend.db.tables import Order, OrderLine, Parcel, PickBatch, Shop, Stop
from backend.dispatch.alerts import Raised
from backend.dispatch.calendar import SLOTS
from backend.errors import Invalid
from backend.jobs import queue as jobs
from backend.services import stop_history
from backend.services.alerts import raise_alerts
from backend.services.hub_scope import require_hub
from backend.services.orders import new_barcode
from backend.services.route_store import any_in_force
from backend.services.warehouse_events import emit_warehouse
from backend.services.warehouse_floor import batcher_for, walking_path
from backend.services.warehouse_settings import leads_of, settings_of
from backend.services.warehouse_stock import bins_of, full_catalogue, hold_hub, ledger_for
from backend.warehouse import picking
from backend.warehouse.ledger import Allocation, Line, Movement, Place, StockError, allocate, fewest_bins_nearest
from backend.warehouse.products import Catalogue
from backend.warehouse.waves import (
    BatchPlan,
    Cart,
    Mode,
    SlotCutOff,
    Wave,
    WaveError,
    apart,
    plan_batches,
    plan_waves,
)
from backend.warehouse.waves import Order as WaveOrder

# Everything for a slot is picked by its cut-off; a wave is released the hub's lead time
# before it (picking settings, two hours unless set).
CUTOFFS: dict[str, str] = {"morning": "07:00", "afternoon": "11:00", "evening": "15:00", "day": "07:00"}
WINDOW_CUTOFF = dt.timedelta(minutes=90)  # an order with its own window: picked 90 minutes before it opens
ACTIVE = ("open", "taken")


class CartIn(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    totes: int = 8
    tote_volume: float = 40.0  # litres
    tote_weight: float = 15.0  # kg


class ReleaseIn(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    date: dt.date | None = None  # default today
    cutoff: str | None = None  # "15:00": release this wave now, early or not; default: every wave that is due
    # None: the hub's picking settings (services/warehouse_settings.py)
    mode: Literal["sort_while_picking", "pick_then_sort"] | None = None
    cart: CartIn | None = None


def _hhmm(t: dt.time) -> str:
    return t.strftime("%H:%M")


def slot_of(order: dict[str, Any]) -> tuple[str, SlotCutOff]:
    """The order's slot and its cut-off: a named slot's, or 90 minutes before its own window."""
    slot = order["slot"] or ""
    if slot in CUTOFFS:
        start, end = SLOTS[slot]
        return slot, SlotCutOff(
            slot=slot,
            start=dt.time.fromisoformat(start),
            end=dt.time.fromisoformat(end),
            cutoff=dt.time.fromisoformat(CUTOFFS[slot]),
        )
    ws: dt.datetime = order["window_start"]
    we: dt.datetime = order["window_end"]
    cut = max(ws - WINDOW_CUTOFF, dt.datetime.combine(ws.date(), dt.time()))
    name = f"{_hhmm(ws.time())}-{_hhmm(we.time())}"
    return name, SlotCutOff(slot=name, start=ws.time(), end=we.time(), cutoff=cut.time().replace(second=0))


def load_state(stored: Any) -> picking.PickState:
    """A batch's kept state (JSON: the totes' places came back as string keys)."""
    return msgspec.json.decode(msgspec.json.encode(stored), type=picking.PickState)


async def active_units(hub_id: int, exclude: int | None = None) -> dict[tuple[str, str], int]:
    """Units per (bin, SKU) that open and taken batches of the hub (but ``exclude``) still mean to take."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for row in (
        await PickBatch.select(PickBatch.state)
        .where((PickBatch.hub == hub_id) & PickBatch.status.is_in(list(ACTIVE)) & (PickBatch.id != (exclude or -1)))
        .output(load_json=True)
    ):
        for key, n in picking.open_units(load_state(row["state"])).items():
            out[key] += n
    return out


async def _open_lines(hub_id: int, day: dt.date) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    lines = await OrderLine.select(OrderLine.id, OrderLine.order, OrderLine.sku, OrderLine.quantity).where(
        (OrderLine.status == "open")
        & (OrderLine.order.hub == hub_id)
        & (OrderLine.order.delivery_date == day)
        & (OrderLine.order.status != "cancelled")
    )
    ids = sorted({r["order"] for r in lines})
    orders = {
        r["id"]: r
        for r in await Order.select(
            Order.id, Order.reference, Order.slot, Order.window_start, Order.window_end, Order.lat, Order.lon
        ).where(Order.id.is_in(ids or [-1]))
    }
    return lines, orders


async def release_waves(hub_id: int, data: ReleaseIn, user_id: int | None, now: dt.datetime) -> dict[str, Any]:
    """Release the waves that are due (or the one of ``data.cutoff``) and answer what was made."""
    day = data.date or now.date()

    def choose(waves: list[Wave], lead: dt.timedelta) -> list[Wave]:
        if data.cutoff is not None:
            chosen = [w for w in waves if _hhmm(w.cutoff) == data.cutoff]
            if not chosen:
                known = ", ".join(_hhmm(w.cutoff) for w in waves) or "none"
                raise Invalid(
                    f"There is no wave with cut-off {data.cutoff} on {day} with lines to release (waves: {known})."
                )
            return chosen
        if day < now.date():
            return waves
        if day == now.date():
            return [w for w in waves if now.time() >= w.release_at(lead)]
        return []

    return await _release_chosen(hub_id, day, data, choose, user_id, now)


async def release_wave_on_time(hub_id: int, day: dt.date, cutoff: str, now: dt.datetime) -> dict[str, Any]:
    """The automatic release (services/wave_release.py): the wave of ``cutoff`` on ``day``, by
    nobody; what is left of it when a dispatcher released it meanwhile (often nothing)."""

    def choose(waves: list[Wave], lead: dt.timedelta) -> list[Wave]:
        return [w for w in waves if _hhmm(w.cutoff) == cutoff]

    return await _release_chosen(hub_id, day, ReleaseIn(date=day), choose, None, now)


Choose = Callable[[list[Wave], dt.timedelta], list[Wave]]


async def _release_chosen(
    hub_id: int, day: dt.date, data: ReleaseIn, choose: Choose, user_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    await require_hub(hub_id)
    mode, cart = await settings_of(hub_id)
    lead = (await leads_of([hub_id]))[hub_id]
    mode = data.mode or mode
    cart = Cart(**msgspec.structs.asdict(data.cart)) if data.cart else cart
    if cart.totes < 1 or cart.tote_volume <= 0 or cart.tote_weight <= 0:
        raise Invalid("A cart needs at least one tote, and totes a volume and a weight above 0.")
    async with transaction():
        # Under the hub's warehouse lock the open lines are read afresh: a release that
        # waited for another (the button and the clock at once) finds them taken.
        await hold_hub(hub_id)
        lines, orders = await _open_lines(hub_id, day)
        cutoffs: dict[str, SlotCutOff] = {}
        wave_orders: dict[int, list[Line]] = defaultdict(list)
        for r in lines:
            wave_orders[r["order"]].append(
                Line(id=str(r["id"]), order_id=r["order"], sku=r["sku"], quantity=r["quantity"])
            )
        core_orders = []
        for oid, mine in sorted(wave_orders.items()):
            slot, cut = slot_of(orders[oid])
            cutoffs[slot] = cut
            core_orders.append(WaveOrder(id=oid, slot=slot, lines=tuple(mine)))
        chosen = choose(plan_waves(core_orders, list(cutoffs.values())), lead)
        bins = await bins_of(hub_id)
        path = walking_path(bins)
        catalogue = await full_catalogue()
        made = []
        for wave in chosen:
            made.append(
                await _release(
                    hub_id,
                    day,
                    wave.cutoff,
                    wave.slots,
                    wave.orders,
                    mode,
                    cart,
                    bins,
                    path,
                    catalogue,
                    orders,
                    user_id,
                    now,
                )
            )
    return {"date": day.isoformat(), "released": made}


async def _release(
    hub_id: int,
    day: dt.date,
    cutoff: dt.time,
    slots: Sequence[str],
    wave_orders: Sequence[WaveOrder],
    mode: Mode,
    cart: Cart,
    bins: dict[str, dict[str, Any]],
    path: Any,
    catalogue: Catalogue,
    orders: dict[int, dict[str, Any]],
    user_id: int | None,
    now: dt.datetime,
) -> dict[str, Any]:
    lines = [line for o in wave_orders for line in o.lines]
    for line in lines:
        if line.sku not in catalogue.by_sku:
            raise Invalid(f"Order {line.order_id} asks for {line.sku}, which is not in the catalogue; add it first.")
    ledger = await ledger_for(hub_id, {line.sku for line in lines})
    held = await active_units(hub_id)

    def stock(sku: str) -> dict[Place, int]:
        have = ledger.stock_of(sku)
        return {p: n - (held.get((p.code, sku), 0) if p.kind == "bin" else 0) for p, n in have.items()}

    def near(p: Place) -> float:
        b = bins.get(p.code)
        return (abs(b["x"]) + abs(b["y"])) if b else 0.0

    allocs = allocate(lines, stock, bin_order=fewest_bins_nearest(near))
    # A line the cart cannot take (a unit larger or heavier than a tote, or more totes than a
    # cart) is flagged short below; the rest of the wave is released without it.
    unfit = apart(allocs, catalogue, cart)
    try:
        plans = plan_batches(
            [a for a in allocs if a.line.id not in unfit],
            catalogue,
            cart,
            mode,
            batcher=batcher_for(bins, path),
            path=path,
        )
    except WaveError as e:
        raise Invalid(str(e)) from None
    batch_of: dict[str, int] = {}
    batch_ids = []
    for plan in plans:
        batch_id = await _write_batch(hub_id, day, cutoff, plan, now)
        batch_ids.append(batch_id)
        for t in plan.tasks:
            for task_line, _ in t.lines:
                batch_of[task_line] = batch_id
    shop_lines = short_lines = 0
    first_shop_line: int | None = None
    raised = []
    not_pickable: list[dict[str, Any]] = []  # the lines ``apart`` took out, for the release's answer
    for a in allocs:
        line_id = int(a.line.id)
        shop = a.shop
        if shop is not None:
            shop_lines += 1
            first_shop_line = first_shop_line or line_id
            await _from_shop(hub_id, day, a, int(shop.code), orders[a.line.order_id], catalogue, ledger, user_id, now)
            continue
        short = a.line.quantity if a.line.id in unfit else a.short
        status = "released" if a.line.id in batch_of else "short"
        short_lines += short > 0
        await OrderLine.update(
            {
                OrderLine.status: status,
                OrderLine.source: "hub",
                OrderLine.batch_id: batch_of.get(a.line.id),
                OrderLine.short: short,
            }
        ).where(OrderLine.id == line_id)
        if short:
            ref = orders[a.line.order_id]["reference"]
            data = {"orderId": a.line.order_id, "lineId": line_id, "sku": a.line.sku, "short": short}
            why = "no stock at the hub or a partner shop"
            if a.line.id in unfit:
                why = (
                    f"{unfit[a.line.id]}, so no pick list has it and it counts as short: "
                    "send it on its own or change the order"
                )
                data["reason"] = "no_tote"
                not_pickable.append({**data, "quantity": a.line.quantity, "detail": f"Order {ref}: {why}."})
            raised.append(
                Raised("pick_short", f"line-{line_id}", f"Order {ref}: {short} × {a.line.sku} short, {why}.", data)
            )
    if raised:
        await raise_alerts(hub_id, day, raised, now)
    replan = first_shop_line is not None and await _pickups_into_routes(hub_id, day, first_shop_line, now)
    summary = {
        "cutoff": _hhmm(cutoff),
        "slots": list(slots),
        "batchIds": batch_ids,
        "lines": len(allocs),
        "shopLines": shop_lines,
        "shortLines": short_lines,
        "notPickable": not_pickable,
        "shopReplan": replan,
    }
    await emit_warehouse("wave.released", {"date": day.isoformat(), **summary}, hub_id)
    return summary


async def _pickups_into_routes(hub_id: int, day: dt.date, line_id: int, now: dt.datetime) -> bool:
    """A day already on routes takes the wave's new shop pickup stops by the durable ``replan``
    job (backend/services/follow_ups.py), written in the release's transaction as a packed
    parcel's is; a day not yet planned takes them with its planning. Keyed by the wave's first
    shop line: a line is released once, so the key is never reused."""
    if not await any_in_force(hub_id, day):
        return False
    await jobs.enqueue(
        "replan",
        f"ship_from_store:{line_id}",
        {"hubId": hub_id, "date": day.isoformat(), "reason": "ship-from-store pickups of a released wave"},
    )
    return True


async def _write_batch(hub_id: int, day: dt.date, cutoff: dt.time, plan: BatchPlan, now: dt.datetime) -> int:
    row = await PickBatch.insert(
        PickBatch(
            hub=hub_id,
            plan_date=day,
            cutoff=_hhmm(cutoff),
            number=plan.number,
            mode=plan.mode,
            status="open",
            order_ids=list(plan.order_ids),
            sort_lines=[
                {"orderId": x.order_id, "lineId": int(x.line_id), "sku": x.sku, "quantity": x.quantity}
                for x in plan.sort_lines
            ],
            state={},
            created_at=now,
        )
    )
    batch_id = int(row[0]["id"])
    state = picking.start(str(batch_id), plan.tasks)
    await PickBatch.update({PickBatch.state: msgspec.to_builtins(state)}).where(PickBatch.id == batch_id)
    return batch_id


async def _from_shop(
    hub_id: int,
    day: dt.date,
    a: Allocation,
    shop_id: int,
    order: dict[str, Any],
    catalogue: Catalogue,
    ledger: Any,
    user_id: int | None,
    now: dt.datetime,
) -> None:
    """Ship-from-store: the shop's stock is taken for the line, a parcel waits at the shop,
    and the order gets a pickup stop there (one per shop), as a basket's goods do."""
    p = catalogue.product(a.line.sku)
    qty = a.line.quantity
    move = Movement(
        id=f"shop:{a.line.id}",
        kind="pick",
        place=Place("shop", str(shop_id)),
        sku=a.line.sku,
        quantity=-qty,
        reason=f"ship-from-store for order {order['reference']}",
        user=str(user_id) if user_id is not None else "wave release",
        at=now,
    )
    from backend.services.warehouse_stock import write_movements

    before = len(ledger.movements)
    try:
        ledger.record(move)
    except StockError as e:
        raise Invalid(str(e)) from None
    await write_movements(hub_id, ledger.movements[before:], user_id)
    weight, volume = p.weight_g * qty / 1000, p.volume_ml * qty / 1000
    await OrderLine.update({OrderLine.status: "shop", OrderLine.source: "shop", OrderLine.shop: shop_id}).where(
        OrderLine.id == int(a.line.id)
    )
    await Parcel.insert(
        Parcel(order=order["id"], barcode=new_barcode(), weight_kg=weight, volume_l=volume, shop=shop_id)
    )
    stop = (
        await Stop.select(Stop.id, Stop.weight_kg, Stop.volume_l)
        .where((Stop.order == order["id"]) & (Stop.kind == "pickup") & (Stop.shop == shop_id))
        .first()
    )
    if stop is not None:
        await Stop.update({Stop.weight_kg: stop["weight_kg"] + weight, Stop.volume_l: stop["volume_l"] + volume}).where(
            Stop.id == stop["id"]
        )
        return
    shop = await Shop.select().where(Shop.id == shop_id).first()
    assert shop is not None  # the ledger names shops that exist
    written = await Stop.insert(
        Stop(
            order=order["id"],
            hub=hub_id,
            kind="pickup",
            shop=shop_id,
            address=shop["address"],
            lat=shop["lat"],
            lon=shop["lon"],
            plan_date=day,
            window_start=dt.datetime.combine(day, dt.time()),
            window_end=order["window_end"],
            service_s=180,
            weight_kg=weight,
            volume_l=volume,
        )
    )
    await stop_history.record(
        [written[0]["id"]],
        "created",
        by_user=user_id,
        detail=f"Ship-from-store: {qty} × {a.line.sku} from {shop['name']}",
        at=now,
    )


# --- the supervisor's figures ------------------------------------------------------------


async def wave_progress(hub_id: int, day: dt.date, now: dt.datetime) -> list[dict[str, Any]]:
    """Per wave (cut-off) of the day: lines picked, short, open, at shops; batches by status;
    time left to the cut-off."""
    await require_hub(hub_id)
    rows = await OrderLine.select(
        OrderLine.id,
        OrderLine.status,
        OrderLine.quantity,
        OrderLine.picked,
        OrderLine.short,
        OrderLine.order.slot,
        OrderLine.order.window_start,
        OrderLine.order.window_end,
    ).where((OrderLine.order.hub == hub_id) & (OrderLine.order.delivery_date == day))
    batches = await PickBatch.select(
        PickBatch.cutoff, PickBatch.status, PickBatch.picker.display_name, PickBatch.picker.username
    ).where((PickBatch.hub == hub_id) & (PickBatch.plan_date == day))
    waves: dict[str, dict[str, Any]] = {}
    for r in rows:
        _, cut = slot_of(
            {"slot": r["order.slot"], "window_start": r["order.window_start"], "window_end": r["order.window_end"]}
        )
        key = _hhmm(cut.cutoff)
        w = waves.setdefault(
            key,
            {
                "cutoff": key,
                "slots": set(),
                "lines": 0,
                "unreleased": 0,
                "picking": 0,
                "picked": 0,
                "short": 0,
                "atShops": 0,
                "units": 0,
                "unitsPicked": 0,
                "unitsShort": 0,
                "batches": {"open": 0, "taken": 0, "done": 0},
                "pickers": set(),
            },
        )
        w["slots"].add(cut.slot)
        w["lines"] += 1
        w["units"] += r["quantity"]
        w["unitsPicked"] += r["picked"]
        w["unitsShort"] += r["short"]
        status = r["status"]
        if status == "open":
            w["unreleased"] += 1
        elif status == "released":
            w["picking"] += 1
        elif status == "shop":
            w["atShops"] += 1
        elif status == "picked":
            w["picked"] += 1
        if r["short"]:
            w["short"] += 1
    for b in batches:
        if b["cutoff"] in waves:
            waves[b["cutoff"]]["batches"][b["status"]] += 1
            if b["status"] == "taken":  # on it now: a batch taken and not done
                waves[b["cutoff"]]["pickers"].add(b["picker.display_name"] or b["picker.username"])
    out = []
    for key, w in sorted(waves.items()):
        at = dt.datetime.combine(day, dt.time.fromisoformat(key))
        w["slots"] = sorted(w["slots"])
        w["pickers"] = sorted(w["pickers"])
        w["left"] = w["unreleased"] + w["picking"]
        w["timeLeftS"] = int((at - now).total_seconds())
        out.append(w)
    return out
