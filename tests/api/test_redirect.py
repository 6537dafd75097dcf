"""A customer redirects their parcel from the tracking page: another window, a
pickup point, another address. Taken only when a courier can still bring it
there; otherwise nothing changes and the answer offers what can be chosen."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import msgspec
import pytest

from backend.db.tables import DispatchLock, Job, Order, OutboxEvent, Parcel, PlanRun, Route, Shift, Stop
from backend.errors import Conflict
from backend.realtime.notifications import notifications_for
from backend.realtime.outbox import latest_seq
from backend.security import pickup_code
from backend.services.redirect import RedirectIn, redirect
from backend.services.replanning import replan_hub
from tests.api.helpers import post_ok, problem, service_ctx, tomorrow
from tests.api.test_planning import _addresses, _small_day
from tests.api.test_replanning import _current_routes, _holders

SECRET = "test-key"  # the settings fixture's LAADBAK_SECRET_KEY


async def _day(client, geo) -> dict:
    """Tomorrow planned, with two pickup points: one with room, one already full."""
    h, hub, _ = await _small_day(client, geo)
    a = _addresses(geo)
    roomy = await post_ok(
        client,
        "/pickup-points",
        {
            "name": "Kiosk Roomy",
            "kind": "parcel_shop",
            "address": a[150],
            "hubId": hub,
            "capacityParcels": 10,
            "maxWeightKg": 20,
            "maxVolumeL": 60,
        },
        h,
    )
    full = await post_ok(
        client,
        "/pickup-points",
        {
            "name": "Locker Full",
            "kind": "locker",
            "address": a[153],
            "hubId": hub,
            "capacityParcels": 1,
            "maxWeightKg": 20,
            "maxVolumeL": 60,
        },
        h,
    )
    await post_ok(
        client,
        "/orders",
        {  # takes the full locker's only place
            "reference": "LOCKER-1",
            "hubId": hub,
            "customerName": "Booked",
            "date": tomorrow().isoformat(),
            "pickupPointId": full["id"],
            "slot": "day",
            "parcels": [{"weightKg": 1, "volumeL": 2}],
        },
        h,
    )
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201 and r.json()["figures"]["violations"] == 0, r.text
    return {"h": h, "hub": hub, "roomy": roomy, "full": full, "routes": await _current_routes(hub)}


async def _order(reference: str) -> dict:
    return await Order.select().where(Order.reference == reference).first()


def _url(order: dict, what: str = "redirect") -> str:
    return f"/track/{order['tracking_token']}/{what}"


async def _snapshot() -> tuple:
    """Everything a refused redirect must leave as it was."""
    stops = await Stop.select(Stop.id, Stop.status, Stop.address, Stop.window_start).order_by(Stop.id)
    orders = await Order.select(
        Order.id, Order.address, Order.pickup_point, Order.window_start, Order.window_end, Order.status
    ).order_by(Order.id)
    routes = await Route.select(Route.id).where(Route.current.eq(True)).order_by(Route.id)
    return stops, orders, routes, await latest_seq()


async def _assert_one_destination_each(hub: int) -> dict[int, list[int]]:
    """Every stop on at most one current route; every order one live delivery; withdrawn stops on no route."""
    holders = _holders(await _current_routes(hub))
    assert all(len(c) == 1 for c in holders.values()), holders
    live = await Stop.select(Stop.order).where((Stop.kind == "delivery") & Stop.status.not_in(["cancelled"]))
    per_order = Counter(r["order"] for r in live)
    assert set(per_order.values()) == {1}, per_order
    withdrawn = {r["id"] for r in await Stop.select(Stop.id).where(Stop.status == "cancelled")}
    assert not withdrawn & set(holders)
    return holders


async def _assert_only_changed_couriers_told(hub: int, seq: int, before: list[dict]) -> list[int]:
    run = await PlanRun.select().order_by(PlanRun.id, ascending=False).output(load_json=True).first()
    assert run["status"] == "done" and run["figures"]["violations"] == 0, run  # the feasibility check passed
    changed = run["figures"]["changedCouriers"]
    events = (
        await OutboxEvent.select()
        .where((OutboxEvent.id > seq) & (OutboxEvent.kind == "route.updated"))
        .output(load_json=True)
    )
    assert sorted(e["courier_id"] for e in events) == sorted(changed)
    assert all(e["payload"]["change"]["reason"].startswith("customer redirect") for e in events)
    versions = {r["courier"]: r["version"] for r in await _current_routes(hub)}
    for r in before:
        assert versions[r["courier"]] == r["version"] + (1 if r["courier"] in changed else 0)
    return changed


async def test_the_tracking_page_offers_what_can_be_chosen(client, geo) -> None:
    day = await _day(client, geo)
    order = await _order("O-0")  # 10:00-12:00 at a door
    view = (await client.get(_url(order, "status"))).json()
    options = view["redirectOptions"]
    windows = [o["window"] for o in options if o["kind"] == "window"]
    assert windows == ["morning", "afternoon", "evening", "day"]  # couriers ride until 20:00: evening too
    points = [o["pickupPointId"] for o in options if o["kind"] == "pickup_point"]
    assert points == [day["roomy"]["id"]]  # the full locker is not offered
    assert {"kind": "address", "start": "10:00", "end": "12:00"} in options
    # Each option is a valid request body as it stands (extra display fields aside).
    for o in options:
        body = {k: v for k, v in o.items() if k in ("kind", "window", "pickupPointId")}
        if o["kind"] != "address":
            msgspec.convert(body, RedirectIn)
    # Late in the day only what is still reachable is offered; nothing once delivered.
    late = await redirect_options_at(order, dt.time(16, 30))
    assert [o["window"] for o in late if o["kind"] == "window"] == ["evening", "day"]
    stop = await Stop.select(Stop.id).where((Stop.order == order["id"]) & (Stop.kind == "delivery")).first()
    await Stop.update({Stop.status: "delivered"}).where(Stop.id == stop["id"])
    assert (await client.get(_url(order, "status"))).json()["redirectOptions"] == []


async def redirect_options_at(order: dict, time: dt.time) -> list[dict]:
    from backend.services.redirect import redirect_options

    return await redirect_options(order, dt.datetime.combine(tomorrow(), time))


async def test_a_window_redirect_of_a_parcel_on_a_bike_stays_on_that_bike(client, geo) -> None:
    day = await _day(client, geo)
    hub, routes = day["hub"], day["routes"]
    # Courier A rides: the first delivery done, the next one's parcels on A's bike.
    a = next(r for r in routes if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    deliveries = [s for s in a["stops"] if s["kind"] == "delivery"]
    done, loaded = deliveries[0], deliveries[1]
    await Stop.update({Stop.status: "delivered"}).where(Stop.id == done["stopId"])
    await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order == loaded["orderId"])
    order = await Order.select().where(Order.id == loaded["orderId"]).first()
    seq = await latest_seq()

    now = dt.datetime.combine(tomorrow(), dt.time(11, 0))
    answer = await redirect(
        service_ctx(client, {a["courier"]: (done["lat"], done["lon"])}),
        order,
        RedirectIn(kind="window", window="17:00-19:00"),
        now,
        time_limit_s=1.0,
    )

    assert answer["window"] == {"start": "17:00", "end": "19:00"} and answer["replanned"] is True
    holders = await _assert_one_destination_each(hub)
    new, old = answer["stopId"], answer["previousStopId"]
    assert old == loaded["stopId"] and old not in holders
    assert holders[new] == [a["courier"]]  # the goods are on A's bike: A brings them, later
    assert holders[done["stopId"]] == [a["courier"]]  # history stays on A's route
    row = await Stop.select().where(Stop.id == new).first()
    assert row["status"] == "planned" and row["window_start"].hour == 17 and row["window_end"].hour == 19
    mine = next(r for r in await _current_routes(hub) if r["courier"] == a["courier"])
    planned = next(s for s in mine["stops"] if s["stopId"] == new)
    assert f"{tomorrow()}T17:00:00" <= planned["serviceStart"] <= f"{tomorrow()}T19:00:00"
    changed = await _assert_only_changed_couriers_told(hub, seq, routes)
    assert changed == [a["courier"]]  # the other courier's route did not change and was not sent
    update = (
        await OutboxEvent.select()
        .where((OutboxEvent.id > seq) & (OutboxEvent.kind == "route.updated"))
        .output(load_json=True)
        .first()
    )
    assert old in update["payload"]["change"]["removed"] and new in update["payload"]["change"]["added"]
    # The customer is told, in words.
    event = (
        await OutboxEvent.select()
        .where((OutboxEvent.id > seq) & (OutboxEvent.kind == "order.redirected"))
        .output(load_json=True)
        .first()
    )
    (message,) = notifications_for(
        {"id": event["id"], "kind": event["kind"], "payload": event["payload"], "courier_id": None}
    )
    assert message[:2] == ("order", order["id"]) and "17:00 and 19:00" in message[2]["body"]
    again = await Order.select(Order.window_start, Order.status).where(Order.id == order["id"]).first()
    assert again["window_start"].hour == 17 and again["status"] == "redirected"
    # A later re-plan keeps it so: the withdrawn stop does not come back, the new one stays with A.
    later = await replan_hub(
        service_ctx(client, {a["courier"]: (done["lat"], done["lon"])}),
        hub,
        tomorrow(),
        now,
        reason="later",
        time_limit_s=1.0,
    )
    assert later["violations"] == 0
    holders = await _assert_one_destination_each(hub)
    assert holders[new] == [a["courier"]] and old not in holders


async def test_a_redirect_to_a_pickup_point_through_the_tracking_page(client, geo) -> None:
    day = await _day(client, geo)
    hub, routes = day["hub"], day["routes"]
    order = await _order("O-2")
    seq = await latest_seq()
    r = await client.post(
        _url(order),
        json={"kind": "pickup_point", "pickupPointId": day["roomy"]["id"]},
        headers={"Idempotency-Key": "c0ffee00-0000-4000-8000-000000000001"},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["pickupPoint"]["id"] == day["roomy"]["id"] and answer["pickupCode"] == pickup_code(
        SECRET, order["id"]
    )
    holders = await _assert_one_destination_each(hub)
    assert len(holders[answer["stopId"]]) == 1 and answer["previousStopId"] not in holders
    await _assert_only_changed_couriers_told(hub, seq, routes)
    view = (await client.get(_url(order, "status"))).json()
    assert view["pickupPoint"]["name"] == "Kiosk Roomy" and view["pickupCode"] == answer["pickupCode"]
    assert view["status"] in ("planned", "out_for_delivery")
    # At a pickup point the window is its opening hours: no window choices, but a door again is possible.
    assert {o["kind"] for o in view["redirectOptions"]} == {"address"}


async def test_a_redirect_to_another_address_is_geocoded_and_planned(client, geo) -> None:
    day = await _day(client, geo)
    hub, routes = day["hub"], day["routes"]
    order = await _order("O-4")
    # A dispatcher pinned this delivery to a courier: the pin goes with it to the new address.
    stop = await Stop.select(Stop.id).where((Stop.order == order["id"]) & (Stop.kind == "delivery")).first()
    holder = _holders(routes)[stop["id"]]
    pinned = next(s["courier"] for s in await Shift.select(Shift.courier) if [s["courier"]] != holder)
    assert (
        await client.post(f"/stops/{stop['id']}/assign", json={"courierId": pinned}, headers=day["h"])
    ).status_code in (200, 201)
    routes = await _current_routes(hub)
    seq = await latest_seq()
    target = _addresses(geo)[420]
    r = await client.post(_url(order), json={"kind": "address", "address": target})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["address"].startswith(target) and answer["window"] == {"start": "10:00", "end": "12:00"}
    holders = await _assert_one_destination_each(hub)
    assert holders[answer["stopId"]] == [pinned]
    assert await DispatchLock.exists().where(DispatchLock.stop == answer["stopId"])
    await _assert_only_changed_couriers_told(hub, seq, routes)
    row = await Order.select(Order.address, Order.lat).where(Order.id == order["id"]).first()
    assert row["address"] == answer["address"] and row["lat"] != order["lat"]
    # The customer waited for the quick answer (the new stop inserted), not for the solver,
    # whose better plan follows as a job.
    run = await PlanRun.select(PlanRun.id, PlanRun.figures).order_by(PlanRun.id, ascending=False).first()
    figures = run["figures"] if isinstance(run["figures"], dict) else msgspec.json.decode(run["figures"])
    assert figures["quick"] is True and "redirect" in figures["reason"]
    assert await Job.exists().where((Job.kind == "replan_better") & (Job.key == f"replan_better:{run['id']}"))
    # An address the map does not know: 422 with suggestions, nothing changed.
    before = await _snapshot()
    body = problem(await client.post(_url(order), json={"kind": "address", "address": "Nowherestreet 999"}), 422)
    assert "not on the map" in body["detail"]
    assert await _snapshot() == before


async def test_refused_redirects_change_nothing_and_offer_alternatives(client, geo) -> None:
    day = await _day(client, geo)
    order = await _order("O-0")
    before = await _snapshot()
    # A window no courier rides in (shifts end at 20:00).
    body = problem(await client.post(_url(order), json={"kind": "window", "window": "20:30-22:00"}), 409)
    assert body["code"] == "window_unavailable" and "no courier rides then" in body["detail"]
    assert body["nextWindow"] == body["redirectOptions"][0] and body["nextWindow"]["slot"] == "morning"
    assert "The next possible window is 08:00-12:00" in body["detail"]
    # The full locker: refused, with the one that has room among the alternatives.
    body = problem(
        await client.post(_url(order), json={"kind": "pickup_point", "pickupPointId": day["full"]["id"]}), 409
    )
    assert body["code"] == "pickup_point_full" and "Locker Full is full" in body["detail"]
    assert day["roomy"]["id"] in [o.get("pickupPointId") for o in body["redirectOptions"]]
    assert day["full"]["id"] not in [o.get("pickupPointId") for o in body["redirectOptions"]]
    # Unknown pickup point, a malformed window, the wrong fields for the kind.
    problem(await client.post(_url(order), json={"kind": "pickup_point", "pickupPointId": 99999}), 422)
    assert (
        "HH:MM-HH:MM"
        in problem(await client.post(_url(order), json={"kind": "window", "window": "soon"}), 422)["detail"]
    )
    problem(await client.post(_url(order), json={"kind": "window", "pickupPointId": 1}), 422)
    problem(await client.post(_url(order), json={"kind": "teleport"}), 400)
    assert await _snapshot() == before


async def test_a_redirect_the_planner_cannot_fit_is_put_back_whole(client, geo, monkeypatch) -> None:
    import backend.dispatch.live_replan as live_replan
    import backend.services.replanning as replanning
    from backend.dispatch.model import Unplanned

    await _day(client, geo)
    order = await _order("O-6")
    real = live_replan.replan

    def cannot_fit(problem_, in_force, **kw):  # a solver that finds no room for the new stop
        result = real(problem_, in_force, **kw)
        newest = min((s.id for s in problem_.stops), key=int)  # the new stop, not written yet: id below zero
        routes = tuple(
            msgspec.structs.replace(r, stops=tuple(s for s in r.stops if s.stop_id != newest))
            for r in result.plan.routes
        )
        plan = msgspec.structs.replace(
            result.plan,
            routes=routes,
            unplanned=(
                *result.plan.unplanned,
                Unplanned(
                    stop_id=newest, reason="window_unreachable", detail="No bike can be there within its window."
                ),
            ),
        )
        return msgspec.structs.replace(result, plan=plan)

    monkeypatch.setattr(live_replan, "replan", cannot_fit)
    # and no quick answer: a stop that fits nowhere has none
    monkeypatch.setattr(replanning, "quick_replan", lambda *a, **kw: None)
    before = await _snapshot()
    with pytest.raises(Conflict) as refused:  # in this process: the patched solver cannot go to the pool
        await redirect(
            service_ctx(client),
            order,
            RedirectIn(kind="window", window="evening"),
            dt.datetime.combine(tomorrow(), dt.time(9, 0)),
            time_limit_s=1.0,
        )
    body = {"detail": refused.value.detail, **refused.value.extra}
    assert body["code"] == "infeasible" and "No bike can be there within its window" in body["detail"]
    assert "evening" not in [o.get("window") for o in body["redirectOptions"]]  # the refused choice
    assert body["redirectOptions"]  # ... but the others are offered
    assert await _snapshot() == before  # old stop restored to its route and state, no new stop, no events
    assert await PlanRun.count() == 1


async def test_delivered_at_the_door_unknown_and_too_late(client, geo) -> None:
    day = await _day(client, geo)
    order = await _order("O-0")
    stop = await Stop.select(Stop.id).where((Stop.order == order["id"]) & (Stop.kind == "delivery")).first()
    await Stop.update({Stop.status: "arrived"}).where(Stop.id == stop["id"])
    body = problem(await client.post(_url(order), json={"kind": "window", "window": "evening"}), 409)
    assert "at your door" in body["detail"] and body["redirectOptions"] == []
    await Stop.update(
        {Stop.status: "delivered", Stop.completed_at: dt.datetime.combine(tomorrow(), dt.time(10, 42))}
    ).where(Stop.id == stop["id"])
    body = problem(await client.post(_url(order), json={"kind": "window", "window": "evening"}), 409)
    assert "delivered at 10:42" in body["detail"]
    body = problem(
        await client.post("/track/not-a-real-token-at-all/redirect", json={"kind": "window", "window": "evening"}), 404
    )
    assert "not valid" in body["detail"]
    # A window already past, on the day itself: refused with the next one still possible.
    other = await _order("O-2")
    now = dt.datetime.combine(tomorrow(), dt.time(15, 0))
    with pytest.raises(Conflict) as refused:
        await redirect(service_ctx(client), other, RedirectIn(kind="window", window="morning"), now, time_limit_s=1.0)
    assert refused.value.extra["code"] == "window_unavailable" and "too soon" in refused.value.detail
    nxt = refused.value.extra["nextWindow"]
    assert nxt["window"] == "afternoon" and "12:00-17:00" in refused.value.detail
    assert all(o["kind"] != "window" or o["end"] >= "16:00" for o in refused.value.extra["redirectOptions"])
    assert day["hub"]


async def test_two_racing_redirects_have_one_winner(client, geo) -> None:
    day = await _day(client, geo)
    order = await _order("O-0")
    now = dt.datetime.combine(tomorrow(), dt.time(9, 0))
    # The test client runs requests one after the other: the race is run on the service, in one event loop.
    first, second = await asyncio.gather(
        redirect(service_ctx(client), order, RedirectIn(kind="window", window="evening"), now, time_limit_s=1.0),
        redirect(
            service_ctx(client),
            order,
            RedirectIn(kind="pickup_point", pickup_point_id=day["roomy"]["id"]),
            now,
            time_limit_s=1.0,
        ),
        return_exceptions=True,
    )
    outcomes = [first, second]
    winners = [o for o in outcomes if isinstance(o, dict)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0].extra["code"] == "changed" and "in the meantime" in losers[0].detail
    live = await Stop.select(Stop.id).where(
        (Stop.order == order["id"]) & (Stop.kind == "delivery") & (Stop.status != "cancelled")
    )
    assert [s["id"] for s in live] == [winners[0]["stopId"]]  # one live destination: the winner's
    await _assert_one_destination_each(day["hub"])
    assert await OutboxEvent.count().where(OutboxEvent.kind == "order.redirected") == 1


async def test_a_replayed_redirect_changes_nothing_twice(client, geo) -> None:
    day = await _day(client, geo)
    order = await _order("O-0")
    key = {"Idempotency-Key": "6f1c2d7e-1111-4000-8000-000000000042"}
    first = await client.post(_url(order), json={"kind": "window", "window": "evening"}, headers=key)
    assert first.status_code == 200, first.text
    after = await _snapshot()
    again = await client.post(_url(order), json={"kind": "window", "window": "evening"}, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await _snapshot() == after  # no new stop, no new route version, no event
    # The same key for another choice is a mistake, said so.
    body = problem(await client.post(_url(order), json={"kind": "window", "window": "afternoon"}, headers=key), 422)
    assert "already used" in body["detail"]
    # A refused redirect replays refused.
    bad = {"Idempotency-Key": "6f1c2d7e-1111-4000-8000-000000000043"}
    r1 = await client.post(_url(order), json={"kind": "pickup_point", "pickupPointId": day["full"]["id"]}, headers=bad)
    r2 = await client.post(_url(order), json={"kind": "pickup_point", "pickupPointId": day["full"]["id"]}, headers=bad)
    assert r1.status_code == r2.status_code == 409 and r2.headers["Idempotent-Replayed"] == "true"


async def test_before_the_day_is_planned_a_redirect_is_simply_written(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    order = await _order("O-1")
    r = await client.post(_url(order), json={"kind": "window", "window": "evening"})
    assert r.status_code == 200, r.text
    assert r.json()["replanned"] is False
    live = await Stop.select(Stop.id, Stop.status).where(
        (Stop.order == order["id"]) & (Stop.kind == "delivery") & (Stop.status != "cancelled")
    )
    assert live == [{"id": r.json()["stopId"], "status": "open"}]
    events = await OutboxEvent.select(OutboxEvent.kind).where(OutboxEvent.kind == "order.redirected")
    assert len(events) == 1
    # The day's plan then takes the new stop and leaves the withdrawn one out.
    plan = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert plan.status_code == 201 and plan.json()["figures"]["violations"] == 0
    holders = _holders(await _current_routes(hub))
    assert r.json()["stopId"] in holders and r.json()["previousStopId"] not in holders
