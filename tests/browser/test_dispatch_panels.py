"""The desk's panels in a real Chromium (pwa/static/dispatch/panels/): a dispatcher messages a
courier through an accessible dialog (labelled, focus inside, Esc closes and gives focus back,
the 500-character limit shown), sees the server's sentence when an order's address is not on
the map, reads a stop's history, and acknowledges an alert. A screenshot is kept at
/tmp/dispatch-panels.png.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, require_browser

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOT = "/tmp/dispatch-panels.png"


@pytest.fixture
def page(server: Server, chromium: Any) -> Iterator[Any]:
    """A desktop-sized page with axe loaded; a CSP violation or a page error fails the test."""
    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    try:
        context.add_init_script(path=str(AXE))
        context.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        yield page
    finally:
        context.close()
    assert not problems, problems


def _log_in(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base}/dispatch/")
    page.fill("#username", server.day["dispatcher"])
    page.fill("#password", server.day["dispatcherPassword"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-action=replan]")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-stop-id]").first).to_be_visible(timeout=15_000)


def _raise(server: Server, kind: str, key: str, detail: str, data: dict[str, Any]) -> int:
    """An open alert of the seeded day's hub, written as the server would write it: its id."""
    with sqlite3.connect(server.db_path) as db:
        cur = db.execute(
            "INSERT INTO alert (hub, plan_date, kind, key, detail, data, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                server.day["hubId"],
                server.day["date"],
                kind,
                key,
                detail,
                json.dumps(data),
                f"{server.day['date']} 09:00:00",
            ),
        )
        return int(cur.lastrowid or 0)


