"""Several loops a shift through the API (issue 15, part 2): a day that does not fit one
loop is planned in loops with reloads at the hub; the courier's route and the desk show
the loops and the reloads, the loading list is per loop; a reload time below zero is a
422 naming the field, and nothing is stored; a re-plan keeps the goods on a bike on
their loop."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Bike, Hub, Parcel, Route, Shift, Stop
from backend.services.replanning import replan_hub
from tests.api.helpers import login, post_ok, problem, service_ctx, tomorrow
from tests.api.test_planning import _small_day

BOX_L = 50.0  # each order is one parcel of 12 L: at most four per loop


async def test_the_couriers_route_shows_loops_and_the_loading_list_per_loop(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo, couriers=1, basket=False)  # 8 parcels, 96 L
    await Bike.update({Bike.volume_l: BOX_L}).where(Bike.name == "B0")
    run = await post_ok(client, f"/hubs/{hub}/plans", {"date": tomorrow().isoformat(), "timeLimitS": 2}, h)
    assert run["figures"]["violations"] == 0 and run["unplanned"] == [], run

    headers = await login(client, "courier0")
    day = (await client.get(f"/courier/today?date={tomorrow()}", headers=headers)).json()
    route = day["route"]
    loops = [s["loop"] for s in route["stops"]]
    assert loops == sorted(loops) and loops[0] == 1 and max(loops) >= 2, loops
    assert [r["loop"] for r in route["reloads"]] == list(range(2, max(loops) + 1))
    by_loop: dict[int, list[dict]] = {}
    for s in route["stops"]:
        by_loop.setdefault(s["loop"], []).append(s)
    for r in route["reloads"]:
        # back at the hub after the previous loop, out again (10 minutes by default) before the next
        last = by_loop[r["loop"] - 1][-1]
        first = by_loop[r["loop"]][0]
        assert dt.datetime.fromisoformat(last["departure"]) <= dt.datetime.fromisoformat(r["arrival"])
        arrival, departure = dt.datetime.fromisoformat(r["arrival"]), dt.datetime.fromisoformat(r["departure"])
        assert departure - arrival >= dt.timedelta(minutes=10)
        assert departure <= dt.datetime.fromisoformat(first["eta"])
        assert r["loadL"] <= BOX_L
    # the loading list: per loop, each loop's parcels within the box, its last delivery loaded first
    loading = day["loading"]
    assert {p["loop"] for p in loading} == set(by_loop)
    for loop, stops in by_loop.items():
        items = [p for p in loading if p["loop"] == loop]
        assert [p["stopId"] for p in items] == [s["stopId"] for s in reversed(stops)]
        assert [p["loadOrder"] for p in items] == list(range(1, len(items) + 1))
        assert 12 * len(items) <= BOX_L

    # the dispatcher's desk shows the same loops and reloads
    desk = (await client.get(f"/hubs/{hub}/desk?date={tomorrow()}", headers=h)).json()
    (desk_route,) = desk["routes"]
    assert [s["loop"] for s in desk_route["stops"]] == loops
    assert desk_route["reloads"] == route["reloads"]
    # and the route's line on the map rides back through the hub between loops
    lines = (await client.get(f"/hubs/{hub}/routes.geojson?date={tomorrow()}", headers=h)).json()
    (line,) = lines["features"]
    coords = line["geometry"]["coordinates"]
    assert coords[0] in coords[1:-1]


async def test_a_reload_time_below_zero_is_refused_naming_the_field_and_nothing_is_stored(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo, couriers=1, basket=False)
    before = await Hub.count()
    r = await client.post("/hubs", json={"name": "Second hub", "lat": 52.0, "lon": 5.0, "reloadMin": -5}, headers=h)
    assert "reloadMin" in problem(r, 422)["detail"]
    assert await Hub.count() == before
    r = await client.patch(f"/hubs/{hub}", json={"reloadMin": -1}, headers=h)
    assert "reloadMin" in problem(r, 422)["detail"]
    assert (await Hub.select(Hub.reload_min).where(Hub.id == hub).first())["reload_min"] == 10.0
    # null: the hub's bikes ride one loop a shift
    assert (await client.patch(f"/hubs/{hub}", json={"reloadMin": None}, headers=h)).json()["reloadMin"] is None


async def test_a_replan_keeps_the_goods_on_the_bike_on_their_loop(client, geo) -> None:
    h, hub, (courier,) = await _small_day(client, geo, couriers=1, basket=False)
    await Bike.update({Bike.volume_l: BOX_L}).where(Bike.name == "B0")
    run = await post_ok(client, f"/hubs/{hub}/plans", {"date": tomorrow().isoformat(), "timeLimitS": 2}, h)
    assert run["figures"]["violations"] == 0 and run["unplanned"] == [], run
    (route,) = await Route.select().where((Route.hub == hub) & (Route.current.eq(True))).output(load_json=True)
    first_loop = [s for s in route["stops"] if s["loop"] == 1]
    assert len(first_loop) >= 2 and max(s["loop"] for s in route["stops"]) >= 2
    # On the road: loop 1 loaded, its first stop delivered; the courier stands there.
    await Shift.update({Shift.status: "started"}).where(Shift.id == route["shift"])
    done, on_bike = first_loop[0], first_loop[1:]
    await Stop.update({Stop.status: "delivered"}).where(Stop.id == done["stop_id"])
    await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order.is_in([s["order_id"] for s in first_loop]))
    now = dt.datetime.fromisoformat(done["departure"])
    result = await replan_hub(
        service_ctx(client, {courier: (done["lat"], done["lon"])}),
        hub,
        tomorrow(),
        now,
        reason="check",
        time_limit_s=2.0,
    )
    assert result["applied"] and result["violations"] == 0 and result["unplanned"] == 0, result
    (after,) = await Route.select().where((Route.hub == hub) & (Route.current.eq(True))).output(load_json=True)
    loop_of = {s["stop_id"]: s["loop"] for s in after["stops"]}
    # the goods on the bike stay on loop 1, first, in their order; nothing else joins that loop
    assert [s["stop_id"] for s in after["stops"] if s["loop"] == 1] == [done["stop_id"]] + [
        s["stop_id"] for s in on_bike
    ]
    assert all(loop_of[s["stop_id"]] >= 2 for s in route["stops"] if s["loop"] >= 2)
    assert [r["loop"] for r in after["reloads"]] == sorted(set(loop_of.values()) - {1})
