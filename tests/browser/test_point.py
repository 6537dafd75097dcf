"""The pickup-point app at /point on the shop's phone (412 × 915): the demo operator logs in,
sees what is announced, scans in the courier's parcels with keyboard-wedge input (one scanned
twice, one not announced here, one while offline that is sent when the connection is back),
hands one out by the customer's QR code and one by the typed code after a wrong one (the ID
check ticked), gives the parcel past its holding time back to the courier, and accepts a
customer's return into the point's cart; axe finds
nothing serious; the Dutch strings once.

The customer follows the order on its tracking page and turns on notifications: the
browser's subscription is one of the tests' local push service (tests/api/test_push.py),
whose origin the server lists in LAADBAK_PUSH_ALLOWED_ORIGINS. At scan-in the server's
relay pushes "ready for pickup" there, encrypted; the service decrypts it, and the QR
content in it is what the point then scans to hand the parcel out."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.security import pickup_code
from tests.api.test_push import FakePushService
from tests.browser.conftest import Server, require_browser
from tests.browser.seed_day import seed_small_day
from tests.browser.test_a11y_i18n import AXE, _serious

PHONE = {"width": 412, "height": 915}
RETURN_CODE = "R-PT7RET01"
SECRET = "test"  # the browser server's LAADBAK_SECRET_KEY (tests/browser/conftest.py)
TRACKING_TOKEN = "pt-a-customer-tracking-0001"


async def seed_point_day(db_path: Path, day: dt.date) -> dict[str, Any]:
    """The small day, and at the demo operator's point: an order of two parcels announced
    today and a parcel scanned in nine days ago, past its holding time."""
    from backend.db.tables import (
        Order,
        Parcel,
        PickupPoint,
        PointOperator,
        PointParcel,
        ReturnItem,
        ReturnRequest,
        User,
    )

    out = await seed_small_day(db_path, day)
    user = await User.select(User.id).where(User.username == "point").first()
    point_id = (await PointOperator.select(PointOperator.point).where(PointOperator.user == user["id"]).first())[
        "point"
    ]
    point = await PickupPoint.select().where(PickupPoint.id == point_id).first()
    orders = {}
    for ref, when, barcodes in (("PT-A", day, ["PT-1", "PT-2"]), ("PT-OLD", day - dt.timedelta(days=9), ["PT-OLD"])):
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
                    tracking_token=TRACKING_TOKEN if ref == "PT-A" else None,
                )
            )
        )[0]["id"]
        orders[ref] = order_id
        for b in barcodes:
            await Parcel.insert(Parcel(order=order_id, barcode=b, weight_kg=1.5, volume_l=4.0))
    old = await Parcel.select(Parcel.id).where(Parcel.barcode == "PT-OLD").first()
    scanned = dt.datetime.combine(day - dt.timedelta(days=9), dt.time(11))
    await PointParcel.insert(
        PointParcel(
            parcel=old["id"],
            point=point_id,
            order=orders["PT-OLD"],
            scanned_in_at=scanned,
            hold_until=scanned + dt.timedelta(days=7),
        )
    )
    # A customer's return of order PT-A, to be handed in at this point.
    rid = (
        await ReturnRequest.insert(
            ReturnRequest(
                code=RETURN_CODE,
                order=orders["PT-A"],
                hub=out["hubId"],
                outcome="refund",
                hand_in="pickup_point",
                pickup_point=point_id,
                created_at=dt.datetime.combine(day, dt.time(8)),
            )
        )
    )[0]["id"]
    await ReturnItem.insert(ReturnItem(request=rid, sku="JACKET-M", quantity=1, reason="too_small"))
    return {**out, "pointOrders": orders, "pointName": point["name"]}


SEED_DAY = seed_point_day


@pytest.fixture(scope="module")
def push_service() -> Iterator[FakePushService]:
    """The tests' push service on 127.0.0.1, for the whole module (the server is started knowing it)."""
    service = FakePushService()
    yield service
    service.close()


@pytest.fixture(scope="module")
def server_env(push_service: FakePushService) -> dict[str, str]:
    """The server may push to exactly the tests' push service (off by default: docs/security.md)."""
    return {"LAADBAK_PUSH_ALLOWED_ORIGINS": push_service.origin}


