"""Live picking in a real Chromium: the picker's handheld follows /ws/pick, so a short
pick reported by another device moves the list on without a scan; the dispatcher's desk
shows each wave's progress in its Picking panel (lines picked, short, left), updated from
the hub stream while a picker works; axe finds nothing serious on either, and the panel speaks Dutch. Screenshots
of both are kept in /tmp."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from backend.services.warehouse_demo import catalogue
from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import _serious

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
HANDHELD = {"width": 412, "height": 915}
SCREENSHOTS = ("/tmp/pick-live-handheld.png", "/tmp/pick-live-panel.png")  # kept for a look
WAIT_S = 15.0  # a bound for the page to catch up, not a measurement


@pytest.fixture(scope="module")
def released(server: Server) -> list[int]:
    """Every wave of the demo day, released with carts of one tote (a batch per order): the batch ids."""
    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    hub = server.day["hubId"]
    waves = desk.get(f"/hubs/{hub}/waves", params={"date": server.day["date"]}).json()
    ids = []
    for wave in waves:
        if not wave["unreleased"]:
            continue
        r = desk.post(
            f"/hubs/{hub}/waves/release",
            json={"date": server.day["date"], "cutoff": wave["cutoff"], "cart": {"totes": 1}},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        ids += [b for w in r.json()["released"] for b in w["batchIds"]]
    assert len(ids) >= 2, ids
    return ids


@pytest.fixture
def context(chromium: Any) -> Any:
    """A context with axe loaded; a CSP violation fails the test."""
    violations: list[str] = []
    context = chromium.new_context(locale="en-GB", viewport={"width": 1440, "height": 900})
    context.add_init_script(path=str(AXE))
    context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        yield context
    finally:
        context.close()
    assert not violations, violations


def _poll(page: Any, script: str, wanted: Any) -> Any:
    """Read ``script`` until it gives ``wanted`` (a string predicate would need eval: the CSP forbids it)."""
    deadline = time.monotonic() + WAIT_S
    while (got := page.evaluate(script)) != wanted:
        assert time.monotonic() < deadline, f"{script} is {got!r}, not {wanted!r}"
        page.wait_for_timeout(100)
    return got


def _picker(server: Server) -> Any:
    return server.login("picker", server.day["password"])


def _work(api: Any, batch_id: int, shorts: int | None = None) -> dict[str, Any]:
    """As another device: bind the cart's totes, then report lines short (all of them: None)."""
    view = api.get(f"/pick/batches/{batch_id}").json()
    for place in [p for p in view["cart"] if not p["code"]]:
        r = api.post(
            f"/pick/batches/{batch_id}/totes",
            json={"scanId": uuid.uuid4().hex, "code": f"T-{7000 + 10 * batch_id + place['place']:04d}"},
        )
        assert r.status_code == 200 and r.json()["ok"], r.text
    answer: dict[str, Any] = {}
    while (shorts is None or shorts > 0) and (view := api.get(f"/pick/batches/{batch_id}").json())["phase"] != "done":
        r = api.post(
            f"/pick/batches/{batch_id}/short", json={"scanId": uuid.uuid4().hex, "taskId": view["current"]["id"]}
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        shorts = None if shorts is None else shorts - 1
    return answer


def _pick_a_line(api: Any, batch_id: int) -> bool:
    """As another device: bin, product (all that is left), tote, line after line, until one
    line is picked whole (True); a bin another test counted empty makes its line short instead."""
    barcodes = {p.sku: p.barcodes[0] for p in catalogue()}
    for _ in range(60):
        view = api.get(f"/pick/batches/{batch_id}").json()
        if view["phase"] == "done":
            return False
        cur = view["current"]
        code, quantity = {
            "bin": (cur["bin"], 1),
            "product": (barcodes[cur["sku"]], cur["target"] - cur["picked"] - view["inHand"]),
            "tote": (cur["toteCode"], 1),
        }[view["phase"]]
        body = {"scanId": uuid.uuid4().hex, "code": code, "quantity": quantity}
        r = api.post(f"/pick/batches/{batch_id}/scans", json=body)
        assert r.status_code == 200, r.text
        if view["phase"] == "tote" and r.json()["code"] == "ok":
            tasks = api.get(f"/pick/batches/{batch_id}").json()["tasks"]
            if [t["state"] for t in tasks if t["id"] == cur["id"]] == ["picked"]:
                return True
    raise AssertionError("the batch did not end")


def test_the_pickers_list_changes_without_a_scan(server: Server, released: list[int], context: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_viewport_size(HANDHELD)
    page.goto(f"{server.base}/pick/")
    page.fill("#username", "picker")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-batch]")).to_have_count(len(released), timeout=10_000)
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=10_000)
    expect(page.locator("#conn")).to_have_text("live")

    api = _picker(server)
    first = page.evaluate("window.laadbak.state.batches.filter((b) => b.status === 'open').map((b) => b.id)")[0]
    page.click(f"[data-batch='{first}']")
    expect(page.locator("#instruction")).to_contain_text("Scan an empty tote")
    scans = page.evaluate("window.laadbak.state.answered")
    view = _work(api, first, shorts=0)  # the totes, from the other device
    view = api.get(f"/pick/batches/{first}").json()
    _poll(page, "window.laadbak.state.batch.version", view["version"])
    expect(page.locator("#big-code")).to_have_text(view["current"]["bin"])

    # The other device reports the line at hand short: the list is re-sequenced on this one.
    answer = _work(api, first, shorts=1)
    _poll(page, "window.laadbak.state.batch.version", answer["batch"]["version"])
    now = page.evaluate("window.laadbak.state.batch")
    assert now["current"]["id"] != view["current"]["id"]
    if now["phase"] != "done":
        expect(page.locator("#big-code")).to_have_text(now["current"]["bin"])
        expect(page.locator("#status")).to_contain_text("The list has changed")
    assert page.evaluate("window.laadbak.state.answered") == scans  # not one scan from this handheld
    page.screenshot(path=SCREENSHOTS[0])
    assert _serious(page, "picker, live") == []


