"""Lockers through the API: the evening locker round (a shop drops at 11:00, the evening
courier collects and delivers before 22:00, every step scanned), compartments set by the
hub's dispatcher, a compartment for each parcel planned to a locker (kept through re-plans),
the courier's drop and the customer's code, a full or too small locker, and bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import time_machine

from backend.db.locker_tables import LockerCompartment
from backend.db.tables import Order, OutboxEvent, Parcel, PointOperator, PointParcel, Stop, StopEvent
from backend.realtime.notifications import notifications_for
from backend.security import pickup_code
from backend.services.point_room import room_left
from tests.api.helpers import admin, login, make_user, post_ok, problem, tomorrow
from tests.api.test_planning import _addresses, _small_day

SECRET = "test-key"  # the settings fixture's LAADBAK_SECRET_KEY
SIZES = [  # label, width, height, depth (cm), kg: S 24 L, M 48 L, L 96 L
    ("A1", 40, 10, 60, 10),
    ("A2", 40, 10, 60, 10),
    ("B1", 40, 20, 60, 15),
    ("C1", 40, 40, 60, 25),
]


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def at(hhmm: str, day: dt.date | None = None) -> dt.datetime:
    return dt.datetime.combine(day or dt.date.today(), dt.time.fromisoformat(hhmm))


def compartments_body(sizes=SIZES) -> dict:
    return {
        "compartments": [
            {"label": label, "widthCm": w, "heightCm": h, "depthCm": d, "maxWeightKg": kg}
            for label, w, h, d, kg in sizes
        ]
    }


async def _bank(client, geo, shift_day: dt.date | None = None) -> dict:
    """A hub, a shop with a locker bank at its door (4 compartments), the shop's API key,
    the hub's dispatcher, the locker's terminal user and an evening courier."""
    h = await admin(client)
    a = _addresses(geo)
    hub = (await post_ok(client, "/hubs", {"name": "Hub", "address": a[100]}, h))["id"]
    shop = (await post_ok(client, "/shops", {"name": "Boutique", "address": a[150], "hubId": hub}, h))["id"]
    locker = {
        "name": "Locker Boutique",
        "kind": "locker",
        "address": a[151],
        "hubId": hub,
        "capacityParcels": 4,
        "maxWeightKg": 25,
        "maxVolumeL": 100,
    }
    point = (await post_ok(client, "/pickup-points", locker, h))["id"]
    await make_user("disp", "dispatcher", hub_id=hub)
    disp = await login(client, "disp")
    r = await client.put(f"/pickup-points/{point}/compartments", json=compartments_body(), headers=disp)
    assert r.status_code == 200 and r.json()["free"] == 4, r.text
    api_key = (await post_ok(client, f"/shops/{shop}/api-keys", {"label": "till"}, disp))["key"]
    uid = await make_user("terminal", "point")
    await PointOperator.insert(PointOperator(user=uid, point=point))
    bike = await post_ok(client, "/bikes", {"name": "E1", "payloadKg": 150, "volumeL": 600, "batteryRangeKm": 40}, h)
    cuid = await make_user("evening", "courier", hub_id=hub)
    courier = (
        await post_ok(client, "/couriers", {"name": "Eve", "bikeId": bike["id"], "hubId": hub, "userId": cuid}, h)
    )["id"]
    day = (shift_day or dt.date.today()).isoformat()
    shift = {"courierId": courier, "hubId": hub, "start": f"{day}T17:30:00", "end": f"{day}T22:30:00"}
    await post_ok(client, "/shifts", shift, h)
    return {
        "h": h,
        "disp": disp,
        "hub": hub,
        "shop": shop,
        "point": point,
        "shop_key": {"X-Api-Key": api_key},
        "terminal": await login(client, "terminal"),
        "a": a,
    }


def drop_body(ref: str, a: list[str], barcode: str, litres: float = 4.0) -> dict:
    return {
        "reference": ref,
        "customerName": f"Customer {ref}",
        "customerEmail": f"{ref.lower()}@example.org",
        "address": a[300],
        "parcels": [{"weightKg": 0.8, "volumeL": litres, "barcode": barcode}],
    }


async def _stop_of(courier: dict, stop_id: int) -> dict:
    return next(s for s in courier["route"]["stops"] if s["stopId"] == stop_id)


async def test_the_evening_locker_round_shop_drop_at_11_collected_and_delivered_before_22(client, geo) -> None:
    b = await _bank(client, geo)
    today = dt.date.today()
    lockers = f"/lockers/{b['point']}"
    with time_machine.travel(at("11:00"), tick=True):
        r = await client.post(
            f"{lockers}/shop-drops", json=drop_body("SHOP-1", b["a"], "SHOP-1-A"), headers=b["shop_key"]
        )
        assert r.status_code == 201, r.text
        drop = r.json()
        assert (drop["date"], drop["window"]) == (today.isoformat(), {"start": "18:00", "end": "22:00"})
        ((place,),) = [drop["compartments"]]
        assert place["compartment"] == "A1" and place["barcode"] == "SHOP-1-A" and not place["filled"]
        # The till sends it again (no answer came): the same drop, nothing written twice.
        again = await client.post(
            f"{lockers}/shop-drops", json=drop_body("SHOP-1", b["a"], "SHOP-1-A"), headers=b["shop_key"]
        )
        assert again.json()["result"] == "already_registered" and again.json()["orderId"] == drop["orderId"]
        assert await Stop.count().where(Stop.order == drop["orderId"]) == 2  # the pickup at the locker, the delivery
        # The shop opens A1 with its code and scans the parcel in.
        opened = await client.post(f"{lockers}/open", json={"code": place["code"]}, headers={**b["terminal"], **key()})
        assert opened.json() == {"result": "opened", "compartment": "A1", "barcode": "SHOP-1-A", "for": "shop"}
        scan = {"barcode": "SHOP-1-A"}
        filled = await client.post(f"{lockers}/shop-drops/scan", json=scan, headers=b["shop_key"])
        assert filled.status_code == 200 and filled.json()["result"] == "filled", filled.text
        twice = await client.post(f"{lockers}/shop-drops/scan", json=scan, headers=b["shop_key"])
        assert twice.json()["result"] == "already_in"

    with time_machine.travel(at("17:00"), tick=True):
        plan = await client.post(
            f"/hubs/{b['hub']}/plans", json={"date": today.isoformat(), "timeLimitS": 1}, headers=b["h"]
        )
        assert plan.status_code == 201 and plan.json()["figures"]["violations"] == 0, plan.text
        stops = {s["kind"]: s for s in await Stop.select().where(Stop.order == drop["orderId"])}
        assert {s["status"] for s in stops.values()} == {"planned"}

    with time_machine.travel(at("18:05"), tick=True):
        courier = await login(client, "evening")
        day = (await client.get(f"/courier/today?date={today}", headers=courier)).json()
        pickup = await _stop_of(day, stops["pickup"]["id"])
        delivery = await _stop_of(day, stops["delivery"]["id"])
        order = [s["stopId"] for s in day["route"]["stops"]]
        assert order.index(pickup["stopId"]) < order.index(delivery["stopId"])  # collected, then delivered
        # The courier's app: which compartment, and the courier's own code to open it.
        (door,) = pickup["compartments"]
        assert door["compartment"] == "A1" and door["filled"] and door["code"] != place["code"]
        assert "compartments" not in delivery  # a door-step delivery has none
        assert at("18:00") <= dt.datetime.fromisoformat(delivery["eta"]) <= at("22:00")
        shift = await client.post(f"/courier/shift/start?date={today}", json={}, headers={**courier, **key()})
        assert shift.status_code == 200, shift.text
        opened = await client.post(f"{lockers}/open", json={"code": door["code"]}, headers={**b["terminal"], **key()})
        assert opened.json()["for"] == "courier"
        base = f"/courier/stops/{pickup['stopId']}"
        for action, body in (("arrive", {}), ("collect", {"barcodes": ["SHOP-1-A"]})):
            r = await client.post(f"{base}/{action}?date={today}", json=body, headers={**courier, **key()})
            assert r.status_code == 200, r.text
        free = (await client.get(f"/pickup-points/{b['point']}/compartments", headers=b["disp"])).json()
        assert free["free"] == 4  # collected: A1 is free again
        base = f"/courier/stops/{delivery['stopId']}"
        proof = {"barcodes": ["SHOP-1-A"], "proof": {"kind": "recipient", "recipientName": "Customer SHOP-1"}}
        for action, body in (("arrive", {}), ("deliver", proof)):
            r = await client.post(f"{base}/{action}?date={today}", json=body, headers={**courier, **key()})
            assert r.status_code == 200, r.text

    done = await Stop.select(Stop.kind, Stop.status, Stop.completed_at).where(Stop.order == drop["orderId"])
    assert {s["kind"]: s["status"] for s in done} == {"pickup": "collected", "delivery": "delivered"}
    assert all(at("18:00") <= s["completed_at"] < at("22:00") for s in done)
    # Every step scanned: into the locker by the shop, out by the courier, at the door.
    log = (await client.get(f"{lockers}/history?barcode=SHOP-1-A", headers=b["disp"])).json()
    assert [(e["kind"], e["compartment"]) for e in log] == [
        ("assigned", "A1"),
        ("opened", "A1"),
        ("filled", "A1"),
        ("opened", "A1"),
        ("collected", "A1"),
    ]
    assert log[2]["byShop"] == b["shop"] and log[4]["byUser"] is not None
    assert at("11:00") <= dt.datetime.fromisoformat(log[2]["at"]) < at("12:00")
    history = await (
        StopEvent.select(StopEvent.state, StopEvent.detail)
        .where(StopEvent.stop == delivery["stopId"])
        .order_by(StopEvent.id)  # PostgreSQL returns rows in no set order
    )
    assert [e["state"] for e in history][-1] == "delivered"


async def test_ordered_after_noon_goes_the_next_evening(client, geo) -> None:
    b = await _bank(client, geo)
    with time_machine.travel(at("12:30"), tick=True):
        r = await client.post(
            f"/lockers/{b['point']}/shop-drops", json=drop_body("LATE-1", b["a"], "LATE-1-A"), headers=b["shop_key"]
        )
    assert r.status_code == 201, r.text
    assert r.json()["date"] == (dt.date.today() + dt.timedelta(days=1)).isoformat()


async def test_a_shop_drop_after_noon_on_the_apps_clock_is_recorded_at_that_time(client, geo) -> None:
    """The drop's day and its stops' history follow the app's clock (the service context's),
    not the process's: at 12:30 on it, the drop goes tomorrow, and both stops were created at 12:30."""
    b = await _bank(client, geo)
    moment = at("12:30")
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: moment)
    r = await client.post(
        f"/lockers/{b['point']}/shop-drops", json=drop_body("LATE-2", b["a"], "LATE-2-A"), headers=b["shop_key"]
    )
    assert r.status_code == 201, r.text
    assert r.json()["date"] == (dt.date.today() + dt.timedelta(days=1)).isoformat()
    stops = [s["id"] for s in await Stop.select(Stop.id).where(Stop.order == r.json()["orderId"])]
    created = await StopEvent.select(StopEvent.at).where(StopEvent.stop.is_in(stops) & (StopEvent.state == "created"))
    assert len(stops) == 2 and [e["at"] for e in created] == [moment, moment]


