"""What a customer sees on /track/<token>: no login, only this order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.tables import Order, PickupPoint, Route, Shift, Stop
from backend.dispatch.calendar import at, seconds_of
from backend.dispatch.progress import DONE, eta_window
from backend.errors import NotFound
from backend.security import pickup_code
from backend.services import lockers
from backend.services.context import Context
from backend.services.missed import missed_view
from backend.services.redirect import current_delivery, redirect_options

# The courier's position is shown only this close, for the courier's privacy.
SHOW_COURIER_WITHIN_STOPS = 3


async def order_by_token(token: str) -> dict[str, Any]:
    order = await Order.select().where(Order.tracking_token == token).first() if token else None
    if order is None:
        raise NotFound("This tracking link is not valid. Check the link in your message, or contact the shop.")
    return order


async def tracking_view(ctx: Context, token: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The order behind ``token`` as its customer sees it (with the pickup code, made
    with the app's key, when the parcel goes to a pickup point)."""
    secret = ctx.settings.secret_key
    order = await order_by_token(token)
    day = order["delivery_date"]
    # After a redirect or a failed try the order has several delivery stops: the newest live one counts.
    stop = await current_delivery(order["id"])
    view: dict[str, Any] = {
        "reference": order["reference"],
        "date": day.isoformat(),
        "address": order["address"],
        "window": {"start": order["window_start"].strftime("%H:%M"), "end": order["window_end"].strftime("%H:%M")},
        "status": "received",
        "etaWindow": None,
        "stopsAway": None,
        "courierPosition": None,
        "failReason": None,
        "pickupPoint": None,
        "redirectOptions": [],
        "missed": None,
    }
    if order["pickup_point"]:
        pp = (
            await PickupPoint.select(PickupPoint.name, PickupPoint.address, PickupPoint.lat, PickupPoint.lon)
            .where(PickupPoint.id == order["pickup_point"])
            .first()
        )
        view["pickupPoint"] = pp
        view["locker"] = await lockers.tracking_compartments(order["id"], order["pickup_point"])
        if secret:  # the link is the key to this order: the same code the customer's message has
            view["pickupCode"] = pickup_code(secret, order["id"])
    if stop is None:
        return view
    view["missed"] = await missed_view(order, stop, secret, (now or dt.datetime.now()).date())
    view["redirectOptions"] = await redirect_options(order, now or dt.datetime.now())
    if stop["status"] in ("delivered", "failed"):
        view["status"] = stop["status"]
        view["failReason"] = stop["fail_reason"] or None
        view["completedAt"] = stop["completed_at"].isoformat() if stop["completed_at"] else None
        return view
    route = await _route_with(stop["id"], stop["hub"], day)
    if route is None:
        return view
    ids = [s["stop_id"] for s in route["stops"]]
    status = {r["id"]: r["status"] for r in await Stop.select(Stop.id, Stop.status).where(Stop.id.is_in(ids))}
    remaining = [s for s in route["stops"] if status.get(s["stop_id"]) not in DONE]
    mine = next(i for i, s in enumerate(remaining) if s["stop_id"] == stop["id"])
    shift = await Shift.select(Shift.status).where(Shift.id == route["shift"]).first()
    on_the_road = shift is not None and shift["status"] == "started"
    view["status"] = "out_for_delivery" if on_the_road else "planned"
    view["stopsAway"] = mine
    # around when service starts (a courier who is early waits for the window), never
    # before the customer's own window opens
    planned = remaining[mine]
    begins = seconds_of(dt.datetime.fromisoformat(planned.get("service_start") or planned["eta"]), day)
    start, end = eta_window(begins, mine, seconds_of(stop["window_start"], day), seconds_of(stop["window_end"], day))
    view["etaWindow"] = {"start": at(day, start).strftime("%H:%M"), "end": at(day, end).strftime("%H:%M")}
    if on_the_road and mine < SHOW_COURIER_WITHIN_STOPS:
        last = ctx.positions.last(route["courier"]) if ctx.positions is not None else None
        if last is not None:
            view["courierPosition"] = {"lat": last["lat"], "lon": last["lon"], "ts": last["ts"]}
    return view


async def _route_with(stop_id: int, hub_id: int, day: dt.date) -> dict[str, Any] | None:
    routes = (
        await Route.select()
        .where((Route.hub == hub_id) & (Route.plan_date == day) & (Route.current.eq(True)))
        .output(load_json=True)
    )
    return next((r for r in routes if any(s["stop_id"] == stop_id for s in r["stops"])), None)
