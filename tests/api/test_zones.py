"""Restricted zones through the API: a loading zone's stops are served within its
windows or reported unplanned with the zone's reason; a pedestrian zone is walked in
its no-ride hours and ridden outside them; bad outlines and windows get a 422 naming
the field and store nothing; only the hub's dispatchers may see or change its zones."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools

from backend.db.tables import AccessZone, Bike, Courier, Hub, IdempotencyRecord, PlanRun, Stop
from backend.dispatch.closures import circle
from backend.dispatch.network import haversine_m
from backend.dispatch.zones import ZoneWindow
from backend.services.day import load_day
from backend.services.zones import add_zone, remove_zone
from tests.api.helpers import login, make_user, post_ok, problem, service_ctx, tomorrow
from tests.api.test_planning import _small_day
from tests.api.test_replanning import _current_routes


def _ring(points) -> list[list[float]]:
    return [list(p) for p in (*points, points[0])]


async def _lonely_delivery(window_start: str) -> dict:
    """A delivery with a window from ``window_start`` and no other stop within 60 m."""
    stops = await Stop.select(Stop.id, Stop.lat, Stop.lon, Stop.window_start, Stop.kind)
    for s in stops:
        others = [o for o in stops if o["id"] != s["id"]]
        alone = all(haversine_m(s["lat"], s["lon"], o["lat"], o["lon"]) > 60 for o in others)
        if s["kind"] == "delivery" and s["window_start"].strftime("%H:%M") == window_start and alone:
            return s
    raise AssertionError(f"no delivery with a {window_start} window stands alone")


async def _plan(client, hub: int, h: dict) -> tuple[dict, dict]:
    run = await post_ok(client, f"/hubs/{hub}/plans", {"date": tomorrow().isoformat(), "timeLimitS": 1}, h)
    routes = (await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=h)).json()
    return run, {s["stopId"]: s for r in routes for s in r["stops"]}


async def test_a_stop_in_a_loading_zone_is_served_within_its_window_or_unplanned_with_the_zone_reason(
    client, geo
) -> None:
    h, hub, _ = await _small_day(client, geo)
    stop = await _lonely_delivery("10:00")  # its own window: 10:00-12:00
    zone = await post_ok(
        client,
        f"/hubs/{hub}/zones",
        {
            "name": "Loading zone",
            "kind": "loading",
            "polygon": _ring(circle(stop["lat"], stop["lon"], 30)),
            "windows": [{"start": "11:15", "end": "11:45"}],
        },
        h,
    )
    assert zone["kind"] == "loading" and zone["polygon"][0] == zone["polygon"][-1] and zone["replan"] is None
    run, planned = await _plan(client, hub, h)
    assert run["unplanned"] == [] and run["figures"]["violations"] == 0
    served = dt.datetime.fromisoformat(planned[stop["id"]]["serviceStart"]).time()
    assert dt.time(11, 15) <= served <= dt.time(11, 45), planned[stop["id"]]

    # Windows that miss the stop's own: unplanned, with the zone's reason and name.
    assert (await client.delete(f"/zones/{zone['id']}", headers=h)).status_code == 200
    await post_ok(
        client,
        f"/hubs/{hub}/zones",
        {
            "name": "Evening loading",
            "kind": "loading",
            "polygon": _ring(circle(stop["lat"], stop["lon"], 30)),
            "windows": [{"start": "18:00", "end": "20:00"}],
        },
        h,
    )
    run, planned = await _plan(client, hub, h)
    assert stop["id"] not in planned
    (unplanned,) = run["unplanned"]
    assert unplanned["stopId"] == stop["id"] and unplanned["reason"] == "zone_window"
    assert "Evening loading" in unplanned["detail"] and "18:00–20:00" in unplanned["detail"]


async def test_a_pedestrian_zone_is_walked_in_its_restricted_hours_and_ridden_outside_them(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)  # shifts 08:00-20:00
    hub_row = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub).first()
    around_hub = _ring(circle(hub_row["lat"], hub_row["lon"], 200))  # every trip starts through it
    open_day = await load_day(geo, hub, tomorrow())

    def from_hub(day_input) -> list[int]:
        t, stops = day_input.problem.time_s, day_input.problem.stops
        return [int(t[day_input.problem.vehicles[0].start_location][s.location]) for s in stops]

    # Ridden 06:00-21:00: all of the day's shifts, so ridden all day.
    ridden = await post_ok(
        client,
        f"/hubs/{hub}/zones",
        {
            "name": "Square",
            "kind": "pedestrian",
            "polygon": around_hub,
            "windows": [{"start": "06:00", "end": "21:00"}],
        },
        h,
    )
    assert ridden["streetSegments"] > 0
    assert from_hub(await load_day(geo, hub, tomorrow())) == from_hub(open_day)

    # Ridden before 10:00 only: the shifts reach into its walking hours, so it is walked.
    await client.delete(f"/zones/{ridden['id']}", headers=h)
    await post_ok(
        client,
        f"/hubs/{hub}/zones",
        {
            "name": "Square",
            "kind": "pedestrian",
            "polygon": around_hub,
            "windows": [{"start": "06:00", "end": "10:00"}],
        },
        h,
    )
    walked = from_hub(await load_day(geo, hub, tomorrow()))
    assert all(w >= r for w, r in zip(walked, from_hub(open_day), strict=True))
    assert sum(walked) > sum(from_hub(open_day)) + 60 * len(walked)  # over a minute more per stop
    run, _ = await _plan(client, hub, h)
    assert run["figures"]["violations"] == 0


async def test_bad_zones_get_a_422_naming_the_field_and_nothing_is_stored(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    square = [[60.1690, 24.9500], [60.1690, 24.9510], [60.1685, 24.9510], [60.1685, 24.9500]]

    async def refused(body: dict, status: int = 422) -> dict:
        full = {"name": "Z", "kind": "loading", "polygon": [*square, square[0]], **body}
        full.setdefault("windows", [{"start": "07:00", "end": "11:00"}])
        return problem(await client.post(f"/hubs/{hub}/zones", json=full, headers=h), status)

    body = await refused({"polygon": square})
    assert body["field"] == "polygon" and "does not close" in body["detail"]
    body = await refused({"polygon": [square[0], square[2], square[1], square[3], square[0]]})
    assert body["field"] == "polygon" and "crosses itself" in body["detail"]
    body = await refused({"windows": [{"start": "07:00", "end": "11:00"}, {"start": "11:00", "end": "09:00"}]})
    assert body["field"] == "windows[1]" and "before it starts" in body["detail"]
    body = await refused({"windows": []})
    assert body["field"] == "windows"
    body = await refused({"polygon": [[p[0] + 1, p[1]] for p in [*square, square[0]]]})
    assert "outside the map" in body["detail"]
    body = await refused({"name": "  "})
    assert body["field"] == "name"
    body = await refused({"name": "Zone\u0000"})
    assert body["field"] == "name" and "control character" in body["detail"]
    await refused({"kind": "parking"}, 400)  # not a kind of zone
    # Not a vehicle kind: a 422 naming the field and the kinds there are.
    body = await refused({"exempt": ["bus"]})
    assert (
        body["field"] == "exempt" and "'bus' is not a vehicle kind" in body["detail"] and "cargo_bike" in body["detail"]
    )
    body = await refused({"windows": [{"start": "07:00", "end": "11:00", "kinds": ["walker", "bus"]}]})
    assert body["field"] == "windows[0].kinds" and "'bus'" in body["detail"]
    body = await refused({"windows": [{"start": "07:00", "end": "11:00", "kinds": ["van"]}], "exempt": ["van"]})
    assert body["field"] == "windows[0].kinds" and "exempt" in body["detail"]
    await refused({"windows": [{"start": "7", "end": "11:00"}]}, 400)  # not HH:MM
    assert await AccessZone.count() == 0


async def test_only_the_hubs_dispatchers_see_and_change_its_zones(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    square = [[60.1690, 24.9500], [60.1690, 24.9510], [60.1685, 24.9510], [60.1685, 24.9500], [60.1690, 24.9500]]
    body = {"name": "Z", "kind": "pedestrian", "polygon": square}
    made = await post_ok(client, f"/hubs/{hub}/zones", body, h)
    await make_user("other-dispatcher", "dispatcher", hub_id=hub + 1)
    other = await login(client, "other-dispatcher")
    problem(await client.post(f"/hubs/{hub}/zones", json=body, headers=other), 403)
    problem(await client.get(f"/hubs/{hub}/zones", headers=other), 403)
    problem(await client.delete(f"/zones/{made['id']}", headers=other), 403)
    problem(await client.post(f"/hubs/{hub}/zones/import-osm", json={}, headers=other), 403)
    courier = await login(client, "courier0")
    problem(await client.get(f"/hubs/{hub}/zones", headers=courier), 403)
    problem(await client.delete("/zones/12345", headers=h), 404)
    assert [z["id"] for z in (await client.get(f"/hubs/{hub}/zones", headers=h)).json()] == [made["id"]]


async def test_the_maps_pedestrian_areas_are_imported_once(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    assert geo.pedestrian_zones  # the Helsinki extract has pedestrian areas
    first = await post_ok(client, f"/hubs/{hub}/zones/import-osm", {"windows": [{"start": "06:00", "end": "10:00"}]}, h)
    assert len(first) == len(geo.pedestrian_zones)
    assert all(z["kind"] == "pedestrian" and z["source"].startswith("osm:w") for z in first)
    assert first[0]["windows"] == [
        {"start": "06:00", "end": "10:00", "days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "kinds": []}
    ]
    again = await post_ok(client, f"/hubs/{hub}/zones/import-osm", {}, h)
    assert again == [] and await AccessZone.count() == len(first)
    run, _ = await _plan(client, hub, h)
    assert run["figures"]["violations"] == 0


async def test_a_zone_drawn_on_the_running_day_replans_it_within_the_zones_windows(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    await _plan(client, hub, h)
    stop = await _lonely_delivery("10:00")
    now = dt.datetime.combine(tomorrow(), dt.time(9))  # the planned day, running
    # On the app's own loop, as a request runs it: its re-plan's writes then queue behind the
    # app's job worker's (the test body's loop has a SQLite writer lock of its own).
    adding = functools.partial(
        add_zone,
        service_ctx(client),
        hub,
        name="Afternoon loading",
        kind="loading",
        polygon=_ring(circle(stop["lat"], stop["lon"], 30)),
        windows=[ZoneWindow(start="13:00", end="14:00")],
        now=now,
        time_limit_s=1.0,
    )
    made = await asyncio.to_thread(client.blocking_portal.call, adding)
    result = made.replan
    assert result is not None and result["reason"] == "loading zone added: Afternoon loading"
    assert result["violations"] == 0 and result["unplanned"] == 1, result
    run = (
        await PlanRun.select(PlanRun.unplanned).where(PlanRun.id == result["planRunId"]).output(load_json=True).first()
    )
    assert [(u["stopId"], u["reason"]) for u in run["unplanned"]] == [(stop["id"], "zone_window")]
    assert all(s["stopId"] != stop["id"] for r in await _current_routes(hub) for s in r["stops"]), result

    # Deleted: the next re-plan serves the stop again.
    gone = await remove_zone(service_ctx(client), made.id, now=now, time_limit_s=1.0)
    assert gone.replan is not None and gone.replan["unplanned"] == 0
    assert any(s["stopId"] == stop["id"] for r in await _current_routes(hub) for s in r["stops"])


async def _courier_of_stop(client, hub: int, h: dict, stop_id: int) -> int:
    routes = (await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=h)).json()
    (courier,) = [r["courierId"] for r in routes if any(s["stopId"] == stop_id for s in r["stops"])]
    return courier


async def test_a_loading_zone_keeps_each_vehicle_kind_to_its_own_windows(client, geo) -> None:
    h, hub, couriers = await _small_day(client, geo)
    van_courier, bike_courier = couriers
    van = (await Courier.select(Courier.bike).where(Courier.id == van_courier).first())["bike"]
    assert (await client.patch(f"/bikes/{van}", json={"kind": "van"}, headers=h)).json()["kind"] == "van"
    problem(await client.patch(f"/bikes/{van}", json={"kind": "bus"}, headers=h), 400)
    stop = await _lonely_delivery("10:00")  # its own window: 10:00-12:00
    zone = await post_ok(
        client,
        f"/hubs/{hub}/zones",
        {
            "name": "Kamppi",
            "kind": "loading",
            "polygon": _ring(circle(stop["lat"], stop["lon"], 30)),
            # Vans 11:30-11:45 only; every other kind 10:00-11:00.
            "windows": [{"start": "11:30", "end": "11:45", "kinds": ["van"]}, {"start": "10:00", "end": "11:00"}],
        },
        h,
    )
    shown = (await client.get(f"/hubs/{hub}/zones", headers=h)).json()
    assert [w["kinds"] for w in shown[0]["windows"]] == [["van"], []] and shown[0]["exempt"] == []
    run, planned = await _plan(client, hub, h)
    assert run["unplanned"] == [] and run["figures"]["violations"] == 0
    served = dt.datetime.fromisoformat(planned[stop["id"]]["serviceStart"]).time()
    # The wider window is the cargo bike's: the stop rides with it, within 10:00-11:00.
    assert dt.time(10) <= served <= dt.time(11), planned[stop["id"]]
    assert await _courier_of_stop(client, hub, h, stop["id"]) == bike_courier

    # Windows no kind on the day can keep: unplanned, naming each kind's windows.
    await client.delete(f"/zones/{zone['id']}", headers=h)
    evening = {
        "name": "Evening loading",
        "kind": "loading",
        "polygon": _ring(circle(stop["lat"], stop["lon"], 30)),
        "windows": [{"start": "18:00", "end": "20:00", "kinds": ["cargo_bike"]}, {"start": "06:00", "end": "07:00"}],
    }
    made = await post_ok(client, f"/hubs/{hub}/zones", evening, h)
    run, planned = await _plan(client, hub, h)
    (unplanned,) = run["unplanned"]
    assert unplanned["stopId"] == stop["id"] and unplanned["reason"] == "zone_window"
    assert "cargo_bike 18:00–20:00" in unplanned["detail"] and "van 06:00–07:00" in unplanned["detail"]

    # The same zone exempting vans: the van serves it in the stop's own window.
    await client.delete(f"/zones/{made['id']}", headers=h)
    exempt = await post_ok(client, f"/hubs/{hub}/zones", {**evening, "exempt": ["van"]}, h)
    assert exempt["exempt"] == ["van"]
    run, planned = await _plan(client, hub, h)
    assert run["unplanned"] == [] and run["figures"]["violations"] == 0
    assert await _courier_of_stop(client, hub, h, stop["id"]) == van_courier
    assert await Bike.count() == 2


async def test_a_zone_posted_twice_with_one_key_is_stored_and_replanned_once(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    await _plan(client, hub, h)
    stop = await _lonely_delivery("10:00")
    # The planned day is running: adding a zone re-plans it.
    client.app.state.context = dataclasses.replace(
        client.app.state.context, clock=lambda: dt.datetime.combine(tomorrow(), dt.time(9))
    )
    body = {
        "name": "Afternoon loading",
        "kind": "loading",
        "polygon": _ring(circle(stop["lat"], stop["lon"], 30)),
        "windows": [{"start": "13:00", "end": "14:00"}],
    }
    keyed = {**h, "Idempotency-Key": "zone-1"}
    runs = await PlanRun.count()
    first = await client.post(f"/hubs/{hub}/zones", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    assert first.json()["replan"] is not None and first.json()["replan"]["unplanned"] == 1
    assert await PlanRun.count() == runs + 1
    again = await client.post(f"/hubs/{hub}/zones", json=body, headers=keyed)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await AccessZone.count() == 1 and await PlanRun.count() == runs + 1
    # The same key with another body: refused with a sentence, nothing stored.
    other = problem(await client.post(f"/hubs/{hub}/zones", json={**body, "name": "Other"}, headers=keyed), 422)
    assert "already used for a different request" in other["detail"]
    assert await AccessZone.count() == 1
    # A refused request is refused the same way on a replay, and stores nothing.
    bad = {**body, "windows": []}
    for _ in range(2):
        r = await client.post(f"/hubs/{hub}/zones", json=bad, headers={**h, "Idempotency-Key": "zone-2"})
        assert problem(r, 422)["field"] == "windows"
    assert await AccessZone.count() == 1 and await IdempotencyRecord.count() == 2
