"""The desk's Settings dialog in a real Chromium (pwa/static/dispatch/panels/settings-dialog.js):
the dispatcher changes the hub's way of picking and its cart, its scanners' prefix and suffix
and a shop's packing options, each saved apart; a refusal shows the server's sentence under
its form and changes nothing; Dutch and English; axe finds nothing serious or critical. A
screenshot of the dialog is kept at /tmp/dispatch-settings.png."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server, require_browser
from tests.browser.test_dispatch_panels import _log_in, _serious, page  # noqa: F401 (the fixture)

SCREENSHOT = "/tmp/dispatch-settings.png"


def test_the_dispatcher_changes_the_hubs_settings_on_the_desk(server: Server, page: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    api = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    hub = server.day["hubId"]
    _log_in(page, server)

    page.click("#top-lang [data-lang=nl]")
    opener = page.locator("[data-action=settings]")
    expect(opener).to_have_text("Instellingen")
    opener.click()
    dialog = page.get_by_role("dialog", name="Instellingen van de hub")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Handscanners")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.click("#top-lang [data-lang=en]")

    opener.click()
    dialog = page.get_by_role("dialog", name="Hub settings")
    expect(dialog).to_be_visible()
    expect(page.locator("#st-mode")).to_have_value("sort_while_picking")
    expect(page.locator("#st-totes")).to_have_value("8")
    expect(page.locator("#st-prefix")).to_be_visible()
    expect(page.locator("[data-settings=packing] input[name=giftWrap]")).to_be_visible()
    assert _serious(page) == []
    for control in dialog.locator("button, select, input, textarea, label.panel-check").all():
        box = control.bounding_box()
        assert box and box["height"] >= 48, (control.evaluate("el => el.outerHTML.slice(0, 80)"), box)

    # Picking: a refusal first (no totes: the server's sentence, nothing kept), then a good save.
    picking = page.locator("[data-settings=picking]")
    page.fill("#st-totes", "0")
    picking.get_by_role("button", name="Save").click()
    expect(picking.get_by_role("alert")).to_contain_text("totes")
    assert api.get(f"/hubs/{hub}/picking-settings").json()["cart"]["totes"] == 8
    page.select_option("#st-mode", "pick_then_sort")
    page.fill("#st-totes", "6")
    page.fill("#st-weight", "12,5")
    page.fill("#st-lead", "90")
    picking.get_by_role("button", name="Save").click()
    expect(picking.get_by_role("status")).to_have_text("Saved.")
    expect(picking.get_by_role("alert")).to_have_count(0)
    assert api.get(f"/hubs/{hub}/picking-settings").json() == {
        "hubId": hub,
        "mode": "pick_then_sort",
        "cart": {"totes": 6, "toteVolume": 40.0, "toteWeight": 12.5},
        "leadMinutes": 90,
    }

    # Scanner: a suffix of digits alone is refused with the server's sentence, the field marked.
    scanner = page.locator("[data-settings=scanner]")
    page.fill("#st-prefix", "$")
    page.fill("#st-suffix", "42")
    scanner.get_by_role("button", name="Save").click()
    expect(scanner.get_by_role("alert")).to_contain_text("The scanner's suffix")
    expect(page.locator("#st-suffix")).to_have_attribute("aria-invalid", "true")
    assert api.get(f"/hubs/{hub}/scanner").json() == {"hubId": hub, "prefix": "", "suffix": ""}
    assert _serious(page) == []  # with the error line shown
    page.fill("#st-suffix", "#")
    scanner.get_by_role("button", name="Save").click()
    expect(scanner.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("#st-suffix")).to_have_attribute("aria-invalid", "false")
    assert api.get(f"/hubs/{hub}/scanner").json() == {"hubId": hub, "prefix": "$", "suffix": "#"}

    # A shop's packing: gift wrap and a card with its message.
    packing = page.locator("[data-settings=packing]")
    shop_id = int(page.input_value("#st-shop"))
    packing.get_by_label("Gift-wrapped").check()
    packing.get_by_label("With a card").check()
    page.fill("#st-card", "Enjoy!")
    packing.get_by_role("button", name="Save").click()
    expect(packing.get_by_role("status")).to_have_text("Saved.")
    assert api.get(f"/shops/{shop_id}/packing").json() == {
        "shopId": shop_id,
        "brandedBox": False,
        "card": True,
        "cardMessage": "Enjoy!",
        "giftWrap": True,
    }
    assert _serious(page) == []
    dialog.screenshot(path=SCREENSHOT)

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.action") == "settings"
    # Opened again: what was saved.
    opener.click()
    expect(page.locator("#st-mode")).to_have_value("pick_then_sort")
    expect(page.locator("#st-prefix")).to_have_value("$")
