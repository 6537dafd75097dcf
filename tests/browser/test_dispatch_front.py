"""The dispatcher's desk (/dispatch/) in a real Chromium: a dispatcher logs in and sees
the map with the couriers' stops, a timeline row per courier with its stop chips, and
the page has no serious or critical axe finding, in English and in Dutch. Moving a
stop with the keyboard (select a chip, pick a courier, Move) either moves it or shows
the server's sentence in the desk-flash. A screenshot is kept at /tmp/dispatch-desk.png.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, require_browser
from tests.browser.seed_day import seed_small_day

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOT = "/tmp/dispatch-desk.png"
# Windows open from now: a move between couriers can fit at any hour of the day.
SEED_DAY = functools.partial(seed_small_day, open_now=True)


@pytest.fixture
def desk_page(server: Server, chromium: Any) -> Iterator[Any]:
    """Make a desktop-sized page with axe loaded; a CSP violation or a page error fails the test."""
    problems: list[str] = []
    contexts: list[Any] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            problems.append(message.text)

    def make(locale: str) -> Any:
        context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
        contexts.append(context)
        context.add_init_script(path=str(AXE))
        context.on("console", on_console)
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        return page

    try:
        yield make
    finally:
        for c in contexts:
            c.close()
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
    expect(page.locator("#move select[name=courier]")).to_be_focused()  # the keyboard way to move it
    page.keyboard.press("Escape")
    expect(page.locator("#move form")).to_have_count(0)
    expect(chip).to_be_focused()
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


BIG_DAY_JS = """async () => {
    const desk = window.laadbakDesk;
    const prof = window.__prof = {};
    const wrap = (obj, name, label) => { const f = obj[name].bind(obj); obj[name] = (...a) => {
      const t0 = performance.now(); const r = f(...a);
      prof[label] = (prof[label] || 0) + performance.now() - t0; return r; }; };
    wrap(desk.map, "load", "map.load"); wrap(desk.map, "update", "map.update");
    wrap(desk.timeline, "renderAll", "tl.renderAll"); wrap(desk.timeline, "update", "tl.update");
    wrap(desk.store, "load", "store.load");
    const s0 = desk.store.getState();
    const hub = s0.hub;
    const pad = (n) => String(n).padStart(2, "0");
    const at = (min) => `${s0.date}T${pad(Math.floor(min / 60))}:${pad(Math.floor(min % 60))}:00`;
    const couriers = [], routes = [], positions = [];
    let id = 100000;
    for (let c = 0; c < 100; c++) {
      const cid = 90000 + c;
      const stops = [];
      for (let k = 0; k < 40; k++) {
        id += 1;
        const eta = 8 * 60 + k * 12;
        stops.push({ stopId: id, orderId: id, reference: `BIG-${id}`, kind: "delivery", address: `Street ${k}`,
          lat: hub.lat + (Math.sin(id) * 0.02), lon: hub.lon + (Math.cos(id * 1.3) * 0.03),
          windowStart: at(eta - 30), windowEnd: at(eta + 90), eta: at(eta), serviceStart: at(eta),
          departure: at(eta + 3), status: k < 5 ? "delivered" : "planned", orderStatus: "planned" });
      }
      couriers.push({ id: cid, name: `Courier ${c}`, colour: null, shiftStart: at(480), shiftEnd: at(1020),
        shiftStatus: "started", routeId: cid });
      routes.push({ id: cid, version: 1, date: s0.date, courierId: cid, start: at(480), end: at(1020), stops });
      positions.push({ courierId: cid, lat: hub.lat + c * 0.0002, lon: hub.lon, ts: at(600), accuracy: 10 });
    }
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    let t = performance.now();
    desk.store.load({ ...s0, hub, couriers, routes, positions, unplanned: [], shops: [], pickupPoints: [] });
    await frame();
    const loadMs = performance.now() - t;
    t = performance.now();
    await frame();
    prof.idleFrame = performance.now() - t;
    t = performance.now();
    desk.store.apply({ kind: "position", data: [positions[0]] });
    await frame();
    prof.oneMarker = performance.now() - t;
    const moves = [];
    for (let round = 0; round < 10; round++) {
      t = performance.now();
      desk.store.apply({ kind: "position", data: positions.map((p) => ({ ...p, lat: p.lat + round * 0.0001 })) });
      await frame();
      moves.push(performance.now() - t);
    }
    t = performance.now();
    const r = routes[3];
    desk.store.apply({ kind: "route.updated", data: { ...r, version: 2, stops: [...r.stops].reverse() } });
    await frame();
    const routeMs = performance.now() - t;
    return { prof, loadMs, moveMs: Math.max(...moves), routeMs,
      chips: document.querySelectorAll("[data-stop-id]").length,
      markers: document.querySelectorAll("[data-courier-id][data-pos]").length };
}"""


def test_a_big_day_draws_and_moves(server: Server, desk_page: Any) -> None:
    """100 couriers and 4,000 stops loaded into the desk: every chip and marker is there; the
    times to draw the day, a round of 100 positions and one route change are printed (no timed asserts)."""
    require_browser()
    page = desk_page("en-GB")
    _log_in(page, server)
    figures = page.evaluate(BIG_DAY_JS)
    print(f"\nbig day in the desk: {figures}")
    assert figures["chips"] == 4000
    assert figures["markers"] == 100
    last = page.locator('[data-courier-id="90099"]').get_attribute("data-pos") or ""
    assert last.count(",") == 1 and len(last.split(",")[0].split(".")[1]) == 6
