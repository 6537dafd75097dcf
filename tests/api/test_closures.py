"""Street and zone closures: stored, applied to planning, the running day re-planned
around them and again when they end; bad input gets a clear 422."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools

import numpy as np
import pytest

from backend.db.tables import Hub, OutboxEvent, PlanRun, Route, Stop, StreetClosure
from backend.dispatch.closures import circle, closure_edges
from backend.dispatch.network import SNAP_MAX_M, haversine_m
from backend.realtime.outbox import latest_seq
from backend.services import legs_first as legs_first_module
from backend.services.closures import add_closure, remove_closure, reopen_ended
from backend.services.day import closed_edges
from tests.api.helpers import login, make_user, post_ok, problem, service_ctx, tomorrow
from tests.api.test_planning import _small_day
from tests.api.test_replanning import _current_routes, _holders, _planned_day


def _at(hour: int, minute: int = 0) -> dt.datetime:
    """A time on the test's "running day" (tomorrow: the planned day)."""
    return dt.datetime.combine(tomorrow(), dt.time(hour, minute))


def _iso(hour: int) -> str:
    return _at(hour).isoformat()


async def _zone_across_a_route(geo, hub: int, routes: list[dict], detour_s: int = 1) -> tuple[tuple, tuple, tuple]:
    """A 40 m circle on a leg of a planned route, away from the hub and every stop, that
    lengthens the leg by ``detour_s`` or more: returns (zone, leg start, leg end)."""
    net = geo.network
    h = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub).first()
    hub_place = (h["lat"], h["lon"])
    places = [(s["lat"], s["lon"]) for r in routes for s in r["stops"]] + [hub_place]
    lat = np.array([p[0] for p in places])
    lon = np.array([p[1] for p in places])
    for r in routes:
        stops = [hub_place] + [(s["lat"], s["lon"]) for s in r["stops"]] + [hub_place]
        for a, b in zip(stops, stops[1:], strict=False):
            if a == b:
                continue
            nodes = net.node_path(net.snap(*a).node, net.snap(*b).node)
            for node in nodes[len(nodes) // 3 : 2 * len(nodes) // 3]:
                here = (float(net.lat[node]), float(net.lon[node]))
                if haversine_m(here[0], here[1], lat, lon).min() > 150:
                    zone = circle(*here, 40)
                    closed = closure_edges(net, zone)
                    if net.matrices([a, b], closed)[0][0, 1] >= net.matrices([a, b])[0][0, 1] + detour_s:
                        return zone, a, b
    raise AssertionError("no leg of the planned routes runs 150 m clear of every stop")


def _rides_leg(route: dict, a: tuple, b: tuple, hub: tuple) -> bool:
    """Whether the route rides from place ``a`` to place ``b`` (from and back to ``hub``)."""
    places = [hub, *((s["lat"], s["lon"]) for s in route["stops"]), hub]
    return any(p == a and q == b for p, q in zip(places, places[1:], strict=False))


@pytest.mark.parametrize("legs_first", [True, False], ids=["legs-first", "known"])
async def test_a_closure_on_the_running_day_replans_the_routes_round_it(client, geo, monkeypatch, legs_first) -> None:
    h, hub, routes = await _planned_day(client, geo)
    zone, a, b = await _zone_across_a_route(geo, hub, routes)
    if legs_first:  # the closed network as new as a closure just made: its weights not known yet
        geo.network._closed_variants.clear()
    # this small day's detours are under RETIME_MIN_S: every route the closure re-times is published
    monkeypatch.setattr("backend.dispatch.quick.RETIME_MIN_S", 1)
    seq = await latest_seq()
    asked: list[np.ndarray] = []  # what the re-plan's matrices were computed without
    real = geo.network.day_matrices

    def spy(points, closed=None, walked=None):
        asked.append(np.asarray(closed if closed is not None else [], dtype=np.int64))
        return real(points, closed, walked)

    monkeypatch.setattr(geo.network, "day_matrices", spy)
    now = _at(9)
    closure = await add_closure(
        service_ctx(client),
        hub,
        reason="burst water main",
        start=_at(9),
        end=_at(13),
        zone=[list(p) for p in zone],
        now=now,
        time_limit_s=1.0,
    )
    first = list(asked)

    assert closure.closed_edges > 0 and closure.streets
    result = closure.replan
    assert result is not None and result["applied"] is True, result
    assert result["reason"] == "street closed: a zone, burst water main"
    assert result["violations"] == 0 and result["unplanned"] == 0  # the feasibility check passes
    # The re-plan rode on the network without the zone: the leg across it got longer.
    closed = await closed_edges(geo, hub, now, _at(23, 59))
    assert np.array_equal(closed, closure_edges(geo.network, zone))
    # the legs as they were before it (open streets), then the day's matrices on the closed network;
    # legs first, the quick answer read it at the routes' legs only, and the whole came after
    assert len(first[0]) == 0
    if legs_first:
        assert len(first) == 1 and result["phases"]["n.legs_runs"] >= 1, result
        await legs_first_module.completed()
        assert len(asked) == 2 and np.array_equal(asked[1], closed)
        assert geo.network.day_legs([a, b], closed) is None  # known now
    else:
        assert len(first) == 2 and np.array_equal(first[1], closed) and "n.legs_runs" not in result["phases"]
    # The quick answer: the routes in force re-timed round it, the one riding the leg among them.
    assert result["quick"] is True, result
    h_row = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub).first()
    crossing = next(r["courier"] for r in routes if _rides_leg(r, a, b, (h_row["lat"], h_row["lon"])))
    assert crossing in result["changedCouriers"], result
    assert geo.network.matrices([a, b], closed)[0][0, 1] > geo.network.matrices([a, b])[0][0, 1]
    run = await PlanRun.select(PlanRun.inputs).where(PlanRun.id == result["planRunId"]).output(load_json=True).first()
    assert run["inputs"]["reason"].startswith("street closed:")

    # Only couriers whose routes changed got a new version and a route.updated, with the reason.
    events = (
        await OutboxEvent.select()
        .where((OutboxEvent.id > seq) & (OutboxEvent.kind == "route.updated"))
        .output(load_json=True)
    )
    assert sorted(e["courier_id"] for e in events) == sorted(result["changedCouriers"])
    assert all(e["payload"]["change"]["reason"] == result["reason"] for e in events)
    after = await _current_routes(hub)
    versions = {r["courier"]: r["version"] for r in after}
    for r in routes:
        assert versions[r["courier"]] == (2 if r["courier"] in result["changedCouriers"] else 1)
    assert all(len(c) == 1 for c in _holders(after).values())

    # Reopened by hand: the day is re-planned once more, with the streets open.
    asked.clear()
    reopened = await remove_closure(service_ctx(client), closure.id, now=_at(10), time_limit_s=1.0)
    assert reopened.replan is not None and reopened.replan["reason"].startswith("street reopened: a zone")
    assert reopened.replan["violations"] == 0
    assert len(asked) == 2 and np.array_equal(asked[0], closed) and len(asked[1]) == 0
    assert len(await closed_edges(geo, hub, _at(10), _at(23, 59))) == 0
    assert await StreetClosure.count() == 0


