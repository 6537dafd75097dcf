"""The pickup point's desk through the API: pre-advice, scan-in with the customer's
"ready for pickup" message, hand-out against the pickup code, the lock after wrong
codes, parcels past their holding time, another point's parcels, replays, and a full
point refused by order intake and by the failed-stop policy."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid

import pytest

from backend.db.tables import Alert, Order, OutboxEvent, Parcel, PointOperator, PointParcel
from backend.realtime.notifications import notifications_for
from backend.realtime.push_relay import PushRelay
from backend.security import pickup_code
from backend.services.disruptions import after_failed_stop
from backend.services.point_room import room_left
from tests.api.helpers import admin, login, make_user, post_ok, problem, service_ctx, tomorrow
from tests.api.test_planning import _addresses
from tests.api.test_push import FakePushService
from tests.api.test_replanning import _planned_day, _started_with_loaded_delivery

SECRET = "test-key"  # the settings fixture's LAADBAK_SECRET_KEY
EVERY_DAY = [{"days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "opens": "07:00", "closes": "23:00"}]


@pytest.fixture
def push_service():
    """The tests' local push service (tests/api/test_push.py)."""
    service = FakePushService()
    yield service
    service.close()


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _point(client, h: dict, hub: int, name: str, address: str, capacity: int, **more) -> int:
    body = {
        **more,
        "name": name,
        "kind": "parcel_shop",
        "address": address,
        "hubId": hub,
        "capacityParcels": capacity,
        "maxWeightKg": 20,
        "maxVolumeL": 60,
        "openingHours": EVERY_DAY,
    }
    return (await post_ok(client, "/pickup-points", body, h))["id"]


async def _order(client, h: dict, hub: int, ref: str, point: int, barcodes: list[str], day: dt.date) -> int:
    body = {
        "reference": ref,
        "hubId": hub,
        "customerName": f"Customer {ref}",
        "customerEmail": f"{ref.lower()}@example.org",
        "date": day.isoformat(),
        "pickupPointId": point,
        "slot": "day",
        "parcels": [{"weightKg": 1, "volumeL": 2, "barcode": b} for b in barcodes],
    }
    return (await post_ok(client, "/orders", body, h))["id"]


async def _desk(client, geo) -> dict:
    """Point A (5 places) with 3 parcels announced today and 1 tomorrow, point B with 1."""
    h = await admin(client)
    a = _addresses(geo)
    hub = (await post_ok(client, "/hubs", {"name": "Hub", "address": a[100]}, h))["id"]
    pa = await _point(client, h, hub, "Kiosk Alpha", a[150], 5)
    pb = await _point(client, h, hub, "Kiosk Beta", a[153], 5, holdingDays=3)
    today = dt.date.today()
    orders = {
        "A1": await _order(client, h, hub, "A1", pa, ["PA-1"], today),
        "A2": await _order(client, h, hub, "A2", pa, ["PA-2", "PA-3"], today),
        "AT": await _order(client, h, hub, "AT", pa, ["PA-T"], tomorrow()),
        "B1": await _order(client, h, hub, "B1", pb, ["PB-1"], today),
    }
    for name, point in (("pointa", pa), ("pointb", pb)):
        uid = await make_user(name, "point")
        await PointOperator.insert(PointOperator(user=uid, point=point))
    return {
        "h": h,
        "hub": hub,
        "pa": pa,
        "pb": pb,
        "orders": orders,
        "a": await login(client, "pointa"),
        "b": await login(client, "pointb"),
    }


async def _scan(client, who: dict, barcode: str, headers: dict | None = None):
    return await client.post("/point/scan-in", json={"barcode": barcode}, headers={**who, **(headers or key())})


async def _hand(client, who: dict, barcode: str, code: str, headers: dict | None = None):
    body = {"barcode": barcode, "code": code, "idChecked": True, "idNote": "driving licence"}
    return await client.post("/point/hand-out", json=body, headers={**who, **(headers or key())})