async def _locker_order(client, b: dict, ref: str, litres: float, day: dt.date | None = None):
    body = {
        "reference": ref,
        "hubId": b["hub"],
        "customerName": f"Customer {ref}",
        "customerEmail": f"{ref.lower()}@example.org",
        "date": (day or dt.date.today()).isoformat(),
        "pickupPointId": b["point"],
        "slot": "day",
        "parcels": [{"weightKg": 2, "volumeL": litres, "barcode": f"{ref}-1"}],
    }
    return await client.post("/orders", json=body, headers=b["h"])


async def test_parcels_to_a_locker_get_the_smallest_fitting_compartment_drop_code_and_pickup(client, geo) -> None:
    b = await _bank(client, geo, shift_day=dt.date.today() + dt.timedelta(days=1))
    day = dt.date.today() + dt.timedelta(days=1)
    made = {}
    for ref, litres in (("L-MED", 30), ("L-SMALL", 5)):
        r = await _locker_order(client, b, ref, litres, day)
        assert r.status_code == 201, r.text
        made[ref] = r.json()["id"]
    rows = {r["label"]: r for r in await LockerCompartment.select().order_by(LockerCompartment.label)}
    assert rows["B1"]["order"] == made["L-MED"] and rows["A1"]["order"] == made["L-SMALL"]
    assert await room_left(b["point"], day) == 2  # two of four compartments kept

    too_big = problem(await _locker_order(client, b, "L-HUGE", 97, day), 422)
    assert "fits no compartment" in too_big["detail"] and "40x40x60 cm" in too_big["detail"]
    assert (await _locker_order(client, b, "L-M2", 30, day)).status_code == 201  # C1: the only one left that fits
    full = problem(await _locker_order(client, b, "L-M3", 30, day), 409)
    assert "Locker Boutique is full" in full["detail"]

    # Planned, and planned again: each parcel keeps its compartment.
    for _ in range(2):
        plan = await client.post(
            f"/hubs/{b['hub']}/plans", json={"date": day.isoformat(), "timeLimitS": 1}, headers=b["h"]
        )
        assert plan.status_code == 201, plan.text
    after = {r["label"]: r["order"] for r in await LockerCompartment.select().order_by(LockerCompartment.label)}
    assert (after["B1"], after["A1"]) == (made["L-MED"], made["L-SMALL"])

    courier = await login(client, "evening")
    view = (await client.get(f"/courier/today?date={day}", headers=courier)).json()
    small = next(s for s in view["route"]["stops"] if s["orderId"] == made["L-SMALL"])
    (door,) = small["compartments"]
    assert door["compartment"] == "A1" and not door["filled"] and len(door["code"]) == 6
    proof = {"barcodes": ["L-SMALL-1"], "proof": {"kind": "pickup_point"}}
    r = await client.post(
        f"/courier/stops/{small['stopId']}/deliver?date={day}", json=proof, headers={**courier, **key()}
    )
    assert r.status_code == 200, r.text
    # The drop fills A1, puts the parcel on the point's list and tells the customer their own code.
    assert (await LockerCompartment.select().where(LockerCompartment.label == "A1").first())["filled"]
    assert await PointParcel.count().where(PointParcel.status == "in") == 1
    (ready,) = await OutboxEvent.select().where(OutboxEvent.kind == "point.ready").output(load_json=True)
    code = pickup_code(SECRET, made["L-SMALL"])
    assert ready["payload"]["code"] == code and ready["payload"]["compartments"] == ["A1"]
    assert "compartment A1 of Locker Boutique" in ready["payload"]["email"]["text"]
    ((audience, _, push),) = notifications_for(ready)
    assert audience == "order" and push["body"].startswith(f"Compartment A1, code {code}.")
    assert code != door["code"]
    token = (await client.get(f"/orders/{made['L-SMALL']}", headers=b["h"])).json()["trackingUrl"].split("/")[-1]
    tracked = (await client.get(f"/track/{token}/status")).json()
    assert tracked["pickupCode"] == code and tracked["locker"] == {"compartments": ["A1"], "ready": True}

    wrong = problem(
        await client.post(f"/lockers/{b['point']}/open", json={"code": "00000x"}, headers={**b["terminal"], **key()}),
        422,
    )
    assert "4 tries left" in wrong["detail"]
    r = await client.post(f"/lockers/{b['point']}/open", json={"code": code}, headers={**b["terminal"], **key()})
    assert r.json() == {"result": "picked_up", "compartment": "A1", "barcode": "L-SMALL-1", "for": "customer"}
    assert (await LockerCompartment.select().where(LockerCompartment.label == "A1").first())["parcel"] is None
    assert (await PointParcel.select(PointParcel.status).first())["status"] == "handed_out"
    problem(
        await client.post(f"/lockers/{b['point']}/open", json={"code": code}, headers={**b["terminal"], **key()}), 422
    )


