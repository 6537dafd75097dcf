"""A shop drop the evening courier could not collect (its pickup stop at the locker failed)
goes again the next evening: the durable ``locker_drop_retry`` job, written with the failed
stop's state change (backend/services/courier.py), moves the order to the next day's evening
slot with a new pickup stop at the locker and a new delivery stop, cancels that evening's
delivery (nothing to deliver), and brings the stops into the routes (a re-plan where routes
are in force; else the day's plan takes them). The goods stay in their door: the door is
counted taken until the new evening (backend/services/locker_days.py). The customer hears of
the new evening once: ``locker.drop_retry`` is written with the retry, in its transaction,
and carries the new delivery's window, which the push relay sends to the order's
subscriptions (backend/realtime/notifications.py, Dutch and English).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.engine import transaction
from backend.db.locker_tables import LockerCompartment
from backend.db.tables import Order, Stop
from backend.jobs import queue as jobs
from backend.realtime.outbox import emit
from backend.services import stop_history
from backend.services.route_store import any_in_force

DONE = ("delivered", "collected", "cancelled")
_COPIED = (
    "order",
    "hub",
    "kind",
    "shop",
    "pickup_point",
    "address",
    "lat",
    "lon",
    "service_s",
    "weight_kg",
    "volume_l",
)


def _next_evening(row: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """The stop ``row`` again on ``day``, at the same hours, open."""
    shift = dt.timedelta(days=(day - row["plan_date"]).days)
    return {
        **{k: row[k] for k in _COPIED},
        "plan_date": day,
        "window_start": row["window_start"] + shift,
        "window_end": row["window_end"] + shift,
        "status": "open",
    }


async def retry_next_evening(stop_id: int, now: dt.datetime) -> dict[str, Any] | None:
    """The failed pickup stop ``stop_id`` of a shop drop, again the next evening with its
    delivery. None when there is nothing to do (not a failed drop collection, or the order
    moved on already)."""
    failed = await Stop.select().where(Stop.id == stop_id).first()
    if failed is None or failed["kind"] != "pickup" or failed["status"] != "failed" or not failed["pickup_point"]:
        return None
    in_door = await LockerCompartment.exists().where(
        (LockerCompartment.order == failed["order"])
        & (LockerCompartment.point == failed["pickup_point"])
        & (LockerCompartment.purpose == "shop_drop")
    )
    if not in_door:
        return None  # a returns cart at a point, not a drop (docs/point.md)
    day = failed["plan_date"]
    later = day + dt.timedelta(days=1)
    if await Stop.exists().where((Stop.order == failed["order"]) & (Stop.kind == "pickup") & (Stop.plan_date > day)):
        return None  # done already (the job ran, or the drop was moved by hand)
    delivery = (
        await Stop.select()
        .where((Stop.order == failed["order"]) & (Stop.kind == "delivery") & (Stop.plan_date == day))
        .first()
    )
    routed_today, routed_later = (
        await any_in_force(failed["hub"], day),
        await any_in_force(failed["hub"], later),
    )
    async with transaction():
        # By its key: run by the worker or called directly, the retry is made once.
        if not await jobs.settle(f"locker_drop_retry:{stop_id}"):
            raise jobs.AlreadyDone(f"locker_drop_retry:{stop_id}")
        pickup_id = (await Stop.insert(Stop(**_next_evening(failed, later))))[0]["id"]
        new_ids = [pickup_id]
        window: dict[str, str] = {}
        if delivery is not None and delivery["status"] not in DONE:
            await Stop.update({Stop.status: "cancelled"}).where(Stop.id == delivery["id"])
            await stop_history.record([delivery["id"]], "cancelled", at=now, detail=f"Pickup stop {stop_id} failed")
            again = _next_evening(delivery, later)
            new_ids.append((await Stop.insert(Stop(**again)))[0]["id"])
            window = {"windowStart": again["window_start"].isoformat(), "windowEnd": again["window_end"].isoformat()}
        await stop_history.record(new_ids, "created", at=now, detail=f"Shop drop not collected (stop {stop_id})")
        order = await Order.select(Order.window_start, Order.window_end).where(Order.id == failed["order"]).first()
        assert order is not None  # the stop's order: a foreign key
        await Order.update(
            {
                Order.delivery_date: later,
                Order.window_start: dt.datetime.combine(later, order["window_start"].time()),
                Order.window_end: dt.datetime.combine(later, order["window_end"].time()),
                Order.status: "retry",
            }
        ).where(Order.id == failed["order"])
        for when, routed in ((day, routed_today), (later, routed_later)):
            if routed:  # the running day drops the cancelled delivery; the next one takes the new stops
                await jobs.enqueue(
                    "replan",
                    f"replan:locker_drop_retry:{stop_id}:{when}",
                    {"hubId": failed["hub"], "date": when.isoformat(), "reason": f"shop drop stop {stop_id} failed"},
                )
        # The new delivery's window: the customer's message (none when nothing is delivered again).
        notice = {
            "orderId": failed["order"],
            "stopId": stop_id,
            "newStopIds": new_ids,
            "date": later.isoformat(),
            **window,
        }
        await emit("locker.drop_retry", notice, hub_id=failed["hub"])
    return notice
