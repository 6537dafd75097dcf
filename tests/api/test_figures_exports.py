"""The ridden trail, the day's figures and the exports: positions recorded through
the position store and flushed to ``trail_point``, then read back as a trail, as
figures, as CSV (parsed with the csv module) and as GPX (parsed as XML)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import xml.etree.ElementTree as ET

import msgspec
import pytest

from backend.db.tables import Order, Parcel, PickupPoint, Route, Shift, Stop, TrailPoint
from backend.dispatch.day_figures import CO2_FACTOR_KG_PER_KM
from tests.api.helpers import login, make_user, post_ok, problem, tomorrow, with_api_names
from tests.api.test_planning import _addresses, _small_day

GPX = "{http://www.topografix.com/GPX/1/1}"
M_PER_DEG_LAT = 111_195.08  # one degree of latitude (R = 6,371,008.8 m)


def _at(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(tomorrow(), dt.time.fromisoformat(hhmm))


def _set_clock(client, now: dt.datetime) -> None:
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: now)


async def _ride(client, courier: int, shift: int, hub: int) -> list[tuple[float, float, dt.datetime]]:
    """Positions as the phone sends them: 12 legs due north of 0.001° (111 m) every 30 s,
    with a point that hardly moved (thinned away) and a GPS jump (stored, not ridden)."""
    store = client.app.state.positions
    start = _at("09:00")
    sent = []
    for i in range(13):
        sent.append((60.165 + i * 0.001, 24.94, start + dt.timedelta(seconds=30 * i)))
        if i == 3:  # 2 m and 5 s later: not kept
            sent.append((60.165 + i * 0.001 + 2 / M_PER_DEG_LAT, 24.94, start + dt.timedelta(seconds=30 * i + 5)))
        if i == 6:  # 4 km off, 10 s later: a jump
            sent.append((60.2, 24.99, start + dt.timedelta(seconds=30 * i + 10)))
    for lat, lon, ts in sent:
        store.record(courier_id=courier, shift_id=shift, hub_id=hub, lat=lat, lon=lon, ts=ts, accuracy=8.0)
    await store.flush()
    return sent


async def _day(client, geo) -> dict:
    h, hub, couriers = await _small_day(client, geo)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 2}, headers=h)
    assert r.status_code == 201, r.text
    await make_user("desk", "dispatcher", hub_id=hub)
    other = (await post_ok(client, "/hubs", {"name": "Other hub", "address": _addresses(geo)[150]}, h))["id"]
    await make_user("elsewhere", "dispatcher", hub_id=other)
    shifts = {s["courier"]: s["id"] for s in await Shift.select(Shift.id, Shift.courier)}
    routes = [with_api_names(r) for r in await Route.select().where(Route.current.eq(True)).output(load_json=True)]
    by_courier = {r["courier"]: r for r in routes}
    # The plan may leave a courier without a route (two bikes, eight small orders): the
    # tests that work a route take the courier with the most stops, whichever that is.
    worker = max(couriers, key=lambda c: len(by_courier[c]["stops"]) if c in by_courier else -1)
    return {
        "admin": h,
        "hub": hub,
        "other": other,
        "couriers": couriers,
        "shifts": shifts,
        "routes": by_courier,
        "worker": worker,
        "worker_name": f"C{couriers.index(worker)}",
        "desk": await login(client, "desk"),
        "elsewhere": await login(client, "elsewhere"),
    }


async def test_trail_is_stored_thinned_and_read_back_with_km_speed_and_range(client, geo) -> None:
    d = await _day(client, geo)
    c0 = d["couriers"][0]
    shift = d["shifts"][c0]
    sent = await _ride(client, c0, shift, d["hub"])
    stored = await TrailPoint.select().where(TrailPoint.shift == shift).order_by(TrailPoint.at)
    assert len(sent) == 15 and len(stored) == 14  # the 2-m point is thinned away, the jump is kept as sent
    assert stored[0]["accuracy"] == 8.0 and stored[0]["at"] == _at("09:00")
    # A second flush writes nothing again.
    await client.app.state.positions.flush()
    assert await TrailPoint.count().where(TrailPoint.shift == shift) == 14

    _set_clock(client, _at("09:07"))
    r = await client.get(f"/couriers/{c0}/trail", headers=d["desk"])  # date: today by the clock
    assert r.status_code == 200, r.text
    trail = r.json()
    assert trail["courierId"] == c0 and trail["shiftId"] == shift
    assert len(trail["points"]) == 14
    assert trail["points"][0] == [60.165, 24.94, _at("09:00").isoformat()]
    km = 12 * 0.001 * M_PER_DEG_LAT / 1000
    assert trail["riddenKm"] == pytest.approx(km, abs=0.01)  # 1.33 km: the jump is not ridden
    assert trail["speedKmh"] == pytest.approx(13.3, abs=0.1)
    assert trail["lastPositionAt"] == _at("09:06").isoformat() and trail["lastPositionAgeS"] == 60
    assert trail["rangeKm"] == 40 and trail["rangeLeftKm"] == pytest.approx(40 - km, abs=0.01)

    # Long after the last position there is no speed "now"; another day has no shift.
    _set_clock(client, _at("10:00"))
    late = (await client.get(f"/couriers/{c0}/trail", headers=d["desk"])).json()
    assert late["speedKmh"] is None and late["lastPositionAgeS"] == 54 * 60
    other_day = (await client.get(f"/couriers/{c0}/trail?date=2026-01-01", headers=d["desk"])).json()
    assert other_day["shiftId"] is None and other_day["points"] == [] and other_day["riddenKm"] == 0
    # The courier who did not ride: a shift, no points.
    still = (await client.get(f"/couriers/{d['couriers'][1]}/trail", headers=d["desk"])).json()
    assert still["shiftId"] == d["shifts"][d["couriers"][1]] and still["points"] == [] and still["speedKmh"] is None


async def _work_the_day(d: dict) -> dict:
    """The worker works the first stops of their route: on time, late, failed; one parcel left at a pickup point."""
    route = d["routes"][d["worker"]]
    ids = [s["stopId"] for s in route["stops"]]
    rows = {r["id"]: r for r in await Stop.select().where(Stop.id.is_in(ids))}
    deliveries = [i for i in ids if rows[i]["kind"] == "delivery"]
    on_time, late, failed = deliveries[0], deliveries[1], deliveries[2]
    for sid, arrived_after in ((on_time, 0), (late, 60)):
        end = rows[sid]["window_end"]
        arrived = end - dt.timedelta(minutes=10) + dt.timedelta(minutes=arrived_after)
        await Stop.update(
            {Stop.status: "delivered", Stop.arrived_at: arrived, Stop.completed_at: arrived + dt.timedelta(minutes=4)}
        ).where(Stop.id == sid)
    failed_at = rows[failed]["window_start"] + dt.timedelta(minutes=5)
    await Stop.update(
        {
            Stop.status: "failed",
            Stop.arrived_at: failed_at,
            Stop.completed_at: failed_at + dt.timedelta(minutes=2),
            Stop.fail_reason: "other",
            Stop.fail_note: '=HYPERLINK("http://x")',
        }
    ).where(Stop.id == failed)
    # The on-time delivery went to a pickup point; its parcels wait there.
    point = (
        await PickupPoint.insert(
            PickupPoint(
                name="Kiosk",
                kind="parcel_shop",
                lat=60.17,
                lon=24.94,
                capacity_parcels=20,
                max_weight_kg=20,
                max_volume_l=80,
                hub=d["hub"],
            )
        )
    )[0]["id"]
    await Stop.update({Stop.pickup_point: point}).where(Stop.id == on_time)
    order = rows[on_time]["order"]
    await Parcel.update({Parcel.status: "delivered"}).where(Parcel.order == order)
    parcels = await Parcel.count().where(Parcel.order == order)
    return {"on_time": on_time, "late": late, "failed": failed, "parcels": parcels, "all": len(rows)}


async def test_figures_of_the_day(client, geo) -> None:
    d = await _day(client, geo)
    c0 = d["couriers"][0]
    await _ride(client, c0, d["shifts"][c0], d["hub"])
    worked = await _work_the_day(d)
    total = await Stop.count().where((Stop.hub == d["hub"]) & (Stop.plan_date == tomorrow()))

    r = await client.get(f"/hubs/{d['hub']}/figures?date={tomorrow()}", headers=d["desk"])
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["date"] == tomorrow().isoformat()
    assert (f["stopsTotal"], f["stopsDone"], f["stopsFailed"]) == (total, 2, 1)
    assert f["stopsRemaining"] == total - 3
    assert f["onTimeShare"] == 0.5  # one of the two delivered inside its window
    assert f["firstAttemptShare"] == pytest.approx(2 / 3, abs=1e-4)  # three first delivery stops tried, two delivered
    assert f["avgMinutesPerStop"] == pytest.approx((4 + 4 + 2) / 3, abs=0.05)
    km = 12 * 0.001 * M_PER_DEG_LAT / 1000
    assert f["riddenKm"] == pytest.approx(km, abs=0.01)
    assert f["co2FactorKgPerKm"] == CO2_FACTOR_KG_PER_KM == 0.25023
    assert f["co2AvoidedKg"] == pytest.approx(km * 0.25023, abs=0.001)
    assert "Diesel" in f["co2Source"] and "0.25023" in f["co2Source"]
    assert f["parcelsAtPickupPoints"] == worked["parcels"] >= 1

    # Where positions come faster than life (the demo's speed-up), the limit for a jump is raised with it.
    ctx = client.app.state.context
    fast = msgspec.structs.replace(ctx.settings, trail_max_kmh=45 * 1000)
    client.app.state.context = dataclasses.replace(ctx, settings=fast)
    jumpy = (await client.get(f"/hubs/{d['hub']}/figures?date={tomorrow()}", headers=d["desk"])).json()
    assert jumpy["riddenKm"] > f["riddenKm"] + 7  # the 4-km jump out and back counted
    client.app.state.context = ctx

    # Another day: nothing to count, shares are null.
    empty = (await client.get(f"/hubs/{d['hub']}/figures?date=2026-01-01", headers=d["desk"])).json()
    assert empty["stopsTotal"] == 0 and empty["onTimeShare"] is None and empty["firstAttemptShare"] is None
    assert empty["avgMinutesPerStop"] is None and empty["riddenKm"] == 0 and empty["co2AvoidedKg"] == 0


async def test_day_csv_parses_back_one_row_per_stop(client, geo) -> None:
    d = await _day(client, geo)
    worked = await _work_the_day(d)
    r = await client.get(f"/hubs/{d['hub']}/day.csv?date={tomorrow()}", headers=d["desk"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and ".csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    stops = await Stop.select(Stop.id).where((Stop.hub == d["hub"]) & (Stop.plan_date == tomorrow()))
    assert sorted(int(row["stopId"]) for row in rows) == sorted(s["id"] for s in stops)
    by_id = {int(row["stopId"]): row for row in rows}
    worker = d["worker"]
    route = d["routes"][worker]
    first = by_id[route["stops"][0]["stopId"]]
    assert first["courierId"] == str(worker) and first["courier"] == d["worker_name"] and first["position"] == "1"
    assert first["eta"] == route["stops"][0]["eta"]
    failed = by_id[worked["failed"]]
    assert failed["status"] == "failed" and failed["failReason"] == "other"
    assert failed["failNote"] == '\'=HYPERLINK("http://x")'  # never a formula in a spreadsheet
    delivered = by_id[worked["on_time"]]
    assert delivered["status"] == "delivered" and dt.datetime.fromisoformat(delivered["completedAt"])
    references = {o["reference"] for o in await Order.select(Order.reference)}
    assert {row["orderReference"] for row in rows} <= references


async def test_trail_gpx_is_gpx_1_1(client, geo) -> None:
    d = await _day(client, geo)
    c0 = d["couriers"][0]
    await _ride(client, c0, d["shifts"][c0], d["hub"])
    r = await client.get(f"/couriers/{c0}/trail.gpx?date={tomorrow()}", headers=d["desk"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/gpx+xml")
    assert ".gpx" in r.headers["content-disposition"]
    root = ET.fromstring(r.content)
    assert root.tag == f"{GPX}gpx" and root.get("version") == "1.1" and root.get("creator")
    tracks = root.findall(f"{GPX}trk")
    assert len(tracks) == 1
    points = tracks[0].findall(f"{GPX}trkseg/{GPX}trkpt")
    trail = (await client.get(f"/couriers/{c0}/trail?date={tomorrow()}", headers=d["desk"])).json()["points"]
    assert len(points) == len(trail) == 14
    for pt, (lat, lon, ts) in zip(points, trail, strict=True):
        assert float(pt.get("lat")) == pytest.approx(lat, abs=1e-6)
        assert float(pt.get("lon")) == pytest.approx(lon, abs=1e-6)
        when = pt.find(f"{GPX}time").text
        assert when.endswith("Z")
        utc = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        assert utc == dt.datetime.fromisoformat(ts).astimezone(dt.UTC)  # local wall-clock time, in UTC
    # No trail that day: still a valid, empty track.
    empty = ET.fromstring((await client.get(f"/couriers/{c0}/trail.gpx?date=2026-01-01", headers=d["desk"])).content)
    assert empty.findall(f"{GPX}trk/{GPX}trkseg") and not empty.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")


async def test_another_hub_gets_403_and_unknown_gets_404(client, geo) -> None:
    d = await _day(client, geo)
    c0, hub = d["couriers"][0], d["hub"]
    await _ride(client, c0, d["shifts"][c0], hub)
    for path in (
        f"/couriers/{c0}/trail",
        f"/couriers/{c0}/trail.gpx",
        f"/hubs/{hub}/figures",
        f"/hubs/{hub}/day.csv",
    ):
        body = problem(await client.get(f"{path}?date={tomorrow()}", headers=d["elsewhere"]), 403)
        assert f"hub {d['other']}" in body["detail"]
        assert "points" not in body and "60.165" not in str(body)
    courier = await login(client, "courier0")
    problem(await client.get(f"/hubs/{hub}/figures", headers=courier), 403)
    for path in ("/couriers/99999/trail", "/couriers/99999/trail.gpx"):
        assert "no courier" in problem(await client.get(path, headers=d["desk"]), 404)["detail"]
    for path in ("/hubs/99999/figures", "/hubs/99999/day.csv"):
        assert "no hub" in problem(await client.get(path, headers=d["admin"]), 404)["detail"]
    problem(await client.get(f"/hubs/{hub}/figures?date=tomorrow", headers=d["desk"]), 400)


async def test_a_failed_flush_keeps_the_points_for_the_next(client, geo, monkeypatch) -> None:
    import backend.realtime.positions as positions

    d = await _day(client, geo)
    c0 = d["couriers"][0]
    shift = d["shifts"][c0]
    store = client.app.state.positions
    real = positions._append_trail
    calls = []

    async def broken(points):
        calls.append(points)
        raise RuntimeError("database went away")

    monkeypatch.setattr(positions, "_append_trail", broken)
    store.record(courier_id=c0, shift_id=shift, hub_id=d["hub"], lat=60.165, lon=24.94, ts=_at("09:00"))
    with pytest.raises(RuntimeError):
        await store.flush()
    assert calls and await TrailPoint.count() == 0
    # Another point comes in meanwhile; the next flush writes both, in order, once.
    store.record(courier_id=c0, shift_id=shift, hub_id=d["hub"], lat=60.166, lon=24.94, ts=_at("09:00:30"))
    monkeypatch.setattr(positions, "_append_trail", real)
    await store.flush()
    await store.flush()
    rows = (
        await TrailPoint.select(TrailPoint.lat, TrailPoint.at).where(TrailPoint.shift == shift).order_by(TrailPoint.id)
    )
    assert [(r["lat"], r["at"]) for r in rows] == [(60.165, _at("09:00")), (60.166, _at("09:00:30"))]