def _serious(page: Any) -> list[str]:
    return page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.impact} ${v.id}: ${v.help} `
                      + `(${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")})`);
    }""")


def test_message_dialog_is_accessible_and_sends(server: Server, page: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    _log_in(page, server)
    toolbar = page.locator("[role=toolbar]")
    for button in toolbar.locator("button").all():
        box = button.bounding_box()
        assert box and box["height"] >= 48 and box["width"] >= 48, box
    opener = page.locator("[data-action=message]")
    opener.click()
    dialog = page.get_by_role("dialog", name="Message to a courier")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.getElementById('panel-dialog').contains(document.activeElement)")
    assert _serious(page) == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.action") == "message"

    opener.click()
    courier_id = int(page.input_value("#pm-courier"))
    page.fill("#pm-text", "x" * 501)
    expect(page.locator("#pm-count")).to_have_text("1 character too many (at most 500).")
    dialog.locator("button[type=submit]").click()
    expect(dialog.get_by_role("alert")).to_have_text("A message has at most 500 characters; shorten it.")
    text = "Please call the hub <b>now</b>"
    page.fill("#pm-text", f"  {text} ")
    expect(page.locator("#pm-count")).to_have_text(f"{500 - len(text)} of 500 characters left.")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden(timeout=10_000)
    expect(page.locator("#toasts")).to_contain_text("Message sent to")
    dispatcher = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    sent = dispatcher.get(f"/couriers/{courier_id}/messages", params={"date": server.day["date"]}).json()
    assert [m["text"] for m in sent] == [text]  # the too-long one never left the page


def test_refusals_are_the_servers_sentence_and_details_show_history(server: Server, page: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    _log_in(page, server)
    page.click("[data-action=order]")
    dialog = page.get_by_role("dialog", name="New same-day order")
    expect(dialog).to_be_visible()
    page.fill("#po-address", "Mannerheimintie 9999")
    page.fill("#po-name", "Mia")
    dialog.locator("button[type=submit]").click()
    expect(dialog.get_by_role("alert")).to_contain_text("is not on the map", timeout=30_000)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    chip = page.locator("[data-stop-id]").first
    stop_id = chip.get_attribute("data-stop-id")
    chip.click()
    details = page.locator("[data-panel=details]")
    expect(details.locator(f'[data-stop="{stop_id}"]')).to_be_visible()
    expect(details.locator(".panel-history")).to_contain_text("planned", timeout=10_000)
    expect(details).to_contain_text("by the system")


def test_an_alert_is_shown_by_kind_and_acknowledged(server: Server, page: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    courier_id = server.day["courierId"]
    alert_id = _raise(  # as the minute's check would raise it
        server, "no_position", f"panels-test-{courier_id}", "No position for 7 minutes.", {"courierId": courier_id}
    )
    _log_in(page, server)
    item = page.locator(f'[data-alert-id="{alert_id}"]')
    expect(item).to_contain_text("has sent no position for a while.", timeout=10_000)
    expect(item).to_contain_text("No position")
    item.locator("[data-action=acknowledge]").click()
    expect(page.locator(f'[data-alert-id="{alert_id}"] [data-action=acknowledge]')).to_have_count(0, timeout=10_000)
    page.locator("[data-panel=alerts] button[aria-pressed]").click()
    expect(page.locator(f'[data-alert-id="{alert_id}"]')).to_contain_text("Acknowledged by")
    dispatcher = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    listed = dispatcher.get(f"/hubs/{server.day['hubId']}/alerts", params={"open": "false"}).json()
    mine = [a for a in listed if a["id"] == alert_id]
    assert mine and mine[0]["acknowledgedBy"]["name"], listed
    expect(page.locator("[data-panel=figures] a[href*='day.csv']")).to_have_count(1)
    page.screenshot(path=SCREENSHOT)


def test_stops_a_replan_left_off_every_route_are_named_in_both_languages(server: Server, page: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    from backend.dispatch import alerts as alert_rules

    with sqlite3.connect(server.db_path) as db:  # the day's first four stops
        ids = [
            row[0]
            for row in db.execute(
                "SELECT id FROM stop WHERE hub = ? AND plan_date = ? ORDER BY id LIMIT 4",
                (server.day["hubId"], server.day["date"]),
            )
        ]
        assert len(ids) == 4, ids
        address = db.execute("SELECT address FROM stop WHERE id = ?", (ids[0],)).fetchone()[0]
    # as a background re-plan would raise it
    raised = alert_rules.stops_unplanned(99, "failed_stop", [(sid, "no_capacity") for sid in ids])
    alert_id = _raise(server, raised.kind, f"panels-test-{raised.key}", raised.detail, raised.data)
    _log_in(page, server)
    item = page.locator(f'[data-alert-id="{alert_id}"]')
    expect(item).to_contain_text("A re-plan left 4 stops off every route:", timeout=10_000)
    expect(item).to_contain_text(" and 1 more. Assign them by hand or move them to another day.")
    expect(item).to_contain_text(address)  # the first stops by name, not by number
    assert _serious(page) == []
    page.click("#top-lang [data-lang=nl]")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(item).to_contain_text("Een herplanning liet 4 stops zonder route:")
    expect(item).to_contain_text(" en nog 1. Wijs ze met de hand toe of verplaats ze naar een andere dag.")
    assert _serious(page) == []
    item.screenshot(path="/tmp/dispatch-alert-left-off-nl.png")  # for a person to look at
    page.click("#top-lang [data-lang=en]")


def test_a_wave_is_released_from_the_picking_panel_and_a_refusal_is_the_servers_sentence(
    server: Server, page: Any
) -> None:
    require_browser()
    from playwright.sync_api import expect

    _log_in(page, server)
    panel = page.locator("[data-panel=picking]")
    first = panel.locator("[data-action=release-wave]").first
    expect(first).to_be_visible(timeout=15_000)  # the seeded day's waves are not released yet
    cutoff = first.locator("xpath=ancestor::li[1]").get_attribute("data-cutoff")
    wave = panel.locator(f"li[data-cutoff='{cutoff}']")
    button = wave.locator("[data-action=release-wave]")
    box = button.bounding_box()
    assert box and box["height"] >= 48 and box["width"] >= 48, box
    expect(button).to_have_text("Release wave now")
    page.click("#top-lang [data-lang=nl]")
    expect(button).to_have_text("Golf nu vrijgeven")
    page.click("#top-lang [data-lang=en]")
    assert _serious(page) == []

    # A refusal, from the server itself: the press asks for a cut-off with no wave (as a press
    # after the wave went out would); the server's sentence shows under the wave.
    body = json.dumps({"date": server.day["date"], "cutoff": "03:00"})
    page.route("**/waves/release", lambda route: route.continue_(post_data=body))
    button.click()
    error = wave.locator("[data-release-error]")
    expect(error).to_contain_text("There is no wave with cut-off 03:00")
    assert error.get_attribute("role") == "alert"
    expect(button).to_be_enabled()
    assert _serious(page) == []
    page.unroute("**/waves/release")

    button.click()
    expect(page.locator(".toast", has_text=f"Wave {cutoff} released")).to_be_visible(timeout=15_000)
    expect(wave.locator("[data-action=release-wave]")).to_have_count(0, timeout=10_000)  # nothing left to release
    expect(error).to_have_count(0)
    expect(wave.locator("[data-pickers]")).not_to_contain_text("not released yet")
