"""Which outbox events become push messages, to whom, saying what. Pure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.dispatch.progress import eta_window

FAIL_TEXT = {
    "not_home": "we missed you",
    "refused": "the parcel was refused",
    "address_not_found": "we could not find the address",
    "no_access": "we could not get in",
    "damaged": "the parcel was damaged",
    "other": "we could not deliver",
}


OPEN = ("planned", "arrived")


def _clock(iso: str) -> str:
    return iso[11:16]  # HH:MM of an ISO timestamp


def _seconds(iso: str) -> int:
    """Seconds since midnight of an ISO timestamp (of the same day)."""
    return int(iso[11:13]) * 3600 + int(iso[14:16]) * 60 + int(iso[17:19] or 0)


def _expected(stop: dict[str, Any]) -> str:
    """What a customer is told to expect: when service starts (a courier who is early
    waits for the window), not when the bike arrives."""
    return str(stop.get("serviceStart") or stop["eta"])


def customer_notices(
    stops: list[dict[str, Any]], *, started: bool, done_stop: int | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Customer-facing events for a route's stop views (riding order, ETAs
    as just computed): when the shift starts, every open delivery is out for
    delivery with its ETA window (one event with them all); when a stop is
    done, the next open delivery is arriving soon. Returns (event kind,
    payload) pairs."""
    out: list[tuple[str, dict[str, Any]]] = []
    deliveries = [s for s in stops if s["kind"] == "delivery" and s["status"] in OPEN and s["stopId"] != done_stop]
    if started and deliveries:
        windows = []
        for ahead, s in enumerate(deliveries):
            eta = _expected(s)
            day = eta[:10]
            # inside the customer's own window: the promise never starts before it opens
            lo, hi = eta_window(
                _seconds(eta),
                ahead,
                _seconds(s["windowStart"]) if s.get("windowStart") else None,
                _seconds(s["windowEnd"]) if s.get("windowEnd") else None,
            )
            windows.append(
                {
                    "orderId": s["orderId"],
                    "stopId": s["stopId"],
                    "eta": eta,
                    "windowStart": f"{day}T{lo // 3600:02d}:{lo % 3600 // 60:02d}:00",
                    "windowEnd": f"{day}T{min(hi, 86399) // 3600:02d}:{min(hi, 86399) % 3600 // 60:02d}:00",
                }
            )
        # One event for the route, not one per order: a shift start is one write.
        out.append(("order.out_for_delivery", {"deliveries": windows}))
    if done_stop is not None and deliveries:
        s = deliveries[0]
        out.append(("order.arriving_soon", {"orderId": s["orderId"], "stopId": s["stopId"], "eta": _expected(s)}))
    return out


Notice = tuple[str, int, dict[str, Any]]  # (audience, key, message)


def notifications_for(event: dict[str, Any]) -> list[Notice]:
    """(audience, key, message) for one event: audience 'courier' (key: courier id)
    or 'order' (key: order id, the customer's subscriptions)."""
    build = _BY_KIND.get(event["kind"])
    return build(event, event["payload"]) if build is not None else []


