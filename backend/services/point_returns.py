"""Returns handed in at a pickup point (role ``point``, own point only): the customer shows
the return's code (R-...), the operator sees the expected items and accepts the parcel; it
goes in the point's returns cart. The cart is ONE pickup stop at the point per day, made
when the day's first return is handed in and brought into the day's routes through the
same durable ``return_pickup`` job a door-step return uses (a re-plan when routes are in
force, else the day's plan takes it). When the courier collects that stop every return in
the cart is "collected" (backend/services/courier.py) and is received at the hub as any.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.locks import write_guard
from backend.db.tables import ReturnEvent, ReturnRequest, Stop
from backend.errors import Conflict, NotFound
from backend.jobs import enqueue
from backend.realtime.outbox import emit
from backend.services import point_desk, stop_history
from backend.services.returns_portal import return_view
from backend.services.scanner_settings import is_label_or_return, read_scan

CART_KG = 1.0  # room a returned parcel takes in the cart (the items' products are often unknown)
CART_L = 5.0


async def _mine(point: dict[str, Any], code: str) -> dict[str, Any]:
    """The return of this code if it is handed in here (another point's: refused)."""
    code = (await read_scan(code, point["hub"], is_label_or_return)).upper()
    r = await ReturnRequest.select().where(ReturnRequest.code == code).first()
    if r is None:
        raise NotFound(f"No return has code {code}; ask the customer for the message with the R-code.")
    if r["hand_in"] != "pickup_point" or r["pickup_point"] != point["id"]:
        raise Conflict(
            f"Return {code} is not handed in at {point['name']}; the customer chose another way back "
            "and can see it in the message with the code."
        )
    return r


async def show(user_id: int, code: str) -> dict[str, Any]:
    """The return of a scanned or typed code, with its expected items."""
    point = await point_desk.operator_point(user_id)
    return await return_view((await _mine(point, code))["id"])


async def _cart_stop(point: dict[str, Any], r: dict[str, Any], now: dt.datetime) -> int:
    """The point's returns cart for today: the open pickup stop at the point, made (and sent
    into the day's routes by the durable job) with the day's first return."""
    day = now.date()
    stop = (
        await Stop.select(Stop.id, Stop.weight_kg, Stop.volume_l)
        .where(
            (Stop.pickup_point == point["id"])
            & (Stop.kind == "pickup")
            & (Stop.plan_date == day)
            & (Stop.status == "open")
        )
        .first()
    )
    if stop is not None:
        grown: dict[Any, Any] = {Stop.weight_kg: stop["weight_kg"] + CART_KG, Stop.volume_l: stop["volume_l"] + CART_L}
        await Stop.update(grown).where(Stop.id == stop["id"])  # under the cart's write guard
        return int(stop["id"])
    end = max(dt.datetime.combine(day, dt.time(22)), now + dt.timedelta(hours=1))
    row = await Stop.insert(
        Stop(
            order=r["order"],  # the cart's first return's order: a stop belongs to an order
            hub=r["hub"],
            kind="pickup",
            shop=None,
            pickup_point=point["id"],
            address=point["address"],
            lat=point["lat"],
            lon=point["lon"],
            plan_date=day,
            window_start=now,
            window_end=end,
            service_s=180,
            weight_kg=CART_KG,
            volume_l=CART_L,
        )
    )
    stop_id = int(row[0]["id"])
    await stop_history.record([stop_id], "created", detail=f"Returns cart at {point['name']}", at=now)
    await enqueue("return_pickup", f"return_pickup:{stop_id}", {"hubId": r["hub"], "date": day.isoformat()})
    return stop_id


async def prepare_hand_in(user_id: int, code: str, now: dt.datetime) -> Any:
    """Check the code at this point; answers the write step that puts the return in the cart."""
    point = await point_desk.operator_point(user_id)
    r = await _mine(point, code)
    if r["status"] != "registered":
        raise Conflict(f"Return {r['code']} was already handed in ({r['status'].replace('_', ' ')}).")

    async def write() -> dict[str, Any]:
        await write_guard("point_cart", point["id"])  # one cart stop per point and day, even at once
        stop_id = await _cart_stop(point, r, now)
        done = (
            await ReturnRequest.update({ReturnRequest.status: "at_point", ReturnRequest.stop: stop_id})
            .where((ReturnRequest.id == r["id"]) & (ReturnRequest.status == "registered"))
            .returning(ReturnRequest.id)
        )
        if not done:
            raise Conflict(f"Return {r['code']} was handed in meanwhile.")
        await ReturnEvent.insert(
            ReturnEvent(request=r["id"], at=now, state="handed_in_at_point", by_user=user_id, detail=point["name"])
        )
        await emit(
            "return.at_point",
            {"returnId": r["id"], "code": r["code"], "pickupPointId": point["id"], "stopId": stop_id},
            hub_id=r["hub"],
        )
        return {"result": "handed_in", "return": await return_view(r["id"])}

    return write
