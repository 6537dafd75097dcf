"""Accessibility and language of the courier app and the tracking page, in a real Chromium.

axe-core (vendored from npm in tests/browser/vendor/) runs on the courier login
page, the route view and the tracking page, in English and in Dutch: no serious
or critical finding. Switching to Dutch shows Dutch text, and a Dutch browser
gets Dutch without asking. axe is injected as an init script (through the
DevTools protocol), so the pages keep their strict Content-Security-Policy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, require_browser
from tests.browser.seed_day import seed_small_day

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
# Windows and shifts open from now on: the tracking page offers a time change at any hour of the evening.
SEED_DAY = functools.partial(seed_small_day, open_now=True)
SCREENSHOT = "/tmp/courier-shift-nl.png"  # for a person to look at, like /tmp/courier.png


@pytest.fixture
def new_context(server: Server, chromium: Any) -> Iterator[Callable[[str], Any]]:
    """Make phone-sized contexts with axe loaded; like every browser test, a CSP violation fails the test."""
    violations: list[str] = []
    contexts: list[Any] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(message.text)

    def make(locale: str) -> Any:
        hub = server.day["hub"]
        context = chromium.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            geolocation={"latitude": hub["lat"], "longitude": hub["lon"], "accuracy": 15},
            permissions=["geolocation"],
            locale=locale,
        )
        contexts.append(context)
        context.add_init_script(path=str(AXE))
        context.on("console", on_console)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()
    assert not violations, violations


def _serious(page: Any, where: str) -> list[str]:
    """The serious and critical axe findings on the page, one line each."""
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        if (r.passes.length < 10) return [`axe checked too little: ${r.passes.length} rules passed`];
        return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.impact} ${v.id}: ${v.help} `
                      + `(${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")})`);
    }""")
    return [f"{where}: {line}" for line in result]


def _tracking_url(server: Server) -> str:
    dispatcher = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    orders = dispatcher.get("/orders", params={"hubId": server.day["hubId"], "date": server.day["date"]}).json()
    return orders[0]["trackingUrl"]


def _log_in(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page.fill("#username", server.day["username"])
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#next-stop")).to_be_visible(timeout=10_000)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_axe_finds_nothing_serious(server: Server, new_context: Callable[[str], Any], lang: str) -> None:
    require_browser()
    from playwright.sync_api import expect

    context = new_context("nl-NL" if lang == "nl" else "en-GB")
    page = context.new_page()
    findings: list[str] = []
    page.goto(f"{server.base}/courier/")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == lang
    findings += _serious(page, f"courier login ({lang})")
    _log_in(page, server)
    findings += _serious(page, f"courier route ({lang})")
    page.click("#tabs a[data-tab=shift]")
    expect(page.locator("#screen-shift .lang-switch")).to_be_visible()
    findings += _serious(page, f"courier shift ({lang})")
    page.goto(server.base + _tracking_url(server))
    expect(page.locator("#card")).to_be_visible(timeout=10_000)
    assert page.evaluate("document.documentElement.lang") == lang
    findings += _serious(page, f"tracking page ({lang})")
    context.close()
    assert findings == [], "\n".join(findings)


def test_switching_to_dutch_shows_dutch(server: Server, new_context: Callable[[str], Any]) -> None:
    require_browser()
    from playwright.sync_api import expect

    context = new_context("en-GB")
    page = context.new_page()
    page.goto(f"{server.base}/courier/")
    expect(page.locator("#login-form h1")).to_have_text("Courier login")
    page.click("#login-lang [data-lang=nl]")
    expect(page.locator("#login-form h1")).to_have_text("Inloggen koerier")
    expect(page.locator("#login-form button[type=submit]")).to_have_text("Inloggen")
    page.screenshot(path="/tmp/courier-login-nl.png")
    assert page.evaluate("document.documentElement.lang") == "nl"
    _log_in(page, server)
    expect(page.locator("#next-stop a.nav")).to_have_text("Navigeren")
    expect(page.locator("#tabs a[data-tab=load]")).to_have_text("Inladen")
    expect(page.locator(".shift-card [data-action=shift-start]")).to_have_text("Dienst starten")
    page.reload()  # the choice is kept
    expect(page.locator("#next-stop a.nav")).to_have_text("Navigeren", timeout=10_000)
    page.click("#tabs a[data-tab=shift]")
    page.click("#screen-shift [data-lang=en]")
    expect(page.locator("#screen-shift h1")).to_have_text("Shift")
    page.click("#screen-shift [data-lang=nl]")
    expect(page.locator("#screen-shift h1")).to_have_text("Dienst")
    page.screenshot(path=SCREENSHOT)

    page.goto(server.base + _tracking_url(server))  # the same choice on the tracking page
    expect(page.locator("#card")).to_be_visible(timeout=10_000)
    expect(page.locator(".times .label").first).to_have_text("Verwacht")
    page.screenshot(path="/tmp/track-nl.png")
    page.click("#lang [data-lang=en]")
    expect(page.locator(".times .label").first).to_have_text("Expected")
    context.close()


def test_a_dutch_browser_gets_dutch(server: Server, new_context: Callable[[str], Any]) -> None:
    require_browser()
    from playwright.sync_api import expect

    context = new_context("nl-NL")
    page = context.new_page()
    page.goto(f"{server.base}/courier/")
    expect(page.locator("#login-form h1")).to_have_text("Inloggen koerier")
    page.goto(server.base + _tracking_url(server))
    expect(page.locator("footer")).to_contain_text("Kaartgegevens")
    context.close()


def test_tracking_page_changes_the_delivery_time(server: Server, new_context: Callable[[str], Any]) -> None:
    """The redirect form rebuilt on templates still sends the chosen option and says what happened."""
    require_browser()
    import re

    from playwright.sync_api import expect

    context = new_context("en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base + _tracking_url(server))
    expect(page.locator("#redirect-form")).to_be_visible(timeout=10_000)
    page.locator("#choices label.choice").first.click()
    expect(page.locator("#address-field")).to_have_count(0)  # a time, not an address: no address asked
    page.click("#redirect-send")
    # Whether the day still has room depends on the hour the suite runs (late in the day
    # the re-plan may refuse): either way the page shows the server's own sentence.
    answered = re.compile(r"^(Done: we bring your parcel|We cannot bring your parcel|We could not re-plan the day)")
    expect(page.locator("#redirect-result")).to_have_text(answered, timeout=15_000)
    assert errors == [], errors
    context.close()
