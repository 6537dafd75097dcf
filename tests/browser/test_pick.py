"""The picker app at /pick on a handheld (412 × 915): the demo picker logs in, takes a
batch of a released wave and picks it through with keyboard-wedge input (the code typed
fast, then Enter, into whatever has focus): the cart's totes, then bin, product and tote
per line, one wrong scan (its sentence shown, the error's buzz, nothing changed), one short
pick in two taps, one line put off with "Later" that comes back; axe finds nothing serious
on the list, the bin step, the error and the short pick's question; the Dutch strings once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from backend.services.warehouse_demo import catalogue
from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious

HANDHELD = {"width": 412, "height": 915}
MAX_STEPS = 120  # a small batch takes a few dozen scans; more means the app is stuck
VIBRATE_STUB = """
Object.defineProperty(window, "vibrations", { value: [] });
Object.defineProperty(Navigator.prototype, "vibrate", {
  configurable: true,
  value(pattern) { window.vibrations.push([].concat(pattern)); return true; },
});
"""
ERROR_BUZZ = [200, 80, 200]  # kit/feedback.js PATTERNS.error


@pytest.fixture(scope="module")
def released(server: Server) -> int:
    """The wave of the seeded day with the most lines released by the dispatcher: its batches' count."""
    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    hub = server.day["hubId"]
    waves = desk.get(f"/hubs/{hub}/waves", params={"date": server.day["date"]}).json()
    assert waves, "the demo day has no order lines to pick"
    wave = max(waves, key=lambda w: w["lines"])
    r = desk.post(
        f"/hubs/{hub}/waves/release",
        json={"date": server.day["date"], "cutoff": wave["cutoff"]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    batches = [b for w in r.json()["released"] for b in w["batchIds"]]
    assert batches, r.text
    return len(batches)


@pytest.fixture
def handheld(chromium: Any) -> Any:
    violations: list[str] = []
    context = chromium.new_context(
        viewport=HANDHELD, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    # Headless Chromium cannot buzz: the stub keeps every pattern asked for (an init script,
    # which the page's CSP does not cover).
    context.add_init_script(VIBRATE_STUB)
    try:
        yield context
    finally:
        context.close()
    assert not violations, violations


def wedge(page: Any, code: str) -> None:
    """A keyboard-wedge scan: the characters fast, then Enter; waits for the app's answer."""
    before = page.evaluate("window.laadbak.state.answered")
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")
    answered(page, before)


def answered(page: Any, before: int) -> None:
    """Wait for the app to have answered one more event (a string predicate would need eval: the CSP forbids it)."""
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-answered", str(before + 1), timeout=10_000)


def batch(page: Any) -> dict[str, Any]:
    return page.evaluate("window.laadbak.state.batch")


def test_a_picker_picks_a_batch_with_wedge_scans(server: Server, released: int, handheld: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    barcodes = {p.sku: p.barcodes[0] for p in catalogue()}
    page = handheld.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/pick")  # without the slash: redirected to /pick/
    page.fill("#username", "picker")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    takes = page.locator("[data-batch]")
    expect(takes).to_have_count(released, timeout=10_000)

    # Dutch once: the switch in the top bar, a label of the list in Dutch, back to English.
    page.click("#top-lang [data-lang=nl]")
    expect(page.locator("#screen-list h1")).to_have_text("Batches om te picken")
    expect(takes.first).to_contain_text("pakken")
    page.click("#top-lang [data-lang=en]")
    expect(page.locator("#screen-list h1")).to_have_text("Batches to pick")
    page.evaluate(AXE.read_text())  # from the test: the page's CSP allows only its own scripts
    assert _serious(page, "picker, the batches") == []

    takes.first.click()
    expect(page.locator("#instruction")).to_contain_text("Scan an empty tote")
    expect(page.locator("#scan")).to_be_focused()
    assert page.locator("#scan").get_attribute("inputmode") == "none"

    view = batch(page)
    for place in view["cart"]:
        wedge(page, f"T-{9000 + place['place']:04d}")
    view = batch(page)
    assert view["phase"] == "bin", view["prompt"]
    expect(page.locator("#big-code")).to_have_text(view["current"]["bin"])

    assert _serious(page, "picker, bin step") == []

    # A wrong scan: another bin. The server's sentence in the alert region, nothing changed.
    progress = page.locator("#progress-text").inner_text()
    here = view["current"]["bin"]
    wrong = "A01-01-1" if here != "A01-01-1" else "A01-01-2"  # a bin of the demo's floor, not this line's
    buzzes = page.evaluate("window.vibrations.length")
    wedge(page, wrong)
    expect(page.locator("#alert")).to_contain_text(here)
    assert page.locator("#alert").get_attribute("role") == "alert"
    assert page.evaluate("window.vibrations.slice(-1)") == [ERROR_BUZZ]  # the error's buzz, once
    assert page.evaluate("window.vibrations.length") == buzzes + 1
    assert _serious(page, "picker, a wrong bin") == []
    after = batch(page)
    assert (after["version"], after["phase"], after["current"]["id"]) == (view["version"], "bin", view["current"]["id"])
    assert page.locator("#progress-text").inner_text() == progress

    # The first line's bin is empty: two taps.
    wedge(page, here)
    assert batch(page)["phase"] == "product"
    expect(page.locator("#alert")).to_be_empty()
    page.click("#short")
    expect(page.locator("#short-yes")).to_be_visible()
    assert _serious(page, "picker, bin empty?") == []
    before = page.evaluate("window.laadbak.state.answered")
    page.click("#short-yes")
    answered(page, before)
    shorted = batch(page)
    assert shorted["version"] > view["version"]
    assert all(t["id"] != view["current"]["id"] for t in shorted["tasks"] if t["state"] == "open")

    # "Later" once: the line goes to the end of the list and another comes first.
    assert shorted["phase"] == "bin" and sum(t["state"] == "open" for t in shorted["tasks"]) >= 2, shorted["tasks"]
    skipped = shorted["current"]["id"]
    before = page.evaluate("window.laadbak.state.answered")
    page.get_by_role("button", name="Later").click()
    answered(page, before)
    later = batch(page)
    assert later["current"]["id"] != skipped
    assert [t["id"] for t in later["tasks"] if t["state"] == "open"][-1] == skipped
    expect(page.locator("#big-code")).to_have_text(later["current"]["bin"])

    steps, stepped, offline_tried, seen = 0, False, False, set()
    while (view := batch(page))["phase"] != "done":
        steps += 1
        assert steps < MAX_STEPS, view["prompt"]
        line = view["current"]
        seen.add(line["id"])
        if view["phase"] == "bin":
            expect(page.locator("#big-code")).to_have_text(line["bin"])
            if not offline_tried:  # once: no connection says "scan again" and keeps the step
                offline_tried = True
                handheld.set_offline(True)
                wedge(page, line["bin"])
                expect(page.locator("#alert")).to_contain_text("No connection")
                assert batch(page)["version"] == view["version"]
                expect(page.locator("#big-code")).to_have_text(line["bin"])
                handheld.set_offline(False)
            wedge(page, line["bin"])
        elif view["phase"] == "product":
            left = line["target"] - line["picked"] - view["inHand"]
            if left > 1:  # the stepper starts at what is left; its buttons are big enough for a thumb
                expect(page.locator("#quantity")).to_have_text(str(left))
                box = page.locator(".step-btn").first.bounding_box()
                assert box and box["width"] >= 48 and box["height"] >= 48, box
                if not stepped:  # once: one less now, the last one in a second scan
                    stepped = True
                    page.get_by_role("button", name="One less").click()
                    expect(page.locator("#quantity")).to_have_text(str(left - 1))
            wedge(page, barcodes[line["sku"]])
        elif view["phase"] == "tote":
            expect(page.locator("#big-code")).to_have_text(line["toteCode"])
            wedge(page, line["toteCode"])
        else:
            pytest.fail(f"unexpected phase {view['phase']}: {view['prompt']}")
        expect(page.locator("#alert")).to_be_empty()

    expect(page.locator("#instruction")).to_have_text("Batch done")
    done = batch(page)
    assert done["progress"]["tasksDone"] == done["progress"]["tasks"]
    assert done["progress"]["unitsShort"] + done["progress"]["unitsPicked"] == done["progress"]["units"]
    assert offline_tried, "no bin step after the short pick: the offline scan was not tried"
    assert stepped, "no line of the batch wanted more than one unit: the stepper was not tried"
    # The skipped line came back and was worked.
    assert skipped in seen and [t["state"] for t in done["tasks"] if t["id"] == skipped] in (["picked"], ["short"])
    page.get_by_role("button", name="Back to the batches").click()
    expect(page.locator("[data-batch]")).to_have_count(released - 1)
    assert errors == []


def test_the_pickers_name_shows_whole_in_the_top_bar_of_a_handheld(server: Server, handheld: Any) -> None:
    """412 px wide, in English and in Dutch (a longer "log out"): the name in the top bar is
    visible and not cut to nothing, inside the screen, and the bar's buttons keep 48 px."""
    require_browser()
    from playwright.sync_api import expect

    page = handheld.new_page()
    page.goto(f"{server.base}/pick/")
    page.fill("#username", "picker")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    who = page.locator("#who")
    expect(who).to_have_text("Picker", timeout=10_000)
    for lang in ("en", "nl"):
        page.click(f"#top-lang [data-lang={lang}]")
        expect(page.locator("#logout")).to_have_text("Log out" if lang == "en" else "Uitloggen")
        expect(who).to_be_visible()
        size = who.evaluate("el => ({shown: el.clientWidth, needed: el.scrollWidth})")
        assert 0 < size["needed"] <= size["shown"], (lang, size)  # the whole name, no ellipsis
        box = who.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= HANDHELD["width"], (lang, box)
        for button in page.locator(".topbar button:visible").all():
            b = button.bounding_box()
            assert b and b["width"] >= 48 and b["height"] >= 48 and b["x"] + b["width"] <= HANDHELD["width"], (lang, b)
