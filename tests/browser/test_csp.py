"""The apps under their Content-Security-Policy in a real Chromium: no violation, still working.

A page that broke the policy (an inline script, a style attribute, a load from
another host) would report a `securitypolicyviolation` and log "Refused to ...";
both are collected here, from the first byte of every page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Server, require_browser

REPORT = """
document.addEventListener("securitypolicyviolation", (e) =>
  window.reportViolation(`${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def context(server: Server, chromium: Any) -> Iterator[Any]:
    """A context of its own: the canary below trips a violation on purpose, which
    the shared ``browser_context`` fixture would count against its test."""
    hub = server.day["hub"]
    ctx = chromium.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": hub["lat"], "longitude": hub["lon"], "accuracy": 15},
        permissions=["geolocation"],
        locale="en-GB",
    )
    try:
        yield ctx
    finally:
        ctx.close()


def _watch(context) -> list[str]:
    violations: list[str] = []
    context.expose_function("reportViolation", lambda text: violations.append(text))
    context.add_init_script(REPORT)
    return violations


def _console(page, into: list[str]) -> None:
    page.on("console", lambda m: into.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: into.append(f"page error: {e}"))


def _canary(page, violations: list[str]) -> None:
    """The policy is enforced and a violation would be seen: an injected inline script is refused."""
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.canaryRan = true"; document.head.appendChild(s); }""")
    assert page.evaluate("window.canaryRan") is None
    page.wait_for_timeout(100)  # the event is dispatched as a task after the refusal
    assert any("script-src" in v for v in violations), violations
    violations.clear()


def _tracking_url(server: Server) -> str:
    dispatcher = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    orders = dispatcher.get("/orders", params={"hubId": server.day["hubId"], "date": server.day["date"]}).json()
    return orders[0]["trackingUrl"]


def test_landing_courier_and_tracking_pages_pass_their_csp(server: Server, context: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    violations = _watch(context)
    page = context.new_page()
    _console(page, violations)
    base = server.base

    landing = page.goto(f"{base}/")
    assert "style-src 'self'" in landing.headers["content-security-policy"]
    # Styled from landing.css: an inline <style> block would be refused and leave the page bare.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(244, 241, 232)"
    page.wait_for_timeout(100)
    assert violations == [], violations

    response = page.goto(f"{base}/courier")
    assert response.headers["x-frame-options"] == "DENY"
    expect(page.locator("#login-form")).to_be_visible()
    assert page.url.startswith(f"{base}/courier/"), page.url  # the trailing-slash redirect, a script file
    _canary(page, violations)
    page.fill("#username", server.day["username"])
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#next-stop")).to_be_visible(timeout=10_000)
    expect(page.locator("#conn")).to_have_text("online", timeout=10_000)
    # A write through the app's fetch wrapper with the session cookie (it sends the CSRF token).
    page.click(".shift-card [data-action=shift-start]")
    page.click("#dialog button[value=ok]")  # not every parcel is loaded: start anyway
    expect(page.locator(".shift-card")).to_have_count(0)
    expect(page.locator("#pending")).to_be_hidden(timeout=10_000)
    assert page.evaluate("window.laadbak.computeView()")["shift"]["status"] == "started"
    page.click("#tabs a[data-tab=map]")
    expect(page.locator("#map .leaflet-interactive").first).to_be_attached(timeout=10_000)
    page.wait_for_timeout(300)
    assert violations == [], violations

    track = page.goto(base + _tracking_url(server))
    assert track.headers["referrer-policy"] == "no-referrer"
    expect(page.locator("#card")).to_be_visible(timeout=10_000)
    expect(page.locator("#headline")).not_to_have_text("Loading…")
    _canary(page, violations)
    page.wait_for_timeout(300)
    assert violations == [], violations


def _offline(context: Any, base: str) -> list[str]:
    """Every request that leaves this machine is refused (and noted), as on a desk without internet."""
    from urllib.parse import urlsplit

    outside: list[str] = []
    local = urlsplit(base).hostname

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname == local:
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    context.route("**/*", route)
    return outside


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_the_api_docs_work_offline_under_their_csp(server: Server, context: Any, path: str) -> None:
    require_browser()
    from playwright.sync_api import expect

    violations = _watch(context)
    outside = _offline(context, server.base)
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})  # a desk: ReDoc shows its menu and search
    _console(page, violations)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))

    response = page.goto(server.base + path)
    assert "cdn" not in response.headers["content-security-policy"]
    if path == "/schema":  # ReDoc: the title, an operation, and its search (a worker from blob:)
        expect(page.locator(".api-info h1")).to_contain_text("Laadbak", timeout=20_000)
        expect(page.get_by_text("/auth/login").first).to_be_attached()
        page.fill("input.search-input", "login")
        # ReDoc's search worker indexes the whole document first: seconds of CPU, shared with
        # the suite's other worker (it missed 10 s once under load, and 30 s on a machine three
        # times slower than usual). A wait, not a timing check: the point is that it answers.
        found = page.get_by_role("search").get_by_role("menuitem").first
        expect(found).to_contain_text("Log in", timeout=90_000)
    else:  # Swagger UI: the title, and an operation tried out against this service
        expect(page.locator(".information-container .title")).to_contain_text("Laadbak", timeout=20_000)
        health = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/health")).first
        health.locator(".opblock-summary").click()
        health.locator("button.try-out__btn").click()
        health.locator("button.execute").click()
        # Swagger renders the answer after its own fetch; on a loaded machine that took over 5 s once.
        status = health.locator(".live-responses-table .response .response-col_status").first
        expect(status).to_have_text("200", timeout=20_000)
    page.wait_for_timeout(300)
    assert violations == [], violations
    _canary(page, violations)
    page.wait_for_timeout(500)
    assert violations == [], violations
    assert outside == [], outside
    assert failed == [], failed