async def test_pre_advice_scan_in_ready_message_and_hand_out(client, geo) -> None:
    d = await _desk(client, geo)
    day = (await client.get("/point/today", headers=d["a"])).json()
    assert day["point"]["name"] == "Kiosk Alpha" and day["point"]["holdingDays"] == 7
    today, tomorrow_ = day["announced"]
    assert (today["count"], tomorrow_["count"]) == (3, 1)
    assert sorted(p["barcode"] for p in today["parcels"]) == ["PA-1", "PA-2", "PA-3"]
    assert today["weightKg"] == 3 and today["volumeL"] == 6 and today["courier"]["planned"] == "window"
    # 5 places less what comes that day, and tomorrow less today's 3 too (still on the shelf then).
    assert (today["room"], tomorrow_["room"]) == (2, 1)

    k = key()
    r = await _scan(client, d["a"], " PA-1 ", k)  # a scanner's stray blank is no other parcel
    assert r.status_code == 200 and r.json()["result"] == "scanned_in", r.text
    again = await _scan(client, d["a"], " PA-1 ", k)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == r.json()
    twice = await _scan(client, d["a"], "PA-1")  # the same label scanned again: nothing changes
    assert twice.status_code == 200 and twice.json()["result"] == "already_in"
    assert await PointParcel.count() == 1

    # The customer's message: pushed to the order's subscribers, and ready to be e-mailed.
    (event,) = await OutboxEvent.select().where(OutboxEvent.kind == "point.ready").output(load_json=True)
    code = pickup_code(SECRET, d["orders"]["A1"])
    ready = event["payload"]
    assert ready["code"] == code and ready["email"]["to"] == "a1@example.org"
    assert code in ready["email"]["text"] and "07:00-23:00" in ready["email"]["text"]
    ((audience, order_id, push),) = notifications_for({**event, "payload": ready})
    assert (audience, order_id) == ("order", d["orders"]["A1"]) and code in push["body"]

    day = (await client.get("/point/today", headers=d["a"])).json()
    assert [p["barcode"] for p in day["inPoint"]] == ["PA-1"] and day["announced"][0]["count"] == 2
    assert day["announced"][0]["room"] == 2  # one on the shelf, two to come

    wrong = problem(await _hand(client, d["a"], "PA-1", "000000" if code != "000000" else "111111"), 422)
    assert "4 tries left" in wrong["detail"]
    k = key()
    r = await _hand(client, d["a"], "PA-1", code, k)
    assert r.status_code == 200 and r.json() == {"result": "handed_out", "barcode": "PA-1", "idChecked": True}
    assert (await _hand(client, d["a"], "PA-1", code, k)).headers.get("Idempotent-Replayed") == "true"
    problem(await _hand(client, d["a"], "PA-1", code), 409)  # handed out once
    row = await PointParcel.select().first()
    assert row["status"] == "handed_out" and row["id_checked"] and row["id_note"] == "driving licence"
    assert row["wrong_tries"] == 1
    day = (await client.get("/point/today", headers=d["a"])).json()
    assert [p["barcode"] for p in day["handedOut"]] == ["PA-1"] and day["inPoint"] == []
    assert day["announced"][0]["room"] == 3


async def test_a_parcel_not_announced_here_is_refused_and_flagged_to_dispatch(client, geo) -> None:
    d = await _desk(client, geo)
    unknown = problem(await _scan(client, d["a"], "NOBODY-42"), 409)
    assert "not announced for Kiosk Alpha" in unknown["detail"] and "dispatch has been told" in unknown["detail"]
    problem(await _scan(client, d["a"], "PB-1"), 409)  # Kiosk Beta's parcel
    problem(await _scan(client, d["a"], "PB-1"), 409)  # scanned again: still one alert
    alerts = await Alert.select(Alert.kind, Alert.key, Alert.detail, Alert.hub).order_by(Alert.id)
    assert [(a["kind"], a["key"]) for a in alerts] == [
        ("point_mismatch", f"{d['pa']}:NOBODY-42"),
        ("point_mismatch", f"{d['pa']}:PB-1"),
    ]
    assert all(a["hub"] == d["hub"] for a in alerts) and "which no order knows" in alerts[0]["detail"]
    assert await PointParcel.count() == 0  # nothing on the shelf
    # The alert is on the hub's list for its dispatchers.
    listed = (await client.get(f"/hubs/{d['hub']}/alerts?date={dt.date.today()}", headers=d["h"])).json()
    assert {a["kind"] for a in listed} == {"point_mismatch"}


