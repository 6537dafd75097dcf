"""True times in the API (issue 15, part 1): after a failed stop and its re-plan the
next ETAs move earlier or stay and nothing is flagged late that can still be on time;
done stops carry their actual times beside the planned ones (courier route, desk,
events); the customer's expected window never starts before their own window."""

from __future__ import annotations

import datetime as dt

from backend.db.engine import transaction
from backend.db.tables import Job, OutboxEvent, Route, Shift
from backend.services.courier import prepare_start_shift, prepare_stop_action
from backend.services.disruptions import after_failed_stop
from tests.api.helpers import login, post_ok, service_ctx, tomorrow, with_api_names
from tests.api.test_planning import _addresses, _small_day


async def _route(hub: int) -> dict:
    (row,) = await Route.select().where((Route.hub == hub) & (Route.current.eq(True))).output(load_json=True)
    return row


async def _act(courier: int, stop_id: int, action: str, now: dt.datetime, **kw) -> dict:
    write = await prepare_stop_action(courier, tomorrow(), stop_id, action, now, **kw)
    async with transaction():
        return await write()


def _t(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


async def test_after_a_failed_stop_and_its_replan_the_next_etas_move_earlier_and_none_is_late_for_nothing(
    client, geo
) -> None:
    h, hub, (courier,) = await _small_day(client, geo, couriers=1, basket=False)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201 and r.json()["figures"]["violations"] == 0, r.text
    route = await _route(hub)
    await Shift.update({Shift.status: "started"}).where(Shift.id == route["shift"])
    planned = {s["stop_id"]: s for s in route["stops"]}
    first, *rest = [s for s in route["stops"] if s["kind"] == "delivery"]
    assert rest, "a route with several deliveries"
    # Shown as ridden: from the shift start, as early as the route allows (waiting only for a window).
    assert all(_t(s["eta"]) <= _t(s["service_start"]) for s in route["stops"])
    assert not any(s["late"] for s in route["stops"])

    # The courier arrives on time and fails the first delivery a minute later; no GPS fix.
    arrived = _t(first["eta"])
    failed_at = max(arrived, _t(first["service_start"])) + dt.timedelta(minutes=1)
    await _act(courier, first["stop_id"], "arrive", arrived)
    # The failure's follow-up is this test's own call below: the app's worker, whose poll could
    # take the job the failure wrote first, is stopped (it would add a second later try).
    await client.app.state.jobs.stop()
    fresh = await _act(courier, first["stop_id"], "fail", failed_at, reason="not_home")
    follow_up = Job.key == f"failed_stop:{first['stop_id']}"
    assert await Job.exists().where(follow_up)
    await Job.delete().where(follow_up)
    await client.app.state.jobs.start()
    assert (fresh["arrivedAt"], fresh["completedAt"]) == (arrived.isoformat(), failed_at.isoformat())
    assert fresh["plannedEta"] == first["planned_eta"] and fresh["departure"] == failed_at.isoformat()
    after_fail = {s["stop_id"]: s for s in (await _route(hub))["stops"]}
    for sid in (s["stop_id"] for s in rest):
        assert _t(after_fail[sid]["eta"]) <= _t(planned[sid]["eta"])  # moved earlier or stayed

    # The failure's next step (a later try) and its re-plan of the running day.
    done = await after_failed_stop(service_ctx(client), first["stop_id"], failed_at, policy="retry", time_limit_s=1.0)
    assert done["next"]["next"] == "retry" and done["replan"]["violations"] == 0, done
    replanned = await _route(hub)
    now_on = [s for s in replanned["stops"] if s["stop_id"] != first["stop_id"]]
    # the bike leaves from the failed stop, now: the next stop is reached the earliest it can be
    added = {s["stop_id"] for s in now_on} - set(planned)
    assert len(added) == 1  # the later try
    for i, s in enumerate(now_on):
        if s["stop_id"] in planned and _t(s["eta"]) > _t(planned[s["stop_id"]]["eta"]):
            # later only with a cause: the re-plan put the later try before it
            assert added & {p["stop_id"] for p in now_on[:i]}, (s, planned[s["stop_id"]])
        # late only when even riding straight there cannot make the window
        assert s["late"] == (_t(s["service_start"]) > _t(s["window_end"]))
        assert not s["late"] or _t(s["eta"]) > _t(s["window_end"])

    # The courier's route and the desk show the failed stop's actual times beside the planned ones.
    headers = await login(client, "courier0")
    day = (await client.get(f"/courier/today?date={tomorrow()}", headers=headers)).json()
    mine = next(s for s in day["route"]["stops"] if s["stopId"] == first["stop_id"])
    assert mine["status"] == "failed" and mine["completedAt"] == failed_at.isoformat()
    assert mine["arrivedAt"] == arrived.isoformat() and mine["eta"] == arrived.isoformat()
    assert mine["plannedEta"] == first["planned_eta"] and mine["plannedServiceStart"] == first["service_start"]
    desk = (await client.get(f"/hubs/{hub}/desk?date={tomorrow()}", headers=h)).json()
    on_desk = next(s for r in desk["routes"] for s in r["stops"] if s["stopId"] == first["stop_id"])
    assert {k: on_desk[k] for k in ("arrivedAt", "completedAt", "eta", "plannedEta")} == {
        k: mine[k] for k in ("arrivedAt", "completedAt", "eta", "plannedEta")
    }
    # the route.updated events the phones heard carry them too
    events = (
        await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.kind == "route.updated").output(load_json=True)
    )
    heard = [s for e in events for s in e["payload"]["stops"] if s["stopId"] == first["stop_id"]]
    assert heard and all(s["completedAt"] == failed_at.isoformat() for s in heard)


