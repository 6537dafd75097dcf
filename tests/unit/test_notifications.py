"""What customers are told, and when: pure rules on a route's stop views."""

from __future__ import annotations

from backend.realtime.notifications import customer_notices, notifications_for


def _stop(stop_id: int, kind: str, status: str, eta: str, order: int) -> dict:
    return {"stopId": stop_id, "kind": kind, "status": status, "eta": eta, "orderId": order}


ROUTE = [
    _stop(1, "pickup", "planned", "2026-11-23T09:05:00", 10),
    _stop(2, "delivery", "delivered", "2026-11-23T09:20:00", 11),
    _stop(3, "delivery", "planned", "2026-11-23T09:40:00", 12),
    _stop(4, "delivery", "planned", "2026-11-23T10:10:00", 13),
    _stop(5, "delivery", "planned", "2026-11-23T10:30:00", 14),
    _stop(6, "delivery", "planned", "2026-11-23T10:50:00", 15),
]


def test_starting_the_shift_tells_every_open_delivery_its_window() -> None:
    ((kind, payload),) = customer_notices(ROUTE, started=True)  # one event for the route
    assert kind == "order.out_for_delivery"
    notices = payload["deliveries"]
    assert [p["orderId"] for p in notices] == [12, 13, 14, 15]  # not the pickup, not the delivered one
    # each window holds its ETA, and it is wider for a stop with more stops ahead
    assert all(p["windowStart"] <= p["eta"] <= p["windowEnd"] for p in notices)

    def minutes(hhmm: str) -> int:
        return int(hhmm[11:13]) * 60 + int(hhmm[14:16])

    def width(p: dict) -> int:
        return minutes(p["windowEnd"]) - minutes(p["windowStart"])

    assert width(notices[0]) < width(notices[3])


def test_a_done_stop_makes_the_next_open_delivery_arriving_soon() -> None:
    done = [dict(s, status="delivered") if s["stopId"] == 3 else s for s in ROUTE]  # as the write sees it
    assert customer_notices(done, started=False, done_stop=3) == [
        ("order.arriving_soon", {"orderId": 13, "stopId": 4, "eta": "2026-11-23T10:10:00"})
    ]
    assert customer_notices([dict(s, status="delivered") for s in ROUTE], started=False, done_stop=4) == []


def test_customer_events_become_push_messages_to_the_order() -> None:
    ((kind, payload),) = customer_notices(ROUTE, started=True)
    messages = notifications_for({"id": 7, "kind": kind, "payload": payload, "courier_id": None})
    assert [(a, k, m["type"]) for a, k, m in messages] == [("order", o, "out_for_delivery") for o in (12, 13, 14, 15)]
    assert payload["deliveries"][0]["windowStart"][11:16] in messages[0][2]["body"]
    soon = notifications_for(
        {
            "id": 8,
            "kind": "order.arriving_soon",
            "courier_id": None,
            "payload": {"orderId": 12, "stopId": 3, "eta": "2026-11-23T09:40:00"},
        }
    )
    assert soon[0][:2] == ("order", 12) and "09:40" in soon[0][2]["body"]


def test_a_drop_retried_tells_the_customer_the_new_evening_in_english_and_dutch() -> None:
    payload = {"orderId": 9, "stopId": 4, "newStopIds": [5, 6], "date": "2026-12-06"}
    window = {"windowStart": "2026-12-06T18:00:00", "windowEnd": "2026-12-06T22:00:00"}
    ((audience, order, push),) = notifications_for({"kind": "locker.drop_retry", "payload": {**payload, **window}})
    assert (audience, order, push["type"], push["date"]) == ("order", 9, "delivery_moved", "2026-12-06")
    assert "on 06-12 between 18:00 and 22:00" in push["body"]
    assert "op 06-12 tussen 18:00 en 22:00" in push["nl"]["body"] and push["nl"]["title"] != push["title"]
    # nothing delivered again (the delivery was done or gone): no message
    assert notifications_for({"kind": "locker.drop_retry", "payload": payload}) == []
