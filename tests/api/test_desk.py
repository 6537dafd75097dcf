"""The dispatcher's desk: the hub's day in one answer (and as the hub stream's
snapshot), and the routes drawn along the streets as GeoJSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
import time

import anyio
import pytest

from backend.db.tables import Parcel, PlanRun, Route, Stop
from backend.services.courier_colours import PALETTE
from tests.api.helpers import admin, login, make_user, post_ok, problem, tomorrow

EVERY_DAY = [{"days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "opens": "08:00", "closes": "20:00"}]
STOP_KEYS = {
    "stopId",
    "orderId",
    "reference",
    "kind",
    "address",
    "lat",
    "lon",
    "windowStart",
    "windowEnd",
    "eta",
    "serviceStart",
    "departure",
    "status",
    "orderStatus",
}
COURIER_KEYS = {
    "id",
    "name",
    "colour",
    "shiftId",
    "shiftStart",
    "shiftEnd",
    "shiftStatus",
    "bikeId",
    "bikeName",
    "rangeKm",
    "routeId",
}
UNPLANNED_KEYS = {
    "stopId",
    "orderId",
    "reference",
    "kind",
    "address",
    "lat",
    "lon",
    "windowStart",
    "windowEnd",
    "reason",
    "detail",
}


def _addresses(geo) -> list[str]:
    return [
        f"{a.street} {a.housenumber}" for a in sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))
    ]


def _at_nine(client) -> None:
    """The service's clock at 09:00 tomorrow: the planned day is "today" for the desk and the stream."""
    nine = dt.datetime.combine(tomorrow(), dt.time(9))
    state = client.app.state
    state.context = dataclasses.replace(state.context, clock=lambda: nine)


async def _planned_day(client, geo, couriers: int = 3) -> dict:
    """A hub with two shops, a pickup point, couriers on shift tomorrow, eight orders
    (one a basket from both shops) and one too heavy for any bike; planned."""
    h = await admin(client)
    a = _addresses(geo)
    day = tomorrow().isoformat()
    hub = await post_ok(client, "/hubs", {"name": "Desk Hub", "address": a[100]}, h)
    shops = [
        (await post_ok(client, "/shops", {"name": f"Shop {i}", "address": a[200 + i], "hubId": hub["id"]}, h))["id"]
        for i in range(2)
    ]
    for shop in shops:
        await client.patch(f"/shops/{shop}", json={"openingHours": EVERY_DAY}, headers=h)
    point = await post_ok(
        client,
        "/pickup-points",
        {
            "name": "Kiosk",
            "kind": "parcel_shop",
            "address": a[40],
            "hubId": hub["id"],
            "capacityParcels": 10,
            "maxWeightKg": 20,
            "maxVolumeL": 80,
        },
        h,
    )
    courier_ids = []
    for i in range(couriers):
        bike = await post_ok(
            client, "/bikes", {"name": f"B{i}", "payloadKg": 150, "volumeL": 600, "batteryRangeKm": 40}, h
        )
        uid = await make_user(f"courier{i}", "courier", hub_id=hub["id"])
        c = await post_ok(
            client, "/couriers", {"name": f"C{i}", "bikeId": bike["id"], "hubId": hub["id"], "userId": uid}, h
        )
        await post_ok(
            client,
            "/shifts",
            {"courierId": c["id"], "hubId": hub["id"], "start": f"{day}T08:00:00", "end": f"{day}T20:00:00"},
            h,
        )
        courier_ids.append(c["id"])
    for i in range(8):
        body = {
            "reference": f"O-{i}",
            "hubId": hub["id"],
            "customerName": f"N{i}",
            "date": day,
            "address": a[300 + 7 * i],
            "parcels": [{"weightKg": 3, "volumeL": 12}],
        }
        body.update({"slot": "afternoon"} if i % 2 else {"window": {"start": "10:00", "end": "12:00"}})
        if i == 3:
            body["parcels"] += [{"weightKg": 1, "volumeL": 3, "shopId": s} for s in shops]
        await post_ok(client, "/orders", body, h)
    await post_ok(
        client,
        "/orders",
        {
            "reference": "HEAVY",
            "hubId": hub["id"],
            "customerName": "Piano",
            "date": day,
            "address": a[500],
            "slot": "day",
            "parcels": [{"weightKg": 140, "volumeL": 500}, {"weightKg": 140, "volumeL": 500}],
        },
        h,
    )
    at_point = await post_ok(
        client,
        "/orders",
        {
            "reference": "P-1",
            "hubId": hub["id"],
            "customerName": "Kim",
            "date": day,
            "pickupPointId": point["id"],
            "slot": "day",
            "parcels": [{"weightKg": 2, "volumeL": 5}],
        },
        h,
    )
    r = await client.post(f"/hubs/{hub['id']}/plans", json={"date": day, "timeLimitS": 2}, headers=h)
    assert r.status_code == 201, r.text
    await make_user("desk", "dispatcher", hub_id=hub["id"])
    return {
        "admin": h,
        "desk": await login(client, "desk"),
        "hub": hub,
        "shops": shops,
        "point": point["id"],
        "atPoint": at_point["id"],
        "couriers": courier_ids,
        "run": r.json(),
    }


