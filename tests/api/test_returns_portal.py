"""The return portal (no login) and receiving at the hub: find, create, replay, refusals,
a courier slot that becomes a pickup stop in a route, receiving with an unexpected item."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from backend.db.tables import Hub, Order, OrderLine, Parcel, PickupPoint, Product, ReturnEvent, Route, Stop, StopEvent
from backend.services.returns_portal import NOT_FOUND, plan_in_return_pickup
from tests.api.helpers import done_by_the_worker, login, make_user, problem, service_ctx, tomorrow
from tests.api.test_planning import _small_day


def _now(client) -> dt.datetime:
    now: dt.datetime = client.app.state.context.now()
    return now


async def _products() -> None:
    if not await Product.exists().where(Product.sku == "JAS-42"):
        await Product.insert(
            Product(sku="JAS-42", name="Jas", category="clothing", weight_g=1200, volume_ml=4000),
            Product(sku="HONEY", name="Honing", category="food", weight_g=500, volume_ml=400),
            Product(sku="SJAAL", name="Sjaal", category="clothing", weight_g=200, volume_ml=500),
        )


async def delivered_order(
    client,
    hub: int | None = None,
    *,
    days_ago: int = 2,
    ref: str | None = None,
    place: tuple[float, float] = (60.17, 24.94),
) -> tuple[dict, dict[str, int]]:
    """An order delivered ``days_ago`` with a jacket (2) and honey (not returnable by default? food: see policy)."""
    await _products()
    if hub is None:
        hub = (await Hub.insert(Hub(name=f"Hub {uuid.uuid4().hex[:6]}", lat=60.17, lon=24.94)))[0]["id"]
    now = _now(client)
    day = now.date() - dt.timedelta(days=days_ago)
    ref = ref or f"R-{uuid.uuid4().hex[:8]}"
    oid = (
        await Order.insert(
            Order(
                reference=ref,
                hub=hub,
                customer_name="Anna",
                address="Mannerheimintie 1",
                postcode="00100",
                lat=place[0],
                lon=place[1],
                delivery_date=day,
                window_start=dt.datetime.combine(day, dt.time(10)),
                window_end=dt.datetime.combine(day, dt.time(12)),
                status="delivered",
            )
        )
    )[0]["id"]
    await Stop.insert(
        Stop(
            order=oid,
            hub=hub,
            kind="delivery",
            address="Mannerheimintie 1",
            lat=place[0],
            lon=place[1],
            plan_date=day,
            window_start=dt.datetime.combine(day, dt.time(10)),
            window_end=dt.datetime.combine(day, dt.time(12)),
            status="delivered",
            completed_at=dt.datetime.combine(day, dt.time(11)),
        )
    )
    lines = await OrderLine.insert(
        OrderLine(order=oid, sku="JAS-42", quantity=2, status="picked"),
        OrderLine(order=oid, sku="SJAAL", quantity=1, status="picked"),
    )
    point = (await PickupPoint.insert(_point(hub)))[0]["id"]
    label = f"LB{uuid.uuid4().hex[:10].upper()}"
    await Parcel.insert(Parcel(order=oid, barcode=label, weight_kg=2, volume_l=8, status="delivered"))
    order = {"id": oid, "ref": ref, "hub": hub, "point": point, "label": label}
    return order, {"jas": lines[0]["id"], "sjaal": lines[1]["id"]}


def _point(hub: int) -> PickupPoint:
    return PickupPoint(
        name="Kiosk",
        kind="parcel_shop",
        lat=60.171,
        lon=24.941,
        capacity_parcels=20,
        max_weight_kg=20,
        max_volume_l=50,
        hub=hub,
    )


def _body(order: dict, line: int, **extra) -> dict:
    body = {
        "orderNumber": order["ref"],
        "postcode": "00 100",  # spaces do not matter
        "items": [{"lineId": line, "quantity": 1, "reason": "too_small"}],
        "outcome": "refund",
        "handIn": "pickup_point",
        "pickupPointId": order["point"],
    }
    body.update(extra)
    return body


async def test_a_wrong_postcode_and_an_unknown_order_get_the_same_answer(client) -> None:
    order, _ = await delivered_order(client)
    wrong = await client.post("/portal/returns/find", json={"orderNumber": order["ref"], "postcode": "99999"})
    unknown = await client.post("/portal/returns/find", json={"orderNumber": "NO-SUCH", "postcode": "00100"})
    assert problem(wrong, 404)["detail"] == problem(unknown, 404)["detail"] == NOT_FOUND
    found = await client.post("/portal/returns/find", json={"orderNumber": order["ref"], "postcode": "00100"})
    assert found.status_code == 200, found.text
    items = {i["sku"]: i for i in found.json()["items"]}
    assert items["JAS-42"]["returnable"] == 2 and items["JAS-42"]["whyNot"] is None
    assert found.json()["courierSlots"] and found.json()["pickupPoints"][0]["id"] == order["point"]


async def test_wrong_pairs_are_throttled(client) -> None:
    order, _ = await delivered_order(client)
    for _ in range(10):
        problem(await client.post("/portal/returns/find", json={"orderNumber": order["ref"], "postcode": "1"}), 404)
    r = await client.post("/portal/returns/find", json={"orderNumber": order["ref"], "postcode": "00100"})
    assert "15 minutes" in problem(r, 429)["detail"] and r.headers["retry-after"]


async def test_create_replay_and_already_returned(client) -> None:
    order, lines = await delivered_order(client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = _body(order, lines["jas"], items=[{"lineId": lines["jas"], "quantity": 2, "reason": "changed_mind"}])
    r = await client.post("/portal/returns/", json=body, headers=key)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["code"].startswith("R-") and made["qr"].startswith("data:image/svg+xml")
    assert [i["quantity"] for i in made["items"]] == [1, 1] and made["status"] == "registered"  # a row per unit
    again = await client.post("/portal/returns/", json=body, headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["code"] == made["code"]
    assert await ReturnEvent.count() == 1  # registered once
    found = await client.post("/portal/returns/find", json={"orderNumber": order["ref"], "postcode": "00100"})
    assert [r["code"] for r in found.json()["returns"]] == [made["code"]]
    twice = await client.post("/portal/returns/", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert problem(twice, 409)["code"] == "already_returned"
    other = _body(order, lines["sjaal"], items=[{"lineId": lines["sjaal"], "reason": "other", "text": " "}])
    assert problem(await client.post("/portal/returns/", json=other), 422)["code"] == "other_without_text"


async def test_after_the_window_nothing_is_registered(client) -> None:
    order, lines = await delivered_order(client, days_ago=20)
    found = await client.post("/portal/returns/find", json={"orderNumber": order["ref"], "postcode": "00100"})
    assert all(i["code"] == "window_closed" and i["whyNot"] for i in found.json()["items"])
    r = await client.post("/portal/returns/", json=_body(order, lines["jas"]))
    assert problem(r, 422)["code"] == "window_closed"
    assert await ReturnEvent.count() == 0


async def test_a_courier_slot_becomes_a_pickup_stop_in_the_route(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo, basket=False)
    day = tomorrow()
    r = await client.post(f"/hubs/{hub}/plans", json={"date": day.isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    near = await Stop.select(Stop.lat, Stop.lon).where(Stop.hub == hub).first()
    order, lines = await delivered_order(client, hub, place=(near["lat"], near["lon"]))
    body = _body(order, lines["jas"], handIn="courier", date=day.isoformat(), slot="afternoon")
    del body["pickupPointId"]
    at = dt.datetime.now().replace(microsecond=0) - dt.timedelta(minutes=5)  # the app's clock, behind the process's
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: at)
    made = await client.post("/portal/returns/", json=body, headers={"Idempotency-Key": "k1"})
    assert made.status_code == 201, made.text
    stop_id = made.json()["stopId"]
    created = await StopEvent.select(StopEvent.at).where((StopEvent.stop == stop_id) & (StopEvent.state == "created"))
    assert [e["at"] for e in created] == [at]  # the registration's time, not the process's clock
    assert made.json()["collect"] == {"date": day.isoformat(), "slot": "afternoon"}
    # the durable job, run by the app's own worker: the day has routes, so it is re-planned with the new stop
    job = await done_by_the_worker(f"return_pickup:{stop_id}")
    assert job["kind"] == "return_pickup" and job["payload"] == {"hubId": hub, "date": day.isoformat()}
    routes = await Route.select(Route.stops).where((Route.hub == hub) & (Route.current == True)).output(load_json=True)  # noqa: E712
    planned = [s["stop_id"] for r in routes for s in r["stops"]]
    assert stop_id in planned
    stop = await Stop.select().where(Stop.id == stop_id).first()
    assert stop["kind"] == "pickup" and stop["shop"] is None and stop["plan_date"] == day
    # the courier's app shows it as a pickup of the return, its code the parcel to scan
    shown, who = [], {}
    for name in ("courier0", "courier1"):
        mine = await client.get(f"/routes/mine?date={day}", headers=await login(client, name))
        stops = mine.json().get("stops", []) if mine.status_code == 200 else []
        who[name] = [s for s in stops if s["stopId"] == stop_id]
        shown += who[name]
    assert len(shown) == 1 and shown[0]["kind"] == "pickup", shown
    assert shown[0]["returnCode"] == made.json()["code"]
    assert shown[0]["parcels"] == [{"barcode": made.json()["code"], "status": "expected"}]
    # collected with its code scanned: the return's history says so
    courier = await login(client, next(n for n, got in who.items() if got))
    url = f"/courier/stops/{stop_id}/collect?date={day}"
    r = await client.post(url, json={"barcodes": [made.json()["code"]]}, headers={**courier, "Idempotency-Key": "c1"})
    assert r.status_code == 200, r.text
    assert [e["state"] for e in await ReturnEvent.select(ReturnEvent.state).order_by(ReturnEvent.id)] == [
        "registered",
        "collected",
    ]


async def test_no_routes_yet_leaves_the_stop_to_the_days_plan(client) -> None:
    order, lines = await delivered_order(client)
    assert await plan_in_return_pickup(service_ctx(client), order["hub"], tomorrow(), _now(client)) is None


async def test_receiving_with_an_unexpected_item_and_another_hubs_user_refused(client) -> None:
    order, lines = await delivered_order(client)
    made = (await client.post("/portal/returns/", json=_body(order, lines["jas"]))).json()
    await make_user("ret1", "returns", order["hub"])
    other_hub = (await Hub.insert(Hub(name=f"Other {uuid.uuid4().hex[:6]}", lat=60.2, lon=24.9)))[0]["id"]
    await make_user("ret2", "returns", other_hub)
    mine, theirs = await login(client, "ret1"), await login(client, "ret2")
    problem(await client.get(f"/receiving/returns/scan/{made['code']}", headers=theirs), 403)
    problem(await client.get("/receiving/returns/", headers=await login_picker(client, order["hub"])), 403)
    seen = await client.get(f"/receiving/returns/scan/{made['code'].lower()}", headers=mine)
    assert seen.status_code == 200 and seen.json()["items"][0]["sku"] == "JAS-42"
    assert [w["code"] for w in (await client.get("/receiving/returns/", headers=mine)).json()] == [made["code"]]
    by_label = await client.get(f"/receiving/returns/scan/{order['label']}", headers=mine)  # the parcel's own label
    assert by_label.status_code == 200 and by_label.json()["code"] == made["code"]
    problem(await client.get("/receiving/returns/scan/R-NOTHING1", headers=mine), 404)
    body = {"items": [{"code": "JAS-42"}, {"code": "SJAAL"}]}
    url = f"/receiving/returns/{made['id']}/receive"
    refused = await client.post(url, json=body, headers={**theirs, "Idempotency-Key": "x1"})
    problem(refused, 403)
    r = await client.post(url, json=body, headers={**mine, "Idempotency-Key": "r1"})
    assert r.status_code == 200, r.text
    got = {i["sku"]: i for i in r.json()["items"]}
    assert got["JAS-42"]["status"] == "received" and got["SJAAL"]["status"] == "unexpected"
    assert [e["state"] for e in r.json()["history"]] == ["registered", "received", "exception"]
    replay = await client.post(url, json=body, headers={**mine, "Idempotency-Key": "r1"})
    assert replay.headers["idempotent-replayed"] == "true"
    problem(await client.post(url, json=body, headers={**mine, "Idempotency-Key": "r2"}), 409)


async def login_picker(client, hub: int) -> dict[str, str]:
    await make_user(f"picker-{hub}", "picker", hub)
    return await login(client, f"picker-{hub}")


async def test_the_demo_has_returns_to_receive_and_an_order_to_return(client, geo) -> None:
    from backend.services.demo import DEMO_PASSWORD, seed

    await seed(geo, _now(client).date(), orders_count=10, couriers=2)
    desk = await login(client, "returns", DEMO_PASSWORD)
    waiting = (await client.get("/receiving/returns/", headers=desk)).json()
    assert [w["orderNumber"] for w in waiting] == ["DEMO-R2", "DEMO-R3"]
    found = await client.post("/portal/returns/find", json={"orderNumber": "DEMO-R1", "postcode": "00100"})
    items = {i["sku"]: i for i in found.json()["items"]}
    assert items["HONEY-450"]["code"] == "not_returnable" and items["SOCKS-W"]["returnable"] == 2
    assert found.json()["fees"]["changed_mind"] == 395 and found.json()["exchangeBonusCents"] == 500
    late = await client.post("/portal/returns/find", json={"orderNumber": "DEMO-R4", "postcode": "00100"})
    assert {i["code"] for i in late.json()["items"]} == {"window_closed"}
    hub = (await Order.select(Order.hub).where(Order.reference == "DEMO-R1").first())["hub"]
    settings = (await client.get(f"/hubs/{hub}/returns/settings", headers=desk)).json()
    assert settings["isDefault"] is False and settings["settings"]["labourCentsPerHour"] == 2400


async def test_two_requests_at_once_for_the_last_item_register_it_once(client) -> None:
    import asyncio

    order, lines = await delivered_order(client)
    body = _body(order, lines["sjaal"], items=[{"lineId": lines["sjaal"], "quantity": 1, "reason": "defective"}])
    answers = await asyncio.gather(
        *(client.post("/portal/returns/", json=body, headers={"Idempotency-Key": f"k{i}"}) for i in range(2))
    )
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    assert await ReturnEvent.count() == 1