@pytest.mark.parametrize("status", ["unplanned", "open"], ids=["left-waiting", "new-order"])
async def test_a_closure_puts_in_a_stop_on_no_route_from_the_legs_and_its_lines(client, geo, status) -> None:
    # a delivery on no route (an earlier re-plan left it waiting, or a new order not planned
    # yet) while a closure's network is new: the quick answer reads the routes' legs and the
    # lines of the hub and that stop alone, not the whole matrices, and puts it in
    h, hub, routes = await _planned_day(client, geo)
    route = max(routes, key=lambda r: len(r["stops"]))
    orders = [s["orderId"] for s in route["stops"]]
    waiting = next(s for s in reversed(route["stops"]) if s["kind"] == "delivery" and orders.count(s["orderId"]) == 1)
    raw = await Route.select(Route.stops).where(Route.id == route["id"]).output(load_json=True).first()
    kept = [s for s in raw["stops"] if s["stop_id"] != waiting["stopId"]]
    await Route.update({Route.stops: kept}).where(Route.id == route["id"])
    await Stop.update({Stop.status: status}).where(Stop.id == waiting["stopId"])
    zone, _, _ = await _zone_across_a_route(geo, hub, await _current_routes(hub))
    geo.network._closed_variants.clear()
    closure = await add_closure(
        service_ctx(client),
        hub,
        reason="burst water main",
        start=_at(9),
        end=_at(13),
        zone=[list(p) for p in zone],
        now=_at(9),
        time_limit_s=1.0,
    )
    result = closure.replan
    assert result is not None and result["applied"] is True and result["quick"] is True, result
    # answered from the legs (no second reading with the whole matrices)
    assert result["phases"]["n.legs_runs"] >= 1 and "legs_first" not in result["phases"], result
    assert result["violations"] == 0 and result["unplanned"] == 0, result
    assert len(_holders(await _current_routes(hub)).get(waiting["stopId"], [])) == 1
    await legs_first_module.completed()


