"""The courier reports their bike's battery from the shift screen: a level in 10 %
steps or "just charged", sent through the offline queue with an idempotency key;
the server keeps it (the desk reads it back) and the screen passes axe."""

from __future__ import annotations

from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious
from tests.browser.test_courier_message import log_in


def test_the_courier_reports_a_battery_level_and_the_desk_reads_it(server: Server, browser_context) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, server)
    page.goto(f"{server.base}/courier/#/shift")
    card = page.locator(".battery-card")
    expect(card).to_contain_text("Tell dispatch how full your battery is", timeout=10_000)
    buttons = card.locator("[data-action=battery]")
    expect(buttons).to_have_count(10)
    for i in range(10):
        box = buttons.nth(i).bounding_box()
        assert box and box["width"] >= 48 and box["height"] >= 48, box
    charged = card.locator("[data-action=battery-charged]")
    box = charged.bounding_box()
    assert box and box["height"] >= 48, box

    page.evaluate("window.laadbak.i18n.setLang('nl')")
    expect(card.locator("h2")).to_have_text("Accu")
    with page.expect_request(lambda r: r.url.endswith(f"/couriers/{server.day['courierId']}/battery")) as sent:
        card.locator("[data-action=battery][data-level='40']").click()
    assert sent.value.headers.get("idempotency-key")  # through the queue, with its key
    assert sent.value.post_data_json == {"levelPct": 40}
    expect(page.locator("#messages")).to_contain_text("Accu op 40 % doorgegeven aan de planning", timeout=10_000)
    expect(card.locator("#battery-last")).to_contain_text("Laatst doorgegeven: 40 %")

    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    trail = desk.get(f"/couriers/{server.day['courierId']}/trail")
    assert trail.status_code == 200, trail.text
    assert trail.json()["batteryPct"] == 40

    page.evaluate(AXE.read_text())  # axe from the test, not the page (the page's CSP allows only its own scripts)
    assert _serious(page, "courier shift screen with the battery card (nl)") == []

    # Just charged: the desk reads a full battery.
    card.locator("[data-action=battery-charged]").click()
    expect(page.locator("#messages")).to_contain_text("Opgeladen accu doorgegeven", timeout=10_000)
    assert desk.get(f"/couriers/{server.day['courierId']}/trail").json()["batteryPct"] == 100
    assert errors == []
