"""The pickup-point app at a locker bank (the demo operator's point made a bank of two doors):
Today lists the announced parcels one by one with the door each is kept in, and "waits for a
door" for one that has none yet (docs/lockers.md); in English and Dutch; axe finds nothing
serious."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, require_browser
from tests.browser.seed_day import seed_small_day
from tests.browser.test_a11y_i18n import AXE, _serious

PHONE = {"width": 412, "height": 915}


async def seed_locker_day(db_path: Path, day: dt.date) -> dict[str, Any]:
    """The small day; the operator's point is a locker bank with doors A1 and B1; an order for
    today kept in A1 and one for tomorrow that waits for a door."""
    from backend.db.locker_tables import LockerCompartment
    from backend.db.tables import Order, Parcel, PickupPoint, PointOperator, User

    out = await seed_small_day(db_path, day)
    user = await User.select(User.id).where(User.username == "point").first()
    point_id = (await PointOperator.select(PointOperator.point).where(PointOperator.user == user["id"]).first())[
        "point"
    ]
    await PickupPoint.update({PickupPoint.kind: "locker"}).where(PickupPoint.id == point_id)
    point = await PickupPoint.select().where(PickupPoint.id == point_id).first()
    doors = {}
    for label, height in (("A1", 10.0), ("B1", 40.0)):
        row = LockerCompartment(
            point=point_id, label=label, width_cm=40.0, height_cm=height, depth_cm=60.0, max_weight_kg=20.0
        )
        doors[label] = (await LockerCompartment.insert(row))[0]["id"]
    for ref, when, barcode, door in (
        ("LK-A", day, "LK-1", "A1"),
        ("LK-B", day + dt.timedelta(days=1), "LK-2", None),
    ):
        start = dt.datetime.combine(when, dt.time(9))
        order_id = (
            await Order.insert(
                Order(
                    reference=ref,
                    hub=out["hubId"],
                    customer_name=f"Customer {ref}",
                    lat=point["lat"],
                    lon=point["lon"],
                    pickup_point=point_id,
                    delivery_date=when,
                    window_start=start,
                    window_end=start + dt.timedelta(hours=9),
                )
            )
        )[0]["id"]
        parcel = (await Parcel.insert(Parcel(order=order_id, barcode=barcode, weight_kg=1.5, volume_l=4.0)))[0]["id"]
        if door is not None:
            await LockerCompartment.update(
                {
                    LockerCompartment.parcel: parcel,
                    LockerCompartment.order: order_id,
                    LockerCompartment.purpose: "delivery",
                    LockerCompartment.drop_code: "123456",
                }
            ).where(LockerCompartment.id == doors[door])
    return {**out, "pointName": point["name"]}


SEED_DAY = seed_locker_day


@pytest.fixture(scope="module")
def phone(chromium: Any) -> Any:
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    context.add_init_script(path=str(AXE))
    try:
        yield context
    finally:
        context.close()


def test_today_at_a_locker_bank_shows_each_parcels_compartment(server: Server, phone: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/point/")
    page.fill("#username", "point")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#screen h1")).to_have_text(server.day["pointName"], timeout=10_000)
    table = page.locator("#announced-list")
    expect(table.locator("th")).to_have_text(["Parcel", "Customer", "Day", "Compartment"])
    expect(table.locator("tr[data-parcel=LK-1] td")).to_have_text(["LK-1", "Customer LK-A", "Today", "A1"])
    expect(table.locator("tr[data-parcel=LK-2] td")).to_have_text(
        ["LK-2", "Customer LK-B", "Tomorrow", "Waits for a door"]
    )
    assert _serious(page, "point at a locker, today (en)") == []

    page.click("#top-lang [data-lang=nl]")
    expect(table.locator("th").last).to_have_text("Vak")
    expect(table.locator("tr[data-parcel=LK-2] td").last).to_have_text("Wacht op een vak")
    expect(table.locator("tr[data-parcel=LK-1] td").nth(2)).to_have_text("Vandaag")
    assert _serious(page, "point at a locker, today (nl)") == []
    page.click("#top-lang [data-lang=en]")
    assert errors == []