async def test_bad_input_is_refused_with_the_field_and_nothing_changes(client, geo) -> None:
    b = await _bank(client, geo)
    url = f"/pickup-points/{b['point']}/compartments"
    twice = compartments_body([*SIZES, ("A1", 40, 10, 60, 10)])
    assert problem(await client.put(url, json=twice, headers=b["disp"]), 422)["detail"].startswith(
        "compartments[4].label"
    )
    flat = compartments_body([("Z1", 40, 0, 60, 10)])
    assert "compartments[0].heightCm" in problem(await client.put(url, json=flat, headers=b["disp"]), 422)["detail"]
    heavy = compartments_body([("Z1", 40, 10, 60, 0)])
    assert "compartments[0].maxWeightKg" in problem(await client.put(url, json=heavy, headers=b["disp"]), 422)["detail"]
    assert (await client.get(url, headers=b["disp"])).json()["free"] == 4  # nothing written
    shop_point = {
        "name": "Kiosk",
        "kind": "parcel_shop",
        "address": b["a"][152],
        "hubId": b["hub"],
        "capacityParcels": 5,
        "maxWeightKg": 20,
        "maxVolumeL": 60,
    }
    kiosk = (await post_ok(client, "/pickup-points", shop_point, b["h"]))["id"]
    not_locker = problem(
        await client.put(f"/pickup-points/{kiosk}/compartments", json=compartments_body(), headers=b["disp"]), 422
    )
    assert "not a locker bank" in not_locker["detail"]
    other_hub = (await post_ok(client, "/hubs", {"name": "Other", "address": b["a"][400]}, b["h"]))["id"]
    await make_user("far", "dispatcher", hub_id=other_hub)
    problem(await client.put(url, json=compartments_body(), headers=await login(client, "far")), 403)
    problem(await client.post(f"/lockers/{b['point']}/shop-drops", json=drop_body("X-1", b["a"], "X-1-A")), 401)

    # A shop drop into a door that is already full: 409, the parcel stays where it is kept.
    with time_machine.travel(at("10:00"), tick=True):
        first = (
            await client.post(
                f"/lockers/{b['point']}/shop-drops", json=drop_body("D-1", b["a"], "D-1-A"), headers=b["shop_key"]
            )
        ).json()
        second = (
            await client.post(
                f"/lockers/{b['point']}/shop-drops", json=drop_body("D-2", b["a"], "D-2-A"), headers=b["shop_key"]
            )
        ).json()
    assert [first["compartments"][0]["compartment"], second["compartments"][0]["compartment"]] == ["A1", "A2"]
    full = problem(
        await client.post(
            f"/lockers/{b['point']}/shop-drops/scan",
            json={"barcode": "D-2-A", "compartment": "A1"},
            headers=b["shop_key"],
        ),
        409,
    )
    assert (
        "Compartment A1 of Locker Boutique is already full" in full["detail"] and full.get("code") == "compartment_full"
    )
    rows = {r["label"]: r["parcel"] is not None and not r["filled"] for r in await LockerCompartment.select()}
    assert rows["A1"] and rows["A2"]  # both still kept, neither filled
    # Removing a compartment in use is refused.
    in_use = problem(await client.put(url, json=compartments_body(SIZES[1:]), headers=b["disp"]), 409)
    assert "Compartment A1 is in use" in in_use["detail"]


