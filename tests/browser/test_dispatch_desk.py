"""The dispatcher's desk (/dispatch/) in a real Chromium, against a real server and real phones.

- A courier's position sent over the courier websocket moves that courier's marker.
- Dragging a stop's chip onto another courier's timeline row moves it: both couriers' phones
  hear ``route.updated`` (the stop left one route and joined the other) and the map fetches
  both new routes' lines.
- A move the server refuses (a stop too heavy for the other courier's bike) shows the server's
  sentence in ``[role=alert].desk-flash`` and nothing changes: not on screen, not on the phones.
- Switched to Dutch, the desk speaks Dutch; axe-core finds nothing serious or critical (en, nl).

Each test saves a picture of the map into ``$LAADBAK_ARTIFACTS`` (default /tmp/laadbak-artifacts).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, require_browser
from tests.browser.desk_phones import Phone, make_too_heavy
from tests.browser.seed_day import seed_small_day
from tests.browser.test_a11y_i18n import AXE, _serious

ARTIFACTS = Path(os.environ.get("LAADBAK_ARTIFACTS") or "/tmp/laadbak-artifacts")
COURIER_PASSWORD_KEY = "password"
# The demo day with windows and shifts from now to the evening: moving a stop fits at any hour.
SEED_DAY = functools.partial(seed_small_day, open_now=True)


@pytest.fixture
def desk(server: Server, chromium: Any) -> Iterator[Any]:
    """A desktop-sized Chromium page on /dispatch/, logged in as the hub's dispatcher, in English.
    Like every browser test, a Content-Security-Policy violation or a page error fails the test."""
    require_browser()
    from playwright.sync_api import expect

    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    try:
        context.add_init_script(path=str(AXE))
        context.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if "Content-Security-Policy" in m.text or "Content Security Policy" in m.text
                else None
            ),
        )
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(f"{server.base}/dispatch/")
        page.fill("#username", server.day["dispatcher"])
        page.fill("#password", server.day["dispatcherPassword"])
        page.click("#login-form button[type=submit]")
        expect(page.locator("[data-courier-row]")).to_have_count(2, timeout=20_000)
        yield page
    finally:
        context.close()
    assert not problems, problems


@pytest.fixture
def phones(server: Server) -> Iterator[tuple[Phone, Phone]]:
    """Both couriers' phones on their streams: the seeded courier with the most deliveries first."""
    first = Phone(server.base, server.day["username"], server.day[COURIER_PASSWORD_KEY])
    other_name = "courier2" if server.day["username"] == "courier1" else "courier1"
    second = Phone(server.base, other_name, server.day[COURIER_PASSWORD_KEY])
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def save_map(page: Any, name: str) -> Path:
    """A picture of the map, as an artifact of the test."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"desk-{name}.png"
    page.locator("#map").screenshot(path=str(path))
    return path


def row(page: Any, courier_id: int) -> Any:
    return page.locator(f'[data-courier-row="{courier_id}"]')


def chip_in(page: Any, courier_id: int, stop_id: int) -> Any:
    return row(page, courier_id).locator(f'[data-stop-id="{stop_id}"]')


def test_a_position_from_the_courier_moves_the_marker(desk: Any, phones: tuple[Phone, Phone]) -> None:
    from playwright.sync_api import expect

    phone = phones[0]
    phone.start_shift()
    marker = desk.locator(f'[data-courier-id="{phone.courier_id}"][data-pos]')
    stop = (phone.day["route"] or {})["stops"][0]
    for k, (dlat, dlon) in enumerate([(0.0004, 0.0003), (-0.0005, 0.0006)]):
        lat, lon = round(stop["lat"] + dlat, 6), round(stop["lon"] + dlon, 6)
        phone.send_position(lat, lon)
        expect(marker).to_have_attribute("data-pos", f"{lat:.6f},{lon:.6f}", timeout=10_000)
        save_map(desk, f"position-{k}")
    assert not [m for m in phone.messages if m["type"] == "error"], phone.messages


def move_one_delivery(
    desk: Any, giver: Phone, taker: Phone, drop: Callable[[int], None]
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """``drop(stop_id)`` one of the giver's deliveries onto the taker (their row, their marker...)
    until the server keeps one; answers (stop id, the taker's route with it, the giver's without),
    as both phones heard them."""
    from playwright.sync_api import expect

    flash = desk.locator("[role=alert].desk-flash")
    moved = None
    # Late in the day the taker's route may have no room for a given stop (the server says so
    # and keeps nothing): try a few of the giver's deliveries.
    for stop in giver.open_deliveries()[:3]:
        sid = stop["stopId"]
        marks = (giver.heard(), taker.heard())
        with desk.expect_response(lambda r: "/assign" in r.url, timeout=90_000) as answer:
            drop(sid)
        assert answer.value.url.endswith(f"/stops/{sid}/assign")
        if answer.value.status == 409:
            expect(flash).to_contain_text("does not fit", timeout=5_000)  # refused: the next one
            continue
        assert answer.value.status == 200, answer.value.text()
        update = taker.wait_for(lambda m, sid=sid: _route_with(m, sid), 30, after=marks[1])
        moved = (sid, update["data"], marks)
        break
    assert moved is not None, "no delivery of the giver fitted the taker's route"
    sid, taker_route, marks = moved
    # The giver's route without the stop: other route.updated events (the minute's ETA update of a
    # started route) may come first and still carry it.
    giver_route = giver.wait_for(
        lambda m: (
            m.get("kind") == "route.updated"
            and m["data"]["courierId"] == giver.courier_id
            and sid not in [s["stopId"] for s in m["data"]["stops"]]
        ),
        30,
        after=marks[0],
    )["data"]
    assert sid in [s["stopId"] for s in taker_route["stops"]]
    assert sid not in [s["stopId"] for s in giver_route["stops"]]
    # The timeline shows the chip in the taker's row.
    expect(chip_in(desk, taker.courier_id, sid)).to_have_count(1, timeout=10_000)
    expect(chip_in(desk, giver.courier_id, sid)).to_have_count(0)
    return sid, taker_route, giver_route


def test_dragging_a_stop_to_another_courier_updates_both_phones_and_the_map(
    desk: Any, phones: tuple[Phone, Phone]
) -> None:
    giver, taker = phones
    geometry: list[str] = []
    desk.on("request", lambda r: geometry.append(r.url) if re.search(r"/routes/\d+/geometry", r.url) else None)
    _, taker_route, giver_route = move_one_delivery(
        desk, giver, taker, lambda sid: chip_in(desk, giver.courier_id, sid).drag_to(row(desk, taker.courier_id))
    )
    # The map asks for both new lines.
    wanted = {f"/routes/{taker_route['id']}/geometry", f"/routes/{giver_route['id']}/geometry"}
    for _ in range(75):  # events reach the listener while Playwright waits
        if all(any(w in url for url in geometry) for w in wanted):
            break
        desk.wait_for_timeout(200)
    assert all(any(w in url for url in geometry) for w in wanted), (wanted, geometry)
    save_map(desk, "dragged")


def _route_with(message: dict[str, Any], stop_id: int) -> bool:
    return message.get("kind") == "route.updated" and stop_id in [s["stopId"] for s in message["data"]["stops"]]


def test_a_move_that_does_not_fit_is_refused_with_the_servers_sentence(
    server: Server, desk: Any, phones: tuple[Phone, Phone]
) -> None:
    from playwright.sync_api import expect

    giver, taker = phones
    stop = giver.open_deliveries()[-1]
    sid = stop["stopId"]
    make_too_heavy(server.db_path, sid, giver.courier_id)
    marks = (giver.heard(), taker.heard())
    chip_in(desk, giver.courier_id, sid).drag_to(row(desk, taker.courier_id))
    flash = desk.locator("[role=alert].desk-flash")
    # The server's own sentence (kit problemSentence keeps it in English).
    expect(flash).to_contain_text(f"Stop {sid} does not fit courier {taker.courier_id}'s route", timeout=60_000)
    expect(flash).to_contain_text("The move was not kept.")
    save_map(desk, "refused")
    # Nothing changed: the chip stays with the giver, on screen and after a reload; no phone heard the stop move
    # (the minute's ETA updates of a started route may come, with the same stops).
    expect(chip_in(desk, giver.courier_id, sid)).to_have_count(1)
    expect(chip_in(desk, taker.courier_id, sid)).to_have_count(0)
    assert_not_moved(giver, taker, sid, marks)
    desk.reload()
    expect(row(desk, taker.courier_id)).to_have_count(1, timeout=20_000)
    expect(chip_in(desk, giver.courier_id, sid)).to_have_count(1, timeout=10_000)
    expect(chip_in(desk, taker.courier_id, sid)).to_have_count(0)
    assert_not_moved(giver, taker, sid, marks)


def assert_not_moved(giver: Phone, taker: Phone, sid: int, marks: tuple[int, int]) -> None:
    """Every route the giver heard since ``marks`` still has the stop; none the taker heard has it."""
    assert all(sid in [s["stopId"] for s in r["stops"]] for r in giver.route_updates(marks[0]))
    assert all(sid not in [s["stopId"] for s in r["stops"]] for r in taker.route_updates(marks[1]))


def test_switched_to_dutch_the_desk_speaks_dutch(desk: Any) -> None:
    from playwright.sync_api import expect

    expect(desk.locator(".topbar .brand")).to_have_text("Laadbak dispatch")
    desk.click("#top-lang [data-lang=nl]")
    expect(desk.locator(".topbar .brand")).to_have_text("Laadbak planning")
    expect(desk.locator("#logout")).to_have_text("Uitloggen")
    expect(desk.locator(".map-wrap")).to_have_attribute(
        "aria-label", "Kaart met de koeriers, routes en stops van de hub"
    )
    assert desk.evaluate("document.documentElement.lang") == "nl"
    save_map(desk, "dutch")
    desk.reload()  # the choice is kept
    expect(desk.locator(".topbar .brand")).to_have_text("Laadbak planning", timeout=20_000)
    desk.click("#top-lang [data-lang=en]")
    expect(desk.locator(".topbar .brand")).to_have_text("Laadbak dispatch")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_axe_finds_nothing_serious_on_the_desk(desk: Any, lang: str) -> None:
    from playwright.sync_api import expect

    desk.click(f"#top-lang [data-lang={lang}]")
    expect(desk.locator("html")).to_have_attribute("lang", lang)
    findings = _serious(desk, f"dispatch desk ({lang})")
    save_map(desk, f"axe-{lang}")
    assert findings == [], "\n".join(findings)
