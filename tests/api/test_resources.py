"""Hubs, shops, pickup points, bikes, couriers, shifts: the shared CRUD rules."""

from __future__ import annotations

from backend.db.tables import Hub, Shift
from tests.api.helpers import admin, login, make_user, post_ok, problem, tomorrow


def _addr(geo, i: int = 0) -> str:
    a = sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))[i]
    return f"{a.street} {a.housenumber}"


async def test_hub_by_address_is_geocoded_and_readable(client, geo) -> None:
    h = await admin(client)
    hub = await post_ok(
        client,
        "/hubs",
        {
            "name": "Hub A",
            "address": _addr(geo, 5),
            "openingHours": [{"days": ["mo", "tu"], "opens": "07:00", "closes": "19:00"}],
        },
        h,
    )
    assert geo.network.contains(hub["lat"], hub["lon"])
    assert hub["openingHours"][0]["opens"] == "07:00"
    r = await client.get(f"/hubs/{hub['id']}", headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Hub A"
    assert [x["id"] for x in (await client.get("/hubs", headers=h)).json()] == [hub["id"]]


async def test_unknown_address_names_close_matches_and_writes_nothing(client, geo) -> None:
    h = await admin(client)
    street = _addr(geo, 5).rsplit(" ", 1)[0]
    misspelt = street[:-2] + street[-1] + street[-2] + " 1"  # swap two letters
    body = problem(await client.post("/hubs", json={"name": "X", "address": misspelt}, headers=h), 422)
    assert "not on the map" in body["detail"]
    assert any(street in s for s in body["suggestions"]), body
    assert await Hub.count() == 0


async def test_point_outside_the_map_is_refused(client) -> None:
    h = await admin(client)
    body = problem(await client.post("/hubs", json={"name": "Amsterdam", "lat": 52.37, "lon": 4.89}, headers=h), 422)
    assert "outside the map" in body["detail"]
    assert await Hub.count() == 0


async def test_malformed_json_and_unknown_fields_get_400(client, geo) -> None:
    h = await admin(client)
    r = await client.post("/hubs", content=b'{"name": "x",', headers={**h, "content-type": "application/json"})
    problem(r, 400)
    body = problem(
        await client.post("/hubs", json={"name": "x", "address": _addr(geo), "colour": "red"}, headers=h), 400
    )
    assert "colour" in body["detail"]
    body = problem(
        await client.post(
            "/bikes", json={"name": "b", "payloadKg": -5, "volumeL": 100, "batteryRangeKm": 40}, headers=h
        ),
        400,
    )
    assert "payloadKg" in body["detail"]
    assert await Hub.count() == 0


async def test_opening_hours_that_close_before_they_open_are_refused(client, geo) -> None:
    h = await admin(client)
    body = problem(
        await client.post(
            "/hubs",
            json={
                "name": "x",
                "address": _addr(geo),
                "openingHours": [{"days": ["mo"], "opens": "18:00", "closes": "08:00"}],
            },
            headers=h,
        ),
        422,
    )  # schema-valid, refused by a rule
    assert "closes" in body["detail"]


async def _hub_courier(client, geo, h) -> tuple[int, int, int]:
    hub = await post_ok(client, "/hubs", {"name": "Hub", "address": _addr(geo, 3)}, h)
    bike = await post_ok(
        client, "/bikes", {"name": "Bakfiets 1", "payloadKg": 200, "volumeL": 800, "batteryRangeKm": 50}, h
    )
    courier = await post_ok(client, "/couriers", {"name": "Cas", "bikeId": bike["id"], "hubId": hub["id"]}, h)
    return hub["id"], bike["id"], courier["id"]


async def test_shift_rules(client, geo) -> None:
    h = await admin(client)
    hub, _, courier = await _hub_courier(client, geo, h)
    day = tomorrow().isoformat()
    shift = {"courierId": courier, "hubId": hub, "start": f"{day}T08:00:00", "end": f"{day}T16:00:00"}
    created = await post_ok(client, "/shifts", shift, h)
    body = problem(
        await client.post("/shifts", json={**shift, "start": f"{day}T17:00:00", "end": f"{day}T09:00:00"}, headers=h),
        422,
    )
    assert "ends" in body["detail"]
    problem(
        await client.post("/shifts", json={**shift, "start": f"{day}T12:00:00", "end": f"{day}T20:00:00"}, headers=h),
        409,
    )
    body = problem(await client.post("/shifts", json={**shift, "courierId": 999}, headers=h), 422)
    assert "courierId 999" in body["detail"]
    assert await Shift.count() == 1
    # A patch is validated as a whole: moving the end before the start is refused.
    problem(await client.patch(f"/shifts/{created['id']}", json={"end": f"{day}T07:00:00"}, headers=h), 422)
    r = await client.patch(f"/shifts/{created['id']}", json={"end": f"{day}T15:00:00"}, headers=h)
    assert r.status_code == 200 and r.json()["end"].startswith(f"{day}T15:00")


async def test_delete_refuses_what_is_still_used(client, geo) -> None:
    h = await admin(client)
    hub, bike, courier = await _hub_courier(client, geo, h)
    day = tomorrow().isoformat()
    await post_ok(
        client, "/shifts", {"courierId": courier, "hubId": hub, "start": f"{day}T08:00:00", "end": f"{day}T16:00:00"}, h
    )
    body = problem(await client.delete(f"/hubs/{hub}", headers=h), 409)
    assert "still used" in body["detail"]
    problem(await client.get("/hubs/9999", headers=h), 404)
    r = await client.patch(f"/couriers/{courier}", json={"bikeId": None}, headers=h)
    assert r.status_code == 200 and r.json()["bikeId"] is None
    assert (await client.delete(f"/bikes/{bike}", headers=h)).status_code == 204


async def test_pickup_point_validation(client, geo) -> None:
    h = await admin(client)
    pp = {
        "name": "Locker 1",
        "kind": "locker",
        "address": _addr(geo, 9),
        "capacityParcels": 20,
        "maxWeightKg": 20,
        "maxVolumeL": 60,
    }
    created = await post_ok(client, "/pickup-points", pp, h)
    assert created["kind"] == "locker"
    problem(await client.post("/pickup-points", json={**pp, "kind": "drone"}, headers=h), 400)
    problem(await client.post("/pickup-points", json={**pp, "capacityParcels": 0}, headers=h), 400)


async def test_dispatcher_of_one_hub_cannot_touch_another(client, geo) -> None:
    h = await admin(client)
    a = await post_ok(client, "/hubs", {"name": "A", "address": _addr(geo, 1)}, h)
    b = await post_ok(client, "/hubs", {"name": "B", "address": _addr(geo, 2)}, h)
    await make_user("disp", "dispatcher", hub_id=a["id"])
    d = await login(client, "disp")
    assert [x["id"] for x in (await client.get("/hubs", headers=d)).json()] == [a["id"]]
    problem(await client.get(f"/hubs/{b['id']}", headers=d), 403)
    problem(await client.post("/shops", json={"name": "S", "address": _addr(geo, 4), "hubId": b["id"]}, headers=d), 403)
