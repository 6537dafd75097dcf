"""Dropping a stop onto a courier's marker on the desk's map (pwa/static/dispatch/map-drop.js),
in a real Chromium against a real server and real phones.

- A timeline chip dropped on the other courier's marker moves the stop: both phones hear
  ``route.updated`` (the stop left one route and joined the other), the chip changes rows.
- A stop circle of the map itself (drawn on a canvas) carried onto the marker does the same.
- A drop the server refuses (a stop too heavy for the other courier's bike) shows the server's
  sentence on the map, at the marker, and nothing changes, not on screen, not on the phones.

Each test saves a picture of the map into ``$LAADBAK_ARTIFACTS`` (default /tmp/laadbak-artifacts).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.browser import test_dispatch_desk as desk_tests
from tests.browser.conftest import Server
from tests.browser.desk_phones import Phone, make_too_heavy
from tests.browser.test_dispatch_desk import assert_not_moved, chip_in, move_one_delivery, save_map

# The desk tests' fixtures (a logged-in desk page, both couriers' phones) and their day.
desk, phones, SEED_DAY = desk_tests.desk, desk_tests.phones, desk_tests.SEED_DAY


def on_the_map(page: Any, phone: Phone, near: dict[str, Any], dlat: float = 0.0003) -> Any:
    """The courier on the road (shift started once for the module's day) with a position just
    north of ``near``: answers their marker, once the desk has drawn it there."""
    from playwright.sync_api import expect

    answer = httpx.post(
        f"{phone.base}/courier/shift/start",
        json={},
        headers={"Authorization": f"Bearer {phone.token}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert answer.status_code in (200, 409), answer.text  # 409: started by an earlier test
    lat, lon = round(near["lat"] + dlat, 6), round(near["lon"], 6)
    phone.send_position(lat, lon)
    marker = page.locator(f'.courier-pin[data-courier-id="{phone.courier_id}"]')
    expect(marker).to_have_attribute("data-pos", f"{lat:.6f},{lon:.6f}", timeout=10_000)
    return marker


def test_a_chip_dropped_on_a_couriers_marker_moves_the_stop_for_both_phones(
    desk: Any, phones: tuple[Phone, Phone]
) -> None:
    giver, taker = phones
    marker = on_the_map(desk, taker, giver.open_deliveries()[0])
    move_one_delivery(desk, giver, taker, lambda sid: chip_in(desk, giver.courier_id, sid).drag_to(marker))
    save_map(desk, "chip-on-marker")


def test_a_stop_of_the_map_carried_onto_a_couriers_marker_moves_it(desk: Any, phones: tuple[Phone, Phone]) -> None:
    giver, taker = phones

    def carry(sid: int) -> None:
        stop = next(s for s in giver.open_deliveries() if s["stopId"] == sid)
        marker = on_the_map(desk, taker, stop, dlat=0.0008)
        # Zoomed in on the stop (stops are single circles, not clusters), where is it on the page?
        x, y = desk.evaluate(
            """(sid) => {
                const { map, store } = window.laadbakDesk;
                const s = store.getState().stops.get(sid);
                map.map.setView([s.lat, s.lon], 17, { animate: false });
                const p = map.map.latLngToContainerPoint([s.lat, s.lon]);
                const box = document.querySelector("#map").getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            sid,
        )
        box = marker.bounding_box()
        assert box is not None
        desk.mouse.move(x, y)
        desk.mouse.down()
        desk.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=12)
        desk.mouse.up()

    move_one_delivery(desk, giver, taker, carry)
    save_map(desk, "stop-on-marker")


def test_a_drop_on_a_marker_the_server_refuses_says_why_on_the_map(
    server: Server, desk: Any, phones: tuple[Phone, Phone]
) -> None:
    from playwright.sync_api import expect

    giver, taker = phones
    sid = giver.open_deliveries()[-1]["stopId"]
    make_too_heavy(server.db_path, sid, giver.courier_id)
    marker = on_the_map(desk, taker, giver.open_deliveries()[0])
    marks = (giver.heard(), taker.heard())
    with desk.expect_response(lambda r: r.url.endswith(f"/stops/{sid}/assign"), timeout=90_000) as answer:
        chip_in(desk, giver.courier_id, sid).drag_to(marker)
    assert answer.value.status == 409, answer.value.text()
    # The server's own sentence on the map, at the marker (and in the desk's alert line).
    sentence = f"Stop {sid} does not fit courier {taker.courier_id}'s route"
    expect(desk.locator("#map .map-flash")).to_contain_text(sentence, timeout=10_000)
    expect(desk.locator("[role=alert].desk-flash")).to_contain_text("The move was not kept.")
    save_map(desk, "refused-on-marker")
    expect(chip_in(desk, giver.courier_id, sid)).to_have_count(1)
    expect(chip_in(desk, taker.courier_id, sid)).to_have_count(0)
    assert_not_moved(giver, taker, sid, marks)
