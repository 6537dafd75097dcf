"""Re-planning a running day: from the routes in force, with locks; only the
routes that changed get a new version and a ``route.updated`` event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

import msgspec
import pytest

from backend.api.plans import BY_HAND_SHARE
from backend.db.tables import Job, Order, OutboxEvent, Parcel, PlanRun, Route, Shift, Stop, StopEvent
from backend.errors import Conflict, Invalid, NotFound
from backend.realtime.notifications import notifications_for
from backend.realtime.outbox import latest_seq
from backend.security import pickup_code
from backend.services.disruptions import (
    after_failed_stop,
    assign_stop,
    courier_out_of_service,
    take_same_day_order,
)
from backend.services.orders import OrderIn
from backend.services.replanning import replan_hub
from tests.api.helpers import no_room_for, post_ok, problem, service_ctx, tomorrow, with_api_names
from tests.api.test_planning import _addresses, _small_day


async def _current_routes(hub: int) -> list[dict]:
    """The routes in force, their stops under the API's names."""
    rows = await Route.select().where((Route.hub == hub) & (Route.current.eq(True))).output(load_json=True)
    return [with_api_names(r) for r in rows]


async def _planned_day(client, geo) -> tuple[dict, int, list[dict]]:
    h, hub, _ = await _small_day(client, geo)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201 and r.json()["figures"]["violations"] == 0
    return h, hub, await _current_routes(hub)


def _holders(routes: list[dict]) -> dict[int, list[int]]:
    """Stop id -> the couriers whose current route has it."""
    out: dict[int, list[int]] = {}
    for r in routes:
        for s in r["stops"]:
            out.setdefault(s["stopId"], []).append(r["courier"])
    return out


async def test_a_new_order_goes_into_one_running_route_and_locked_stops_stay(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    # Courier A is on the road: first delivery done, the next one's parcels on the bike.
    a = next(r for r in routes if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    deliveries = [s for s in a["stops"] if s["kind"] == "delivery"]
    done, loaded = deliveries[0], deliveries[1]
    await Stop.update({Stop.status: "delivered"}).where(Stop.id == done["stopId"])
    await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order == loaded["orderId"])

    new = await post_ok(
        client,
        "/orders",
        {
            "reference": "SAME-DAY",
            "hubId": hub,
            "customerName": "Late Lunch",
            "date": day.isoformat(),
            "address": _addresses(geo)[500],
            "window": {"start": "13:00", "end": "18:00"},
            "parcels": [{"weightKg": 2, "volumeL": 5}],
        },
        h,
    )
    new_stop = (await Stop.select(Stop.id).where(Stop.order == new["id"]).first())["id"]
    seq = await latest_seq()

    now = dt.datetime.combine(day, dt.time(11, 0))
    result = await replan_hub(
        service_ctx(client, {a["courier"]: (done["lat"], done["lon"])}),
        hub,
        day,
        now,
        reason="new order SAME-DAY",
        time_limit_s=1.0,
    )

    assert result["violations"] == 0 and result["unplanned"] == 0, result
    after = await _current_routes(hub)
    holders = _holders(after)
    assert len(holders[new_stop]) == 1  # exactly one destination and one holder
    assert all(len(c) == 1 for c in holders.values()), holders
    assert holders[loaded["stopId"]] == [a["courier"]]  # goods on A's bike stay with A
    assert holders[done["stopId"]] == [a["courier"]]  # history stays on A's route
    assert (await Stop.select(Stop.status).where(Stop.id == new_stop).first())["status"] == "planned"

    # Only changed couriers got a new route version and an event, with the reason.
    events = (
        await OutboxEvent.select()
        .where((OutboxEvent.id > seq) & (OutboxEvent.kind == "route.updated"))
        .output(load_json=True)
    )
    assert sorted(e["courier_id"] for e in events) == sorted(result["changedCouriers"])
    assert holders[new_stop][0] in result["changedCouriers"]
    for e in events:
        assert e["payload"]["change"]["reason"] == "new order SAME-DAY"
    receiving = next(e for e in events if e["courier_id"] == holders[new_stop][0])
    assert new_stop in receiving["payload"]["change"]["added"]
    versions = {r["courier"]: r["version"] for r in after}
    for r in routes:
        assert versions[r["courier"]] == (2 if r["courier"] in result["changedCouriers"] else 1)


async def test_nothing_changed_publishes_nothing(client, geo) -> None:
    _, hub, routes = await _planned_day(client, geo)
    seq = await latest_seq()
    now = dt.datetime.combine(tomorrow(), dt.time(7, 0))  # before anyone rides
    result = await replan_hub(service_ctx(client), hub, tomorrow(), now, reason="check", time_limit_s=1.0)
    assert result["violations"] == 0
    assert result["changedCouriers"] == []
    assert await OutboxEvent.count().where((OutboxEvent.id > seq) & (OutboxEvent.kind == "route.updated")) == 0
    assert {r["id"] for r in await _current_routes(hub)} == {r["id"] for r in routes}


async def test_a_replan_by_hand_answers_in_part_of_the_limit_and_searches_on_after(client, geo) -> None:
    # The phones wait for the answer: without a limit of its own, the dispatcher's re-plan
    # answers in part of the re-plan's limit, and the solver looks on for a better plan after it.
    h, hub, _ = await _planned_day(client, geo)
    now = dt.datetime.combine(tomorrow(), dt.time(7, 0))
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: now)
    limit = client.app.state.context.replan_time_limit_s

    async def by_hand(body: dict) -> tuple[float, bool]:
        r = await client.post(f"/hubs/{hub}/replan", json=body, headers=h)
        assert r.status_code == 200, r.text
        answer = r.json()
        run = await PlanRun.select(PlanRun.time_limit_s).where(PlanRun.id == answer["planRunId"]).first()
        search = await Job.exists().where(Job.key == f"replan_better:{answer['planRunId']}")
        return run["time_limit_s"], search

    assert await by_hand({"reason": "by hand"}) == (pytest.approx(BY_HAND_SHARE * limit), True)
    # with a limit of its own: all of it, and nothing after
    assert await by_hand({"reason": "by hand", "timeLimitS": 1}) == (1.0, False)


