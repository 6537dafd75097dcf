"""The customer's return portal at /returns on a phone: a wrong postcode gets its sentence,
the demo order is found, an item not returnable says why, one item goes back for "other"
with text, exchanged (the bonus shown), handed in at a pickup point: the code and its QR;
the same flow once in Dutch; axe finds nothing serious or critical on each step."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(chromium: Any) -> Any:
    violations: list[str] = []
    contexts: list[Any] = []

    def make(locale: str) -> Any:
        context = chromium.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
        )
        context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        context.add_init_script(path=str(AXE))  # as an init script: the page's CSP allows only its own scripts
        contexts.append(context)
        return context

    yield make
    for c in contexts:
        c.close()
    assert not violations, violations


def _small_targets(page: Any) -> list[str]:
    """Buttons, inputs and selects smaller than 48 px high (checkboxes and radios count by their label)."""
    return page.evaluate("""() => [...document.querySelectorAll(
          "button, select, input[type=text], textarea, label.choice")]
        .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < 47.5)
        .map((el) => `${el.tagName} ${el.id || el.textContent.trim().slice(0, 30)}`)""")


def test_a_customer_registers_a_return_at_a_pickup_point(server: Server, phone: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = phone("en-GB").new_page()
    page.goto(f"{server.base}/returns/")
    page.fill("#order-number", "DEMO-R1")
    page.fill("#postcode", "99999")
    page.click("#find-send")
    expect(page.locator("#error")).to_contain_text("cannot find an order")
    assert _serious(page, "find") == [] and _small_targets(page) == []
    page.fill("#postcode", "00 100")
    page.click("#find-send")
    expect(page.locator("#request")).to_be_visible()
    expect(page.locator(".item", has_text="Honey")).to_contain_text("cannot be returned")
    page.locator(".item", has_text="Wool socks").locator("input[type=checkbox]").check()
    socks = page.locator(".item", has_text="Wool socks")
    socks.locator("select[id$=-reason]").select_option("other")
    socks.locator("textarea").fill("The colour is not as shown")
    page.locator("label.choice", has_text="Exchange").click()
    expect(page.locator("label.choice", has_text="Exchange")).to_contain_text("€5.00")
    # an exchange is said plainly to be credit for a new order, not a replacement sent
    expect(page.locator("#exchange-hint")).to_contain_text("We do not send a replacement")
    assert _serious(page, "request") == [] and _small_targets(page) == []
    page.click("#send")
    expect(page.locator("#done")).to_be_visible()
    code = page.locator("#code").inner_text()
    assert code.startswith("R-") and len(code) == 10
    assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml")
    expect(page.locator("#done")).to_contain_text("€5.00")  # the exchange bonus
    expect(page.locator("#exchange-done")).to_contain_text("credit for a new order")
    assert _serious(page, "done") == []
    page.click("#again")
    expect(page.locator("#find")).to_be_visible()
    page.click("#find-send")  # the order again: the return is listed with its code
    expect(page.locator("#earlier")).to_contain_text(code)
    assert _serious(page, "earlier") == []


def test_the_portal_in_dutch(server: Server, phone: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = phone("nl-NL").new_page()
    page.goto(f"{server.base}/returns/")
    expect(page.locator("#find-title")).to_have_text("Iets retourneren")
    assert page.evaluate("document.documentElement.lang") == "nl"
    page.fill("#order-number", "DEMO-R3")
    page.fill("#postcode", "00100")
    page.click("#find-send")
    expect(page.locator("#request legend").first).to_have_text("1. Wat stuur je terug?")
    # DEMO-R3's lamp waits at the hub already: it says so, in Dutch
    expect(page.locator(".item", has_text="Desk lamp")).to_contain_text("zit al in een retour")
    expect(page.locator("#exchange-hint")).to_contain_text("We sturen niet vanzelf een vervangend artikel")
    page.locator(".item", has_text="Wool socks").locator("input[type=checkbox]").check()
    page.locator("label.choice", has_text="Een koerier").click()
    expect(page.locator("#slot")).to_be_visible()
    assert _serious(page, "nl request") == [] and _small_targets(page) == []
    page.click("#send")
    expect(page.locator("#where")).to_contain_text("Een koerier haalt het pakket op")
