"""The riding couriers of ``laadbak bench replan``: what a courier does next, and how it ends a stop."""

from __future__ import annotations

from typing import Any

from backend.bench.replan_riders import finish_action, next_step, waypoints


def _stop(sid: int, status: str = "planned", kind: str = "delivery", loop: int = 1, **more: Any) -> dict[str, Any]:
    return {
        "stopId": sid,
        "status": status,
        "kind": kind,
        "loop": loop,
        "lat": 60.17,
        "lon": 24.94,
        "parcels": [{"barcode": f"LB{sid}"}],
        **more,
    }


def test_next_step_is_the_first_open_stop_and_skips_what_is_done() -> None:
    stops = [_stop(1, "delivered"), _stop(2, "failed"), _stop(3, "arrived"), _stop(4)]
    assert next_step(stops, 1) == ("serve", stops[2])
    assert next_step(stops[3:], 1) == ("serve", stops[3])


def test_next_step_waits_on_a_route_with_nothing_open() -> None:
    assert next_step([], 1) == ("wait", None)
    assert next_step([_stop(1, "delivered"), _stop(2, "collected")], 1) == ("wait", None)


def test_a_stop_on_a_later_loop_sends_the_courier_back_to_the_hub_first() -> None:
    stops = [_stop(1, "delivered"), _stop(2, loop=2), _stop(3, loop=2)]
    assert next_step(stops, 1) == ("reload", stops[1])
    # once loop 2 is on the bike, the stop is served
    assert next_step(stops, 2) == ("serve", stops[1])


def test_finish_action_collects_delivers_or_fails() -> None:
    assert finish_action(_stop(1, kind="pickup"), failing=True) == ("collect", {"barcodes": ["LB1"]})
    assert finish_action(_stop(2), failing=True) == ("fail", {"reason": "not_home"})
    verb, body = finish_action(_stop(3, customerName="Aino"), failing=False)
    assert verb == "deliver"
    assert body == {"barcodes": ["LB3"], "proof": {"kind": "recipient", "recipientName": "Aino"}}
    verb, body = finish_action(_stop(4, pickupPointId=7), failing=False)
    assert body["proof"] == {"kind": "pickup_point"}


def test_waypoints_end_at_the_target_in_even_steps() -> None:
    points = waypoints((60.0, 24.0), (60.4, 24.8), 4)
    assert len(points) == 4
    assert points[-1] == (60.4, 24.8)
    assert points[0] == (60.1, 24.2)
    assert waypoints((60.0, 24.0), (60.4, 24.8), 0) == [(60.4, 24.8)]