# Headless Chromium has no push service of its own: subscribe() answers the subscription of
# the tests' push service (its endpoint and the keys it decrypts with), as a browser answers
# the one its vendor's push service gave it.
FAKE_SUBSCRIBE = """
(() => {
  if (!window.PushManager) return;
  const sub = %s;
  PushManager.prototype.getSubscription = async function () { return null; };
  PushManager.prototype.subscribe = async function () { return { toJSON: () => sub }; };
})();
"""


def customer_follows(chromium: Any, server: Server, push_service: FakePushService) -> Any:
    """The customer's tracking page of order PT-A with notifications turned on; its context."""
    import json

    from playwright.sync_api import expect

    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    context.add_init_script(path=str(AXE))
    context.add_init_script(script=FAKE_SUBSCRIBE % json.dumps(push_service.subscription("customer")))
    page = context.new_page()
    page.goto(f"{server.base}/track/{TRACKING_TOKEN}")
    button = page.locator("#notify")
    expect(button).to_be_visible(timeout=10_000)
    with page.expect_response(lambda r: r.url.endswith(f"/track/{TRACKING_TOKEN}/push")) as answer:
        button.click()
    assert answer.value.status == 201, answer.value.text()
    expect(button).not_to_have_text("")
    assert _serious(page, "tracking page, notifications on") == []
    return context


