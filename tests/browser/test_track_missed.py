"""The tracking page after a missed delivery, in a real Chromium, in English and Dutch:
it says so plainly, where the parcel is, until when, the code (big), and axe finds nothing
serious or critical. The status answer is the server's own with a ``missed`` part as the API
gives it after a failed stop (tests/api/test_tracking_missed.py checks that part)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server, require_browser

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
MISSED = {
    "at": "2026-12-06T10:40:00",
    "reason": "not_home",
    "now": {
        "kind": "pickup_point",
        "pointName": "Kiosk Rautatientori",
        "address": "Kaivokatu 1",
        "hours": [{"opens": "08:00", "closes": "21:00"}],
        "window": None,
        "until": "2026-12-11T23:59:00",
        "code": "482913",
    },
}
TEXTS = {
    "en-GB": ("We missed you", "Nobody was home.", "Collect it by Friday, December 11", "Your pickup code"),
    "nl-NL": ("We hebben je gemist", "Er was niemand thuis.", "Ophalen uiterlijk vrijdag 11 december", "Je afhaalcode"),
}


@pytest.fixture
def tracking_url(server: Server) -> Iterator[str]:
    dispatcher = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    orders = dispatcher.get("/orders", params={"hubId": server.day["hubId"], "date": server.day["date"]}).json()
    yield orders[0]["trackingUrl"]


@pytest.mark.parametrize("locale", ["en-GB", "nl-NL"])
def test_a_missed_delivery_says_where_until_when_and_the_code(
    server: Server, chromium: Any, tracking_url: str, locale: str
) -> None:
    require_browser()
    from playwright.sync_api import expect

    real = httpx.get(f"{server.base}{tracking_url}/status").json()
    options = [{"kind": "window", "slot": "evening", "start": "18:00", "end": "22:00", "window": "evening"}]
    body = {**real, "status": "failed", "failReason": "not_home", "missed": MISSED, "redirectOptions": options}
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale=locale
    )
    try:
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        page.route(
            "**/status", lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        )
        page.goto(server.base + tracking_url)
        title, why, until, code_label = TEXTS[locale]
        expect(page.locator("#headline")).to_have_text(title, timeout=10_000)
        expect(page.locator("#detail")).to_contain_text(why)
        expect(page.locator("#missed-where")).to_contain_text("Kiosk Rautatientori")
        expect(page.locator("#missed-address")).to_have_text("Kaivokatu 1")
        expect(page.locator("#missed-until")).to_have_text(until)
        expect(page.locator("#missed")).to_contain_text(code_label)
        expect(page.locator("#missed-code")).to_have_text("482913")
        size = page.eval_on_selector("#missed-code", "e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 32  # the code is read out at a counter: big
        expect(page.locator("#redirect .choice")).to_have_count(1)  # another time or place stays on offer
        findings = page.evaluate("""async () => {
            const r = await axe.run(document, { resultTypes: ["violations"] });
            if (r.passes.length < 10) return [`axe checked too little: ${r.passes.length} rules passed`];
            return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
              .map((v) => `${v.impact} ${v.id}: ${v.help}`);
        }""")
        page.screenshot(path=f"/tmp/track-missed-{locale}.png", full_page=True)
        assert findings == []
    finally:
        context.close()
