"""The worker apps' shared service worker (pwa/static/kit/sw-shell.js) in real Chromium: after
one visit, each app (picker, pickup point, returns desk) opens again with no connection."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import Server, require_browser


def _until(page, predicate: str, timeout_s: float) -> None:
    """Poll from outside (the pages' CSP forbids wait_for_function's string evaluation)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {predicate}"
        page.wait_for_timeout(100)


@pytest.mark.parametrize("app", ["pick", "point", "returns-desk"])
def test_a_worker_app_opens_offline_after_one_visit(server: Server, browser_context, app: str) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/{app}/")
    # The worker installs (pre-caching the shell) and takes the page over.
    _until(page, "() => navigator.serviceWorker.controller !== null", 15)
    cached = page.evaluate(f"caches.keys().then(ks => ks.filter(k => k.startsWith('laadbak-{app}-shell-')))")
    assert len(cached) == 1, cached
    browser_context.set_offline(True)
    try:
        page.reload()
        expect(page.locator("body")).not_to_be_empty()
        expect(page.locator("script[type=module]").first).to_be_attached()
        # The app ran from the cache: its module loaded and drew its first screen.
        _until(page, "() => document.querySelector('main, #app, [role=main]') !== null", 10)
        assert page.title(), "the cached page has a title"
    finally:
        browser_context.set_offline(False)
    assert not errors, errors