async def test_a_closure_boxing_in_a_stop_takes_it_off_its_route_and_lifting_it_plans_it_again(client, geo) -> None:
    _, hub, routes = await _planned_day(client, geo)
    net = geo.network
    h = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub).first()
    on_routes = [s for r in routes for s in r["stops"]]
    # The delivery farthest from the hub, boxed in with every street within 300 m of it.
    far = max(
        (s for s in on_routes if s["kind"] == "delivery"),
        key=lambda s: float(haversine_m(s["lat"], s["lon"], h["lat"], h["lon"])),
    )
    zone = circle(far["lat"], far["lon"], 300)
    shut = closure_edges(net, zone)
    reach = net.reach([(s["lat"], s["lon"]) for s in on_routes], shut)
    cut = {s["stopId"] for s, r in zip(on_routes, reach, strict=True) if r is None}
    assert far["stopId"] in cut and len(cut) < len(on_routes)
    # a shop pickup cut off takes its delivery with it (and the other way round): same order
    orders = {s["orderId"] for s in on_routes if s["stopId"] in cut}
    gone = {s["stopId"] for s in on_routes if s["orderId"] in orders}
    courier = {s["stopId"]: r["courier"] for r in routes for s in r["stops"]}
    seq = await latest_seq()

    adding = functools.partial(
        add_closure,
        service_ctx(client),
        hub,
        reason="gas leak",
        start=_at(9),
        end=_at(13),
        zone=[list(p) for p in zone],
        now=_at(9),
        time_limit_s=1.0,
    )
    closure = await asyncio.to_thread(client.blocking_portal.call, adding)
    result = closure.replan
    assert result is not None and result["applied"] is True, result
    assert result["violations"] == 0, result
    reasons = {u["stopId"]: u for u in result["unplannedStops"]}
    assert set(reasons) == gone, result
    for sid in cut:  # named: the closure, and why
        assert reasons[sid]["reason"] == "street_closed"
        assert "a zone, gas leak" in reasons[sid]["detail"] and "no open street" in reasons[sid]["detail"]
    rows = await Stop.select(Stop.id, Stop.status).where(Stop.id.is_in(sorted(gone)))
    assert {r["status"] for r in rows} == {"unplanned"}
    # Nothing else is lost: every other stop is on exactly one route, as before.
    after = await _current_routes(hub)
    holders = _holders(after)
    assert set(holders) == {s["stopId"] for s in on_routes} - gone
    assert all(len(c) == 1 for c in holders.values())
    # The couriers who had them were told, with the closure as the reason.
    events = (
        await OutboxEvent.select()
        .where((OutboxEvent.id > seq) & (OutboxEvent.kind == "route.updated"))
        .output(load_json=True)
    )
    removed = {sid: e["courier_id"] for e in events for sid in e["payload"]["change"]["removed"]}
    assert {sid: removed.get(sid) for sid in gone} == {sid: courier[sid] for sid in gone}
    assert all(e["payload"]["change"]["reason"] == "street closed: a zone, gas leak" for e in events)
    assert any(e["kind"] == "plan.replanned" for e in await OutboxEvent.select().where(OutboxEvent.id > seq))

    # Lifted: the next re-plan plans them again.
    lifting = functools.partial(remove_closure, service_ctx(client), closure.id, now=_at(10), time_limit_s=1.0)
    reopened = await asyncio.to_thread(client.blocking_portal.call, lifting)
    assert reopened.replan is not None and reopened.replan["applied"] is True, reopened.replan
    holders = _holders(await _current_routes(hub))
    assert gone <= set(holders), reopened.replan
    rows = await Stop.select(Stop.id, Stop.status).where(Stop.id.is_in(sorted(gone)))
    assert {r["status"] for r in rows} == {"planned"}