def pushed(push_service: FakePushService, barcode: str, path: str, timeout_s: float = 15.0) -> dict[str, Any]:
    """The "ready for pickup" message for ``barcode`` to the subscription at ``path``, as the push
    service received and decrypted it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for got in list(push_service.received):
            if got["path"] == path and str(got["message"].get("qr", "")).startswith(f"LBP:{barcode}:"):
                return got
        time.sleep(0.1)
    raise AssertionError(f"no push for {barcode} within {timeout_s} s: {push_service.received}")


@pytest.fixture
def phone(chromium: Any) -> Any:
    violations: list[str] = []
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    context.add_init_script(path=str(AXE))
    context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        yield context
    finally:
        context.close()
    assert not violations, violations


def answered(page: Any, before: int) -> None:
    """Wait for the app to have answered one more action (a string predicate would need eval: the CSP forbids it)."""
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-answered", str(before + 1), timeout=10_000)


def wedge(page: Any, code: str) -> None:
    """A keyboard-wedge scan into the scan field: the characters fast, then Enter; waits for the answer."""
    before = page.evaluate("window.laadbak.state.answered")
    page.locator("#scan").focus()
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")
    answered(page, before)


def test_a_local_push_endpoint_is_refused_unless_listed(server: Server, push_service: FakePushService) -> None:
    """The real server process: another port on loopback is refused (422), the listed origin is not."""
    require_browser()
    sub = push_service.subscription("other")
    other_port = push_service.server.server_address[1] + 1
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for endpoint in (f"http://127.0.0.1:{other_port}/push/x", f"http://localhost:{other_port - 1}/push/x"):
            r = client.post(f"/track/{TRACKING_TOKEN}/push", json={**sub, "endpoint": endpoint})
            assert r.status_code == 422, (endpoint, r.text)
            assert "push" in r.json()["detail"]
        assert client.post(f"/track/{TRACKING_TOKEN}/push", json=sub).status_code == 201


def test_a_point_scans_in_hands_out_and_sends_back(
    server: Server, phone: Any, chromium: Any, push_service: FakePushService
) -> None:
    require_browser()
    from playwright.sync_api import expect

    customer = customer_follows(chromium, server, push_service)

    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/point")  # without the slash: redirected to /point/
    page.fill("#username", "point")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#screen h1")).to_have_text(server.day["pointName"], timeout=10_000)
    expect(page.locator("#announced-today")).to_contain_text("parcels")
    expect(page.locator("#to-return .figure")).to_have_text("1")
    for tab in page.locator("[data-tab]").all():  # big enough for a thumb
        box = tab.bounding_box()
        assert box and box["width"] >= 48 and box["height"] >= 48, box

    # Dutch once: the switch in the top bar, the tabs in Dutch, back to English.
    page.click("#top-lang [data-lang=nl]")
    expect(page.locator("[data-tab=today]")).to_have_text("Vandaag")
    expect(page.locator("#announced-today h2")).to_have_text("Vandaag aangekondigd")
    assert _serious(page, "point, today (nl)") == []
    page.click("#top-lang [data-lang=en]")
    expect(page.locator("[data-tab=scanIn]")).to_contain_text("Scan in")

    # Scan in: the courier's parcels; one twice, one not for this point, one while offline.
    page.click("[data-tab=scanIn]")
    assert page.locator("#scan").get_attribute("inputmode") == "none"
    wedge(page, "PT-1")
    expect(page.locator("#scans li").first).to_have_text("PT-1: on the shelf, customer told")
    # The customer's push, through the tests' push service: decrypted with the browser's keys.
    code = pickup_code(SECRET, server.day["pointOrders"]["PT-A"])
    got = pushed(push_service, "PT-1", "/push/customer")
    assert got["headers"]["content-encoding"] == "aes128gcm"
    message = got["message"]
    assert message["type"] == "ready_for_pickup" and message["code"] == code
    assert message["title"] == f"Ready for pickup at {server.day['pointName']}" and code in message["body"]
    assert message["qr"] == f"LBP:PT-1:{code}"
    customer.close()
    wedge(page, "PT-1")
    expect(page.locator("#scans li").first).to_have_text("PT-1: already on the shelf")
    wedge(page, "NOT-HERE-9")
    expect(page.locator("#alert")).to_contain_text("not announced for")
    phone.set_offline(True)
    wedge(page, "PT-2")
    expect(page.locator("#pending")).to_contain_text("1 scan waiting")
    phone.set_offline(False)  # the app sends what it kept when the connection is back
    expect(page.locator("#scans li").first).to_have_text("PT-2: on the shelf, customer told", timeout=10_000)
    expect(page.locator("#pending")).to_have_count(0)
    assert _serious(page, "point, scan in") == []

    # Hand out: the customer's QR (the pushed message's, scanned) with the ID check ticked.
    page.click("[data-tab=handOut]")
    page.check("#id-check")
    wedge(page, message["qr"])
    expect(page.locator("#status")).to_have_text("PT-1 handed out")
    expect(page.locator("#alert")).to_be_empty()
    # By the label and a typed code: a wrong one first (its sentence), then the right one.
    wedge(page, "PT-2")
    expect(page.locator("#hand-barcode")).to_have_text("PT-2")
    expect(page.locator("#code")).to_be_focused()
    page.check("#id-check")
    page.fill("#code", "000000" if code != "000000" else "111111")
    before = page.evaluate("window.laadbak.state.answered")
    page.click("#hand-out")
    answered(page, before)
    expect(page.locator("#alert")).to_contain_text("not the pickup code")
    page.fill("#code", code)
    before = page.evaluate("window.laadbak.state.answered")
    page.click("#hand-out")
    answered(page, before)
    expect(page.locator("#status")).to_have_text("PT-2 handed out")
    assert _serious(page, "point, hand out") == []

    # To return: the parcel past its holding time goes back with the courier.
    page.click("[data-tab=toReturn]")
    expect(page.locator("[data-return]")).to_have_count(1)
    before = page.evaluate("window.laadbak.state.answered")
    page.click("[data-return=PT-OLD]")
    answered(page, before)
    expect(page.locator("[data-return]")).to_have_count(0)
    assert _serious(page, "point, to return") == []

    # Returns: the customer's return code scanned, its items shown, accepted into the cart.
    page.click("[data-tab=returns]")
    wedge(page, RETURN_CODE.lower())
    expect(page.locator("#ret-shown")).to_contain_text("1 × JACKET-M")
    before = page.evaluate("window.laadbak.state.answered")
    page.click("#ret-accept")
    answered(page, before)
    expect(page.locator("#status")).to_have_text(f"{RETURN_CODE} is in the returns cart")
    expect(page.locator("#ret-cart li")).to_have_count(1)
    assert _serious(page, "point, returns") == []
    page.click("[data-tab=today]")
    expect(page.locator("#returns-cart .figure")).to_have_text("1")

    day = server.login("point", server.day["password"]).get("/point/today").json()
    assert {p["barcode"] for p in day["handedOut"]} == {"PT-1", "PT-2"}
    assert [c["code"] for c in day["returnsCart"]] == [RETURN_CODE]
    assert day["toReturn"] == [] and all(p["barcode"] not in ("PT-1", "PT-2") for p in day["inPoint"])
    assert errors == []
