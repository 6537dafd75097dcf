"""Which outbox events become push messages, to whom, saying what. Pure."""

from __future__ import annotations

from typing import Any

FAIL_TEXT = {
    "not_home": "we missed you",
    "refused": "the parcel was refused",
    "address_not_found": "we could not find the address",
    "no_access": "we could not get in",
    "damaged": "the parcel was damaged",
    "other": "we could not deliver",
}


def notifications_for(event: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(audience, key, message) for one event: audience 'courier' (key: courier id)
    or 'order' (key: order id, the customer's subscriptions)."""
    kind, data = event["kind"], event["payload"]
    out: list[tuple[str, int, dict[str, Any]]] = []
    if kind in ("route.planned", "route.updated") and event.get("courier_id") is not None:
        stops = data.get("stops", [])
        left = sum(1 for s in stops if s.get("status") in ("planned", "arrived"))
        late = sum(1 for s in stops if s.get("late") and s.get("status") in ("planned", "arrived"))
        body = f"{left} stops to go" + (f", {late} running late" if late else "")
        out.append(("courier", event["courier_id"], {
            "type": "route.changed", "title": "Your route changed" if kind == "route.updated" else "Your route is ready",
            "body": body, "url": "/courier/", "routeId": data.get("id"), "seq": event["id"]}))
    elif kind == "stop.updated" and data.get("kind") == "delivery":
        status, order = data.get("status"), data.get("orderId")
        if status == "delivered":
            out.append(("order", order, {"type": "delivered", "title": "Delivered",
                                         "body": "Your parcel has been delivered.", "orderId": order}))
        elif status == "failed":
            reason = FAIL_TEXT.get(data.get("failReason") or "other", "we could not deliver")
            out.append(("order", order, {"type": "failed", "title": "Delivery missed",
                                         "body": f"Sorry, {reason}. We will tell you what happens next.",
                                         "orderId": order}))
    return out
