"""The tracking page after a missed delivery: when and why, where the parcel is now
(a pickup point, another try today, or back at the hub), until when it waits and the code."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.tables import Hub, PickupPoint, PointParcel, Stop
from backend.dispatch.calendar import windows_on
from backend.security import pickup_code
from backend.services.day import periods


def _hours(raw: list[dict[str, Any]] | None, day: dt.date) -> list[dict[str, str]]:
    """Opening spans on ``day`` as HH:MM pairs; no hours given means open all day, [] closed."""
    spans = windows_on(periods(raw), day)
    if spans is None:
        return [{"opens": "00:00", "closes": "24:00"}]
    return [{"opens": _hhmm(w.start), "closes": _hhmm(w.end)} for w in spans]


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


async def missed_view(
    order: dict[str, Any], live: dict[str, Any] | None, secret: str, today: dt.date
) -> dict[str, Any] | None:
    """``{at, reason, now}`` when a delivery try of ``order`` failed and it is not delivered
    since; ``now`` is None while the next step is still being decided. ``live`` is the
    order's live delivery stop; the code is only given to callers holding the order's link."""
    failed = (
        await Stop.select(Stop.id, Stop.completed_at, Stop.fail_reason)
        .where((Stop.order == order["id"]) & (Stop.kind == "delivery") & (Stop.status == "failed"))
        .order_by(Stop.id, ascending=False)
        .first()
    )
    if failed is None or (live is not None and live["status"] == "delivered"):
        return None
    now: dict[str, Any] | None = None
    if live is not None and live["id"] > failed["id"]:  # a next try exists: to a point or to the door again
        now = await _at_point(order, live, secret, today) if live["pickup_point"] else _retry(live)
    elif order["status"] == "returning":
        now = await _at_hub(order["hub"], today)
    return {
        "at": failed["completed_at"].isoformat() if failed["completed_at"] else None,
        "reason": failed["fail_reason"] or None,
        "now": now,
    }


def _retry(stop: dict[str, Any]) -> dict[str, Any]:
    fmt = "%H:%M"
    return {
        "kind": "retry",
        "pointName": None,
        "address": stop["address"],
        "hours": None,
        "window": {"start": stop["window_start"].strftime(fmt), "end": stop["window_end"].strftime(fmt)},
        "until": None,
        "code": None,
    }


async def _at_point(order: dict[str, Any], stop: dict[str, Any], secret: str, today: dt.date) -> dict[str, Any]:
    point = await PickupPoint.select().where(PickupPoint.id == stop["pickup_point"]).output(load_json=True).first()
    assert point is not None  # a foreign key
    held = await PointParcel.select(PointParcel.hold_until).where(
        (PointParcel.order == order["id"]) & (PointParcel.point == point["id"]) & (PointParcel.status == "in")
    )
    if held:  # on the shelf: the date the point's desk set when it was scanned in
        until = min(h["hold_until"] for h in held)
    else:  # on its way: the point's holding days from the day it arrives
        arrives = max(stop["plan_date"], today)
        until = dt.datetime.combine(arrives + dt.timedelta(days=point["holding_days"]), dt.time(23, 59))
    return {
        "kind": "pickup_point",
        "pointName": point["name"],
        "address": point["address"],
        "hours": _hours(point["opening_hours"], max(stop["plan_date"], today)),
        "window": None,
        "until": until.isoformat(),
        "code": pickup_code(secret, order["id"]) if secret else None,
    }


async def _at_hub(hub_id: int, today: dt.date) -> dict[str, Any]:
    hub = (
        await Hub.select(Hub.name, Hub.address, Hub.opening_hours)
        .where(Hub.id == hub_id)
        .output(load_json=True)
        .first()
    )
    assert hub is not None  # a foreign key
    return {
        "kind": "hub",
        "pointName": hub["name"],
        "address": hub["address"],
        "hours": _hours(hub["opening_hours"], today),
        "window": None,
        "until": None,
        "code": None,
    }
