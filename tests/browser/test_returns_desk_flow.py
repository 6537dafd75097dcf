"""The returns desk on a handheld (412 × 915), past the happy path of grade A: a grade D item sent
to repair at the inspection, worked through and graded B as it leaves (into a bin as its B
variant); and a batch of two items with the same template worked step-major — step 1 of each
item, then step 2 of each — with the item shown big on every step. Axe finds nothing serious or
critical; every button is at least 48 px high."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from backend.services.demo import DEMO_PASSWORD
from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import _serious
from tests.browser.test_returns_desk import HANDHELD, _png, _small_buttons, contexts  # noqa: F401 (a fixture)


def _returned(server: Server, skus: tuple[str, ...], order: str = "DEMO-R1") -> tuple[httpx.Client, str, list[int]]:
    """The demo order's (DEMO-R1's) ``skus`` returned as defective through the portal and received at the hub by the
    demo's ``returns`` login: that login's client, the return's code and the items' ids (as ``skus``)."""
    with httpx.Client(base_url=server.base, timeout=10) as portal:
        found = portal.post("/portal/returns/find", json={"orderNumber": order, "postcode": "00100"}).json()
        lines = {i["sku"]: i["lineId"] for i in found["items"]}
        body = {
            "orderNumber": order,
            "postcode": "00100",
            "items": [{"lineId": lines[s], "quantity": 1, "reason": "defective"} for s in skus],
            "outcome": "refund",
            "handIn": "pickup_point",
            "pickupPointId": found["pickupPoints"][0]["id"],
        }
        made = portal.post("/portal/returns/", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert made.status_code == 201, made.text
    desk = server.login("returns", DEMO_PASSWORD)
    items = [{"code": s, "quantity": 1} for s in skus]
    got = desk.post(
        f"/receiving/returns/{made.json()['id']}/receive",
        json={"items": items},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert got.status_code == 200, got.text
    ids = {i["sku"]: i["id"] for i in got.json()["items"]}
    return desk, made.json()["code"], [ids[s] for s in skus]


def _inspect_d_supplier(desk: httpx.Client, item: int) -> None:
    checklist = desk.get(f"/returns-desk/items/{item}/checklist").json()
    photos = []
    for _ in range(max(1, checklist["minPhotos"])):
        files = {"file": ("item.png", _png(), "image/png")}
        r = desk.post("/returns-desk/photos", files=files, headers={"Idempotency-Key": uuid.uuid4().hex})
        photos.append(r.json()["photoId"])
    answers = {q["id"]: q["good"] for q in checklist["questions"]}
    body = {"answers": answers, "photoIds": photos, "grade": "D", "disposition": "supplier"}
    r = desk.post(f"/returns-desk/items/{item}/inspection", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text


def _handheld(server: Server, contexts: Any, locale: str = "en-GB") -> Any:  # noqa: F811
    from playwright.sync_api import expect

    page = contexts(locale, viewport=HANDHELD, device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
    page.goto(f"{server.base}/returns-desk/")
    page.fill("#username", "returns")
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#code")).to_be_visible(timeout=10_000)
    return page


def _step_through(page: Any) -> list[tuple[str, str, str]]:
    """Start and finish every step shown until the final check: (item number, SKU, step word) each."""
    from playwright.sync_api import expect

    seen = []
    page.wait_for_selector("[data-action=start], [data-action=pass]", timeout=10_000)
    for _ in range(20):
        if page.locator("[data-action=pass]").count():
            return seen
        badge = page.locator("#item-badge")
        seen.append(
            (
                badge.locator(".item-number").inner_text(),
                badge.locator(".item-sku").inner_text(),
                page.locator("#step-word").inner_text(),
            )
        )
        page.click("[data-action=start]")
        expect(page.locator("[data-action=done]")).to_be_visible(timeout=10_000)
        page.click("[data-action=done]")
        page.wait_for_selector("[data-action=start], [data-action=pass]", timeout=10_000)  # the next one
    raise AssertionError(f"no final check after {seen}")


def test_grade_d_to_repair_and_graded_b_as_it_leaves(server: Server, contexts: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    _, code, (item,) = _returned(server, ("SOCKS-W",))
    page = _handheld(server, contexts)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.fill("#code", code)
    page.keyboard.press("Enter")
    # the item's inspection: the checklist, photos, grade D (the inspector's eye), and where D goes
    page.click(f'[data-inspect="{item}"]')
    expect(page.locator("#save-inspection")).to_be_visible(timeout=10_000)
    for q in page.evaluate("window.laadbak.state.checklist.questions"):
        page.click(f'[data-q="{q["id"]}"][data-v="{str(q["good"]).lower()}"]')
    least = page.evaluate("window.laadbak.state.checklist.minPhotos")
    for n in range(least):
        page.set_input_files("#photo", files=[{"name": f"s{n}.png", "mimeType": "image/png", "buffer": _png()}])
        expect(page.get_by_text(f"Photos ({n + 1} of at least {least})")).to_be_visible(timeout=10_000)
    page.click('[data-grade="D"]')
    expect(page.locator("[data-disposition]")).to_have_count(2)
    assert page.locator('[data-disposition="repair"]').get_attribute("aria-pressed") == "true"
    expect(page.locator('[data-disposition="supplier"]')).to_have_text("Back to the supplier")
    assert _serious(page, "inspection: D's disposition") == [] and _small_buttons(page) == []
    page.click('[data-disposition="repair"]')
    page.click("#save-inspection")
    expect(page.locator("#insp-result")).to_contain_text("Grade D · repair", timeout=10_000)
    page.get_by_role("button", name="Go to the tasks").click()
    words = [w for _, _, w in _step_through(page)]
    assert "Repair" in words, words
    page.click("[data-action=pass]")
    # the finish of a repaired item: its grade after the repair, then the bin
    expect(page.locator("[data-regrade]")).to_have_count(3, timeout=10_000)
    assert _serious(page, "finish: grade after the repair") == [] and _small_buttons(page) == []
    page.click("#finish")
    expect(page.locator("#alert")).to_have_text("Choose the grade after the repair first.")
    page.click('[data-regrade="B"]')
    page.fill("#bin", _a_bin(server))
    page.click("#finish")
    expect(page.locator("#finished")).to_contain_text("Done: stock_graded SOCKS-W/B", timeout=10_000)
    assert errors == [], errors


def _a_bin(server: Server) -> str:
    import sqlite3

    with sqlite3.connect(server.db_path) as db:
        (code,) = db.execute(
            "SELECT code FROM warehouse_bin WHERE hub = ? ORDER BY code", (server.day["hubId"],)
        ).fetchone()
    return str(code)


def test_a_batch_of_two_is_worked_step_major_with_the_item_shown_each_time(server: Server, contexts: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    desk, _, (lamp, vase) = _returned(server, ("LAMP-DESK", "VASE-HAND"))
    for item in (lamp, vase):
        _inspect_d_supplier(desk, item)
    page = _handheld(server, contexts)
    page.click("#to-tasks")
    batch = page.locator("[data-batch]", has_text="2 × LAMP-DESK, VASE-HAND")
    expect(batch).to_be_visible(timeout=10_000)
    assert _serious(page, "my tasks") == [] and _small_buttons(page) == []
    batch.click()
    expect(page.locator("#item-badge")).to_contain_text("Item 1 of 2", timeout=10_000)
    assert _serious(page, "batch: step") == [] and _small_buttons(page) == []
    seen = _step_through(page)
    assert seen == [
        ("1", "LAMP-DESK", "Pack"),
        ("2", "VASE-HAND", "Pack"),
        ("1", "LAMP-DESK", "New label"),
        ("2", "VASE-HAND", "New label"),
    ]
    for sku in ("LAMP-DESK", "VASE-HAND"):  # each item's final check, then each put away
        expect(page.locator("#item-badge .item-sku")).to_have_text(sku, timeout=10_000)
        page.click("[data-action=pass]")
        page.wait_for_selector("[data-action=pass], #finish", timeout=10_000)
        if sku == "LAMP-DESK":
            expect(page.locator("#item-badge .item-sku")).to_have_text("VASE-HAND", timeout=10_000)
    for sku in ("LAMP-DESK", "VASE-HAND"):
        expect(page.locator("#item-badge .item-sku")).to_have_text(sku, timeout=10_000)
        expect(page.locator(".step-word")).to_have_text("Back to the supplier")
        assert page.locator("#bin").count() == 0
        page.click("#finish")
    expect(page.locator("#finished")).to_have_text(
        "Done: supplier LAMP-DESK · Done: supplier VASE-HAND", timeout=10_000
    )
    listed = desk.get("/returns-desk/supplier").json()
    assert sorted(s["sku"] for s in listed) == ["LAMP-DESK", "VASE-HAND"]


def test_the_dispatcher_hands_a_list_to_another_worker_who_is_on(server: Server, contexts: Any) -> None:  # noqa: F811
    """The supervisor's view: the Returns panel lists who has which task list; handed over to a
    second returns worker (logged in, so on), the list is theirs — the first worker's handheld,
    open on its tasks, shows so at once (the returns stream) — until the first worker takes it
    over again, explicitly, on the handheld."""
    require_browser()
    import sqlite3

    from playwright.sync_api import expect

    desk, _, (item,) = _returned(server, ("SOCKS-W",))
    _inspect_d_supplier(desk, item)
    with sqlite3.connect(server.db_path) as db:  # a second returns worker, with the demo's password
        db.execute(
            "INSERT INTO app_user (username, password_hash, role, display_name, active, hub_id, created_at) "
            "SELECT 'returns2', password_hash, role, 'Returns Two', active, hub_id, created_at "
            "FROM app_user WHERE username = 'returns'"
        )
    second = server.login("returns2", DEMO_PASSWORD)
    handheld = _handheld(server, contexts)
    handheld.click("#to-tasks")
    expect(handheld.locator(".items li", has_text="My lists").locator("[data-batch]")).to_contain_text(
        "SOCKS-W", timeout=10_000
    )
    expect(handheld.locator("body")).to_have_attribute("data-live", "live", timeout=10_000)
    page = contexts(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(f"{server.base}/dispatch/")
    page.fill("#username", server.day["dispatcher"])
    page.fill("#password", server.day["dispatcherPassword"])
    page.click("#login-form button[type=submit]")
    lists = page.locator("[data-panel=returns] [data-return-lists]")
    row = lists.locator("li", has_text="returns: SOCKS-W")
    expect(row).to_be_visible(timeout=15_000)
    row.locator("select").select_option("returns2")
    row.locator("[data-hand-over]").click()
    expect(lists.locator("li", has_text="returns2: SOCKS-W")).to_be_visible(timeout=10_000)
    assert _serious(page, "desk: returns task lists") == []
    mine = second.get("/returns-desk/tasks").json()
    assert [(b["worker"], b["mine"], [i["itemId"] for i in b["items"]]) for b in mine][0] == ("returns2", True, [item])
    # the first worker's handheld shows it as returns2's now, unasked, and takes it back explicitly
    theirs = handheld.locator(".items li", has_text="returns2's list")
    expect(theirs).to_be_visible(timeout=10_000)
    assert _serious(handheld, "my tasks: another's list") == [] and _small_buttons(handheld) == []
    theirs.locator("[data-take]").click()
    expect(handheld.locator(".items li", has_text="My lists").locator("[data-batch]")).to_contain_text(
        "SOCKS-W", timeout=10_000
    )


def _worked_through(desk: httpx.Client, item: int) -> None:
    """The item's task list taken over (it may have gone to another worker who is on), done,
    checked and finished by ``desk``, the demo's ``returns`` (the API, as the screens do)."""
    r = desk.post(
        f"/returns-desk/items/{item}/worker", json={"worker": "returns"}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 200, r.text
    view = desk.get(f"/returns-desk/items/{item}/tasks").json()
    for step in view["steps"]:
        for kind in ("start", "done"):
            r = desk.post(
                f"/returns-desk/items/{item}/steps/{step['n']}",
                json={"kind": kind},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 200, r.text
    for path, body in (("check", {"passed": True, "note": ""}), ("finish", {})):
        r = desk.post(f"/returns-desk/items/{item}/{path}", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 200, r.text


def test_finished_items_go_back_to_their_supplier_one_parcel_per_shop(server: Server, contexts: Any) -> None:  # noqa: F811
    """The supplier screen: a parcel (card) per shop with its items; the reference scanned from
    the carrier's label with the wedge, then "Sent": the items leave the list, once."""
    require_browser()
    from playwright.sync_api import expect

    desk, _, (book,) = _returned(server, ("BOOK-PB",), order="DEMO-R2")
    _inspect_d_supplier(desk, book)
    _worked_through(desk, book)
    dutch = _handheld(server, contexts, locale="nl-NL")  # the same screen in Dutch
    dutch.click("#to-supplier")
    expect(dutch.locator("#main h1")).to_have_text("Terug naar de leverancier", timeout=10_000)
    expect(
        dutch.locator("[data-parcel]", has=dutch.locator(f'[data-item="{book}"]')).get_by_role("button")
    ).to_have_text("Verstuurd")
    assert _serious(dutch, "terug naar de leverancier") == [] and _small_buttons(dutch) == []
    page = _handheld(server, contexts)
    page.click("#to-supplier")
    card = page.locator("[data-parcel]", has=page.locator(f'[data-item="{book}"]'))
    expect(card).to_be_visible(timeout=10_000)
    expect(card.locator(f'[data-item="{book}"]')).to_contain_text("BOOK-PB")
    assert _serious(page, "back to the supplier") == [] and _small_buttons(page) == []
    page.click("#main h1")  # nothing focused: the wedge's code goes to the first parcel without one
    page.keyboard.type("3SBOOK0001\n", delay=5)
    scanned = page.evaluate("[...document.querySelectorAll('[data-parcel] input[name=reference]')].map((f) => f.value)")
    assert scanned[0] == "3SBOOK0001", scanned
    card.locator("input[name=reference]").fill("3SBOOK0001")  # another test's parcel may come first
    card.get_by_role("button", name="Sent").click()
    expect(page.locator("#status")).to_contain_text("Sent to", timeout=10_000)
    expect(page.locator(f'[data-item="{book}"]')).to_have_count(0, timeout=10_000)
    gone = desk.get("/returns-desk/supplier", params={"shipped": "true"}).json()
    assert [s["shipment"]["reference"] for s in gone if s["itemId"] == book] == ["3SBOOK0001"]