async def test_another_points_parcel_answers_not_found_and_roles_are_kept(client, geo) -> None:
    d = await _desk(client, geo)
    assert (await _scan(client, d["b"], "PB-1")).status_code == 200
    code = pickup_code(SECRET, d["orders"]["B1"])
    problem(await _hand(client, d["a"], "PB-1", code), 404)  # even with the right code
    problem(await client.post("/point/send-back", json={"barcode": "PB-1"}, headers={**d["a"], **key()}), 404)
    problem(await _hand(client, d["a"], "PA-1", "123456"), 404)  # announced but not scanned in yet
    held = await PointParcel.select(PointParcel.status, PointParcel.hold_until).first()
    assert held["status"] == "in"
    assert held["hold_until"].date() == dt.date.today() + dt.timedelta(days=3)  # Kiosk Beta's holding days
    # A dispatcher is no point operator; a point user linked to no point is told so.
    await make_user("disp", "dispatcher", hub_id=d["hub"])
    problem(await client.get("/point/today", headers=await login(client, "disp")), 403)
    await make_user("lost", "point")
    lost = problem(await client.get("/point/today", headers=await login(client, "lost")), 403)
    assert "no pickup point" in lost["detail"]
    client.cookies.clear()  # the logins above left their session cookies
    problem(await client.get("/point/today"), 401)
    # Bad bodies: a 4xx with a sentence, nothing written.
    problem(await client.post("/point/scan-in", json={"barcode": ""}, headers={**d["a"], **key()}), 400)
    problem(await client.post("/point/scan-in", json={"barcode": "PA-1"}, headers=d["a"]), 422)  # no key
    assert await PointParcel.count() == 1


async def test_too_many_wrong_codes_lock_the_parcel_for_a_while(client, geo) -> None:
    d = await _desk(client, geo)
    assert (await _scan(client, d["a"], "PA-2")).status_code == 200
    code = pickup_code(SECRET, d["orders"]["A2"])
    bad = "000000" if code != "000000" else "111111"
    # Arabic-Indic digits among them: another wrong code, not a server error.
    for left, wrong in zip((4, 3, 2, 1), (bad, "١٢٣٤٥٦", bad, bad), strict=True):
        assert f"{left} tries left" in problem(await _hand(client, d["a"], "PA-2", wrong), 422)["detail"]
    locked_answer = await _hand(client, d["a"], "PA-2", bad)
    locked = problem(locked_answer, 429)
    assert "locked until" in locked["detail"] and int(locked_answer.headers["retry-after"]) == 15 * 60
    doc = (await client.get("/schema/openapi.json")).json()
    assert "429" in doc["paths"]["/point/hand-out"]["post"]["responses"]  # the contract says so
    k = key()
    problem(await _hand(client, d["a"], "PA-2", code, k), 429)  # the right code waits too: no guessing
    row = await PointParcel.select().first()
    assert row["status"] == "in" and row["wrong_tries"] == 5 and row["locked_until"] is not None
    day = (await client.get("/point/today", headers=d["a"])).json()
    assert day["inPoint"][0]["lockedUntil"] and day["inPoint"][0]["wrongTries"] == 5  # the point sees it
    # A quarter of an hour later the customer with the right code gets the parcel.
    later = row["locked_until"] + dt.timedelta(minutes=1)
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: later)
    problem(await _hand(client, d["a"], "PA-2", code, k), 429)  # the refused request's replay stays refused
    assert (await _hand(client, d["a"], "PA-2", code)).status_code == 200


