"""The customer's tracking link: status, a narrowing ETA window, the courier only when near."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Order, Route, Shift, Stop
from backend.dispatch.progress import eta_window
from tests.api.helpers import problem, tomorrow, with_api_names
from tests.api.test_planning import _small_day


def test_eta_window_narrows_as_the_courier_gets_closer() -> None:
    eta = 14 * 3600 + 7 * 60
    far, near = eta_window(eta, 12), eta_window(eta, 0)
    assert far[0] <= near[0] <= eta <= near[1] <= far[1]
    assert 2 * 3600 <= far[1] - far[0] <= 2 * 3600 + 600 and near[1] - near[0] <= 30 * 60
    assert all(t % 300 == 0 for t in (*far, *near))


async def test_tracking_follows_the_order_through_the_day(client, geo) -> None:
    h, hub, couriers = await _small_day(client, geo)
    order = (await client.get(f"/orders?hubId={hub}&date={tomorrow()}", headers=h)).json()[0]
    token = order["trackingUrl"].rsplit("/", 1)[1]
    assert len(token) >= 20
    page = await client.get(order["trackingUrl"])
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    view = (await client.get(f"/track/{token}/status")).json()
    assert view["status"] == "received" and view["etaWindow"] is None
    assert view["window"] == {"start": "10:00", "end": "12:00"}

    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201
    view = (await client.get(f"/track/{token}/status")).json()
    assert view["status"] == "planned" and view["etaWindow"] and view["courierPosition"] is None

    # The courier starts and rides: the page shows the courier only a few stops away.
    stop = await Stop.select().where((Stop.order == order["id"]) & (Stop.kind == "delivery")).first()
    routes = [with_api_names(r) for r in await Route.select().where(Route.current.eq(True)).output(load_json=True)]
    route = next(r for r in routes if any(s["stopId"] == stop["id"] for s in r["stops"]))
    await Shift.update({Shift.status: "started"}).where(Shift.id == route["shift"])
    client.app.state.positions.record(
        courier_id=route["courier"], shift_id=route["shift"], hub_id=hub, lat=60.17, lon=24.94, ts=dt.datetime.now()
    )
    position = [s["stopId"] for s in route["stops"]].index(stop["id"])
    view = (await client.get(f"/track/{token}/status")).json()
    assert view["status"] == "out_for_delivery" and view["stopsAway"] == position
    assert (view["courierPosition"] is not None) == (position < 3)
    # Deliver everything before it: now the courier shows, with a narrower window.
    before = [s["stopId"] for s in route["stops"]][:position]
    await Stop.update({Stop.status: "delivered"}).where(Stop.id.is_in(before or [-1]))
    near = (await client.get(f"/track/{token}/status")).json()
    assert near["stopsAway"] == 0 and near["courierPosition"]["lat"] == 60.17

    await Stop.update({Stop.status: "delivered"}).where(Stop.id == stop["id"])
    assert (await client.get(f"/track/{token}/status")).json()["status"] == "delivered"


async def test_unknown_tracking_links_get_a_clear_404(client) -> None:
    body = problem(await client.get("/track/not-a-real-token-at-all/status"), 404)
    assert "not valid" in body["detail"]
    problem(await client.get("/track/not-a-real-token-at-all"), 404)
    assert await Order.count() == 0


async def test_tracking_follows_the_newest_live_delivery_of_the_order(client, geo) -> None:
    """After a failed try or a redirect an order has several delivery stops: the page shows the live one."""
    await _small_day(client, geo)
    order = await Order.select().where(Order.reference == "O-0").first()
    first = await Stop.select().where((Stop.order == order["id"]) & (Stop.kind == "delivery")).first()
    await Stop.update({Stop.status: "failed", Stop.fail_reason: "not_home"}).where(Stop.id == first["id"])
    view = (await client.get(f"/track/{order['tracking_token']}/status")).json()
    assert view["status"] == "failed" and view["failReason"] == "not_home" and view["redirectOptions"] == []
    retry = {k: v for k, v in first.items() if k not in ("id", "status", "fail_reason")}
    new_id = (await Stop.insert(Stop(**{**retry, "status": "open"})))[0]["id"]
    withdrawn = (await Stop.insert(Stop(**{**retry, "status": "cancelled"})))[0]["id"]  # newer, but withdrawn
    assert withdrawn > new_id
    view = (await client.get(f"/track/{order['tracking_token']}/status")).json()
    assert view["status"] == "received" and view["failReason"] is None
    assert {o["kind"] for o in view["redirectOptions"]} >= {"window", "address"}
