"""The sort station of the picker app on a handheld (412 × 915): a wave of the demo day is
released pick-then-sort and its first batch picked through the API; then the picker sorts
it with keyboard-wedge input — an item asks for a tote for its order, the tote scanned, the
item goes in (its tote shown big), a wrong item refused with its sentence and nothing
counted — until every unit is sorted, and a complete order's tote opens its packing;
axe finds nothing serious; the Dutch strings once."""

from __future__ import annotations

import uuid
from typing import Any

from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious
from tests.browser.test_pack import BARCODES
from tests.browser.test_pick import HANDHELD, handheld, wedge  # noqa: F401 - the fixture


def _picked_pick_then_sort_batch(server: Server) -> int:
    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    hub, day = server.day["hubId"], server.day["date"]
    waves = desk.get(f"/hubs/{hub}/waves", params={"date": day}).json()
    wave = min((w for w in waves if w["lines"]), key=lambda w: w["lines"])
    r = desk.post(
        f"/hubs/{hub}/waves/release",
        json={"date": day, "cutoff": wave["cutoff"], "mode": "pick_then_sort"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    batch_id: int = r.json()["released"][0]["batchIds"][0]
    picker = server.login("picker", server.day["password"])
    r = picker.post(f"/pick/batches/{batch_id}/take", json={}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    for _ in range(200):
        view = picker.get(f"/pick/batches/{batch_id}").json()
        if view["phase"] == "done":
            break
        cur = view["current"]
        body: dict[str, Any] = {"scanId": uuid.uuid4().hex, "code": cur["bin"]}
        if view["phase"] == "product":
            body = {**body, "code": BARCODES[cur["sku"]], "quantity": cur["target"] - cur["picked"] - view["inHand"]}
        assert picker.post(f"/pick/batches/{batch_id}/scans", json=body).status_code == 200
    assert view["phase"] == "done", view
    desk.close()
    picker.close()
    return batch_id


def test_a_picker_sorts_a_batch_with_wedge_scans(server: Server, handheld: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    batch_id = _picked_pick_then_sort_batch(server)
    page = handheld.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/pick/")
    page.fill("#username", "picker")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    page.click("#to-sort")
    expect(page.locator("#sort-step")).to_have_attribute("data-phase", "batch")
    page.click("#top-lang [data-lang=nl]")
    expect(page.locator("#pack-view h1")).to_have_text("Sorteren")
    page.click("#top-lang [data-lang=en]")
    expect(page.locator("#pack-view h1")).to_have_text("Sorting")
    page.click(f"[data-sort-batch='{batch_id}']")
    expect(page.locator("#sort-step")).to_have_attribute("data-phase", "items")
    expect(page.locator("#pack-scan")).to_be_focused()
    job = page.evaluate("window.laadbak.sorting.job")
    page.evaluate(AXE.read_text())
    assert _serious(page, "sorting, items") == []

    # A wrong item: not in the batch. Its sentence, nothing counted.
    skus = {line["sku"] for o in job["orders"] for line in o["lines"]}
    wedge(page, BARCODES[next(sku for sku in BARCODES if sku not in skus)])
    expect(page.locator("#alert")).not_to_be_empty()
    assert page.evaluate("window.laadbak.sorting.job") == job

    units = [line["gtin"] for o in job["orders"] for line in o["lines"] for _ in range(line["units"])]
    totes = iter(f"T-{8000 + i:04d}" for i in range(100))
    asked = 0
    for n, code in enumerate(units, start=1):
        wedge(page, code)
        if page.locator("#sort-step").get_attribute("data-phase") == "tote":  # a new order: a tote first
            if not asked:
                assert _serious(page, "sorting, tote") == []
            asked += 1
            tote = next(totes)
            wedge(page, tote)  # the item goes in by itself then
            assert page.evaluate("window.laadbak.sorting.placed.tote") == tote
        expect(page.locator("#alert")).to_be_empty()
        placed = page.evaluate("window.laadbak.sorting.placed")
        assert placed and placed["tote"].startswith("T-")
        if n < len(units):
            expect(page.locator("#sort-tote")).to_have_text(placed["tote"])
            box = page.locator("#sort-tote").bounding_box()
            assert box and box["height"] >= 48, box  # shown big
    assert asked == len([o for o in job["orders"] if any(line["units"] for line in o["lines"])])
    expect(page.locator("#sort-step")).to_have_attribute("data-phase", "done")
    assert _serious(page, "sorting, done") == []

    # A complete order's tote opens its packing.
    done = page.evaluate("window.laadbak.sorting.job")
    first = next(o for o in done["orders"] if o["tote"])
    picker = server.login("picker", server.day["password"])
    r = picker.post("/pack/start", json={"code": first["tote"]}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200 and r.json()["order"]["id"] == first["orderId"], r.text
    picker.close()
    assert errors == []