async def test_a_redirect_to_a_locker_keeps_a_compartment_and_one_away_frees_it(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    a = _addresses(geo)
    body = {
        "name": "Locker Station",
        "kind": "locker",
        "address": a[151],
        "hubId": hub,
        "capacityParcels": 4,
        "maxWeightKg": 25,
        "maxVolumeL": 100,
    }
    point = (await post_ok(client, "/pickup-points", body, h))["id"]
    assert (
        await client.put(f"/pickup-points/{point}/compartments", json=compartments_body(), headers=h)
    ).status_code == 200
    order = await Order.select().where(Order.reference == "O-1").first()
    url = f"/track/{order['tracking_token']}/redirect"
    r = await client.post(url, json={"kind": "pickup_point", "pickupPointId": point})
    assert r.status_code == 200, r.text
    kept = await LockerCompartment.select().where(LockerCompartment.order == order["id"])
    assert len(kept) == await Parcel.count().where(Parcel.order == order["id"]) and kept[0]["purpose"] == "delivery"
    assert await room_left(point, tomorrow()) == 4 - len(kept)
    away = await client.post(url, json={"kind": "address", "address": a[300]})
    assert away.status_code == 200, away.text
    assert await LockerCompartment.count().where(LockerCompartment.order == order["id"]) == 0
    assert await room_left(point, tomorrow()) == 4


async def test_the_point_registers_a_drop_for_a_shop_and_another_shop_cannot_reuse_it(client, geo) -> None:
    b = await _bank(client, geo)
    other = await post_ok(client, "/shops", {"name": "Bakery", "address": b["a"][160], "hubId": b["hub"]}, b["h"])
    other_key = {"X-Api-Key": (await post_ok(client, f"/shops/{other['id']}/api-keys", {}, b["disp"]))["key"]}
    url = f"/lockers/{b['point']}"
    with time_machine.travel(at("09:45"), tick=True):
        body = drop_body("P-1", b["a"], "P-1-A")
        no_shop = problem(await client.post(f"{url}/drops", json=body, headers={**b["terminal"], **key()}), 422)
        assert "shopId" in no_shop["detail"]
        k = key()
        made = await client.post(f"{url}/drops", json={**body, "shopId": b["shop"]}, headers={**b["terminal"], **k})
        assert made.status_code == 201 and made.json()["date"] == dt.date.today().isoformat(), made.text
        replay = await client.post(f"{url}/drops", json={**body, "shopId": b["shop"]}, headers={**b["terminal"], **k})
        assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == made.json()
        # Another shop's key neither sees this drop's codes nor scans it in.
        taken = problem(await client.post(f"{url}/shop-drops", json=body, headers=other_key), 409)
        assert "already exists" in taken["detail"]
        problem(await client.post(f"{url}/shop-drops/scan", json={"barcode": "P-1-A"}, headers=other_key), 404)
        scan = await client.post(f"{url}/drops/scan", json={"barcode": "P-1-A"}, headers={**b["terminal"], **key()})
        assert scan.status_code == 200 and scan.json()["result"] == "filled", scan.text
    log = (await client.get(f"{url}/history?barcode=P-1-A", headers=b["terminal"])).json()
    assert [e["kind"] for e in log] == ["assigned", "filled"] and log[0]["byShop"] == b["shop"]


async def test_the_contract_names_the_shops_key_and_the_keypads_throttle(client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    for path in ("/lockers/{point_id}/shop-drops", "/lockers/{point_id}/shop-drops/scan"):
        op = doc["paths"][path]["post"]
        assert op["security"] == [{"shopKey": []}] and "401" in op["responses"]
    assert "429" in doc["paths"]["/lockers/{point_id}/open"]["post"]["responses"]
