"""The packing screen of the picker app on a handheld (412 × 915): a batch of the demo
day is picked through the API, then the picker packs one of its orders with keyboard-wedge
input — the tote, a wrong item (its sentence shown, nothing counted), every item, the box
(the suggestion shown big), the shop's options, close — and the label opens as a PDF;
axe finds nothing serious; the Dutch strings once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from backend.services.warehouse_demo import catalogue
from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious
from tests.browser.test_pick import HANDHELD, handheld, wedge  # noqa: F401 - the fixture

BARCODES = {p.sku: p.barcodes[0] for p in catalogue() if p.barcodes}


def _pick_a_batch(server: Server) -> tuple[httpx.Client, str]:
    """A released batch picked through by the demo picker over the API: a tote of an order in it."""
    desk = server.login(server.day["dispatcher"], server.day["dispatcherPassword"])
    hub, day = server.day["hubId"], server.day["date"]
    waves = desk.get(f"/hubs/{hub}/waves", params={"date": day}).json()
    wave = max(waves, key=lambda w: w["lines"])
    r = desk.post(
        f"/hubs/{hub}/waves/release",
        json={"date": day, "cutoff": wave["cutoff"]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    batch_id = r.json()["released"][0]["batchIds"][0]
    picker = server.login("picker", server.day["password"])
    r = picker.post(f"/pick/batches/{batch_id}/take", json={}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 200, r.text
    view = r.json()
    for place in view["cart"]:
        code = f"T-{7000 + place['place']:04d}"
        assert (
            picker.post(f"/pick/batches/{batch_id}/totes", json={"scanId": uuid.uuid4().hex, "code": code}).status_code
            == 200
        )
    for _ in range(200):
        view = picker.get(f"/pick/batches/{batch_id}").json()
        if view["phase"] == "done":
            break
        cur = view["current"]
        body: dict[str, Any] = {"scanId": uuid.uuid4().hex, "code": cur["bin"]}
        if view["phase"] == "product":
            left = cur["target"] - cur["picked"] - view["inHand"]
            body = {**body, "code": BARCODES[cur["sku"]], "quantity": left}
        elif view["phase"] == "tote":
            body["code"] = cur["toteCode"]
        assert picker.post(f"/pick/batches/{batch_id}/scans", json=body).status_code == 200
    assert view["phase"] == "done", view
    picked = {t["orderId"] for t in view["tasks"] if t["picked"] > 0}
    tote = next(c["code"] for c in view["cart"] if c["orderId"] in picked)
    return desk, tote


def test_a_picker_packs_an_order_with_wedge_scans(server: Server, handheld: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    desk, tote = _pick_a_batch(server)
    page = handheld.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/pick/")
    page.fill("#username", "picker")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    page.click("#to-pack")
    expect(page.locator("#pack-step")).to_have_attribute("data-phase", "tote")
    expect(page.locator("#pack-scan")).to_be_focused()
    assert page.locator("#pack-scan").get_attribute("inputmode") == "none"

    # Dutch once, then back to English.
    page.click("#top-lang [data-lang=nl]")
    expect(page.locator("#pack-view h1")).to_have_text("Inpakken")
    page.click("#top-lang [data-lang=en]")
    expect(page.locator("#pack-view h1")).to_have_text("Packing")

    expect(page.locator("#pack-scan")).to_be_focused()  # the language switch gives the focus back
    wedge(page, tote)
    expect(page.locator("#pack-step")).to_have_attribute("data-phase", "items")
    job = page.evaluate("window.laadbak.packing.job")
    page.evaluate(AXE.read_text())
    assert _serious(page, "packing, items") == []

    # A wrong item: a product this order does not hold. Its sentence, nothing counted.
    theirs = {i["sku"] for i in job["items"]}
    wrong = next(sku for sku in BARCODES if sku not in theirs)
    wedge(page, BARCODES[wrong])
    expect(page.locator("#alert")).not_to_be_empty()
    assert page.evaluate("window.laadbak.packing.job") == job

    for item in job["items"]:
        for _ in range(item["quantity"]):
            wedge(page, item["gtin"])
            expect(page.locator("#alert")).to_be_empty()
    expect(page.locator("#pack-step")).to_have_attribute("data-phase", "box")
    job = page.evaluate("window.laadbak.packing.job")
    expect(page.locator("#pack-box")).to_have_text(f"Box {job['suggestedBox']['code']}")
    for b in page.locator("[data-box], [data-option], #pack-close").all():
        size = b.bounding_box()
        assert size and size["height"] >= 48 and size["width"] >= 48, size
    for step in job["options"]["steps"]:
        page.click(f"[data-option={step}]")
    assert _serious(page, "packing, box") == []
    page.click("#pack-close")
    expect(page.locator("#pack-step")).to_have_attribute("data-phase", "done")
    href = page.locator("#pack-label").get_attribute("href")
    picker = server.login("picker", server.day["password"])
    r = picker.get(href)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    page.click("#pack-next")
    expect(page.locator("#pack-step")).to_have_attribute("data-phase", "tote")
    assert errors == []
    desk.close()
    picker.close()
