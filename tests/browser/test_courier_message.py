"""A dispatcher's message reaches the courier app live and shows as a banner: the
text as text (HTML is not rendered), the chrome in the courier's language,
kept across a reload until the courier dismisses it."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious

HTML_TEXT = '<b id="injected">Bel de hub</b>\n<img src=x onerror="window.pwned=1">'


def log_in(page: Any, server: Server) -> None:
    """The test day's courier logged in on the courier app, its live stream open."""
    from playwright.sync_api import expect

    page.goto(f"{server.base}/courier/")
    page.fill("#username", server.day["username"])
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("online", timeout=10_000)


def test_a_message_from_dispatch_is_a_dismissable_banner(server: Server, browser_context) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, server)
    page.evaluate("window.laadbak.i18n.setLang('nl')")

    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    r = desk.post(f"/couriers/{server.day['courierId']}/messages", json={"text": HTML_TEXT})
    assert r.status_code == 201, r.text
    sent = r.json()

    banner = page.locator(f"[data-dispatch-message='{sent['id']}']")
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_have_attribute("role", "alert")
    assert banner.locator(".dispatch-text").inner_text() == HTML_TEXT  # shown as the text it is
    assert page.locator("#injected").count() == 0 and page.evaluate("window.pwned") is None
    expect(banner.locator(".dispatch-title")).to_contain_text(f"Bericht van {sent['sentBy']['name']}")
    close = banner.locator("[data-dismiss-message]")
    expect(close).to_have_attribute("aria-label", "Bericht van de planning sluiten")
    box = close.bounding_box()
    assert box and box["width"] >= 48 and box["height"] >= 48, box
    page.evaluate(AXE.read_text())  # axe from the test, not the page (the page's CSP allows only its own scripts)
    assert _serious(page, "courier banner (nl)") == []

    page.reload()  # not dismissed yet: still there after a reload
    expect(page.locator(f"[data-dispatch-message='{sent['id']}']")).to_be_visible(timeout=10_000)
    page.locator(f"[data-dispatch-message='{sent['id']}'] [data-dismiss-message]").click()
    expect(page.locator("[data-dispatch-message]")).to_have_count(0)
    page.reload()
    expect(page.locator("#conn")).to_have_text("online", timeout=10_000)
    expect(page.locator("[data-dispatch-message]")).to_have_count(0)  # dismissed stays dismissed
    assert errors == []


# The browser's push service cannot be reached here: its subscribe() answers a subscription
# to a public address (as a real push service's is) without asking one.
FAKE_PUSH = """
(() => {
  if (!window.PushManager) return;
  let sub = null;
  PushManager.prototype.getSubscription = async function () { return sub; };
  PushManager.prototype.subscribe = async function (opts) {
    window.__pushKeyBytes = new Uint8Array(opts.applicationServerKey).length;
    sub = { toJSON: () => ({ endpoint: "https://8.8.8.8/laadbak-test/courier", expirationTime: null,
      keys: { p256dh: "B".repeat(87), auth: "A".repeat(22) } }) };
    return sub;
  };
})();
"""


def test_the_courier_turns_on_notifications_and_the_server_keeps_the_subscription(
    server: Server, browser_context
) -> None:
    require_browser()
    from playwright.sync_api import expect

    browser_context.grant_permissions(["geolocation", "notifications"])
    browser_context.add_init_script(script=FAKE_PUSH)
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, server)
    page.goto(f"{server.base}/courier/#/shift")
    card = page.locator(".push-card")
    expect(card).to_contain_text("Messages from dispatch can show as notifications", timeout=10_000)
    button = card.locator("[data-action=push-on]")
    box = button.bounding_box()
    assert box and box["height"] >= 48, box
    with page.expect_response(lambda r: r.url.endswith("/push/subscriptions")) as answer:
        button.click()
    assert answer.value.status == 201, answer.value.text()
    expect(card).to_contain_text("On: messages from dispatch also come as notifications")
    assert page.evaluate("window.__pushKeyBytes") == 65  # the server's VAPID key: an uncompressed P-256 point
    page.evaluate("window.laadbak.i18n.setLang('nl')")
    expect(card).to_contain_text("Aan: berichten van de planning komen ook als melding")
    page.evaluate(AXE.read_text())
    assert _serious(page, "courier shift screen with notifications on (nl)") == []
    assert errors == []
