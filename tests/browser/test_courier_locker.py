"""The courier's stop at a locker bank shows which compartment and the code that opens it
(the demo's shop drop, collected in the evening round), in English and Dutch, and the
screen passes axe."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.browser.conftest import Server, require_browser
from tests.browser.seed_day import seed_small_day
from tests.browser.test_a11y_i18n import AXE, _serious
from tests.browser.test_courier_message import log_in

SCREENSHOT = "/tmp/courier-locker.png"


async def SEED_DAY(db_path: Path, day: dt.date) -> dict[str, Any]:  # noqa: N802 (the server fixture's hook)
    """The small demo day, logged in as the courier whose route collects the demo's shop drop."""
    from backend.db.tables import Courier, Route, Stop, User

    made = await seed_small_day(db_path, day)
    stop = await Stop.select(Stop.id).where((Stop.kind == "pickup") & Stop.pickup_point.is_not_null()).first()
    assert stop is not None, "the demo has a shop drop at its locker bank"
    routes = await Route.select(Route.courier, Route.stops).where(Route.current.eq(True)).output(load_json=True)
    courier_id = next(r["courier"] for r in routes if any(s["stop_id"] == stop["id"] for s in r["stops"]))
    courier = await Courier.select(Courier.user).where(Courier.id == courier_id).first()
    user = await User.select(User.username).where(User.id == courier["user"]).first()
    return {**made, "courierId": courier_id, "username": user["username"], "lockerStop": stop["id"]}


def test_the_stop_at_a_locker_shows_the_compartment_and_the_code(server: Server, browser_context) -> None:
    require_browser()
    from playwright.sync_api import expect

    stop_id = server.day["lockerStop"]
    courier = server.login(server.day["username"], server.day["password"])
    day = courier.get("/courier/today").json()
    stop = next(s for s in day["route"]["stops"] if s["stopId"] == stop_id)
    (door,) = stop["compartments"]
    assert door["filled"] and len(door["code"]) == 6

    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, server)
    page.goto(f"{server.base}/courier/#/stop/{stop_id}")
    locker = page.locator(f"#stop-detail [data-locker='{stop_id}']")
    expect(locker).to_contain_text("Locker", timeout=10_000)
    row = locker.locator(f"[data-compartment='{door['compartment']}']")
    expect(row).to_contain_text(door["compartment"])
    expect(row.locator(".code")).to_have_text(door["code"])
    expect(row).to_contain_text(door["barcode"])
    expect(locker).to_contain_text("take the shop's parcel out")
    expect(page.locator("#stop-detail .sub").first).to_contain_text("Pick up a shop's drop at the locker")
    size = row.locator(".code").bounding_box()
    assert size and size["height"] >= 24, size  # readable at the keypad
    page.screenshot(path=SCREENSHOT)  # for a person to look at
    page.evaluate(AXE.read_text())  # axe from the test, not the page (its CSP allows only its own scripts)
    assert _serious(page, "courier stop at a locker (en)") == []

    page.evaluate("window.laadbak.i18n.setLang('nl')")
    expect(locker.locator("h2")).to_have_text("Pakketautomaat")
    expect(locker).to_contain_text("Vak")
    expect(row.locator(".code")).to_have_text(door["code"])
    assert _serious(page, "courier stop at a locker (nl)") == []
    assert errors == []