async def test_the_desk_shows_the_hubs_day(client, geo) -> None:
    w = await _planned_day(client, geo)
    hub, desk = w["hub"], w["desk"]
    # A parcel delivered to the pickup point but not scanned in there: not on its shelves yet (it
    # takes its place in roomLeft); a same-day order is not planned yet.
    await Parcel.update({Parcel.status: "delivered"}).where(Parcel.order == w["atPoint"])
    late = await post_ok(
        client,
        "/orders",
        {
            "reference": "LATE-1",
            "hubId": hub["id"],
            "customerName": "Late",
            "date": tomorrow().isoformat(),
            "address": _addresses(geo)[420],
            "slot": "evening",
            "parcels": [{"weightKg": 1, "volumeL": 2}],
        },
        w["admin"],
    )
    r = await client.get(f"/hubs/{hub['id']}/desk?date={tomorrow()}", headers=desk)
    assert r.status_code == 200, r.text
    day = r.json()
    assert set(day) == {
        "seq",
        "date",
        "now",
        "hub",
        "shops",
        "pickupPoints",
        "couriers",
        "routes",
        "unplanned",
        "positions",
    }
    assert day["date"] == tomorrow().isoformat() and day["seq"] > 0
    dt.datetime.fromisoformat(day["now"])
    assert day["hub"] == {"id": hub["id"], "name": "Desk Hub", "lat": hub["lat"], "lon": hub["lon"]}
    assert sorted(s["id"] for s in day["shops"]) == sorted(w["shops"])
    assert all(set(s) == {"id", "name", "lat", "lon"} for s in day["shops"])
    assert len(day["pickupPoints"]) == 1, day
    announced = await Parcel.count().where(
        (Parcel.order.pickup_point == w["point"]) & (Parcel.order.delivery_date == tomorrow())
    )
    assert day["pickupPoints"] == [
        {
            "id": w["point"],
            "name": "Kiosk",
            "lat": day["pickupPoints"][0]["lat"],
            "lon": day["pickupPoints"][0]["lon"],
            "capacity": 10,
            "parcelsWaiting": 0,
            "roomLeft": 10 - announced,
        }
    ]
    # Couriers: by id, each with their shift, bike, range, colour and route.
    routes = {r["courierId"]: r for r in day["routes"]}
    assert [c["id"] for c in day["couriers"]] == sorted(w["couriers"])
    for n, c in enumerate(day["couriers"]):
        assert set(c) == COURIER_KEYS, c
        assert c["name"] == f"C{n}" and c["bikeName"] == f"B{n}" and c["rangeKm"] == 40
        assert c["shiftStart"] == f"{tomorrow()}T08:00:00" and c["shiftStatus"] == "planned"
        assert c["colour"] == PALETTE[n]
        assert c["routeId"] == (routes[c["id"]]["id"] if c["id"] in routes else None)
    # Routes as their events carry them, with what the desk needs of each stop.
    stored = await Route.select().where(Route.current.eq(True)).output(load_json=True)
    assert sorted(r["id"] for r in day["routes"]) == sorted(r["id"] for r in stored)
    stops = [s for r in day["routes"] for s in r["stops"]]
    assert len(stops) == 11  # 8 deliveries + 2 shop pickups + the pickup point's delivery
    for s in stops:
        assert set(s) >= STOP_KEYS, STOP_KEYS - set(s)
        assert s["status"] == "planned" and s["orderStatus"] in ("open", "planned")
    assert sorted({s["reference"] for s in stops}) == sorted([f"O-{i}" for i in range(8)] + ["P-1"])
    # Not on a route: the piano (too heavy, from the plan run) and the order that came after.
    unplanned = {u["reference"]: u for u in day["unplanned"]}
    assert set(unplanned) == {"HEAVY", "LATE-1"}
    assert all(set(u) == UNPLANNED_KEYS for u in day["unplanned"])
    heavy = next(u for u in w["run"]["unplanned"] if u["orderId"] == unplanned["HEAVY"]["orderId"])
    assert unplanned["HEAVY"]["reason"] == heavy["reason"] == "too_heavy"
    assert unplanned["HEAVY"]["detail"] == heavy["detail"]
    assert unplanned["LATE-1"]["reason"] == "not_planned_yet" and unplanned["LATE-1"]["orderId"] == late["id"]
    assert unplanned["LATE-1"]["windowStart"] == f"{tomorrow()}T18:00:00"
    assert day["positions"] == []  # not today
    # Colours stay: asked again, the same.
    again = (await client.get(f"/hubs/{hub['id']}/desk?date={tomorrow()}", headers=desk)).json()
    assert [c["colour"] for c in again["couriers"]] == [c["colour"] for c in day["couriers"]]


