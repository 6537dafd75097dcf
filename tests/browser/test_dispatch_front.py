"""The dispatcher's desk (/dispatch/) in a real Chromium: a dispatcher logs in and sees
the map with the couriers' stops, a timeline row per courier with its stop chips, and
the page has no serious or critical axe finding, in English and in Dutch. Moving a
stop with the keyboard (select a chip, pick a courier, Move) either moves it or shows
the server's sentence in the desk-flash. A screenshot is kept at /tmp/dispatch-desk.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server, require_browser

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOT = "/tmp/dispatch-desk.png"


@pytest.fixture
def desk_page(server: Server) -> Iterator[Any]:
    """Make a desktop-sized page with axe loaded; a CSP violation or a page error fails the test."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            problems.append(message.text)

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts: list[Any] = []

        def make(locale: str) -> Any:
            context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
            context.add_init_script(path=str(AXE))
            context.on("console", on_console)
            contexts.append(context)
            page = context.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            return page

        try:
            yield make
        finally:
            for c in contexts:
                c.close()
            chromium.close()
    assert not problems, problems


def _serious(page: Any, where: str) -> list[str]:
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        if (r.passes.length < 10) return [`axe checked too little: ${r.passes.length} rules passed`];
        return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.impact} ${v.id}: ${v.help} `
                      + `(${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")})`);
    }""")
    return [f"{where}: {line}" for line in result]


def _log_in(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base}/dispatch/")
    expect(page.locator("#login-form")).to_be_visible(timeout=10_000)
    page.fill("#username", server.day["dispatcher"])
    page.fill("#password", server.day["dispatcherPassword"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-courier-row]").first).to_be_visible(timeout=15_000)
    expect(page.locator("[data-stop-id]").first).to_be_visible(timeout=15_000)


def _planned_routes(server: Server) -> dict[int, list[int]]:
    """courierId → the stop ids of their route, as the server has them."""
    dispatcher = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    r = dispatcher.get("/routes", params={"hubId": server.day["hubId"], "date": server.day["date"]})
    if r.status_code != 200:
        return {}
    return {route["courierId"]: [s["stopId"] for s in route["stops"]] for route in r.json()}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_desk_shows_the_day_without_serious_axe_findings(server: Server, desk_page: Any, lang: str) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = desk_page("nl-NL" if lang == "nl" else "en-GB")
    page.goto(f"{server.base}/dispatch/")
    expect(page.locator("#login-form")).to_be_visible(timeout=10_000)
    assert page.evaluate("document.documentElement.lang") == lang
    findings = _serious(page, f"desk login ({lang})")
    _log_in(page, server)
    expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
    # every stop of the seeded day is a chip in its courier's row, and a circle on the map's canvas
    state = page.evaluate("""() => { const s = window.laadbakDesk.store.getState();
        return {stops: s.stops.size, couriers: s.couriers.size, routes: [...s.routes.keys()]}; }""")
    assert state["stops"] >= server.day["deliveries"]
    assert page.locator("[data-stop-id]").count() == state["stops"]
    assert page.locator("[data-courier-row]").count() == state["couriers"] >= 2
    for courier in state["routes"]:
        assert page.locator(f'[data-courier-row="{courier}"] [data-stop-id]').count() >= 1
    expect(page.locator(".leaflet-container canvas").first).to_be_attached()
    expect(page.locator("#desk-flash[role=alert]")).to_have_count(1)
    expect(page.locator(".legend")).to_contain_text("klaar" if lang == "nl" else "done")
    # chips are keyboard focusable buttons of at least 48 × 48 px
    chip = page.locator("[data-stop-id]").first
    box = chip.bounding_box()
    assert box and box["width"] >= 48 and box["height"] >= 48, box
    chip.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#move form")).to_be_visible()
    page.wait_for_timeout(600)  # the streets and route lines drawn
    findings += _serious(page, f"desk ({lang})")
    if lang == "en":
        page.screenshot(path=SCREENSHOT)
    assert findings == [], "\n".join(findings)


def test_a_keyboard_move_reaches_the_server(server: Server, desk_page: Any) -> None:
    """Select a chip, pick another courier, Move: the stop moves rows, or the server's sentence shows."""
    require_browser()
    import re

    from playwright.sync_api import expect

    page = desk_page("en-GB")
    _log_in(page, server)
    expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
    chip = page.locator('.chip[draggable="true"]').last
    stop_id = int(chip.get_attribute("data-stop-id") or 0)
    row = chip.locator("xpath=ancestor::*[@data-courier-row]")
    source = int(row.get_attribute("data-courier-row") or 0)
    chip.click()
    select = page.locator("#move select[name=courier]")
    target = int(select.locator("option").first.get_attribute("value") or 0)
    assert target and target != source
    page.locator("#move button[type=submit]").click()
    moved = page.locator(f'[data-courier-row="{target}"] [data-stop-id="{stop_id}"]')
    flash = page.locator("#desk-flash")
    expect(moved.or_(flash.filter(has_text=re.compile(r"\w")))).to_be_visible(timeout=30_000)
    if flash.text_content():
        # refused: the server's sentence, and nothing changed on screen
        assert page.locator(f'[data-courier-row="{source}"] [data-stop-id="{stop_id}"]').count() == 1
    else:
        assert stop_id in _planned_routes(server).get(target, [stop_id])
