"""Battery carried over: a re-plan starts each bike with the range it has left (km
ridden since the day's start or the last report, or a reported level), not a full
battery; levels are reported by the courier or a dispatcher of their hub."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from backend.db.tables import BatteryReport, Bike, Courier, Hub, IdempotencyRecord, Route, Shift, TrailPoint
from backend.services.day import live_day, load_day
from backend.services.replanning import replan_hub
from tests.api.helpers import login, make_user, problem, service_ctx, tomorrow, with_api_names
from tests.api.test_planning import _addresses, _small_day

KM_PER_DEG_LAT = 111.19508


def _at(hhmm: str, day: dt.date | None = None) -> dt.datetime:
    return dt.datetime.combine(day or tomorrow(), dt.time.fromisoformat(hhmm))


def _set_clock(client, now: dt.datetime) -> None:
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: now)


async def _ride_km(shift: int, km: int, start: dt.datetime, lat: float, lon: float) -> None:
    """A stored trail of ``km`` one-km legs north and back, at 20 km/h (3 minutes a leg)."""
    step = 1 / KM_PER_DEG_LAT
    await TrailPoint.insert(
        *(
            TrailPoint(
                shift=shift, at=start + dt.timedelta(minutes=3 * i), lat=lat + step * (i % 2), lon=lon, accuracy=5.0
            )
            for i in range(km + 1)
        )
    )


async def _planned(client, geo) -> tuple[dict, int, list[dict]]:
    h, hub, _ = await _small_day(client, geo, basket=False)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201 and r.json()["figures"]["violations"] == 0, r.text
    rows = await Route.select().where((Route.hub == hub) & Route.current.eq(True)).output(load_json=True)
    return h, hub, [with_api_names(r) for r in rows]


async def test_a_replan_after_30_km_ridden_leaves_the_bike_only_its_range_left(client, geo) -> None:
    h, hub_id, routes = await _planned(client, geo)
    day = tomorrow()
    hub = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub_id).first()
    a = max(routes, key=lambda r: r["distance_m"])  # the longer route: its rider is short of battery
    b = next(s for s in await Shift.select(Shift.id, Shift.courier) if s["courier"] != a["courier"])
    b = {"courier": b["courier"], "shift": b["id"]}  # with or without a route in force
    bike = (await Courier.select(Courier.bike).where(Courier.id == a["courier"]).first())["bike"]
    # A's bike holds 30 km plus half of A's route: after 30 km it cannot ride that route any more.
    left_m = a["distance_m"] // 2
    capacity_km = 30 + left_m / 1000
    await Bike.update({Bike.battery_range_km: capacity_km}).where(Bike.id == bike)
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    await _ride_km(a["shift"], 30, _at("07:30"), hub["lat"], hub["lon"])
    now = _at("09:05")
    positions = {a["courier"]: (hub["lat"], hub["lon"])}

    # What the planner is given: A's bike has only what is left, B's a full battery.
    live, _ = await live_day(hub_id, day, now, positions)
    day_input = await load_day(geo, hub_id, day, live)
    vehicles = {v.id: v for v in day_input.problem.vehicles}
    given = vehicles[f"shift-{a['shift']}"].max_distance_m
    assert given == pytest.approx(left_m, abs=20)  # 30 km of legs ridden, to the metre or so
    assert vehicles[f"shift-{b['shift']}"].max_distance_m == 40_000
    # A's route in force from where the bike is is longer than that: its stops may move.
    assert live.ahead[a["shift"]] and set(live.ahead[a["shift"]]) <= live.soft
    free = {ps.id: ps.vehicles for ps in day_input.problem.stops}
    assert all(free[str(s)] == () for s in live.ahead[a["shift"]])

    result = await replan_hub(service_ctx(client, positions), hub_id, day, now, reason="check", time_limit_s=1.0)
    assert result["applied"] and result["violations"] == 0 and result["unplanned"] == 0, result
    after = {r["courier"]: r for r in await Route.select().where((Route.hub == hub_id) & Route.current.eq(True))}
    assert after[a["courier"]]["distance_m"] <= given  # the plan respects the range left
    assert after[a["courier"]]["distance_m"] < a["distance_m"]
    assert {a["courier"], b["courier"]} <= set(result["changedCouriers"])

    # The desk's "range left" is the same figure.
    _set_clock(client, now)
    trail = (await client.get(f"/couriers/{a['courier']}/trail", headers=h)).json()
    assert trail["rangeKm"] == pytest.approx(capacity_km)
    assert trail["rangeLeftKm"] == pytest.approx(given / 1000, abs=0.01)
    assert trail["batteryPct"] is None  # nothing reported: full at the day's start


async def _two_hubs(client, geo) -> dict:
    h, hub, couriers = await _small_day(client, geo, basket=False)
    other = (await client.post("/hubs", json={"name": "Other", "address": _addresses(geo)[150]}, headers=h)).json()
    await make_user("desk", "dispatcher", hub_id=hub)
    await make_user("elsewhere", "dispatcher", hub_id=other["id"])
    return {
        "admin": h,
        "hub": hub,
        "couriers": couriers,
        "desk": await login(client, "desk"),
        "elsewhere": await login(client, "elsewhere"),
        "courier0": await login(client, "courier0"),
    }


async def test_a_level_outside_0_to_100_is_a_422_naming_the_field_and_nothing_is_stored(client, geo) -> None:
    d = await _two_hubs(client, geo)
    c0 = d["couriers"][0]
    records = await IdempotencyRecord.count()
    for body in ({"levelPct": 130}, {"levelPct": -5}, {"levelPct": 101.5}, {}, {"levelPct": 40, "charged": True}):
        for who in ("courier0", "desk"):
            r = await client.post(
                f"/couriers/{c0}/battery", json=body, headers={**d[who], "Idempotency-Key": f"k-{who}-{body}"}
            )
            detail = problem(r, 422)["detail"]
            assert "levelPct" in detail, detail
    assert await BatteryReport.count() == 0
    assert await IdempotencyRecord.count() == records
    # Not a number at all is out of the document's shape: 400, naming the field.
    r = await client.post(f"/couriers/{c0}/battery", json={"levelPct": "x"}, headers=d["desk"])
    assert "levelPct" in problem(r, 400)["detail"]


async def test_a_replay_with_the_same_key_keeps_one_report_and_a_charge_resets_the_km(client, geo) -> None:
    d = await _two_hubs(client, geo)
    c0 = d["couriers"][0]
    today = dt.date.today()
    _set_clock(client, _at("10:00", today))
    key = {**d["courier0"], "Idempotency-Key": "battery-1"}
    first = await client.post(f"/couriers/{c0}/battery", json={"levelPct": 50}, headers=key)
    assert first.status_code == 201, first.text
    assert first.json()["rangeLeftKm"] == pytest.approx(20)  # half of a 40 km battery
    again = await client.post(f"/couriers/{c0}/battery", json={"levelPct": 50}, headers=key)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await BatteryReport.count() == 1

    # Riding after the report takes from what it said; a charge starts again from full.
    shift = await Shift.insert(
        Shift(courier=c0, hub=d["hub"], start=_at("08:00", today), end=_at("20:00", today), status="started")
    )
    await _ride_km(shift[0]["id"], 4, _at("09:00", today), 60.17, 24.94)  # before the report: not counted
    await _ride_km(shift[0]["id"], 6, _at("10:05", today), 60.17, 24.94)
    _set_clock(client, _at("10:40", today))
    trail = (await client.get(f"/couriers/{c0}/trail", headers=d["desk"])).json()
    assert trail["batteryPct"] == 50 and trail["rangeLeftKm"] == pytest.approx(20 - 6, abs=0.02)
    charged = await client.post(f"/couriers/{c0}/battery", json={"charged": True}, headers=d["desk"])
    assert charged.status_code == 201 and charged.json()["charged"] is True
    assert charged.json()["rangeLeftKm"] == pytest.approx(40)
    assert await BatteryReport.count() == 2


async def test_only_the_courier_themself_or_a_dispatcher_of_their_hub_reports(client, geo) -> None:
    d = await _two_hubs(client, geo)
    c0, c1 = d["couriers"]
    body = {"levelPct": 70}
    cross_hub = await client.post(f"/couriers/{c0}/battery", json=body, headers=d["elsewhere"])
    assert "hub" in problem(cross_hub, 403)["detail"]
    other_courier = await client.post(f"/couriers/{c1}/battery", json=body, headers=d["courier0"])
    assert "own" in problem(other_courier, 403)["detail"]
    problem(await client.post("/couriers/99999/battery", json=body, headers=d["desk"]), 404)
    assert await BatteryReport.count() == 0
    r = await client.post(f"/couriers/{c1}/battery", json=body, headers=d["desk"])
    assert r.status_code == 201 and r.json()["courierId"] == c1
    assert await BatteryReport.count() == 1