def test_the_supervisor_sees_the_waves_progress_live(server: Server, released: list[int], context: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(f"{server.base}/dispatch/")
    page.fill("#username", server.day["dispatcher"])
    page.fill("#password", server.day["dispatcherPassword"])
    page.click("#login-form button[type=submit]")
    panel = page.locator("[data-panel=picking]")
    expect(panel.locator("h2")).to_have_text("Picking", timeout=15_000)
    api = _picker(server)
    open_ = [b for b in api.get("/pick/batches").json() if b["status"] == "open"]
    assert open_, "no open batch left for the supervisor's test"
    target = max(open_, key=lambda b: b["cutoff"])  # the latest wave: most likely still ahead of its cut-off
    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    (figures,) = [
        w
        for w in desk.get(f"/hubs/{server.day['hubId']}/waves", params={"date": server.day["date"]}).json()
        if w["cutoff"] == target["cutoff"]
    ]
    wave = panel.locator(f"[data-cutoff='{target['cutoff']}']")
    expect(wave).to_be_visible(timeout=10_000)
    short_before = int(wave.locator("[data-short]").inner_text())
    left_before = int(wave.locator("[data-left]").inner_text())
    assert left_before > 0
    ahead = figures["timeLeftS"] > 60
    expect(wave.locator("[data-time]")).to_contain_text("left" if ahead else "past the cut-off")
    assert _serious(page, "desk, picking panel") == []

    r = api.post(f"/pick/batches/{target['id']}/take", json={}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    expect(wave.locator("[data-pickers]")).to_contain_text("On it: Picker", timeout=10_000)
    # A line picked on another device: "picked" goes up on the panel without a reload.
    picked_before = int(wave.locator("[data-picked]").inner_text().split("/")[0])
    _work(api, target["id"], shorts=0)  # the cart's totes
    assert _pick_a_line(api, target["id"]), "no line of the batch could be picked"
    expect(wave.locator("[data-picked]")).to_have_text(f"{picked_before + 1} / {figures['lines']}", timeout=10_000)
    _work(api, target["id"])  # every line left reported short, one after the other
    # "left" already moved with the picked line: wait for the shorts' own events
    expect(wave.locator("[data-short]")).not_to_have_text(str(short_before), timeout=10_000)
    assert int(wave.locator("[data-short]").inner_text()) > short_before
    assert int(wave.locator("[data-left]").inner_text()) < left_before
    panel.screenshot(path=SCREENSHOTS[1])

    page.click("#top-lang [data-lang=nl]")
    expect(panel.locator("h2")).to_have_text("Picken")
    expect(wave.locator("dt").first).to_have_text("Gepickt")
    page.click("#top-lang [data-lang=en]")