def test_the_palette_is_distinct_and_readable_on_white() -> None:
    def luminance(colour: str) -> float:
        def channel(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert len(PALETTE) >= 12 and len(set(PALETTE)) == len(PALETTE)
    for colour in PALETTE:
        assert 1.05 / (luminance(colour) + 0.05) >= 3.0, colour
    # Told apart: every two at least 25 apart in CIELAB (CIE76 delta E; 2.3 is just noticeable).
    labs = [_lab(c) for c in PALETTE]
    closest = min(math.dist(a, b) for i, a in enumerate(labs) for b in labs[i + 1 :])
    assert closest >= 25, closest


def _lab(colour: str) -> tuple[float, float, float]:
    """sRGB hex -> CIELAB (D65)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


async def test_routes_follow_the_streets(client, geo) -> None:
    w = await _planned_day(client, geo)
    hub, desk = w["hub"], w["desk"]
    day = (await client.get(f"/hubs/{hub['id']}/desk?date={tomorrow()}", headers=desk)).json()
    r = await client.get(f"/hubs/{hub['id']}/routes.geojson?date={tomorrow()}", headers=desk)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    collection = r.json()
    assert collection["type"] == "FeatureCollection"
    features = {f["properties"]["routeId"]: f for f in collection["features"]}
    assert set(features) == {r["id"] for r in day["routes"]} and len(features) >= 1
    colour = {c["id"]: c["colour"] for c in day["couriers"]}
    net = geo.network
    nodes = {(round(float(lon), 6), round(float(lat), 6)) for lat, lon in zip(net.lat, net.lon, strict=True)}
    home = [round(hub["lon"], 6), round(hub["lat"], 6)]
    for route in day["routes"]:
        f = features[route["id"]]
        assert f["type"] == "Feature" and f["geometry"]["type"] == "LineString"
        assert f["properties"] == {
            "routeId": route["id"],
            "version": route["version"],
            "courierId": route["courierId"],
            "colour": colour[route["courierId"]],
        }
        line = f["geometry"]["coordinates"]
        assert line[0] == home and line[-1] == home
        assert len(line) > len(route["stops"]) + 2  # along the streets, not stop to stop
        places = {(round(s["lon"], 6), round(s["lat"], 6)) for s in route["stops"]} | {tuple(home)}
        assert all(tuple(p) in nodes or tuple(p) in places for p in line)  # every bend is a street corner
        assert all(list(p) in line for p in places)  # through every stop
        # In riding order: each stop comes after the one before.
        at = [line.index([round(s["lon"], 6), round(s["lat"], 6)]) for s in route["stops"]]
        assert at == sorted(at)
        one = await client.get(f"/routes/{route['id']}/geometry", headers=desk)
        assert one.status_code == 200 and one.json() == f
    # Kept: asked again, the same bytes.
    r2 = await client.get(f"/hubs/{hub['id']}/routes.geojson?date={tomorrow()}", headers=desk)
    assert r2.content == r.content


async def test_a_day_without_routes_has_an_empty_collection(client, geo) -> None:
    h = await admin(client)
    hub = (await post_ok(client, "/hubs", {"name": "Quiet", "address": _addresses(geo)[100]}, h))["id"]
    r = await client.get(f"/hubs/{hub}/routes.geojson", headers=h)
    assert r.status_code == 200 and r.json() == {"type": "FeatureCollection", "features": []}
    day = (await client.get(f"/hubs/{hub}/desk", headers=h)).json()
    assert day["routes"] == day["couriers"] == day["unplanned"] == [] and day["date"] == dt.date.today().isoformat()


async def test_only_the_hubs_own_dispatchers_see_its_desk(client, geo) -> None:
    w = await _planned_day(client, geo, couriers=2)
    hub, h = w["hub"]["id"], w["admin"]
    other = (await post_ok(client, "/hubs", {"name": "Other", "address": _addresses(geo)[150]}, h))["id"]
    await make_user("elsewhere", "dispatcher", hub_id=other)
    elsewhere = await login(client, "elsewhere")
    route = (await Route.select(Route.id).where(Route.current.eq(True)).first())["id"]
    for path in (f"/hubs/{hub}/desk", f"/hubs/{hub}/routes.geojson", f"/routes/{route}/geometry"):
        body = problem(await client.get(path, headers=elsewhere), 403)
        assert "hub" in body["detail"] and "Desk Hub" not in json.dumps(body)
    courier = await login(client, "courier0")
    problem(await client.get(f"/hubs/{hub}/desk", headers=courier), 403)
    problem(await client.get(f"/hubs/{hub}/routes.geojson", headers=courier), 403)
    problem(await client.get(f"/routes/{route}/geometry", headers=courier), 403)
    client.cookies.clear()  # the logins above left a session cookie
    problem(await client.get(f"/hubs/{hub}/desk"), 401)
    # Unknown: 404 with a sentence.
    assert "99999" in problem(await client.get("/hubs/99999/desk", headers=h), 404)["detail"]
    problem(await client.get("/hubs/99999/routes.geojson", headers=h), 404)
    assert "99999" in problem(await client.get("/routes/99999/geometry", headers=h), 404)["detail"]
    problem(await client.get(f"/hubs/{hub}/desk?date=tomorrow", headers=h), 400)


async def test_the_hub_stream_snapshot_is_the_desk(client, geo) -> None:
    _at_nine(client)
    w = await _planned_day(client, geo, couriers=2)
    hub, desk = w["hub"]["id"], w["desk"]
    state = client.app.state
    courier = w["couriers"][0]
    shift = (await Route.select(Route.shift).where(Route.courier == courier).first() or {}).get("shift", 1)
    state.positions.record(
        courier_id=courier,
        shift_id=shift,
        hub_id=hub,
        lat=w["hub"]["lat"],
        lon=w["hub"]["lon"],
        ts=dt.datetime.combine(tomorrow(), dt.time(9)),
        accuracy=8.0,
    )
    day = (await client.get(f"/hubs/{hub}/desk", headers=desk)).json()
    assert day["date"] == tomorrow().isoformat() and day["now"] == f"{tomorrow()}T09:00:00"
    assert day["positions"] == [
        {
            "courierId": courier,
            "hubId": hub,
            "lat": w["hub"]["lat"],
            "lon": w["hub"]["lon"],
            "ts": f"{tomorrow()}T09:00:00",
            "accuracy": 8.0,
        }
    ]

    session = await client.websocket_connect(f"/ws/hub/{hub}", headers=desk)
    with session as ws:
        message = await anyio.to_thread.run_sync(lambda: ws.receive_json(timeout=30))
    assert message["type"] == "snapshot" and message["seq"] == day["seq"]
    assert message["data"] == day


async def test_a_long_snapshot_comes_in_parts_with_nothing_between_them(client, geo, monkeypatch) -> None:
    from backend.api import streams
    from backend.bench.harness.stream import MessageReader

    _at_nine(client)
    w = await _planned_day(client, geo, couriers=2)
    hub, desk = w["hub"]["id"], w["desk"]
    day = (await client.get(f"/hubs/{hub}/desk", headers=desk)).json()
    monkeypatch.setattr(streams, "PART_CHARS", 1000)  # the small day's snapshot is a few kB
    session = await client.websocket_connect(f"/ws/hub/{hub}", headers=desk)
    with session as ws:
        header = await anyio.to_thread.run_sync(lambda: ws.receive_json(timeout=30))
        assert header["type"] == "parts" and header["count"] > 1
        pieces = [await anyio.to_thread.run_sync(lambda: ws.receive_text(timeout=30)) for _ in range(header["count"])]
        after = await anyio.to_thread.run_sync(lambda: ws.receive_json(timeout=30))
    assert all(len(p) == 1000 for p in pieces[:-1]) and 0 < len(pieces[-1]) <= 1000
    message = json.loads("".join(pieces))
    assert message["type"] == "snapshot" and message["data"]["routes"] == day["routes"]
    assert after["type"] == "caught_up" and after["seq"] == message["seq"]  # after the last piece
    reader = MessageReader()  # the bench's client reads them the same way
    assert [reader.take(f) for f in [json.dumps(header), *pieces]] == [None] * header["count"] + [message]


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
async def test_a_big_day_answers(client, geo, capsys) -> None:
    """100 couriers and 4,000 stops (the ws bench's synthetic day): the desk and the
    route lines answer; the times are printed, not asserted (a shared machine)."""
    from backend.bench.ws_day import seed_synthetic_day

    t0 = time.perf_counter()
    seeded = await seed_synthetic_day(geo, 100, 40, tomorrow(), random.Random(3))
    seed_s = time.perf_counter() - t0
    await make_user("bigdesk", "dispatcher", hub_id=seeded["hub_id"])
    desk = await login(client, "bigdesk")
    url = f"/hubs/{seeded['hub_id']}"
    times = {}
    for what, path in (
        ("desk", f"{url}/desk?date={tomorrow()}"),
        ("geojson cold", f"{url}/routes.geojson?date={tomorrow()}"),
        ("geojson kept", f"{url}/routes.geojson?date={tomorrow()}"),
        ("desk again", f"{url}/desk?date={tomorrow()}"),
    ):
        t, cpu = time.perf_counter(), time.process_time()  # CPU: the server's work, whatever else the machine does
        r = await client.get(path, headers=desk)
        times[what] = {
            "s": round(time.perf_counter() - t, 3),
            "cpuS": round(time.process_time() - cpu, 3),
            "bytes": len(r.content),
        }
        assert r.status_code == 200, r.text[:300]
    day = (await client.get(f"{url}/desk?date={tomorrow()}", headers=desk)).json()
    assert len(day["couriers"]) == 100 and sum(len(r["stops"]) for r in day["routes"]) == 4000
    assert len({c["colour"] for c in day["couriers"]}) == len(PALETTE)
    lines = (await client.get(f"{url}/routes.geojson?date={tomorrow()}", headers=desk)).json()["features"]
    assert len(lines) == 100 and sum(len(f["geometry"]["coordinates"]) for f in lines) > 4200
    with capsys.disabled():
        print(f"\nbig day (100 couriers, 4,000 stops; seeded in {seed_s:.1f} s): {times}")
    assert await Stop.count() == 4000


async def test_the_hub_stream_of_no_hub_is_refused(client, geo) -> None:
    from litestar.exceptions import WebSocketDisconnect

    h = await admin(client)
    session = await client.websocket_connect("/ws/hub/99999", headers=h)
    # refused before it opens (a server answers the upgrade with 403)
    with pytest.raises(WebSocketDisconnect), session as ws:
        ws.receive_json(timeout=10)


async def test_a_replan_keeps_its_reasons_for_the_desk(client, geo) -> None:
    _at_nine(client)  # the planned day is today: it can be re-planned
    w = await _planned_day(client, geo, couriers=2)
    hub, desk = w["hub"]["id"], w["desk"]
    await post_ok(
        client,
        "/orders",
        {
            "reference": "LATE-2",
            "hubId": hub,
            "customerName": "Late",
            "date": tomorrow().isoformat(),
            "address": _addresses(geo)[420],
            "slot": "evening",
            "parcels": [{"weightKg": 1, "volumeL": 2}],
        },
        w["admin"],
    )
    r = await client.post(f"/hubs/{hub}/replan", json={"reason": "test", "timeLimitS": 1}, headers=desk)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    run = (await PlanRun.select().order_by(PlanRun.id, ascending=False).first().output(load_json=True)) or {}
    assert run["inputs"].get("replan") is True
    assert any(u["reason"] == "too_heavy" for u in run["unplanned"])  # the re-plan's run keeps its reasons
    day = (await client.get(f"/hubs/{hub}/desk", headers=desk)).json()
    unplanned = {u["reference"]: u for u in day["unplanned"]}
    assert unplanned["HEAVY"]["reason"] == "too_heavy"
    on_routes = {s["reference"] for r in day["routes"] for s in r["stops"]}
    assert "LATE-2" in on_routes or unplanned["LATE-2"]["reason"] != "not_planned_yet"