async def test_a_closure_that_ends_during_the_day_reopens_its_streets_once(client, geo) -> None:
    _, hub, routes = await _planned_day(client, geo)
    zone, _, _ = await _zone_across_a_route(geo, hub, routes)
    closure = await add_closure(
        service_ctx(client),
        hub,
        reason="parade",
        start=_at(8),
        end=_at(10),
        zone=[list(p) for p in zone],
        now=_at(8, 30),
        time_limit_s=1.0,
    )
    assert closure.replan is not None
    assert await reopen_ended(service_ctx(client), _at(9, 59), time_limit_s=1.0) == {}  # still closed
    seq = await latest_seq()
    done = await reopen_ended(
        service_ctx(client),
        _at(
            10,
            0,
        ),
        time_limit_s=1.0,
    )
    assert list(done) == [hub] and done[hub]["reason"] == "street reopened: a zone, parade"
    assert done[hub]["violations"] == 0
    assert await OutboxEvent.count().where((OutboxEvent.id > seq) & (OutboxEvent.kind == "plan.replanned")) == 1
    row = await StreetClosure.select(StreetClosure.reopened_at).where(StreetClosure.id == closure.id).first()
    assert row["reopened_at"] == _at(10)
    assert await reopen_ended(service_ctx(client), _at(10, 1), time_limit_s=1.0) == {}  # claimed once
    # Ended: later re-plans of the day no longer avoid it.
    assert len(await closed_edges(geo, hub, _at(10, 1), _at(23, 59))) == 0