async def test_a_delivered_stop_shows_when_it_was_delivered(client, geo) -> None:
    h, hub, (courier,) = await _small_day(client, geo, couriers=1, basket=False)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201
    route = await _route(hub)
    await Shift.update({Shift.status: "started"}).where(Shift.id == route["shift"])
    stop = next(s for s in route["stops"] if s["kind"] == "delivery")
    headers = await login(client, "courier0")
    before = (await client.get(f"/courier/today?date={tomorrow()}", headers=headers)).json()
    barcodes = [p["barcode"] for s in before["route"]["stops"] if s["stopId"] == stop["stop_id"] for p in s["parcels"]]
    at = _t(stop["service_start"]) + dt.timedelta(minutes=25)  # delivered later than planned
    await _act(courier, stop["stop_id"], "deliver", at, barcodes=barcodes, proof=None)
    view = (await client.get(f"/courier/today?date={tomorrow()}", headers=headers)).json()
    mine = next(s for s in view["route"]["stops"] if s["stopId"] == stop["stop_id"])
    assert mine["status"] == "delivered" and mine["arrivedAt"] is None
    assert mine["completedAt"] == mine["eta"] == mine["serviceStart"] == mine["departure"] == at.isoformat()
    assert mine["plannedEta"] == stop["planned_eta"] and mine["plannedServiceStart"] == stop["service_start"]
    # an open stop has no actual times yet
    assert all(s["completedAt"] is None for s in view["route"]["stops"] if s["status"] == "planned")


async def test_an_evening_customers_expected_window_starts_no_earlier_than_their_window(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo, couriers=1, basket=False)
    a = _addresses(geo)
    order = await post_ok(
        client,
        "/orders",
        {
            "reference": "EVE",
            "hubId": hub,
            "customerName": "Late Riser",
            "date": tomorrow().isoformat(),
            "address": a[333],
            "parcels": [{"weightKg": 2, "volumeL": 8}],
            "window": {"start": "18:00", "end": "22:00"},
        },
        h,
    )
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201
    route = with_api_names(await _route(hub))
    token = order["trackingUrl"].rsplit("/", 1)[1]
    view = (await client.get(f"/track/{token}/status")).json()
    assert view["window"] == {"start": "18:00", "end": "22:00"}
    assert view["etaWindow"]["start"] >= "18:00" and view["etaWindow"]["end"] <= "22:00", view
    # the out-for-delivery notice at the shift start promises the same kind of window
    courier = route["courier"]
    start = await prepare_start_shift(courier, tomorrow(), dt.datetime.combine(tomorrow(), dt.time(8, 0)))
    async with transaction():
        await start()
    events = (
        await OutboxEvent.select(OutboxEvent.payload)
        .where(OutboxEvent.kind == "order.out_for_delivery")
        .output(load_json=True)
    )
    promised = [d for e in events for d in e["payload"]["deliveries"] if d["orderId"] == order["id"]]
    assert promised and all(d["windowStart"][11:16] >= "18:00" and d["windowEnd"][11:16] <= "22:00" for d in promised)
    assert any(s["kind"] == "delivery" for s in route["stops"])
