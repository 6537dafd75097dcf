"""A locker bank's doors counted for the parcels and the day asked about: the check-out does not
offer a bank no free door of which fits, a door a shop drop leaves the evening before is free
for the next day, and a redirect or a failed try does not send parcels to a bank without a door
for them (docs/lockers.md "Free on which day")."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import time_machine

from backend.db.locker_tables import LockerCompartment, LockerEvent
from backend.db.tables import Job, Order, OutboxEvent, PickupPoint, PointParcel, Stop
from backend.jobs.queue import AlreadyDone
from backend.realtime.notifications import notifications_for
from backend.security import pickup_code
from backend.services import locker_days
from backend.services.disruptions import after_failed_stop
from backend.services.locker_retry import retry_next_evening
from backend.services.point_room import room_left
from tests.api.helpers import login, post_ok, problem, service_ctx, tomorrow
from tests.api.test_lockers import SECRET, _bank, _locker_order, _stop_of, at, compartments_body, drop_body, key
from tests.api.test_planning import _addresses, _small_day
from tests.api.test_replanning import _planned_day, _started_with_loaded_delivery

TINY = [("T1", 5, 5, 5, 1), ("T2", 5, 5, 5, 1)]  # 0.125 L doors: no real parcel fits


def _point_option(answer: dict, point: int, day: dt.date) -> dict:
    return next(o for o in answer["options"] if o["pointId"] == point and o["date"] == day.isoformat())


async def _ask(client, b: dict, litres: float) -> dict:
    parcel = {"weightG": 2000, "volumeMl": int(litres * 1000), "longestCm": 40}
    r = await client.post(
        "/checkout/options", json={"address": b["a"][152], "parcels": [parcel]}, headers=b["shop_key"]
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_checkout_offers_a_locker_only_when_a_free_door_fits_the_parcel(client, geo) -> None:
    day = tomorrow()
    b = await _bank(client, geo, shift_day=day)
    for ref in ("M-1", "M-2"):  # 30 L each: B1 (48 L) and C1 (96 L); the two 24 L doors stay free
        assert (await _locker_order(client, b, ref, 30, day)).status_code == 201
    assert await room_left(b["point"], day) == 2  # two doors free: the count alone would offer it

    medium = _point_option(await _ask(client, b, 30), b["point"], day)
    assert not medium["available"] and medium["reason"] == "point_full", medium
    assert "every compartment that parcel 1 fits is taken" in medium["detail"]
    huge = _point_option(await _ask(client, b, 97), b["point"], day)
    assert (huge["available"], huge["reason"]) == (False, "no_compartment_fits")
    assert "fits no compartment" in huge["detail"] and "40x40x60 cm" in huge["detail"]
    small = _point_option(await _ask(client, b, 5), b["point"], day)
    assert small["reason"] not in ("point_full", "no_compartment_fits"), small
    # A hold of the offered small option is not refused for the doors either.
    if small["available"]:
        held = await client.post("/checkout/holds", json={"optionId": small["id"]}, headers=b["shop_key"])
        assert held.status_code == 201, held.text


async def test_a_door_a_shop_drop_leaves_tonight_is_free_tomorrow_and_the_parcel_waits_for_it(client, geo) -> None:
    b = await _bank(client, geo)
    today, day = dt.date.today(), tomorrow()
    lockers = f"/lockers/{b['point']}"
    with time_machine.travel(at("10:00"), tick=True):
        drop = (
            await client.post(
                f"{lockers}/shop-drops", json=drop_body("DROP-1", b["a"], "DROP-1-A"), headers=b["shop_key"]
            )
        ).json()
        assert drop["compartments"][0]["compartment"] == "A1" and drop["date"] == today.isoformat()
        for ref, litres in (("T-S", 5), ("T-M", 30), ("T-L", 30)):  # A2, B1, C1: every door taken now
            r = await _locker_order(client, b, ref, litres, day)
            assert r.status_code == 201, r.text
        # Today the bank is full; tomorrow the drop's door is free (collected this evening).
        assert (await room_left(b["point"], today), await room_left(b["point"], day)) == (0, 1)
        waits = await _locker_order(client, b, "T-W", 5, day)
        assert waits.status_code == 201, waits.text
        assert await LockerCompartment.count().where(LockerCompartment.order == waits.json()["id"]) == 0
        assert await LockerEvent.exists().where((LockerEvent.barcode == "T-W-1") & (LockerEvent.kind == "waiting"))
        # That door is promised now: neither today nor tomorrow has another.
        assert await room_left(b["point"], day) == 0
        full = problem(await _locker_order(client, b, "T-X", 5, day), 409)
        assert "Locker Boutique is full" in full["detail"]
        assert "Choose another pickup point or day" in full["detail"]

    with time_machine.travel(at("17:00"), tick=True):
        plan = await client.post(
            f"/hubs/{b['hub']}/plans", json={"date": today.isoformat(), "timeLimitS": 1}, headers=b["h"]
        )
        assert plan.status_code == 201, plan.text
    pickup = await Stop.select().where((Stop.order == drop["orderId"]) & (Stop.kind == "pickup")).first()
    with time_machine.travel(at("18:05"), tick=True):
        courier = await login(client, "evening")
        view = (await client.get(f"/courier/today?date={today}", headers=courier)).json()
        stop = await _stop_of(view, pickup["id"])
        await client.post(f"/courier/shift/start?date={today}", json={}, headers={**courier, **key()})
        base = f"/courier/stops/{stop['stopId']}"
        for action, body in (("arrive", {}), ("collect", {"barcodes": ["DROP-1-A"]})):
            r = await client.post(f"{base}/{action}?date={today}", json=body, headers={**courier, **key()})
            assert r.status_code == 200, r.text
    # The courier emptied A1: the waiting parcel has it now, in that same step.
    (door,) = await LockerCompartment.select().where(LockerCompartment.order == waits.json()["id"])
    assert door["label"] == "A1" and door["purpose"] == "delivery" and not door["filled"]


async def test_a_redirect_to_a_locker_without_a_door_for_the_parcels_is_refused(client, geo) -> None:
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
    r = await client.put(f"/pickup-points/{point}/compartments", json=compartments_body(TINY), headers=h)
    assert r.status_code == 200, r.text
    order = await Order.select().where(Order.reference == "O-1").first()
    url = f"/track/{order['tracking_token']}/redirect"
    refused = problem(await client.post(url, json={"kind": "pickup_point", "pickupPointId": point}), 409)
    assert refused["detail"].startswith("Your parcel cannot go to Locker Station: parcel ")
    assert "fits no compartment" in refused["detail"] and refused["detail"].endswith("Choose another option.")
    assert refused.get("code") == "pickup_point_too_small", refused
    assert all(o.get("pickupPointId") != point for o in refused.get("redirectOptions", []))
    after = await Order.select(Order.pickup_point, Order.status).where(Order.id == order["id"]).first()
    assert after == {"pickup_point": order["pickup_point"], "status": order["status"]}  # nothing written
    assert await LockerCompartment.count().where(LockerCompartment.order == order["id"]) == 0


async def test_a_failed_try_passes_a_locker_without_a_door_for_the_parcels(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    _, failed = await _started_with_loaded_delivery(hub, routes)
    stop = await Stop.select().where(Stop.id == failed["stopId"]).first()
    hours = [{"days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "opens": "08:00", "closes": "21:00"}]
    common = {"hubId": hub, "capacityParcels": 10, "maxWeightKg": 20, "maxVolumeL": 60, "openingHours": hours}
    # The locker stands at the customer's door (the nearest place of all); its doors are too small.
    locker = await post_ok(
        client, "/pickup-points", {**common, "name": "Door Locker", "kind": "locker", "address": stop["address"]}, h
    )
    r = await client.put(f"/pickup-points/{locker['id']}/compartments", json=compartments_body(TINY), headers=h)
    assert r.status_code == 200, r.text
    kiosk = await post_ok(
        client, "/pickup-points", {**common, "name": "Kiosk", "kind": "parcel_shop", "address": _addresses(geo)[150]}, h
    )
    now = dt.datetime.combine(tomorrow(), dt.time(11, 0))
    done = await after_failed_stop(service_ctx(client), failed["stopId"], now, policy="pickup_point", time_limit_s=1.0)
    assert done["next"]["next"] == "pickup_point" and done["next"]["pickupPoint"]["id"] == kiosk["id"], done["next"]
    assert (await Order.select(Order.pickup_point).where(Order.id == failed["orderId"]).first())["pickup_point"] == (
        kiosk["id"]
    )
    assert await LockerCompartment.count().where(LockerCompartment.order == failed["orderId"]) == 0


async def test_a_drop_not_collected_goes_again_the_next_evening_through_the_durable_job(client, geo) -> None:
    b = await _bank(client, geo)
    today, day = dt.date.today(), tomorrow()
    lockers = f"/lockers/{b['point']}"
    with time_machine.travel(at("10:00"), tick=True):
        drop = (
            await client.post(
                f"{lockers}/shop-drops", json=drop_body("DROP-F", b["a"], "DROP-F-A"), headers=b["shop_key"]
            )
        ).json()
        plan = await client.post(
            f"/hubs/{b['hub']}/plans", json={"date": today.isoformat(), "timeLimitS": 1}, headers=b["h"]
        )
        assert plan.status_code == 201, plan.text
    stops = {s["kind"]: s for s in await Stop.select().where(Stop.order == drop["orderId"])}
    with time_machine.travel(at("18:05"), tick=True):
        courier = await login(client, "evening")
        await client.post(f"/courier/shift/start?date={today}", json={}, headers={**courier, **key()})
        base = f"/courier/stops/{stops['pickup']['id']}"
        for action, body in (("arrive", {}), ("fail", {"reason": "no_access"})):
            r = await client.post(f"{base}/{action}?date={today}", json=body, headers={**courier, **key()})
            assert r.status_code == 200, r.text
        # The next step is a job written with the failed stop (the app's worker may run it at once).
        (job,) = await Job.select(Job.key).where(Job.kind == "locker_drop_retry")
        assert job["key"] == f"locker_drop_retry:{stops['pickup']['id']}"

        # Run on the app's own loop, as its worker runs it: there its writes queue behind the
        # worker's (the test body's loop has a SQLite writer lock of its own).
        def on_app(when: str) -> Any:
            return asyncio.to_thread(client.blocking_portal.call, retry_next_evening, stops["pickup"]["id"], at(when))

        with contextlib.suppress(AlreadyDone):  # the worker may have made it first: once either way
            await on_app("18:06")
        assert await on_app("18:07") is None  # nothing twice

    now = {(s["kind"], s["plan_date"]): s for s in await Stop.select().where(Stop.order == drop["orderId"])}
    assert now[("pickup", today)]["status"] == "failed" and now[("delivery", today)]["status"] == "cancelled"
    again = now[("pickup", day)]
    assert again["status"] == "open" and again["pickup_point"] == b["point"]
    assert (again["window_start"], again["window_end"]) == (at("18:00", day), at("22:00", day))
    assert now[("delivery", day)]["status"] == "open" and len(now) == 4
    order = await Order.select(Order.delivery_date, Order.window_start).where(Order.id == drop["orderId"]).first()
    assert order == {"delivery_date": day, "window_start": at("18:00", day)}
    # The goods wait in their door, taken until that evening; the day after, it is free.
    (door,) = await LockerCompartment.select().where(LockerCompartment.order == drop["orderId"])
    assert door["purpose"] == "shop_drop" and door["label"] == "A1"
    assert await room_left(b["point"], day) == 3 and await room_left(b["point"], day + dt.timedelta(days=1)) == 4
    # The customer is told of the new evening once (the retry ran twice), in English and Dutch.
    (event,) = await OutboxEvent.select().where(OutboxEvent.kind == "locker.drop_retry").output(load_json=True)
    ((audience, order_id, push),) = notifications_for(event)
    assert (audience, order_id, push["type"]) == ("order", drop["orderId"], "delivery_moved")
    when = f"{day:%d-%m}"
    assert push["body"].endswith(f"we bring it on {when} between 18:00 and 22:00."), push
    assert push["nl"]["body"].endswith(f"we bezorgen het op {when} tussen 18:00 en 22:00."), push
    assert push["nl"]["title"] == "Je bezorging schuift naar de volgende avond"


async def test_a_door_whose_parcel_goes_back_after_its_holding_time_is_free_the_day_after(client, geo) -> None:
    b = await _bank(client, geo)
    today, day = dt.date.today(), tomorrow()
    made = {}
    for ref, litres in (("H-OLD", 5), ("H-2", 5), ("H-3", 30), ("H-4", 30)):  # A1, A2, B1, C1
        r = await _locker_order(client, b, ref, litres, today)
        assert r.status_code == 201, r.text
        made[ref] = r.json()["id"]
    # H-OLD has lain in A1 for its holding time; it ends tonight (the courier's drop, as the app writes it).
    (a1,) = await LockerCompartment.select().where(LockerCompartment.order == made["H-OLD"])
    await LockerCompartment.update({LockerCompartment.filled: True}).where(LockerCompartment.id == a1["id"])
    await PointParcel.insert(
        PointParcel(
            parcel=a1["parcel"],
            point=b["point"],
            order=made["H-OLD"],
            scanned_in_at=at("09:00", today - dt.timedelta(days=7)),
            hold_until=at("23:59", today),
        )
    )
    assert (await room_left(b["point"], today), await room_left(b["point"], day)) == (0, 1)
    waits = await _locker_order(client, b, "H-NEW", 5, day)
    assert waits.status_code == 201, waits.text
    assert await LockerCompartment.count().where(LockerCompartment.order == waits.json()["id"]) == 0

    with time_machine.travel(at("08:00", day), tick=True):  # past its holding time: sent back with the courier
        terminal = await login(client, "terminal")  # a new day's session
        r = await client.post("/point/send-back", json={"barcode": "H-OLD-1"}, headers={**terminal, **key()})
        assert r.status_code == 200, r.text
    (door,) = await LockerCompartment.select().where(LockerCompartment.order == waits.json()["id"])
    assert door["label"] == "A1" and not door["filled"]
    log = (await client.get(f"/lockers/{b['point']}/history?barcode=H-OLD-1", headers=b["disp"])).json()
    assert [e["kind"] for e in log] == ["assigned", "returned"]

    # A parcel handed out at the point's desk (not by the locker's keypad) frees its door too.
    (a2,) = await LockerCompartment.select().where(LockerCompartment.order == made["H-2"])
    await LockerCompartment.update({LockerCompartment.filled: True}).where(LockerCompartment.id == a2["id"])
    await PointParcel.insert(
        PointParcel(
            parcel=a2["parcel"],
            point=b["point"],
            order=made["H-2"],
            scanned_in_at=at("09:00"),
            hold_until=at("23:59", day),
        )
    )
    code = pickup_code(SECRET, made["H-2"])
    body = {"barcode": "H-2-1", "code": code, "idChecked": True, "idNote": ""}
    r = await client.post("/point/hand-out", json=body, headers={**b["terminal"], **key()})
    assert r.status_code == 200, r.text
    assert (await LockerCompartment.select().where(LockerCompartment.id == a2["id"]).first())["parcel"] is None


async def test_a_parcel_that_never_reached_the_bank_stops_waiting_for_a_door_after_its_holding_time(
    client, geo
) -> None:
    """A parcel waiting for a door whose order never reached the bank and was never closed
    counts as waiting only up to its day plus the bank's holding time (by then it would have
    gone back to the hub): the door it was promised is free again for the days after."""
    b = await _bank(client, geo)
    day = tomorrow()
    with time_machine.travel(at("10:00"), tick=True):
        r = await client.post(
            f"/lockers/{b['point']}/shop-drops", json=drop_body("DROP-1", b["a"], "DROP-1-A"), headers=b["shop_key"]
        )
        assert r.status_code in (200, 201) and r.json()["compartments"][0]["compartment"] == "A1", r.text
        for ref, litres in (("T-S", 5), ("T-M", 30), ("T-L", 30)):  # A2, B1, C1: every door taken now
            assert (await _locker_order(client, b, ref, litres, day)).status_code == 201
        waits = await _locker_order(client, b, "T-W", 5, day)  # waits for A1, free from tomorrow
        assert waits.status_code == 201, waits.text
        assert await LockerCompartment.count().where(LockerCompartment.order == waits.json()["id"]) == 0
    holding = (await PickupPoint.select(PickupPoint.holding_days).where(PickupPoint.id == b["point"]).first())[
        "holding_days"
    ]
    last, after = day + dt.timedelta(days=holding), day + dt.timedelta(days=holding + 1)
    # Up to the end of its holding time the parcel may still come: A1 stays promised to it.
    assert (await room_left(b["point"], day), await room_left(b["point"], last)) == (0, 0)
    assert await locker_days.waiting_orders(b["point"], last) == [waits.json()["id"]]
    # After it, a parcel that never came no longer holds A1 (the other doors' deliveries keep theirs).
    assert await room_left(b["point"], after) == 1
    assert await locker_days.waiting_orders(b["point"], after) == []
