"""Several loops a shift in the courier PWA, in a real Chromium: with the first loop
ridden, the app says "Back to the hub, load loop 2" with that loop's parcels; once
they are scanned in, it shows the loop's first stop."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import Server, require_browser
from tests.browser.seed_day import seed_small_day


async def _seed_in_loops(db_path: Path, day: dt.date) -> dict[str, Any]:
    """The small day, the test courier's route split in two loops, the first one ridden."""
    from backend.db.tables import Parcel, Route, Shift, Stop

    info = await seed_small_day(db_path, day)
    route = (
        await Route.select()
        .where((Route.courier == info["courierId"]) & Route.current.eq(True))
        .output(load_json=True)
        .first()
    )
    stops = route["stops"]
    half = len(stops) // 2
    for i, s in enumerate(stops):
        s["loop"] = 1 if i < half else 2
    back = stops[half - 1]["departure"]
    out = (dt.datetime.fromisoformat(back) + dt.timedelta(minutes=25)).isoformat()
    reloads = [{"loop": 2, "arrival": back, "departure": out, "load_kg": 10.0, "load_l": 40.0, "distance_m": 1000}]
    await Route.update({Route.stops: stops, Route.reloads: reloads}).where(Route.id == route["id"])
    await Shift.update({Shift.status: "started"}).where(Shift.id == route["shift"])
    first = [s["stop_id"] for s in stops[:half]]
    now = dt.datetime.combine(day, dt.time(9, 0))
    await Stop.update({Stop.status: "delivered", Stop.completed_at: now}).where(Stop.id.is_in(first))
    orders = [s["order_id"] for s in stops[:half]]
    await Parcel.update({Parcel.status: "delivered"}).where(Parcel.order.is_in(orders))
    return {**info, "loop2": [s["stop_id"] for s in stops[half:]]}


SEED_DAY = _seed_in_loops


def test_back_to_the_hub_load_loop_2_then_its_first_stop(server: Server, browser_context) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/courier/")
    page.fill("#username", server.day["username"])
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    card = page.locator("#reload-card")
    expect(card).to_be_visible(timeout=10_000)
    expect(card.locator("h2")).to_have_text("Back to the hub, load loop 2")
    view = page.evaluate("window.laadbak.computeView()")
    loop2 = [item for item in view["loading"] if item["loop"] == 2]
    to_load = [item for item in loop2 if not item["loaded"]]  # (an order split over both halves is marked delivered)
    assert to_load
    assert {item["stopId"] for item in loop2} <= set(server.day["loop2"])
    expect(card.locator(".load-item")).to_have_count(len(loop2))

    # the loading screen: loop 2 first; scanning its parcels in
    page.click("#reload-card a[href='#/load']")
    expect(page.locator("#load-list .list-sep[data-loop='2']")).to_contain_text("Loop 2")
    for item in sorted(to_load, key=lambda x: x["loadOrder"]):
        page.fill("#load-input", "")
        page.type("#load-input", item["barcode"], delay=5)
        page.press("#load-input", "Enter")
        expect(page.locator(f"#load-list .load-item[data-barcode='{item['barcode']}']")).to_have_class(
            re.compile(r"\bloaded\b"), timeout=5_000
        )
    # loaded: the route shows loop 2's first stop
    page.click("#tabs a[data-tab=route]")
    expect(page.locator("#reload-card")).to_be_hidden(timeout=5_000)
    expect(page.locator("#next-stop")).to_be_visible()
    nxt = page.locator("#next-stop").get_attribute("data-stop")
    assert int(nxt) in server.day["loop2"]
    assert errors == []
