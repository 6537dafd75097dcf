"""The hub's scanners send a prefix and a suffix around each code ($ … #, set by the
dispatcher through the API): the picker app reads the setting at login, and keyboard-wedge
scans typed with them are taken off by the app's kit before they are sent, so a batch's
totes, bin and product scan as usual."""

from __future__ import annotations

import json
import time
from typing import Any

from backend.services.warehouse_demo import catalogue
from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious
from tests.browser.test_pick import answered, batch, handheld, released  # noqa: F401 (fixtures)

PREFIX, SUFFIX = "$", "#"


def _scanner_of(page: Any) -> dict[str, str]:
    """The app's scanner options once the hub's setting came (polled: the CSP forbids a string predicate)."""
    for _ in range(100):
        opts: dict[str, str] = page.evaluate("window.laadbak.scanner()")
        if opts.get("prefix"):
            return opts
        time.sleep(0.1)
    raise AssertionError("the picker app never took the hub's scanner setting")


def wedge(page: Any, code: str) -> None:
    """The scanner types the prefix, the code and the suffix fast, then Enter."""
    before = page.evaluate("window.laadbak.state.answered")
    page.keyboard.type(f"{PREFIX}{code}{SUFFIX}", delay=5)
    page.keyboard.press("Enter")
    answered(page, before)


def test_the_picker_scans_with_the_hubs_prefix_and_suffix(server: Server, released: int, handheld: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    hub = server.day["hubId"]
    r = desk.put(f"/hubs/{hub}/scanner", json={"prefix": PREFIX, "suffix": SUFFIX})
    assert r.status_code == 200, r.text

    barcodes = {p.sku: p.barcodes[0] for p in catalogue()}
    page = handheld.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sent: list[str] = []  # the codes the app sent: the prefix and suffix must be off already
    page.on(
        "request",
        lambda q: (
            sent.append(json.loads(q.post_data)["code"])
            if "/pick/batches/" in q.url and q.method == "POST" and q.post_data and '"code"' in q.post_data
            else None
        ),
    )
    page.goto(f"{server.base}/pick/")
    page.fill("#username", "picker")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    assert _scanner_of(page) == {"prefix": PREFIX, "suffix": SUFFIX}
    page.locator("[data-batch]").first.click()
    expect(page.locator("#instruction")).to_contain_text("Scan an empty tote")

    view = batch(page)
    totes = [f"T-{9500 + place['place']:04d}" for place in view["cart"]]
    for code in totes:
        wedge(page, code)
    view = batch(page)
    assert view["phase"] == "bin", view["prompt"]
    line = view["current"]
    wedge(page, line["bin"])
    expect(page.locator("#alert")).to_be_empty()
    assert batch(page)["phase"] == "product"
    wedge(page, barcodes[line["sku"]])
    expect(page.locator("#alert")).to_be_empty()
    after = batch(page)  # the whole line in hand (the stepper starts at what is left): into its tote
    assert after["phase"] == "tote" and after["inHand"] == line["target"] - line["picked"], after["prompt"]
    expect(page.locator("#big-code")).to_have_text(line["toteCode"])
    assert sent == [*totes, line["bin"], barcodes[line["sku"]]], sent
    page.evaluate(AXE.read_text())
    assert _serious(page, "picker, scanning with a prefix") == []
    assert errors == []
