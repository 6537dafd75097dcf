"""A parcel's longest side, kept from its order, chooses its locker door wherever doors are chosen:
a long thin parcel fits a shallow door's volume but not its depth (docs/lockers.md)."""

from __future__ import annotations

import datetime as dt

from backend.db.locker_tables import LockerCompartment
from backend.db.tables import Order, Parcel, Stop
from backend.services import locker_days
from backend.services.disruptions import after_failed_stop
from tests.api.helpers import post_ok, problem, service_ctx, tomorrow
from tests.api.test_lockers import SIZES, compartments_body
from tests.api.test_planning import _addresses, _small_day
from tests.api.test_replanning import _planned_day, _started_with_loaded_delivery

LONG = 80  # cm: deeper than every door of SIZES (60 cm at most), a parcel of a few litres
DEEP = ("D1", 20, 20, 90, 10)  # 36 L: larger than A1 by volume, the only door 80 cm goes in


async def _locker(client, h: dict, hub: int, address: str, sizes=SIZES) -> int:
    body = {
        "name": "Locker Station",
        "kind": "locker",
        "address": address,
        "hubId": hub,
        "capacityParcels": 10,
        "maxWeightKg": 25,
        "maxVolumeL": 100,
    }
    point = (await post_ok(client, "/pickup-points", body, h))["id"]
    r = await client.put(f"/pickup-points/{point}/compartments", json=compartments_body(sizes), headers=h)
    assert r.status_code == 200, r.text
    return point


async def test_an_order_keeps_its_longest_side_and_gets_a_door_that_deep(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    point = await _locker(client, h, hub, _addresses(geo)[151], [*SIZES, DEEP])
    body = {
        "reference": "LONG-1",
        "hubId": hub,
        "customerName": "Long",
        "date": tomorrow().isoformat(),
        "pickupPointId": point,
        "slot": "day",
        "parcels": [{"weightKg": 2, "volumeL": 5, "longestSideCm": LONG, "barcode": "LONG-1-A"}],
    }
    made = await post_ok(client, "/orders", body, h)
    assert (await Parcel.select(Parcel.longest_side_cm).where(Parcel.order == made["id"]).first()) == {
        "longest_side_cm": LONG
    }
    (door,) = await LockerCompartment.select(LockerCompartment.label).where(LockerCompartment.order == made["id"])
    assert door["label"] == "D1"  # by volume alone A1 (24 L, 60 cm deep) was the smallest that fit
    # Without its door (as a parcel waiting for one), the count of the bank's doors gives it D1 too.
    await LockerCompartment.update({LockerCompartment.parcel: None, LockerCompartment.order: None}).where(
        LockerCompartment.order == made["id"]
    )
    left = (await locker_days.doors_left([point], tomorrow()))[point]
    assert sorted(c.label for c in left if not c.free) == ["D1"]


async def test_a_redirect_does_not_send_a_long_parcel_to_shallow_doors(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    point = await _locker(client, h, hub, _addresses(geo)[151])
    order = await Order.select().where(Order.reference == "O-1").first()
    await Parcel.update({Parcel.longest_side_cm: LONG}).where(Parcel.order == order["id"])
    url = f"/track/{order['tracking_token']}/redirect"
    refused = problem(await client.post(url, json={"kind": "pickup_point", "pickupPointId": point}), 409)
    assert refused.get("code") == "pickup_point_too_small" and "fits no compartment" in refused["detail"], refused
    assert await LockerCompartment.count().where(LockerCompartment.order == order["id"]) == 0
    # A parcel shop whose shelves take 60 cm at most refuses it as well (its own limit, no doors).
    shop = await post_ok(
        client,
        "/pickup-points",
        {"name": "Shelf Shop", "kind": "parcel_shop", "address": _addresses(geo)[152], "hubId": hub}
        | {"capacityParcels": 10, "maxWeightKg": 25, "maxVolumeL": 100, "maxSideCm": 60},
        h,
    )
    short = problem(await client.post(url, json={"kind": "pickup_point", "pickupPointId": shop["id"]}), 409)
    assert short.get("code") == "pickup_point_too_small" and "60 cm long" in short["detail"], short
    # 50 cm goes in a 60 cm door: the same redirect is taken.
    await Parcel.update({Parcel.longest_side_cm: 50}).where(Parcel.order == order["id"])
    r = await client.post(url, json={"kind": "pickup_point", "pickupPointId": point})
    assert r.status_code == 200, r.text
    assert await LockerCompartment.count().where(LockerCompartment.order == order["id"]) == 1


async def test_a_failed_try_passes_a_bank_whose_doors_are_too_shallow(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    _, failed = await _started_with_loaded_delivery(hub, routes)
    stop = await Stop.select().where(Stop.id == failed["stopId"]).first()
    await Parcel.update({Parcel.longest_side_cm: LONG}).where(Parcel.order == failed["orderId"])
    hours = [{"days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "opens": "08:00", "closes": "21:00"}]
    # The bank stands at the customer's door (the nearest place of all); its doors hold the volume, not the length.
    locker = await _locker(client, h, hub, stop["address"])
    kiosk = await post_ok(
        client,
        "/pickup-points",
        {
            "hubId": hub,
            "capacityParcels": 10,
            "maxWeightKg": 20,
            "maxVolumeL": 60,
            "openingHours": hours,
            "name": "Kiosk",
            "kind": "parcel_shop",
            "address": _addresses(geo)[150],
        },
        h,
    )
    now = dt.datetime.combine(tomorrow(), dt.time(11, 0))
    done = await after_failed_stop(service_ctx(client), failed["stopId"], now, policy="pickup_point", time_limit_s=1.0)
    assert done["next"]["pickupPoint"]["id"] == kiosk["id"], done["next"]
    taken = LockerCompartment.order.is_not_null() & (LockerCompartment.point == locker)
    assert await LockerCompartment.count().where(taken) == 0  # no door of the bank kept for it