def _route_changed(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    if event.get("courier_id") is None:
        return []
    stops = data.get("stops", [])
    left = sum(1 for s in stops if s.get("status") in ("planned", "arrived"))
    late = sum(1 for s in stops if s.get("late") and s.get("status") in ("planned", "arrived"))
    message = {
        "type": "route.changed",
        "title": "Your route changed" if event["kind"] == "route.updated" else "Your route is ready",
        "body": f"{left} stops to go" + (f", {late} running late" if late else ""),
        "url": "/courier/",
        "routeId": data.get("id"),
        "seq": event["id"],
    }
    return [("courier", event["courier_id"], message)]


def _out_for_delivery(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    return [
        (
            "order",
            d["orderId"],
            {
                "type": "out_for_delivery",
                "title": "Out for delivery",
                "body": f"Your parcel is on its way today between {_clock(d['windowStart'])} and "
                f"{_clock(d['windowEnd'])}.",
                "orderId": d["orderId"],
                "windowStart": d["windowStart"],
                "windowEnd": d["windowEnd"],
            },
        )
        for d in data["deliveries"]
    ]


def _arriving_soon(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    message = {
        "type": "arriving_soon",
        "title": "Arriving soon",
        "body": f"Your courier is on the way: next stop is yours, about {_clock(data['eta'])}.",
        "orderId": data["orderId"],
        "eta": data["eta"],
    }
    return [("order", data["orderId"], message)]


def _next_step(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    order = data["orderId"]
    if data["next"] == "pickup_point":
        point = data["pickupPoint"]
        message = {
            "type": "to_pickup_point",
            "title": "Your parcel goes to a pickup point",
            "body": f"Collect it at {point['name']}, {point['address']} from about "
            f"{_clock(data['windowStart'])} with code {data['pickupCode']}.",
            "orderId": order,
            "pickupPoint": point,
            "pickupCode": data["pickupCode"],
        }
    elif data["next"] == "retry":
        message = {
            "type": "retry",
            "title": "We will try again today",
            "body": f"We come back between {_clock(data['windowStart'])} and {_clock(data['windowEnd'])}.",
            "orderId": order,
        }
    else:
        message = {
            "type": "back_to_hub",
            "title": "Your parcel goes back to our hub",
            "body": "We will contact you for a new delivery.",
            "orderId": order,
        }
    return [("order", order, message)]


def _redirected(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    """The customer's own choice on the tracking page, confirmed."""
    point, when = data.get("pickupPoint"), f"between {_clock(data['windowStart'])} and {_clock(data['windowEnd'])}"
    if point:
        body = (
            f"Your parcel goes to {point['name']}, {point['address']}, from about "
            f"{_clock(data['windowStart'])}; collect it with code {data['pickupCode']}."
        )
    elif data["kind"] == "address":
        body = f"We bring your parcel to {data['address']} {when}."
    else:
        body = f"We bring your parcel {when}."
    message = {"type": "redirected", "title": "Your delivery is changed", "body": body, "orderId": data["orderId"]}
    return [("order", data["orderId"], message)]


def _stop_updated(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    if data.get("kind") != "delivery":
        return []
    status, order = data.get("status"), data.get("orderId")
    if order is None:
        return []
    message: dict[str, Any]
    if data.get("pickupPointId") and status == "delivered":
        message = {
            "type": "ready_at_pickup_point",
            "title": "Ready for pickup",
            "body": "Your parcel is at the pickup point; show the code we sent you.",
            "orderId": order,
        }
    elif status == "delivered":
        message = {
            "type": "delivered",
            "title": "Delivered",
            "body": "Your parcel has been delivered.",
            "orderId": order,
        }
    elif status == "failed":
        reason = FAIL_TEXT.get(data.get("failReason") or "other", "we could not deliver")
        message = {
            "type": "failed",
            "title": "Delivery missed",
            "body": f"Sorry, {reason}. We will tell you what happens next.",
            "orderId": order,
        }
    else:
        return []
    return [("order", order, message)]


def _courier_message(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    """A dispatcher's message: to the courier's phones, as text (a notification never renders HTML)."""
    courier = data.get("courierId") or event.get("courier_id")
    if courier is None:
        return []
    sender = (data.get("sentBy") or {}).get("name") or "Dispatch"
    message = {
        "type": "courier.message",
        "title": f"Message from {sender}",
        "body": data.get("text", ""),
        "url": "/courier/",
        "messageId": data.get("id"),
        "seq": event["id"],
    }
    return [("courier", courier, message)]


def _ready_at_point(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    """Scanned in at a pickup point: the code and the hours, so the customer needs nothing else."""
    point = data["pickupPoint"]
    message = {
        "type": "ready_for_pickup",
        "title": f"Ready for pickup at {point['name']}",
        "body": (
            (f"Compartment {', '.join(data['compartments'])}, code " if data.get("compartments") else "Pickup code ")
            + f"{data['code']}. {point['address']}, {point['hours']}; until {data['holdUntil'][:10]}."
        ),
        "orderId": data["orderId"],
        "code": data["code"],
        "qr": data["qr"],
        "holdUntil": data["holdUntil"],
    }
    return [("order", data["orderId"], message)]


def _drop_retry(event: dict[str, Any], data: dict[str, Any]) -> list[Notice]:
    """A shop drop the evening courier could not collect goes the next evening: the day and
    window of the new delivery, in English (``title``/``body``, as every message) and Dutch
    (``nl``; the tracking page's service worker shows it to a Dutch browser)."""
    if not data.get("windowStart") or not data.get("windowEnd"):
        return []  # nothing is delivered again
    day = f"{data['windowStart'][8:10]}-{data['windowStart'][5:7]}"
    start, end = _clock(data["windowStart"]), _clock(data["windowEnd"])
    message = {
        "type": "delivery_moved",
        "title": "Your delivery moves to the next evening",
        "body": (
            f"We could not collect your parcel at the locker tonight; we bring it on {day} between {start} and {end}."
        ),
        "nl": {
            "title": "Je bezorging schuift naar de volgende avond",
            "body": (
                "We konden je pakket vanavond niet ophalen bij de kluis; "
                f"we bezorgen het op {day} tussen {start} en {end}."
            ),
        },
        "orderId": data["orderId"],
        "date": data["date"],
        "windowStart": data["windowStart"],
        "windowEnd": data["windowEnd"],
    }
    return [("order", data["orderId"], message)]


_BY_KIND: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Notice]]] = {
    "route.planned": _route_changed,
    "route.updated": _route_changed,
    "order.out_for_delivery": _out_for_delivery,
    "order.arriving_soon": _arriving_soon,
    "order.next_step": _next_step,
    "order.redirected": _redirected,
    "stop.updated": _stop_updated,
    "courier.message": _courier_message,
    "point.ready": _ready_at_point,
    "locker.drop_retry": _drop_retry,
}