async def test_replan_without_a_plan_is_refused_clearly(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    body = problem(await client.post(f"/hubs/{hub}/replan", json={"reason": "test"}, headers=h), 422)
    assert "plan the day first" in body["detail"]
    problem(await client.post(f"/hubs/{hub}/replan", json={"reason": ""}, headers=h), 400)


def _same_day(hub: int, geo, ref: str, window: tuple[str, str], kg: float = 2) -> OrderIn:
    return msgspec.convert(
        {
            "reference": ref,
            "hubId": hub,
            "customerName": "Same Day",
            "date": tomorrow().isoformat(),
            "address": _addresses(geo)[510],
            "window": {"start": window[0], "end": window[1]},
            "parcels": [{"weightKg": kg, "volumeL": 5}],
        },
        OrderIn,
    )


async def test_a_same_day_order_before_its_cutoff_is_planned_into_a_running_route(client, geo) -> None:
    _, hub, _ = await _planned_day(client, geo)
    now = dt.datetime.combine(tomorrow(), dt.time(10, 0))  # "today", for this test, is tomorrow
    order_id, result = await take_same_day_order(
        service_ctx(client), _same_day(hub, geo, "SD-1", ("13:00", "18:00")), now, time_limit_s=1.0
    )
    assert result is not None and result["violations"] == 0
    stop = await Stop.select(Stop.id, Stop.status).where(Stop.order == order_id).first()
    assert stop["status"] == "planned"
    assert len(_holders(await _current_routes(hub))[stop["id"]]) == 1


async def test_a_same_day_order_after_its_cutoff_is_refused_with_the_next_slot(client, geo) -> None:
    _, hub, _ = await _planned_day(client, geo)
    orders_before = await Order.count()
    now = dt.datetime.combine(tomorrow(), dt.time(17, 30))
    with pytest.raises(Conflict) as refused:
        await take_same_day_order(
            service_ctx(client), _same_day(hub, geo, "SD-2", ("13:00", "18:00")), now, time_limit_s=1.0
        )
    assert refused.value.extra["code"] == "same_day_cutoff"
    assert refused.value.extra["nextSlot"] == {
        "date": tomorrow().isoformat(),
        "slot": "evening",
        "start": "18:00",
        "end": "22:00",
    }
    assert "18:00" in refused.value.detail and "evening" in refused.value.detail
    assert await Order.count() == orders_before  # nothing written


async def test_a_same_day_order_that_fits_no_bike_is_withdrawn_whole(client, geo) -> None:
    _, hub, routes = await _planned_day(client, geo)
    counts = (await Order.count(), await Stop.count(), await Parcel.count())
    now = dt.datetime.combine(tomorrow(), dt.time(10, 0))
    with pytest.raises(Conflict) as refused:
        await take_same_day_order(
            service_ctx(client), _same_day(hub, geo, "SD-3", ("13:00", "18:00"), kg=190), now, time_limit_s=1.0
        )
    assert refused.value.extra["code"] == "same_day_full"
    assert "next possible slot" in refused.value.detail
    # not the same hours again: the first slot after the window that found no room
    assert refused.value.extra["nextSlot"] == {
        "date": tomorrow().isoformat(),
        "slot": "evening",
        "start": "18:00",
        "end": "22:00",
    }
    assert (await Order.count(), await Stop.count(), await Parcel.count()) == counts
    assert all(len(c) == 1 for c in _holders(await _current_routes(hub)).values())


async def _two_loaded_deliveries(client, geo) -> tuple[int, dict, dict, dict]:  # noqa: ANN001
    """A planned day whose courier ``a`` is on the road with the goods of two deliveries on board."""
    _h, hub, routes = await _planned_day(client, geo)
    a = next(r for r in routes if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    first, second = [s for s in a["stops"] if s["kind"] == "delivery"][:2]
    for stop in (first, second):
        await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order == stop["orderId"])
    return hub, a, first, second


async def test_each_delivery_with_goods_on_a_broken_bike_gets_its_own_transfer_with_its_goods(client, geo) -> None:
    hub, a, first, second = await _two_loaded_deliveries(client, geo)
    day = tomorrow()
    bike_at = (first["lat"] + 0.001, first["lon"])
    now = dt.datetime.combine(day, dt.time(10, 30))

    result = await courier_out_of_service(
        service_ctx(client, {a["courier"]: bike_at}), a["courier"], day, now, reason="broken chain", time_limit_s=1.0
    )

    assert result["transfers"] == 2, result
    for stop in (first, second):
        parcels = await Parcel.select().where(Parcel.order == stop["orderId"])
        (transfer,) = await Stop.select().where((Stop.order == stop["orderId"]) & (Stop.kind == "pickup"))
        assert transfer["weight_kg"] == pytest.approx(sum(p["weight_kg"] for p in parcels))
        assert transfer["volume_l"] == pytest.approx(sum(p["volume_l"] for p in parcels))
        (created,) = await StopEvent.select().where((StopEvent.stop == transfer["id"]) & (StopEvent.state == "created"))
        assert f"for stop {stop['stopId']} from their bike" in created["detail"]
        assert {p["status"] for p in parcels} == {"transfer"}


async def test_with_no_place_for_a_broken_bike_its_goods_go_back_to_the_hub(client, geo) -> None:
    hub, a, first, second = await _two_loaded_deliveries(client, geo)
    day = tomorrow()
    now = dt.datetime.combine(day, dt.time(10, 30))

    result = await courier_out_of_service(
        service_ctx(client, {}), a["courier"], day, now, reason="stolen", time_limit_s=1.0
    )

    assert result["transfers"] == 0, result
    ids = [first["stopId"], second["stopId"]]
    # unplanned for the re-plan, which may give them to another bike from the hub
    holders = _holders(await _current_routes(hub))
    assert all(a["courier"] not in holders.get(i, []) for i in ids)
    assert (
        await Stop.count().where(Stop.order.is_in([first["orderId"], second["orderId"]]) & (Stop.kind == "pickup")) == 0
    )
    events = await StopEvent.select().where(StopEvent.stop.is_in(ids) & (StopEvent.state == "unplanned"))
    assert sorted(e["stop"] for e in events) == sorted(ids)
    assert all("the goods go back to the hub" in e["detail"] for e in events)


async def test_a_courier_out_of_service_hands_over_stops_and_goods_become_a_transfer(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    a = next(r for r in routes if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    deliveries = [s for s in a["stops"] if s["kind"] == "delivery"]
    loaded, free = deliveries[0], deliveries[1]
    await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order == loaded["orderId"])
    seq = await latest_seq()
    bike_at = (loaded["lat"] + 0.001, loaded["lon"])

    now = dt.datetime.combine(day, dt.time(10, 30))
    result = await courier_out_of_service(
        service_ctx(client, {a["courier"]: bike_at}), a["courier"], day, now, reason="flat battery", time_limit_s=1.0
    )

    assert result["violations"] == 0 and result["transfers"] == 1, result
    after = await _current_routes(hub)
    holders = _holders(after)
    mine = next(r for r in after if r["courier"] == a["courier"])
    assert [s for s in mine["stops"] if s["stopId"] in (loaded["stopId"], free["stopId"])] == []
    assert holders[loaded["stopId"]] != [a["courier"]] and len(holders[loaded["stopId"]]) == 1
    assert len(holders[free["stopId"]]) == 1 and holders[free["stopId"]] != [a["courier"]]
    # The goods are collected where the bike stands, by the courier who delivers them, before delivering.
    transfer = await Stop.select().where((Stop.order == loaded["orderId"]) & (Stop.kind == "pickup")).first()
    assert (transfer["lat"], transfer["lon"]) == bike_at and transfer["status"] == "planned"
    taker = next(r for r in after if r["courier"] == holders[loaded["stopId"]][0])
    order = [s["stopId"] for s in taker["stops"]]
    assert order.index(transfer["id"]) < order.index(loaded["stopId"])
    assert {p["status"] for p in await Parcel.select(Parcel.status).where(Parcel.order == loaded["orderId"])} == {
        "transfer"
    }
    events = await OutboxEvent.select(OutboxEvent.courier_id, OutboxEvent.kind).where(OutboxEvent.id > seq)
    assert {"courier_id": a["courier"], "kind": "route.updated"} in events  # the broken courier is told too
    assert all(len(c) == 1 for c in holders.values())
    problem(await client.post(f"/couriers/{a['courier']}/out-of-service", json={"reason": "again"}, headers=h), 409)
    problem(await client.post("/couriers/9999/out-of-service", json={"reason": "x"}, headers=h), 404)


async def test_a_courier_out_of_service_with_nothing_left_to_do_changes_no_other_route(client, geo) -> None:
    _, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    # the small day's plan rides one bike and leaves the other courier at the hub, with no route
    (other,) = routes
    idle = await Shift.select().where((Shift.hub == hub) & (Shift.courier != other["courier"])).first()
    await Shift.update({Shift.status: "started"}).where(Shift.id.is_in([idle["id"], other["shift"]]))
    runs, seq = await PlanRun.count(), await latest_seq()

    now = dt.datetime.combine(day, dt.time(10, 30))
    result = await courier_out_of_service(service_ctx(client), idle["courier"], day, now, reason="flat tyre")

    assert result["applied"] and result["changedCouriers"] == [] and result["transfers"] == 0, result
    assert result["planRunId"] is None and await PlanRun.count() == runs  # no re-plan ran
    assert await _current_routes(hub) == routes  # the other courier's route stands as it was
    kinds = {e["kind"] for e in await OutboxEvent.select(OutboxEvent.kind).where(OutboxEvent.id > seq)}
    assert kinds == {"shift.updated"}  # the shift is interrupted; no route was re-published
    assert (await Shift.select(Shift.status).where(Shift.id == idle["id"]).first())["status"] == "interrupted"


async def _started_with_loaded_delivery(hub: int, routes: list[dict]) -> tuple[dict, dict]:
    a = next(r for r in routes if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    target = [s for s in a["stops"] if s["kind"] == "delivery"][0]
    await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order == target["orderId"])
    await Stop.update({Stop.status: "failed", Stop.fail_reason: "not_home"}).where(Stop.id == target["stopId"])
    return a, target


async def test_a_failed_delivery_goes_to_the_nearest_pickup_point_on_the_same_bike(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    a_ = _addresses(geo)
    points = [
        (
            await post_ok(
                client,
                "/pickup-points",
                {
                    "name": f"Kiosk {i}",
                    "kind": "parcel_shop",
                    "address": a_[150 + 3 * i],
                    "hubId": hub,
                    "capacityParcels": 10,
                    "maxWeightKg": kg,
                    "maxVolumeL": 60,
                },
                h,
            )
        )
        for i, kg in enumerate((20, 0.5))
    ]  # the second takes no 3 kg
    a, failed = await _started_with_loaded_delivery(hub, routes)
    now = dt.datetime.combine(tomorrow(), dt.time(11, 0))
    done = await after_failed_stop(
        service_ctx(client, {a["courier"]: (failed["lat"], failed["lon"])}),
        failed["stopId"],
        now,
        policy="pickup_point",
        time_limit_s=1.0,
    )
    step = done["next"]
    assert step["next"] == "pickup_point" and step["pickupPoint"]["id"] == points[0]["id"]
    assert (
        step["pickupCode"] == pickup_code(service_ctx(client).settings.secret_key, failed["orderId"])
        and len(step["pickupCode"]) == 6
    )
    assert done["replan"]["violations"] == 0
    holders = _holders(await _current_routes(hub))
    assert holders[step["newStopId"]] == [a["courier"]]  # the parcel is on A's bike: A brings it there
    assert all(len(c) == 1 for c in holders.values())
    order = await Order.select(Order.status, Order.pickup_point).where(Order.id == failed["orderId"]).first()
    assert order == {"status": "redirected", "pickup_point": points[0]["id"]}
    # the customer's message names the point and the code
    (message,) = notifications_for({"id": 1, "kind": "order.next_step", "payload": step, "courier_id": None})
    assert message[:2] == ("order", failed["orderId"]) and step["pickupCode"] in message[2]["body"]


async def test_a_failed_delivery_without_a_point_is_retried_later_or_goes_back(client, geo) -> None:
    _, hub, routes = await _planned_day(client, geo)
    a, failed = await _started_with_loaded_delivery(hub, routes)
    now = dt.datetime.combine(tomorrow(), dt.time(11, 0))
    done = await after_failed_stop(service_ctx(client), failed["stopId"], now, policy="pickup_point", time_limit_s=1.0)
    assert done["next"]["next"] == "retry" and done["next"]["windowStart"] == f"{tomorrow()}T12:00:00"
    assert _holders(await _current_routes(hub))[done["next"]["newStopId"]] == [a["courier"]]
    # a second failure late in the day: back to the hub, nothing re-planned
    await Stop.update({Stop.status: "failed"}).where(Stop.id == done["next"]["newStopId"])
    late = dt.datetime.combine(tomorrow(), dt.time(19, 30))
    back = await after_failed_stop(
        service_ctx(client), done["next"]["newStopId"], late, policy="retry", time_limit_s=1.0
    )
    assert back == {
        "next": {"orderId": failed["orderId"], "stopId": done["next"]["newStopId"], "next": "hub"},
        "replan": None,
    }
    assert (await Order.select(Order.status).where(Order.id == failed["orderId"]).first())["status"] == "returning"
    planned = (await Stop.select(Stop.id).where(Stop.status == "planned").first())["id"]
    assert (
        await after_failed_stop(service_ctx(client), planned, late, policy="hub", time_limit_s=1.0) is None
    )  # not a failed delivery: nothing to do


async def test_a_stop_moved_by_dispatch_stays_moved_in_later_replans(client, geo) -> None:
    h, hub, routes = await _planned_day(client, geo)
    giver = max(routes, key=lambda r: len(r["stops"]))
    taker = next(s["courier"] for s in await Shift.select(Shift.courier) if s["courier"] != giver["courier"])
    stop = next(
        s
        for s in giver["stops"]
        if s["kind"] == "delivery"
        and not any(p["orderId"] == s["orderId"] and p["kind"] == "pickup" for p in giver["stops"])
    )
    now = dt.datetime.combine(tomorrow(), dt.time(7, 0))
    result = await assign_stop(service_ctx(client), stop["stopId"], taker, now, time_limit_s=1.0)
    assert result["violations"] == 0
    assert {giver["courier"], taker} <= set(result["changedCouriers"])
    assert _holders(await _current_routes(hub))[stop["stopId"]] == [taker]
    again = await replan_hub(service_ctx(client), hub, tomorrow(), now, reason="later", time_limit_s=1.0)
    assert again["violations"] == 0
    assert _holders(await _current_routes(hub))[stop["stopId"]] == [taker]
    # through the API: bad inputs get clear answers
    problem(await client.post("/stops/99999/assign", json={"courierId": taker}, headers=h), 404)
    problem(await client.post(f"/stops/{stop['stopId']}/assign", json={"courierId": 99999}, headers=h), 409)
    assert (await client.delete(f"/stops/{stop['stopId']}/assign", headers=h)).status_code == 204
    problem(await client.delete(f"/stops/{stop['stopId']}/assign", headers=h), 404)


async def test_a_replan_that_would_take_planned_stops_off_their_routes_is_not_published(
    client, geo, monkeypatch
) -> None:
    import backend.dispatch.live_replan as live_replan
    from backend.dispatch.model import Unplanned

    _, hub, routes = await _planned_day(client, geo)
    real = live_replan.replan

    def worse(problem, in_force, **kw):  # a solver that gave up one planned stop
        result = real(problem, in_force, **kw)
        route = next(r for r in result.plan.routes if r.stops)
        victim = route.stops[-1].stop_id
        plan = msgspec.structs.replace(
            result.plan,
            routes=tuple(
                msgspec.structs.replace(r, stops=r.stops[:-1]) if r is route else r for r in result.plan.routes
            ),
            unplanned=(*result.plan.unplanned, Unplanned(stop_id=victim, reason="no_capacity", detail="test")),
        )
        return msgspec.structs.replace(result, plan=plan, changed=frozenset({route.vehicle_id}))

    monkeypatch.setattr(live_replan, "replan", worse)
    seq = await latest_seq()
    result = await replan_hub(
        service_ctx(client),
        hub,
        tomorrow(),
        dt.datetime.combine(tomorrow(), dt.time(7, 0)),
        reason="check",
        time_limit_s=1.0,
    )
    assert result["applied"] is False and "routes kept" in result["detail"]
    assert {r["id"] for r in await _current_routes(hub)} == {r["id"] for r in routes}
    assert await OutboxEvent.count().where(OutboxEvent.id > seq) == 0


async def test_a_background_replan_that_is_not_applied_is_told_on_the_hub_stream(client, geo, monkeypatch) -> None:
    import backend.dispatch.live_replan as live_replan
    from backend.dispatch.model import Unplanned
    from backend.services.disruptions import courier_behind

    _, hub, routes = await _planned_day(client, geo)
    real = live_replan.replan

    def worse(problem, in_force, **kw):  # a solver that gave up one planned stop
        result = real(problem, in_force, **kw)
        route = next(r for r in result.plan.routes if r.stops)
        plan = msgspec.structs.replace(
            result.plan,
            routes=tuple(
                msgspec.structs.replace(r, stops=r.stops[:-1]) if r is route else r for r in result.plan.routes
            ),
            unplanned=(
                *result.plan.unplanned,
                Unplanned(stop_id=route.stops[-1].stop_id, reason="no_capacity", detail="test"),
            ),
        )
        return msgspec.structs.replace(result, plan=plan)

    monkeypatch.setattr(live_replan, "replan", worse)
    seq = await latest_seq()
    courier = routes[0]["courier"]
    result = await courier_behind(
        service_ctx(client), hub, {courier}, dt.datetime.combine(tomorrow(), dt.time(7, 0)), time_limit_s=1.0
    )
    assert result is not None and result["applied"] is False
    events = await OutboxEvent.select().where(OutboxEvent.id > seq)
    assert [e["kind"] for e in events] == ["plan.not_applied", "alert.raised"]  # and an alert to acknowledge
    assert events[0]["hub_id"] == events[1]["hub_id"] == hub
    data = events[0]["payload"] if isinstance(events[0]["payload"], dict) else json.loads(events[0]["payload"])
    assert data["reason"] == f"courier {courier} behind schedule" and "routes kept" in data["detail"]
    assert {r["id"] for r in await _current_routes(hub)} == {r["id"] for r in routes}


async def test_a_courier_behind_hands_late_stops_not_on_the_bike_to_someone_on_time(client, geo) -> None:
    from backend.db.tables import Bike, Courier
    from backend.services.disruptions import courier_behind

    h, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    a = max(routes, key=lambda r: sum(1 for s in r["stops"] if s["kind"] == "delivery"))
    b = {"courier": next(s["courier"] for s in await Shift.select(Shift.courier) if s["courier"] != a["courier"])}
    deliveries = [s for s in a["stops"] if s["kind"] == "delivery"]
    assert len(deliveries) >= 2
    loaded = deliveries[0]
    # A rides a bike that crawls (a flat tyre): the ticker has flagged every stop late.
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order == loaded["orderId"])
    bike = (await Courier.select(Courier.bike).where(Courier.id == a["courier"]).first())["bike"]
    await Bike.update({Bike.speed_factor: 0.1}).where(Bike.id == bike)
    stored = (await Route.select(Route.stops).where(Route.id == a["id"]).output(load_json=True).first())["stops"]
    await Route.update({Route.stops: [{**s, "late": True} for s in stored]}).where(Route.id == a["id"])
    seq = await latest_seq()

    now = dt.datetime.combine(day, dt.time(8, 30))
    result = await courier_behind(
        service_ctx(client, {a["courier"]: (loaded["lat"], loaded["lon"])}), hub, {a["courier"]}, now, time_limit_s=1.0
    )
    assert result is not None and result["applied"] and result["violations"] == 0, result
    holders = _holders(await _current_routes(hub))
    assert all(len(c) == 1 for c in holders.values()), holders
    assert holders[loaded["stopId"]] == [a["courier"]]  # on A's bike: stays with A
    moved = [s["stopId"] for s in deliveries[1:] if holders[s["stopId"]] == [b["courier"]]]
    assert moved, "a late stop whose goods are still at the hub should go to the courier who is on time"
    assert result["reason"] == f"courier {a['courier']} behind schedule"
    events = (
        await OutboxEvent.select()
        .where((OutboxEvent.id > seq) & (OutboxEvent.kind == "route.updated"))
        .output(load_json=True)
    )
    assert (
        sorted(e["courier_id"] for e in events)
        == sorted(result["changedCouriers"])
        == sorted([a["courier"], b["courier"]])
    )
    assert all("behind schedule" in e["payload"]["change"]["reason"] for e in events)


async def test_the_ticker_asks_for_a_replan_of_hubs_with_couriers_turning_late(monkeypatch) -> None:
    import backend.realtime.ticker as ticker_module
    from backend.services.courier import LateRoutes

    heard: list[tuple[int, set[int]]] = []

    async def late(day, now, part=(0, 1)):
        return LateRoutes(changed=1, behind={7: {3, 4}})

    class FakeFeed:
        pokes = 0

        async def poke(self) -> None:
            self.pokes += 1

    monkeypatch.setattr(ticker_module, "catch_up_late_routes", late)
    feed = FakeFeed()
    result = await ticker_module.ProgressTicker(feed, on_behind=lambda hub, c: heard.append((hub, c))).tick()
    assert result.changed == 1 and feed.pokes == 1
    assert heard == [(7, {3, 4})]


async def test_a_pinned_order_is_kept_in_every_later_replan(client, geo) -> None:
    from backend.services.courier import shift_of
    from backend.services.day import live_day, load_day
    from backend.services.disruptions import pin_order

    h, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    now = dt.datetime.combine(day, dt.time(7, 0))
    giver = max(routes, key=lambda r: len(r["stops"]))
    singles = [
        s["stopId"]
        for s in giver["stops"]
        if s["kind"] == "delivery"
        and not any(p["orderId"] == s["orderId"] and p["kind"] == "pickup" for p in giver["stops"])
    ]
    taker = next(s["courier"] for s in await Shift.select(Shift.courier) if s["courier"] != giver["courier"])
    stops_of = {s["stopId"]: s for s in giver["stops"]}
    afternoons = [s for s in singles if stops_of[s]["windowStart"][11:16] >= "12:00"]
    assert len(afternoons) >= 3
    # Three afternoon deliveries onto the other courier, in reverse of the planned order.
    pin = afternoons[::-1][:3]
    result = await pin_order(service_ctx(client), taker, pin, now, time_limit_s=1.0)
    assert result["applied"] and result["violations"] == 0, result
    assert taker in result["changedCouriers"]

    def order_on_a(current: list[dict]) -> list[int]:
        mine = next(r for r in current if r["courier"] == taker)
        return [s["stopId"] for s in mine["stops"] if s["stopId"] in pin]

    assert order_on_a(await _current_routes(hub)) == pin
    holders = _holders(await _current_routes(hub))
    assert all(holders[s] == [taker] for s in pin) and all(len(c) == 1 for c in holders.values())
    again = await replan_hub(service_ctx(client), hub, day, now, reason="later", time_limit_s=1.0)
    assert again["violations"] == 0
    assert order_on_a(await _current_routes(hub)) == pin
    live, _ = await live_day(hub, day, now)
    day_input = await load_day(geo, hub, day, live)
    assert [list(s.stops) for s in day_input.problem.sequences] == [[str(s) for s in pin]]

    # Bad input: clear answers, nothing changed.
    with pytest.raises(Invalid) as twice:
        await pin_order(service_ctx(client), taker, [pin[0], pin[0]], now, time_limit_s=1.0)
    assert "twice" in str(twice.value)
    with pytest.raises(NotFound) as unknown:
        await pin_order(service_ctx(client), taker, [99999], now, time_limit_s=1.0)
    assert "99999" in str(unknown.value)
    problem(await client.put("/couriers/99999/pinned-order", json={"stopIds": pin}, headers=h), 404)
    problem(await client.put(f"/couriers/{taker}/pinned-order", json={"stopIds": "x"}, headers=h), 400)
    assert order_on_a(await _current_routes(hub)) == pin
    # A pin that cannot be kept (an afternoon stop before a morning one) is refused; the old pin stays.
    morning = next(s for s in singles if stops_of[s]["windowEnd"][11:16] <= "12:00")
    afternoon = next(s for s in singles if stops_of[s]["windowStart"][11:16] >= "12:00")
    with pytest.raises(Conflict) as refused:
        await pin_order(service_ctx(client), taker, [afternoon, morning], now, time_limit_s=1.0)
    assert refused.value.extra["code"] == "pin_refused" and str(morning) in refused.value.detail
    live, _ = await live_day(hub, day, now)
    assert live.pins == {(await shift_of(taker, day))["id"]: pin}
    assert order_on_a(await _current_routes(hub)) == pin
    # Through the API with an Idempotency-Key: a retry re-plans once and answers the same.
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: now)
    again_key = {**h, "Idempotency-Key": f"pin-{uuid.uuid4()}"}
    events = await OutboxEvent.count()
    first = await client.put(f"/couriers/{taker}/pinned-order", json={"stopIds": pin}, headers=again_key)
    assert first.status_code == 200, first.text
    after_first = await OutboxEvent.count()
    assert after_first > events  # the pin's re-plan told the devices
    replayed = await client.put(f"/couriers/{taker}/pinned-order", json={"stopIds": pin}, headers=again_key)
    assert (replayed.status_code, replayed.json()) == (200, first.json())
    assert replayed.headers.get("idempotent-replayed") == "true" and not first.headers.get("idempotent-replayed")
    assert await OutboxEvent.count() == after_first  # the retry re-planned nothing
    # An empty list lifts the pin.
    lifted = await pin_order(service_ctx(client), taker, [], now, time_limit_s=1.0)
    assert lifted["violations"] == 0
    live, _ = await live_day(hub, day, now)
    assert live.pins == {}


async def test_a_day_too_big_to_replan_live_is_refused_with_a_reason(client, geo, monkeypatch) -> None:
    import backend.services.replanning as replanning

    _, hub, routes = await _planned_day(client, geo)
    monkeypatch.setattr(replanning, "MAX_LIVE_STOPS", 3)
    seq = await latest_seq()
    with pytest.raises(Invalid) as refused:
        await replan_hub(
            service_ctx(client),
            hub,
            tomorrow(),
            dt.datetime.combine(tomorrow(), dt.time(7, 0)),
            reason="check",
            time_limit_s=1.0,
        )
    assert "up to 3" in refused.value.detail
    assert await OutboxEvent.count().where(OutboxEvent.id > seq) == 0
    assert {r["id"] for r in await _current_routes(hub)} == {r["id"] for r in routes}


async def test_a_move_by_hand_that_does_not_fit_is_not_kept(client, geo, monkeypatch) -> None:
    from backend.db.tables import DispatchLock

    _, hub, routes = await _planned_day(client, geo)
    giver = max(routes, key=lambda r: len(r["stops"]))
    taker = next(s["courier"] for s in await Shift.select(Shift.courier) if s["courier"] != giver["courier"])
    stop = next(
        s
        for s in giver["stops"]
        if s["kind"] == "delivery"
        and not any(p["orderId"] == s["orderId"] and p["kind"] == "pickup" for p in giver["stops"])
    )
    no_room_for(monkeypatch, stop["stopId"])  # the planner could not fit the moved stop anywhere
    seq = await latest_seq()
    with pytest.raises(Conflict) as refused:
        await assign_stop(
            service_ctx(client), stop["stopId"], taker, dt.datetime.combine(tomorrow(), dt.time(7, 0)), time_limit_s=1.0
        )
    assert refused.value.extra["code"] == "move_refused"
    assert "Choose a courier with more room" in str(refused.value)  # why, and what to do instead
    assert await DispatchLock.count() == 0  # the hand is taken off again: later re-plans are free
    assert await OutboxEvent.count().where(OutboxEvent.id > seq) == 0
    assert _holders(await _current_routes(hub))[stop["stopId"]] == [giver["courier"]]


async def test_a_move_whose_save_fails_leaves_no_hand_behind(client, geo, monkeypatch) -> None:
    """The move's lock is written in the transaction that saves its routes: a save
    that fails (a crash, or routes changed every time) writes neither."""
    import backend.services.replanning as replanning
    from backend.db.tables import DispatchLock
    from backend.errors import Stale

    _, hub, routes = await _planned_day(client, geo)
    giver = max(routes, key=lambda r: len(r["stops"]))
    taker = next(s["courier"] for s in await Shift.select(Shift.courier) if s["courier"] != giver["courier"])
    stop = next(s for s in giver["stops"] if s["kind"] == "delivery")

    async def stale(*args, **kwargs):
        raise Stale("the routes in force changed while solving")

    monkeypatch.setattr(replanning, "save_replan", stale)
    with pytest.raises(Stale):
        await assign_stop(
            service_ctx(client), stop["stopId"], taker, dt.datetime.combine(tomorrow(), dt.time(7, 0)), time_limit_s=1.0
        )
    assert await DispatchLock.count() == 0
    assert _holders(await _current_routes(hub))[stop["stopId"]] == [giver["courier"]]