async def test_parcels_past_their_holding_time_are_listed_and_sent_back(client, geo) -> None:
    d = await _desk(client, geo)
    for barcode in ("PA-1", "PA-2"):
        assert (await _scan(client, d["a"], barcode)).status_code == 200
    early = problem(await client.post("/point/send-back", json={"barcode": "PA-1"}, headers={**d["a"], **key()}), 409)
    assert "may still be collected until" in early["detail"]
    past = dt.datetime.now() - dt.timedelta(hours=1)
    await PointParcel.update({PointParcel.hold_until: past}).where(
        PointParcel.parcel == (await Parcel.select(Parcel.id).where(Parcel.barcode == "PA-1").first())["id"]
    )
    day = (await client.get("/point/today", headers=d["a"])).json()
    assert [p["barcode"] for p in day["toReturn"]] == ["PA-1"]
    k = key()
    r = await client.post("/point/send-back", json={"barcode": "PA-1"}, headers={**d["a"], **k})
    assert r.status_code == 200 and r.json()["result"] == "returned"
    again = await client.post("/point/send-back", json={"barcode": "PA-1"}, headers={**d["a"], **k})
    assert again.headers.get("Idempotent-Replayed") == "true"
    day = (await client.get("/point/today", headers=d["a"])).json()
    assert day["toReturn"] == [] and [p["barcode"] for p in day["inPoint"]] == ["PA-2"]


async def test_a_point_full_of_parcels_on_its_shelves_takes_no_more_orders(client, geo) -> None:
    d = await _desk(client, geo)
    for barcode in ("PA-1", "PA-2", "PA-3"):
        assert (await _scan(client, d["a"], barcode)).status_code == 200
    # Tomorrow: 5 places, 3 still on the shelf, 1 announced: room for 1.
    assert await room_left(d["pa"], tomorrow()) == 1
    r = await client.post(
        "/orders",
        json={
            "reference": "A-TOO-MANY",
            "hubId": d["hub"],
            "customerName": "Late",
            "date": tomorrow().isoformat(),
            "pickupPointId": d["pa"],
            "slot": "day",
            "parcels": [{"weightKg": 1, "volumeL": 2}, {"weightKg": 1, "volumeL": 2}],
        },
        headers=d["h"],
    )
    assert "room for 1 more parcel" in problem(r, 409)["detail"]
    assert not await Order.exists().where(Order.reference == "A-TOO-MANY")
    await _order(client, d["h"], d["hub"], "A-ONE-MORE", d["pa"], ["PA-X"], tomorrow())
    assert await room_left(d["pa"], tomorrow()) == 0


async def test_the_desk_and_the_full_point_alert_count_the_shelves_and_the_room_left(client, geo) -> None:
    """Point A (5 places): today's 3 parcels scanned in and still on its shelf, 1 announced for
    tomorrow. Tomorrow, none of that day's parcels is delivered yet, but the shelf holds 3: the
    desk says 3 waiting and 1 place left, and one more order for tomorrow makes the point full
    (pickup_point_full) - both by point_room, as order intake counts. A parcel handed out
    leaves the shelf."""
    from backend.services.alerts import check_hub_alerts

    d = await _desk(client, geo)
    for barcode in ("PA-1", "PA-2", "PA-3"):
        assert (await _scan(client, d["a"], barcode)).status_code == 200
    day = tomorrow()

    async def point_a() -> tuple[int, int]:
        r = await client.get(f"/hubs/{d['hub']}/desk", params={"date": day.isoformat()}, headers=d["h"])
        assert r.status_code == 200, r.text
        (p,) = [p for p in r.json()["pickupPoints"] if p["id"] == d["pa"]]
        return p["parcelsWaiting"], p["roomLeft"]

    async def full() -> list[dict]:
        raised = await check_hub_alerts(service_ctx(client), d["hub"], dt.datetime.combine(day, dt.time(11)))
        return [a.data for a in raised if a.kind == "pickup_point_full"]

    assert await point_a() == (3, 1)
    assert await full() == []  # 4 of 5 places: 80 %
    await _order(client, d["h"], d["hub"], "A-ONE-MORE", d["pa"], ["PA-X"], day)
    assert await point_a() == (3, 0)
    assert await full() == [{"pickupPointId": d["pa"], "waiting": 3, "capacity": 5, "roomLeft": 0}]
    handed = await Parcel.select(Parcel.id).where(Parcel.barcode == "PA-1").first()
    await PointParcel.update({PointParcel.status: "handed_out"}).where(PointParcel.parcel == handed["id"])
    assert await point_a() == (2, 1)


