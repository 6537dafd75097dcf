"""The dispatcher's look at a stop: its order, parcels, history with who did what
(written in the same transaction as every state change), and the proof of delivery
with a photo the dispatcher can load; another hub's dispatcher sees nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import uuid

from PIL import Image

from backend.db.tables import Courier, Parcel, Route, Shift, Stop, StopEvent, User
from tests.api.helpers import FixedPlaces, login, make_user, post_ok, problem, tomorrow, with_api_names
from tests.api.test_planning import _addresses, _small_day


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def _planned(client, geo) -> dict:
    """A hub's planned day (tomorrow), its dispatcher, another hub's dispatcher, and the routes."""
    h, hub, couriers = await _small_day(client, geo)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 2}, headers=h)
    assert r.status_code == 201, r.text
    desk_uid = await make_user("desk", "dispatcher", hub_id=hub)
    other_hub = (await post_ok(client, "/hubs", {"name": "Other hub", "address": _addresses(geo)[150]}, h))["id"]
    await make_user("elsewhere", "dispatcher", hub_id=other_hub)
    rows = await Route.select().where((Route.hub == hub) & Route.current.eq(True)).output(load_json=True)
    return {
        "admin": h,
        "hub": hub,
        "couriers": couriers,
        "desk": await login(client, "desk"),
        "desk_uid": desk_uid,
        "elsewhere": await login(client, "elsewhere"),
        "routes": [with_api_names(r) for r in rows],
    }


async def _courier_login(client, courier_id: int) -> tuple[dict, dict]:
    courier = await Courier.select(Courier.user).where(Courier.id == courier_id).first()
    user = await User.select().where(User.id == courier["user"]).first()
    return await login(client, user["username"]), user


def _key(headers: dict) -> dict:
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


async def _act(client, headers: dict, stop_id: int, action: str, body: dict) -> dict:
    r = await client.post(f"/courier/stops/{stop_id}/{action}?date={tomorrow()}", json=body, headers=_key(headers))
    assert r.status_code == 200, r.text
    return r.json()


async def test_history_names_who_did_what_and_the_proof_photo_loads_for_the_hubs_dispatcher(client, geo) -> None:
    w = await _planned(client, geo)
    route = next(r for r in w["routes"] if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    delivered, failed = [s for s in route["stops"] if s["kind"] == "delivery"][:2]
    rider, rider_user = await _courier_login(client, route["courier"])
    today = (await client.get(f"/courier/today?date={tomorrow()}", headers=rider)).json()
    barcodes = next(s for s in today["route"]["stops"] if s["stopId"] == delivered["stopId"])["parcels"]

    photo = _photo()
    up = await client.post("/courier/photos", files={"file": ("p.png", photo, "image/png")}, headers=_key(rider))
    assert up.status_code == 201, up.text
    photo_id = up.json()["photoId"]
    shift = await Shift.select(Shift.id).where(Shift.courier == route["courier"]).first()
    client.app.state.context.positions.record(
        courier_id=route["courier"], shift_id=shift["id"], hub_id=w["hub"], lat=60.17, lon=24.94, ts=dt.datetime.now()
    )
    await _act(client, rider, delivered["stopId"], "arrive", {})
    await _act(
        client,
        rider,
        delivered["stopId"],
        "deliver",
        {"barcodes": [p["barcode"] for p in barcodes], "proof": {"kind": "photo", "photoId": photo_id}},
    )
    await _act(client, rider, failed["stopId"], "arrive", {})
    await _act(client, rider, failed["stopId"], "fail", {"reason": "not_home"})

    r = await client.get(f"/stops/{delivered['stopId']}/detail", headers=w["desk"])
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["stop"]["stopId"] == delivered["stopId"] and d["stop"]["status"] == "delivered"
    # the failed stop's re-plan, a follow-up, may already have saved the courier's route as a
    # new version: the stop is on one of this courier's routes, whichever is current
    theirs = {r["id"] for r in await Route.select(Route.id).where(Route.courier == route["courier"])}
    assert d["stop"]["courierId"] == route["courier"] and d["stop"]["routeId"] in theirs
    assert d["stop"]["eta"] and d["stop"]["windowStart"] == delivered["windowStart"]
    assert d["order"]["id"] == delivered["orderId"] and d["order"]["status"] == "delivered"
    assert d["order"]["reference"].startswith("O-") and d["order"]["customerName"]
    assert sorted(p["barcode"] for p in d["parcels"]) == sorted(p["barcode"] for p in barcodes)
    assert all(p["status"] == "delivered" and p["weightKg"] > 0 for p in d["parcels"])
    rider_by = {"id": rider_user["id"], "name": rider_user["display_name"], "role": "courier"}
    assert [(e["state"], e["by"]) for e in d["history"]] == [
        ("created", None),
        ("planned", None),
        ("arrived", rider_by),
        ("delivered", rider_by),
    ]
    assert d["history"][1]["detail"].startswith("Plan of the day") and "route" in d["history"][1]["detail"]
    assert d["history"][3]["detail"] == "proof: photo"
    assert [e["at"] for e in d["history"]] == sorted(e["at"] for e in d["history"])
    proof = d["proof"]
    assert proof["photoUrl"] == f"/photos/{photo_id}" and proof["signature"] is None and proof["name"] is None
    assert (proof["lat"], proof["lon"]) == (60.17, 24.94)
    assert proof["at"] == d["stop"]["completedAt"]

    # the photo: the hub's dispatcher loads it with their session; nobody from another hub does
    got = await client.get(proof["photoUrl"], headers=w["desk"])
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"].startswith("image/png")
    assert (await client.get(proof["photoUrl"], headers=rider)).content == photo  # the courier who took it
    problem(await client.get(proof["photoUrl"], headers=w["elsewhere"]), 403)
    other_rider, _ = await _courier_login(client, next(c for c in w["couriers"] if c != route["courier"]))
    problem(await client.get(proof["photoUrl"], headers=other_rider), 403)
    problem(await client.get("/photos/" + "0" * 32, headers=w["desk"]), 404)
    problem(await client.get("/photos/..%2F..%2Fsecret", headers=w["desk"]), 404)

    f = (await client.get(f"/stops/{failed['stopId']}/detail", headers=w["desk"])).json()
    assert [(e["state"], e["by"]) for e in f["history"]][-2:] == [("arrived", rider_by), ("failed", rider_by)]
    assert f["history"][-1]["detail"] == "not_home"
    assert f["stop"]["failReason"] == "not_home" and f["proof"] is None


async def test_another_hubs_dispatcher_and_couriers_see_nothing(client, geo) -> None:
    w = await _planned(client, geo)
    # every stop of every order (a basket has three) was recorded when it was taken, and planned once
    stops = await Stop.count()
    assert stops == 10
    assert await StopEvent.count().where(StopEvent.state == "created") == stops
    assert await StopEvent.count().where(StopEvent.state == "planned") == stops
    stop = w["routes"][0]["stops"][0]["stopId"]
    body = problem(await client.get(f"/stops/{stop}/detail", headers=w["elsewhere"]), 403)
    assert "hub" in body["detail"] and "order" not in body and "history" not in body
    rider, _ = await _courier_login(client, w["routes"][0]["courier"])
    problem(await client.get(f"/stops/{stop}/detail", headers=rider), 403)
    problem(await client.get("/stops/99999/detail", headers=w["desk"]), 404)
    assert (await client.get(f"/stops/{stop}/detail", headers=w["admin"])).status_code == 200


async def test_a_stop_moved_by_hand_names_the_dispatcher(client, geo) -> None:
    w = await _planned(client, geo)
    giver = max(w["routes"], key=lambda r: len(r["stops"]))
    taker = next(c for c in w["couriers"] if c != giver["courier"])
    stop = next(
        s
        for s in giver["stops"]
        if s["kind"] == "delivery"
        and not any(p["orderId"] == s["orderId"] and p["kind"] == "pickup" for p in giver["stops"])
    )
    # the desk's clock: tomorrow morning, before anyone rides; solves in a thread
    ctx = client.app.state.context
    client.app.state.context = dataclasses.replace(
        ctx, pool=None, clock=lambda: dt.datetime.combine(tomorrow(), dt.time(7, 0))
    )
    r = await client.post(f"/stops/{stop['stopId']}/assign", json={"courierId": taker}, headers=w["desk"])
    assert r.status_code == 200, r.text
    history = (await client.get(f"/stops/{stop['stopId']}/detail", headers=w["desk"])).json()["history"]
    last = history[-1]
    assert last["state"] == "assigned"
    assert last["by"] == {"id": w["desk_uid"], "name": "Desk", "role": "dispatcher"}
    taker_name = (await Courier.select(Courier.name).where(Courier.id == taker).first())["name"]
    assert f"to {taker_name}'s route" in last["detail"]
    # written once for this move, with the re-plan that made it
    assert await StopEvent.count().where((StopEvent.stop == stop["stopId"]) & (StopEvent.state == "assigned")) == 1
    assert [e["state"] for e in history].count("planned") == 1
    detail = (await client.get(f"/stops/{stop['stopId']}/detail", headers=w["desk"])).json()
    assert detail["stop"]["courierId"] == taker


async def test_a_courier_out_of_service_leaves_history_by_the_dispatcher(client, geo) -> None:
    w = await _planned(client, geo)
    a = next(r for r in w["routes"] if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    await Shift.update({Shift.status: "started"}).where(Shift.id == a["shift"])
    deliveries = [s for s in a["stops"] if s["kind"] == "delivery"]
    at_door, loaded = deliveries[0], deliveries[1]
    await Stop.update({Stop.status: "arrived"}).where(Stop.id == at_door["stopId"])
    await Parcel.update({Parcel.status: "loaded"}).where(Parcel.order == loaded["orderId"])
    ctx = client.app.state.context
    client.app.state.context = dataclasses.replace(
        ctx,
        pool=None,
        clock=lambda: dt.datetime.combine(tomorrow(), dt.time(10, 30)),
        positions=FixedPlaces({a["courier"]: (loaded["lat"] + 0.001, loaded["lon"])}),
    )
    r = await client.post(f"/couriers/{a['courier']}/out-of-service", json={"reason": "flat tyre"}, headers=w["desk"])
    assert r.status_code == 200, r.text
    desk = {"id": w["desk_uid"], "name": "Desk", "role": "dispatcher"}

    door = (await client.get(f"/stops/{at_door['stopId']}/detail", headers=w["desk"])).json()
    states = [(e["state"], e["by"]) for e in door["history"]]
    assert ("planned", desk) in states  # the visit under way, abandoned by the dispatcher's hand
    abandoned = next(e for e in door["history"] if e["state"] == "planned" and e["by"] == desk)
    assert abandoned["detail"] == f"Courier {a['courier']} out of service (flat tyre): the visit was abandoned"
    assert states[-1] in (("moved", desk), ("unplanned", desk))  # then handed on by the re-plan
    assert door["stop"]["courierId"] != a["courier"]

    transfer = await Stop.select(Stop.id).where((Stop.order == loaded["orderId"]) & (Stop.kind == "pickup")).first()
    pickup = (await client.get(f"/stops/{transfer['id']}/detail", headers=w["desk"])).json()
    assert pickup["history"][0]["state"] == "created" and pickup["history"][0]["by"] == desk
    assert f"transfer of the goods for stop {loaded['stopId']}" in pickup["history"][0]["detail"]


async def test_the_couriers_actions_read_the_apps_clock_as_the_rest_of_the_day_does(client, geo) -> None:
    """The courier's day, shift and stop actions are timed by the service context's clock (the
    one the desk, re-plans and jobs read), not the process's: moved to tomorrow at 10:15, the
    app's day is tomorrow without a ``date`` and every stamp says 10:15."""
    w = await _planned(client, geo)
    route = next(r for r in w["routes"] if sum(1 for s in r["stops"] if s["kind"] == "delivery") >= 2)
    delivered, failed = [s for s in route["stops"] if s["kind"] == "delivery"][:2]
    rider, _ = await _courier_login(client, route["courier"])
    at = dt.datetime.combine(tomorrow(), dt.time(10, 15))
    client.app.state.context = dataclasses.replace(client.app.state.context, pool=None, clock=lambda: at)

    def act(stop_id: int, action: str, body: dict):  # no ?date=: the app's day
        return client.post(f"/courier/stops/{stop_id}/{action}", json=body, headers=_key(rider))

    day = (await client.get("/courier/today", headers=rider)).json()
    bad = problem(await client.get("/courier/today?date=tomorrow", headers=rider), 400)
    assert "date" in bad["detail"], bad
    assert day["route"] is not None and day["route"]["id"] == route["id"], day
    r = await client.post("/courier/shift/start", json={}, headers=_key(rider))
    assert r.status_code == 200, r.text
    barcodes = next(s for s in day["route"]["stops"] if s["stopId"] == delivered["stopId"])["parcels"]
    for stop_id, action, body in [
        (delivered["stopId"], "arrive", {}),
        (
            delivered["stopId"],
            "deliver",
            {"barcodes": [p["barcode"] for p in barcodes], "proof": {"kind": "pickup_point"}},
        ),
        (failed["stopId"], "arrive", {}),
        (failed["stopId"], "fail", {"reason": "not_home"}),
    ]:
        r = await act(stop_id, action, body)
        assert r.status_code == 200, r.text
    shift = await Shift.select().where(Shift.id == route["shift"]).first()
    assert (shift["status"], shift["started_at"]) == ("started", at)
    for stop in (delivered, failed):
        row = await Stop.select(Stop.arrived_at, Stop.completed_at).where(Stop.id == stop["stopId"]).first()
        assert row == {"arrived_at": at, "completed_at": at}
        mine = await StopEvent.select(StopEvent.state, StopEvent.at).where(
            (StopEvent.stop == stop["stopId"]) & StopEvent.state.is_in(["arrived", "delivered", "failed"])
        )
        assert len(mine) == 2 and {e["at"] for e in mine} == {at}, mine
    r = await client.post("/courier/shift/end", json={}, headers=_key(rider))
    assert r.status_code == 200, r.text
    assert (await Shift.select(Shift.ended_at).where(Shift.id == route["shift"]).first())["ended_at"] == at


async def test_an_order_taken_on_a_moved_clock_records_its_stops_at_that_time(client, geo) -> None:
    """orders.write stamps the stops' "created" history with the caller's clock, not the wall's."""
    w = await _planned(client, geo)
    at = dt.datetime.combine(tomorrow(), dt.time(6, 40))
    client.app.state.context = dataclasses.replace(client.app.state.context, pool=None, clock=lambda: at)
    body = {
        "reference": "CLOCK-1",
        "hubId": w["hub"],
        "customerName": "Clock Customer",
        "date": (tomorrow() + dt.timedelta(days=1)).isoformat(),
        "lat": 60.172,
        "lon": 24.944,
        "slot": "evening",
        "parcels": [{"weightKg": 1, "volumeL": 1}],
    }
    order = await post_ok(client, "/orders", body, w["desk"])
    (stop,) = await Stop.select(Stop.id).where(Stop.order == order["id"])
    (event,) = await StopEvent.select(StopEvent.state, StopEvent.at).where(StopEvent.stop == stop["id"])
    assert event == {"state": "created", "at": at}
