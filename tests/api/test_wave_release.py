"""Waves released on their own at their release time (the slot's cut-off less the hub's lead
time) through the durable job queue, once however often and by however many processes it
is looked at; and a released ship-from-store line planned into the running routes."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from backend.db.tables import Alert, Job, Order, OrderLine, PickBatch, Stop, StopEvent
from tests.api.warehouse_setup import House, house, key, order, release, stock_in


def _clock(client, h: House, hhmm: str) -> dt.datetime:
    """The hub's clock (the service context's) at ``hhmm`` of the house's day."""
    at = dt.datetime.combine(h.day, dt.time.fromisoformat(hhmm))
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: at)
    return at


async def _tick(client) -> list[str]:
    """The releaser's look, run on the app's event loop as its own loop runs it: there its
    writes queue behind the app's job worker's (the test body's loop has a writer lock of its
    own, and on SQLite both would write on the one writer connection at once)."""
    return await asyncio.to_thread(client.blocking_portal.call, client.app.state.wave_releaser.tick)


async def _wave_jobs(hub: int) -> list[dict]:
    rows = await Job.select().where(Job.kind == "wave_release").order_by(Job.id).output(load_json=True)
    return [r for r in rows if r["payload"]["hubId"] == hub]


async def _done_by_the_worker(job_id: int) -> dict:
    """The app's own worker runs the job (woken by the releaser, else at its next poll)."""
    for _ in range(600):
        row = await Job.select().where(Job.id == job_id).first()
        if row["status"] in ("done", "failed"):
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} was not run within a minute")


async def test_a_wave_is_released_on_its_own_at_its_release_time_and_only_once(client) -> None:
    h = await house(client)
    await stock_in(client, h, "SODA", 10, "A01-02-1")
    first = await order(h, [("SODA", 2)])
    # The evening wave's cut-off is 15:00; a hub nobody has set releases two hours before it.
    _clock(client, h, "12:59")
    await _tick(client)
    assert await _wave_jobs(h.hub) == []
    assert {r["status"] for r in await OrderLine.select(OrderLine.status)} == {"open"}

    at = _clock(client, h, "13:00")
    await _tick(client)
    await _tick(client)  # looked at again (by this process or another): still one job
    (job,) = await _wave_jobs(h.hub)
    assert job["payload"] == {"hubId": h.hub, "date": h.day.isoformat(), "cutoff": "15:00"}
    assert (await _done_by_the_worker(job["id"]))["status"] == "done"
    (line,) = await OrderLine.select().where(OrderLine.order == first)
    (made,) = await PickBatch.select().where(PickBatch.hub == h.hub).output(load_json=True)
    assert (line["status"], line["batch_id"]) == ("released", made["id"])
    assert made["cutoff"] == "15:00" and made["created_at"] == at and made["order_ids"] == [first]

    # Released once: the job's work run again (another process after a lease ran out), the
    # releaser looking again and the dispatcher's button all find nothing left of the wave.
    from backend.services.wave_release import release_job

    again = await asyncio.to_thread(client.blocking_portal.call, release_job, h.hub, h.day, "15:00", at)
    assert again["released"] == []
    await _tick(client)
    assert len(await _wave_jobs(h.hub)) == 1
    r = await client.post(
        f"/hubs/{h.hub}/waves/release",
        json={"date": h.day.isoformat(), "cutoff": "15:00"},
        headers={**h.dispatcher, **key()},
    )
    assert r.status_code == 422 and "no wave with cut-off 15:00" in r.json()["detail"]
    assert await PickBatch.count().where(PickBatch.hub == h.hub) == 1