async def test_the_failed_stop_policy_skips_a_point_full_of_held_parcels(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    a_ = _addresses(geo)
    near = await _point(client, h, hub, "Kiosk Near", a_[150], 2)
    far = await _point(client, h, hub, "Kiosk Far", a_[153], 2)
    a, failed = await _started_with_loaded_delivery(hub, routes)
    # Kiosk Near's two places hold parcels from earlier days (any two of other orders).
    others = await Parcel.select(Parcel.id, Parcel.order).where(Parcel.order != failed["orderId"]).limit(2)
    now = dt.datetime.combine(tomorrow(), dt.time(11, 0))
    for p in others:
        await PointParcel.insert(
            PointParcel(parcel=p["id"], point=near, order=p["order"], scanned_in_at=now, hold_until=now)
        )
    assert await room_left(near, tomorrow()) == 0
    done = await after_failed_stop(
        service_ctx(client, {a["courier"]: (failed["lat"], failed["lon"])}),
        failed["stopId"],
        now,
        policy="pickup_point",
        time_limit_s=1.0,
    )
    assert done["next"]["next"] == "pickup_point" and done["next"]["pickupPoint"]["id"] == far


async def test_the_demo_login_point_works_at_a_point_with_parcels_announced(tmp_path, geo) -> None:
    from backend.db.engine import make_engine, migrate, use_database
    from backend.db.tables import User
    from backend.services.demo import seed

    use_database(make_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}"))
    await migrate()
    city = await seed(geo, dt.date.today(), orders_count=60, couriers=2)
    assert city.logins["point"] == "laadbak-demo"
    user = await User.select(User.id, User.role).where(User.username == "point").first()
    link = await PointOperator.select(PointOperator.point).where(PointOperator.user == user["id"]).first()
    assert user["role"] == "point" and link is not None
    announced = await Parcel.count().where(
        (Parcel.order.pickup_point == link["point"]) & (Parcel.order.delivery_date == dt.date.today())
    )
    assert announced > 0


async def test_the_customers_push_arrives_with_the_code(client, geo, push_service) -> None:
    """Through the tests' local push service: the customer follows the order on its tracking
    page, the point scans the parcel in, the relay pushes "ready for pickup" with the code."""
    d = await _desk(client, geo)
    client.app.state.push.endpoints = push_service.endpoints()  # the fake service is on loopback
    token = (await Order.select(Order.tracking_token).where(Order.id == d["orders"]["A1"]).first())["tracking_token"]
    r = await client.post(f"/track/{token}/push", json=push_service.subscription("customer"))
    assert r.status_code == 201, r.text
    relay = PushRelay(client.app.state.push)
    assert (await _scan(client, d["a"], "PA-1")).status_code == 200
    await relay.step()  # or the app's own relay (started with the app) sends it first: either way, once
    for _ in range(50):
        if push_service.received:
            break
        await asyncio.sleep(0.1)
    (got,) = push_service.received
    code = pickup_code(SECRET, d["orders"]["A1"])
    assert got["message"]["type"] == "ready_for_pickup" and got["message"]["code"] == code
    assert got["message"]["title"] == "Ready for pickup at Kiosk Alpha" and code in got["message"]["body"]
    assert got["message"]["qr"] == f"LBP:PA-1:{code}"
