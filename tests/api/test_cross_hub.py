"""Every reference stays within the caller's hub: one hub's order, shift or
courier cannot name another hub's shop, pickup point, courier or bike, and one
hub's dispatcher cannot touch another hub's bikes."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Bike, Order, Shift
from tests.api.helpers import admin, login, make_user, post_ok, problem, tomorrow
from tests.api.test_orders import _addresses, _order

BIKE = {"payloadKg": 100, "volumeL": 300, "batteryRangeKm": 60}


async def _two_hubs(client, geo) -> dict:
    h = await admin(client)
    addr = _addresses(geo)
    hubs = [await post_ok(client, "/hubs", {"name": f"Hub {n}", "address": addr[n]}, h) for n in (0, 1)]
    out: dict = {"admin": h, "addr": addr}
    for n, hub in enumerate(hubs, start=1):
        await make_user(f"desk{n}", "dispatcher", hub_id=hub["id"])
        d = await login(client, f"desk{n}")
        out[n] = {
            "hub": hub["id"],
            "desk": d,
            "shop": (await post_ok(client, "/shops", {"name": f"Shop {n}", "address": addr[10 + n]}, d))["id"],
            "point": (
                await post_ok(
                    client,
                    "/pickup-points",
                    {
                        "name": f"Point {n}",
                        "address": addr[20 + n],
                        "kind": "parcel_shop",
                        "capacityParcels": 20,
                        "maxWeightKg": 20,
                        "maxVolumeL": 80,
                    },
                    d,
                )
            )["id"],
            "bike": (await post_ok(client, "/bikes", {"name": f"Bike {n}", **BIKE}, d))["id"],
            "courier": (await post_ok(client, "/couriers", {"name": f"Courier {n}"}, d))["id"],
        }
    return out


async def test_things_a_hubs_dispatcher_makes_are_that_hubs(client, geo) -> None:
    w = await _two_hubs(client, geo)
    bike = await Bike.select().where(Bike.id == w[1]["bike"]).first()
    assert bike["hub"] == w[1]["hub"]
    r = await client.get("/bikes", headers=w[2]["desk"])
    assert [b["id"] for b in r.json()] == [w[2]["bike"]]  # hub 2 sees its own bikes only


async def test_an_order_cannot_name_another_hubs_shop_or_pickup_point(client, geo) -> None:
    w = await _two_hubs(client, geo)
    d1, hub1, addr = w[1]["desk"], w[1]["hub"], w["addr"][30]
    foreign_shop = _order(hub1, "X-1", addr, parcels=[{"weightKg": 1, "volumeL": 2, "shopId": w[2]["shop"]}])
    detail = problem(await client.post("/orders", json=foreign_shop, headers=d1), 422)["detail"]
    assert f"shopId {w[2]['shop']} belongs to hub {w[2]['hub']}" in detail
    foreign_point = {**_order(hub1, "X-2", ""), "pickupPointId": w[2]["point"]}
    foreign_point.pop("address")
    detail = problem(await client.post("/orders", json=foreign_point, headers=d1), 422)["detail"]
    assert f"pickupPointId {w[2]['point']} belongs to hub {w[2]['hub']}" in detail
    assert await Order.count() == 0
    own = _order(hub1, "X-3", addr, parcels=[{"weightKg": 1, "volumeL": 2, "shopId": w[1]["shop"]}])
    await post_ok(client, "/orders", own, d1)


async def test_a_shift_cannot_take_another_hubs_courier_or_bike(client, geo) -> None:
    w = await _two_hubs(client, geo)
    d1 = w[1]["desk"]
    start = dt.datetime.combine(tomorrow(), dt.time(8))
    shift = {"hubId": w[1]["hub"], "start": start.isoformat(), "end": (start + dt.timedelta(hours=8)).isoformat()}
    for body, words in (
        ({**shift, "courierId": w[2]["courier"]}, "courierId"),
        ({**shift, "courierId": w[1]["courier"], "bikeId": w[2]["bike"]}, "bikeId"),
    ):
        detail = problem(await client.post("/shifts", json=body, headers=d1), 422)["detail"]
        assert f"{words} " in detail and f"belongs to hub {w[2]['hub']}" in detail
    # the admin (no hub) is held to the same rule: the shift's hub decides
    problem(await client.post("/shifts", json={**shift, "courierId": w[2]["courier"]}, headers=w["admin"]), 422)
    assert await Shift.count() == 0
    await post_ok(client, "/shifts", {**shift, "courierId": w[1]["courier"], "bikeId": w[1]["bike"]}, d1)


async def test_a_courier_cannot_ride_another_hubs_bike(client, geo) -> None:
    w = await _two_hubs(client, geo)
    r = await client.patch(f"/couriers/{w[1]['courier']}", json={"bikeId": w[2]["bike"]}, headers=w[1]["desk"])
    assert "bikeId" in problem(r, 422)["detail"]


async def test_one_hubs_dispatcher_cannot_change_another_hubs_bike(client, geo) -> None:
    w = await _two_hubs(client, geo)
    other = f"/bikes/{w[2]['bike']}"
    d1 = w[1]["desk"]
    problem(await client.get(other, headers=d1), 403)
    problem(await client.patch(other, json={"name": "Mine now"}, headers=d1), 403)
    problem(await client.delete(other, headers=d1), 403)
    problem(await client.post("/bikes", json={"name": "Sneaky", "hubId": w[2]["hub"], **BIKE}, headers=d1), 403)
    assert (await Bike.select(Bike.name).where(Bike.id == w[2]["bike"]).first())["name"] == "Bike 2"
    assert await Bike.count() == 2