async def test_the_hubs_lead_time_sets_the_release_and_a_late_line_follows_its_wave(client) -> None:
    h = await house(client)
    await stock_in(client, h, "SODA", 10, "A01-02-1")
    settings = {"mode": "sort_while_picking", "leadMinutes": 30}
    r = await client.put(f"/hubs/{h.hub}/picking-settings", json=settings, headers={**h.dispatcher, **key()})
    assert r.status_code == 200 and r.json()["leadMinutes"] == 30, r.text
    await order(h, [("SODA", 1)])
    _clock(client, h, "14:29")  # 15:00 less 30 minutes
    await _tick(client)
    assert await _wave_jobs(h.hub) == []
    _clock(client, h, "14:30")
    await _tick(client)
    (job,) = await _wave_jobs(h.hub)
    assert (await _done_by_the_worker(job["id"]))["status"] == "done"
    # An order for the evening that comes in after its wave went out is released by the
    # next look, in a batch of its own (made through the API, on the app's loop: see _tick).
    r = await client.post(
        "/orders",
        json={
            "reference": "LATE-1",
            "hubId": h.hub,
            "customerName": "Late Customer",
            "date": h.day.isoformat(),
            "lat": 60.172,
            "lon": 24.944,
            "slot": "evening",
            "parcels": [{"weightKg": 1, "volumeL": 1}],
            "lines": [{"sku": "SODA", "quantity": 3}],
        },
        headers={**h.dispatcher, **key()},
    )
    assert r.status_code == 201, r.text
    late = r.json()["id"]
    _clock(client, h, "14:40")
    await _tick(client)
    jobs = await _wave_jobs(h.hub)
    assert len(jobs) == 2 and jobs[0]["key"] != jobs[1]["key"]
    assert (await _done_by_the_worker(jobs[1]["id"]))["status"] == "done"
    (line,) = await OrderLine.select().where(OrderLine.order == late)
    assert line["status"] == "released"
    assert await PickBatch.count().where(PickBatch.hub == h.hub) == 2


async def test_a_ship_from_store_line_released_on_a_planned_day_goes_into_the_running_routes(client, geo) -> None:
    from backend.db.tables import Product as ProductRow
    from backend.db.tables import Shop
    from backend.services.warehouse_stock import add_bins, add_products
    from tests.api.helpers import login, make_user, post_ok, tomorrow
    from tests.api.test_planning import _addresses
    from tests.api.test_replanning import _current_routes, _planned_day
    from tests.api.warehouse_setup import CHIPS, SOAP, SODA, VASE

    admin, hub, _ = await _planned_day(client, geo)
    day = tomorrow()
    shop = await Shop.select().where(Shop.hub == hub).first()
    assert shop is not None, "the planned day's hub has a partner shop"
    if not await ProductRow.exists().where(ProductRow.sku == "VASE"):
        await add_products([SODA, CHIPS, SOAP, VASE], shops={"VASE": shop["id"]})
    await add_bins(hub, aisles=1, bays=2, levels=1)
    await make_user(f"boss{hub}", "dispatcher", hub)
    h = House(hub=hub, day=day, dispatcher=await login(client, f"boss{hub}"), pickers=[], shop=shop["id"])
    await stock_in(client, h, "VASE", 2, shop=shop["id"])  # the hub has none; the shop has two
    # A new order after the day was planned: its door stop goes into the running routes.
    new = await post_ok(
        client,
        "/orders",
        {
            "reference": "VASE-1",
            "hubId": hub,
            "customerName": "Vase Lover",
            "date": day.isoformat(),
            "address": _addresses(geo)[500],
            "window": {"start": "13:00", "end": "18:00"},
            "parcels": [{"weightKg": 1, "volumeL": 2}],
        },
        admin,
    )
    await OrderLine.insert(OrderLine(order=new["id"], sku="VASE", quantity=1))
    at = dt.datetime.now().replace(microsecond=0) - dt.timedelta(minutes=5)  # the app's clock, behind the process's
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: at)
    (wave,) = (await release(client, h, cutoff="11:30"))["released"]  # 90 minutes before its window
    assert wave["shopLines"] == 1 and wave["shopReplan"] is True
    vase = await OrderLine.select(OrderLine.id).where(OrderLine.order == new["id"]).first()
    (job,) = await Job.select().where(Job.key == f"ship_from_store:{vase['id']}")
    assert job["kind"] == "replan"
    assert (await _done_by_the_worker(job["id"]))["status"] == "done"
    stops = {s["kind"]: s for s in await Stop.select().where(Stop.order == new["id"])}
    pickup, door = stops["pickup"], stops["delivery"]
    assert pickup["shop"] == shop["id"]
    created = await StopEvent.select(StopEvent.at).where(
        (StopEvent.stop == pickup["id"]) & (StopEvent.state == "created")
    )
    assert [e["at"] for e in created] == [at]  # the release's time, not the process's clock
    (route,) = [r for r in await _current_routes(hub) if any(s["stopId"] == pickup["id"] for s in r["stops"])]
    order_of = [s["stopId"] for s in route["stops"]]
    assert door["id"] in order_of and order_of.index(pickup["id"]) < order_of.index(door["id"])