async def test_planning_a_day_applies_its_closures_and_a_stop_cut_off_is_unplanned(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    net = geo.network
    hub_row = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub).first()
    stops = await Stop.select(Stop.id, Stop.lat, Stop.lon).where(Stop.kind == "delivery")
    # The delivery farthest from the hub, closed off with everything within 300 m of it.
    far = max(stops, key=lambda s: haversine_m(s["lat"], s["lon"], hub_row["lat"], hub_row["lon"]))
    assert haversine_m(far["lat"], far["lon"], hub_row["lat"], hub_row["lon"]) > 600
    r = await client.post(
        f"/hubs/{hub}/closures",
        headers=h,
        json={
            "reason": "street festival",
            "circle": {"lat": far["lat"], "lon": far["lon"], "radiusM": 300},
            "start": _iso(6),
            "end": _iso(22),
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["replan"] is None  # tomorrow is not the running day
    assert len(made["zone"]) == 32 and made["street"] == "" and made["closedEdges"] > 0
    assert net.reach([(far["lat"], far["lon"])], closure_edges(net, [tuple(p) for p in made["zone"]])) == [None]

    run = await post_ok(client, f"/hubs/{hub}/plans", {"date": tomorrow().isoformat(), "timeLimitS": 1}, h)
    unplanned = {u["stopId"]: u for u in run["unplanned"]}
    assert unplanned[far["id"]]["reason"] == "street_closed", run["unplanned"]
    assert "street festival" in unplanned[far["id"]]["detail"]
    assert run["figures"]["violations"] == 0

    # Without the closure the same day plans every stop.
    gone = await client.delete(f"/closures/{made['id']}", headers=h)
    assert gone.status_code == 200 and gone.json()["replan"] is None
    problem(await client.delete(f"/closures/{made['id']}", headers=h), 404)
    run = await post_ok(client, f"/hubs/{hub}/plans", {"date": tomorrow().isoformat(), "timeLimitS": 1}, h)
    assert run["unplanned"] == []


async def test_closures_are_listed_by_day_and_streets_found_by_name(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    r = await client.post(
        f"/hubs/{hub}/closures",
        headers=h,
        json={"reason": "Christmas market", "street": "  aleksanterinkatu ", "start": _iso(10), "end": _iso(16)},
    )
    assert r.status_code == 201, r.text
    street = r.json()
    assert street["street"] == "Aleksanterinkatu" and "Aleksanterinkatu" in street["streets"]
    # A stretch: the street within a zone closes fewer segments.
    ways = geo.street("Aleksanterinkatu")[1]
    on_street = np.flatnonzero(np.isin(geo.network.edge_way_id, list(ways)))
    mid = on_street[len(on_street) // 2]
    centre = (float(geo.network.lat[geo.network.edge_u[mid]]), float(geo.network.lon[geo.network.edge_u[mid]]))
    stretch = await post_ok(
        client,
        f"/hubs/{hub}/closures",
        {
            "reason": "crane",
            "street": "Aleksanterinkatu",
            "circle": {"lat": centre[0], "lon": centre[1], "radiusM": 60},
            "start": _iso(7),
            "end": _iso(9),
        },
        h,
    )
    assert stretch["streets"] == ["Aleksanterinkatu"] and 0 < stretch["closedEdges"] < street["closedEdges"]

    listed = (await client.get(f"/hubs/{hub}/closures?date={tomorrow()}", headers=h)).json()
    assert [c["id"] for c in listed] == [street["id"], stretch["id"]]
    later = (await client.get(f"/hubs/{hub}/closures?date={tomorrow() + dt.timedelta(days=1)}", headers=h)).json()
    assert later == []
    assert len((await client.get(f"/hubs/{hub}/closures", headers=h)).json()) == 2  # not ended yet

    body = problem(
        await client.post(
            f"/hubs/{hub}/closures",
            headers=h,
            json={"reason": "x", "street": "Aleksanterinktu", "start": _iso(10), "end": _iso(11)},
        ),
        422,
    )
    assert "Aleksanterinkatu" in body["suggestions"] and "no street named" in body["detail"]


async def test_bad_closures_are_refused_with_a_reason(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    net = geo.network
    hub_row = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub).first()
    square = [[60.1690, 24.9500], [60.1690, 24.9510], [60.1685, 24.9510], [60.1685, 24.9500]]

    async def refused(body: dict, status: int = 422) -> str:
        full = {"reason": "works", "start": _iso(9), "end": _iso(12), **body}
        return problem(await client.post(f"/hubs/{hub}/closures", json=full, headers=h), status)["detail"]

    assert "before it starts" in await refused({"zone": square, "start": _iso(12), "end": _iso(9)})
    yesterday = (dt.datetime.now() - dt.timedelta(days=1)).replace(microsecond=0)
    assert "before now" in await refused(
        {"zone": square, "start": (yesterday - dt.timedelta(hours=2)).isoformat(), "end": yesterday.isoformat()}
    )
    assert "at least 3 different corners" in await refused({"zone": square[:2]})
    assert "on one line" in await refused({"zone": [[60.169, 24.95], [60.1695, 24.95], [60.17, 24.95]]})
    assert "crosses itself" in await refused({"zone": [square[0], square[2], square[1], square[3]]})
    assert "radius" in await refused({"circle": {"lat": 60.169, "lon": 24.95, "radiusM": 0}})
    assert "not both" in await refused({"zone": square, "circle": {"lat": 60.169, "lon": 24.95, "radiusM": 50}})
    assert "Say what is closed" in await refused({})
    assert "street name is empty" in await refused({"street": "  "})
    assert "outside the map" in await refused({"zone": [[p[0] + 1, p[1]] for p in square]})
    # A spot of the map with no street in reach: closing it changes nothing.
    lat0, lon0, lat1, lon1 = net.bbox
    empty = None
    for lat in np.linspace(lat0, lat1, 40):
        for lon in np.linspace(lon0, lon1, 40):
            ring = circle(float(lat), float(lon), 15)
            if len(closure_edges(net, ring)) == 0:
                empty = ring
                break
        if empty:
            break
    assert empty is not None
    assert "contains no street" in await refused({"zone": [list(p) for p in empty]})
    assert "cut hub Hub off" in await refused(
        {"circle": {"lat": hub_row["lat"], "lon": hub_row["lon"], "radiusM": 2 * SNAP_MAX_M}}
    )
    assert "does not pass through the zone" in await refused(
        {"street": "Aleksanterinkatu", "zone": [list(p) for p in empty]}
    )
    await refused({"zone": [[60.169, 24.95, 1.0]]}, 400)  # malformed: a corner is [lat, lon]
    assert await StreetClosure.count() == 0  # nothing written by any of them

    # Roles and hubs.
    problem(
        await client.post(
            "/hubs/999/closures", json={"reason": "x", "zone": square, "start": _iso(9), "end": _iso(10)}, headers=h
        ),
        404,
    )
    courier = await login(client, "courier0")
    problem(
        await client.post(
            f"/hubs/{hub}/closures",
            json={"reason": "x", "zone": square, "start": _iso(9), "end": _iso(10)},
            headers=courier,
        ),
        403,
    )
    problem(await client.get(f"/hubs/{hub}/closures", headers=courier), 403)
    await make_user("other-dispatcher", "dispatcher", hub_id=hub + 1)
    other = await login(client, "other-dispatcher")
    problem(await client.get(f"/hubs/{hub}/closures", headers=other), 403)
    problem(await client.delete("/closures/12345", headers=h), 404)
    made = await post_ok(
        client, f"/hubs/{hub}/closures", {"reason": "x", "zone": square, "start": _iso(9), "end": _iso(10)}, h
    )
    problem(await client.delete(f"/closures/{made['id']}", headers=other), 403)
    assert await Route.count() == 0  # no plan: nothing was re-planned


async def test_a_closure_posted_twice_with_one_key_closes_and_replans_once(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    zone, _, _ = await _zone_across_a_route(geo, hub, routes)
    # The planned day is running: a closure of it re-plans it.
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: _at(9))
    body = {"reason": "burst water main", "zone": [list(p) for p in zone], "start": _iso(9), "end": _iso(13)}
    keyed = {**h, "Idempotency-Key": "closure-1"}
    runs = await PlanRun.count()
    first = await client.post(f"/hubs/{hub}/closures", json=body, headers=keyed)
    assert first.status_code == 201, first.text
    assert first.json()["replan"] is not None and first.json()["replan"]["reason"].startswith("street closed:")
    assert await PlanRun.count() == runs + 1
    again = await client.post(f"/hubs/{hub}/closures", json=body, headers=keyed)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await StreetClosure.count() == 1 and await PlanRun.count() == runs + 1
    # The same key with another body: refused with a sentence, nothing closed.
    other = problem(await client.post(f"/hubs/{hub}/closures", json={**body, "reason": "x"}, headers=keyed), 422)
    assert "already used for a different request" in other["detail"]
    # A refused closure is refused the same way on a replay; nothing is written.
    late = {**body, "start": _iso(13), "end": _iso(9)}
    for _ in range(2):
        r = await client.post(f"/hubs/{hub}/closures", json=late, headers={**h, "Idempotency-Key": "closure-2"})
        assert "before it starts" in problem(r, 422)["detail"]
    assert await StreetClosure.count() == 1
    # Without a key every request closes (as before).
    plain = await client.post(f"/hubs/{hub}/closures", json={**body, "end": _iso(12)}, headers=h)
    assert plain.status_code == 201 and "idempotent-replayed" not in plain.headers
    assert await StreetClosure.count() == 2


async def test_a_closure_whose_request_dies_before_its_replan_is_replanned_by_a_job(client, geo, monkeypatch) -> None:
    import backend.services.replan_after as replan_after
    from backend.db.tables import Job
    from backend.jobs import JobContext
    from backend.jobs.queue import LEASE_S

    _, hub, routes = await _planned_day(client, geo)
    zone, _, _ = await _zone_across_a_route(geo, hub, routes)
    real = replan_after.replan_hub

    async def dies(*args, **kwargs):
        raise RuntimeError("the process died after the closure committed")

    monkeypatch.setattr(replan_after, "replan_hub", dies)
    now = _at(9)
    args = {"reason": "gas leak", "start": _at(9), "end": _at(13), "zone": [list(p) for p in zone], "now": now}
    try:
        await add_closure(service_ctx(client), hub, **args, time_limit_s=1.0)
        raise AssertionError("the re-plan should have died")
    except RuntimeError:
        pass
    closure = await StreetClosure.select().first()
    job = await Job.select().where(Job.key == f"closure:{closure['id']}:closed").output(load_json=True).first()
    # Written with the closure, due a lease later: the request had that long to re-plan and settle it.
    assert job is not None and job["status"] == "pending" and job["kind"] == "replan"
    assert job["payload"] == {"hubId": hub, "date": now.date().isoformat(), "reason": "street closed: a zone, gas leak"}
    assert job["run_after"] == now + dt.timedelta(seconds=LEASE_S)
    before = await PlanRun.count()

    monkeypatch.setattr(replan_after, "replan_hub", real)
    ctx = JobContext(job["id"], "replan", job["key"], job["payload"], 1, client.app.state)
    await client.app.state.jobs.run(ctx)
    assert (await Job.select(Job.status).where(Job.id == job["id"]).first())["status"] == "done"
    runs = await PlanRun.select(PlanRun.inputs).order_by(PlanRun.id).output(load_json=True)
    assert await PlanRun.count() == before + 1
    assert runs[-1]["inputs"]["reason"] == "street closed: a zone, gas leak"


async def test_a_closure_and_a_zone_settle_the_replan_they_promised(client, geo) -> None:
    from backend.db.tables import Job
    from backend.services.zones import add_zone, remove_zone

    _, hub, routes = await _planned_day(client, geo)
    zone, _, _ = await _zone_across_a_route(geo, hub, routes)
    closure = await add_closure(
        service_ctx(client),
        hub,
        reason="works",
        start=_at(9),
        end=_at(13),
        zone=[list(p) for p in zone],
        now=_at(9),
        time_limit_s=1.0,
    )
    await remove_closure(service_ctx(client), closure.id, now=_at(9, 30), time_limit_s=1.0)
    ring = [*(list(p) for p in zone), list(zone[0])]  # a closed ring
    added = await add_zone(
        service_ctx(client),
        hub,
        name="Markt",
        kind="pedestrian",
        polygon=ring,
        windows=[],
        now=_at(10),
        time_limit_s=1.0,
    )
    await remove_zone(service_ctx(client), added.id, now=_at(10, 30), time_limit_s=1.0)
    jobs = {r["key"]: r["status"] for r in await Job.select(Job.key, Job.status).where(Job.kind == "replan")}
    assert jobs == {
        f"closure:{closure.id}:closed": "done",
        f"closure:{closure.id}:removed": "done",
        f"zone:{added.id}:added": "done",
        f"zone:{added.id}:removed": "done",
    }