async def test_a_refused_release_fails_its_job_and_tells_the_dispatcher_once(client) -> None:
    h = await house(client)
    await stock_in(client, h, "SODA", 10, "A01-02-1")
    await order(h, [("SODA", 1), ("NOPE", 2)])  # NOPE is in no catalogue
    at = _clock(client, h, "13:00")
    await _tick(client)
    (job,) = await _wave_jobs(h.hub)
    done = await _done_by_the_worker(job["id"])
    assert done["status"] == "failed" and "NOPE, which is not in the catalogue" in done["last_error"]
    # The releaser's next looks and the job's work run again (another process) raise nothing new.
    _clock(client, h, "13:01")
    await _tick(client)
    from backend.errors import Invalid
    from backend.services.wave_release import release_job

    with pytest.raises(Invalid):
        await asyncio.to_thread(client.blocking_portal.call, release_job, h.hub, h.day, "15:00", at)
    assert len(await _wave_jobs(h.hub)) == 1
    mine = (Alert.hub == h.hub) & (Alert.kind == "wave_not_released")
    (alert,) = await Alert.select().where(mine).output(load_json=True)
    assert (alert["kind"], alert["key"], alert["plan_date"]) == ("wave_not_released", "wave-15:00", h.day)
    assert alert["detail"].startswith("The 15:00 wave was not released on its own")
    assert alert["detail"].endswith(done["last_error"]) and alert["data"]["reason"] == done["last_error"]
    listed = await client.get(f"/hubs/{h.hub}/alerts", params={"date": h.day.isoformat()}, headers=h.dispatcher)
    assert [a["id"] for a in listed.json() if a["kind"] == "wave_not_released"] == [alert["id"]], listed.text
    assert {r["status"] for r in await OrderLine.select(OrderLine.status)} == {"open"}


async def test_a_wave_of_an_earlier_day_still_open_is_not_released_but_told_on_todays_desk_once(client) -> None:
    """Only the day's own waves are released on their own: a wave whose day has passed with its
    lines still open (the releaser was off at its time) waits for a dispatcher, who gets a
    ``wave_not_released`` alert for it on today's desk, once however often it is looked at."""
    h = await house(client)
    await stock_in(client, h, "SODA", 10, "A01-02-1")
    late = await order(h, [("SODA", 2)])
    ended = await order(h, [("SODA", 1)])  # delivered without its line: nothing left to pick
    await Order.update({Order.status: "delivered"}).where(Order.id == ended)
    next_day = h.day + dt.timedelta(days=1)
    at = dt.datetime.combine(next_day, dt.time(8, 0))
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: at)
    assert await _tick(client) == []
    await _tick(client)  # looked at again: still one alert
    assert await _wave_jobs(h.hub) == []
    assert await PickBatch.count().where(PickBatch.hub == h.hub) == 0
    (line,) = await OrderLine.select().where(OrderLine.order == late)
    assert line["status"] == "open"
    mine = (Alert.hub == h.hub) & (Alert.kind == "wave_not_released")
    (alert,) = await Alert.select().where(mine).output(load_json=True)
    assert (alert["key"], alert["plan_date"], alert["raised_at"]) == (f"wave-{h.day}-15:00", next_day, at)
    assert alert["detail"].startswith(f"The 15:00 wave of {h.day} was not released on its own")
    assert "1 line(s) still open" in alert["detail"]
    assert alert["data"] == {"cutoff": "15:00", "reason": alert["data"]["reason"], "date": h.day.isoformat()}
    listed = await client.get(f"/hubs/{h.hub}/alerts", params={"date": next_day.isoformat()}, headers=h.dispatcher)
    assert [a["id"] for a in listed.json() if a["kind"] == "wave_not_released"] == [alert["id"]], listed.text
    # The dispatcher releases it by hand (a past day's waves all go); the next look finds nothing.
    r = await client.post(
        f"/hubs/{h.hub}/waves/release", json={"date": h.day.isoformat()}, headers={**h.dispatcher, **key()}
    )
    assert r.status_code == 201, r.text
    assert (await OrderLine.select(OrderLine.status).where(OrderLine.order == late).first())["status"] == "released"
    await _tick(client)
    assert await Alert.count().where(mine) == 1 and await _wave_jobs(h.hub) == []
