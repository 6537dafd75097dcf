"""Returns handed in at a pickup point: the code shows the expected items, the hand-in puts
the return in the point's cart (one pickup stop per point and day, brought into the routes
by the durable ``return_pickup`` job), another point's return and a second hand-in are
refused, a replay changes nothing, and the courier's collection makes them "collected" for
the hub's receiving."""

from __future__ import annotations

import datetime as dt

from backend.db.engine import transaction
from backend.db.tables import (
    Job,
    PickupPoint,
    PointOperator,
    ReturnEvent,
    ReturnItem,
    ReturnRequest,
    Stop,
    StopEvent,
)
from backend.services.courier import _return_collected
from backend.services.point_returns import prepare_hand_in
from backend.services.returns_receiving import find
from tests.api.helpers import done_by_the_worker, login, make_user, tomorrow
from tests.api.test_planning import _small_day
from tests.api.test_point import _desk, key


async def _return(d: dict, order: str, code: str, point: str = "pa") -> int:
    """A return registered by the customer for hand-in at the point (as the portal writes it)."""
    rid = (
        await ReturnRequest.insert(
            ReturnRequest(
                code=code,
                order=d["orders"][order],
                hub=d["hub"],
                outcome="refund",
                hand_in="pickup_point",
                pickup_point=d[point],
                created_at=dt.datetime.now(),
            )
        )
    )[0]["id"]
    await ReturnItem.insert(ReturnItem(request=rid, sku="JACKET-M", quantity=1, reason="too_small"))
    return rid


async def _hand_in(client, who: dict, code: str, headers: dict | None = None):
    return await client.post("/point/returns/hand-in", json={"code": code}, headers={**who, **(headers or key())})


async def test_hand_in_wrong_point_twice_and_replay(client, geo) -> None:
    d = await _desk(client, geo)
    rid = await _return(d, "A1", "R-AAAA1111")
    shown = await client.get("/point/returns/r-aaaa1111", headers=d["a"])  # typed in lower case
    assert shown.status_code == 200 and [i["sku"] for i in shown.json()["items"]] == ["JACKET-M"]

    other = await client.get("/point/returns/R-AAAA1111", headers=d["b"])
    assert other.status_code == 409 and "Kiosk Beta" in other.json()["detail"]
    assert (await _hand_in(client, d["b"], "R-AAAA1111")).status_code == 409
    unknown = await _hand_in(client, d["a"], "R-NOPE0000")
    assert unknown.status_code == 404 and "R-NOPE0000" in unknown.json()["detail"]

    k = key()
    r = await _hand_in(client, d["a"], "R-AAAA1111", k)
    assert r.status_code == 200 and r.json()["return"]["status"] == "at_point", r.text
    again = await _hand_in(client, d["a"], "R-AAAA1111", k)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == r.json()
    twice = await _hand_in(client, d["a"], "R-AAAA1111")
    assert twice.status_code == 409 and "already handed in" in twice.json()["detail"]

    events = await ReturnEvent.select(ReturnEvent.state).where(ReturnEvent.request == rid)
    assert [e["state"] for e in events] == ["handed_in_at_point"]
    assert await Stop.count().where((Stop.pickup_point == d["pa"]) & (Stop.kind == "pickup")) == 1


async def test_two_returns_one_cart_stop_collected_then_received(client, geo) -> None:
    d = await _desk(client, geo)
    await _return(d, "A1", "R-AAAA1111")
    await _return(d, "A2", "R-AAAA2222")
    for code in ("R-AAAA1111", "R-AAAA2222"):
        assert (await _hand_in(client, d["a"], code)).status_code == 200

    (stop,) = await Stop.select().where((Stop.pickup_point == d["pa"]) & (Stop.kind == "pickup"))
    assert stop["plan_date"] == dt.date.today() and stop["status"] == "open" and stop["weight_kg"] == 2.0
    jobs = await Job.select(Job.key).where(Job.kind == "return_pickup")
    assert [j["key"] for j in jobs] == [f"return_pickup:{stop['id']}"]  # one job: the cart's one stop
    rows = await ReturnRequest.select(ReturnRequest.stop, ReturnRequest.status)
    assert {(r["stop"], r["status"]) for r in rows} == {(stop["id"], "at_point")}

    day = (await client.get("/point/today", headers=d["a"])).json()
    assert [c["code"] for c in day["returnsCart"]] == ["R-AAAA1111", "R-AAAA2222"]
    assert (await client.get("/point/today", headers=d["b"])).json()["returnsCart"] == []

    await _return_collected(stop["id"], None, dt.datetime.now())  # the courier's collect of the stop
    assert {r["status"] for r in await ReturnRequest.select(ReturnRequest.status)} == {"collected"}
    assert (await client.get("/point/today", headers=d["a"])).json()["returnsCart"] == []
    assert (await find("R-AAAA2222", "admin", None))["status"] == "collected"  # the hub receives it as any


async def test_the_cart_is_planned_collected_with_both_codes_and_received_at_the_hub(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo, basket=False)
    day = tomorrow()  # the small day's shifts; the returns are handed in that morning
    at = dt.datetime.combine(day, dt.time(10))
    r = await client.post(f"/hubs/{hub}/plans", json={"date": day.isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    near = await Stop.select(Stop.lat, Stop.lon, Stop.address, Stop.order).where(Stop.hub == hub).first()
    point = (
        await PickupPoint.insert(
            PickupPoint(
                name="Kiosk Cart",
                kind="parcel_shop",
                address=near["address"],
                lat=near["lat"],
                lon=near["lon"],
                hub=hub,
            )
        )
    )[0]["id"]
    uid = await make_user("pointc", "point")
    await PointOperator.insert(PointOperator(user=uid, point=point))
    d = {"orders": {"X": near["order"]}, "hub": hub, "pc": point}
    codes = ["R-CART0001", "R-CART0002"]
    for code in codes:
        await _return(d, "X", code, point="pc")
        async with transaction():
            await (await prepare_hand_in(uid, code, at))()
    (cart,) = await Stop.select(Stop.id).where((Stop.pickup_point == point) & (Stop.kind == "pickup"))
    created = await StopEvent.select(StopEvent.at).where(
        (StopEvent.stop == cart["id"]) & (StopEvent.state == "created")
    )
    assert [e["at"] for e in created] == [at]  # the hand-in's time, not the process's clock

    # The durable job, run by the app's own worker: the running day is re-planned with the cart's one stop.
    await done_by_the_worker(f"return_pickup:{cart['id']}")
    for name in ("courier0", "courier1"):  # whoever has the stop sees both codes and collects them
        courier = await login(client, name)
        mine = await client.get(f"/routes/mine?date={day}", headers=courier)
        shown = (
            [s for s in mine.json().get("stops", []) if s["stopId"] == cart["id"]] if mine.status_code == 200 else []
        )
        if shown:
            break
    assert [p["barcode"] for p in shown[0]["parcels"]] == codes, shown
    assert shown[0]["returnCode"] == ", ".join(codes) and shown[0]["customerName"] is None
    url = f"/courier/stops/{cart['id']}/collect?date={day}"
    half = await client.post(url, json={"barcodes": codes[:1]}, headers={**courier, **key()})
    assert half.status_code == 422 and codes[1] in half.json()["detail"]  # every return in the cart scanned
    done = await client.post(url, json={"barcodes": codes}, headers={**courier, **key()})
    assert done.status_code == 200, done.text
    assert {r["status"] for r in await ReturnRequest.select(ReturnRequest.status)} == {"collected"}

    await make_user("ret-cart", "returns", hub)
    desk = await login(client, "ret-cart")
    scanned = (await client.get(f"/receiving/returns/scan/{codes[0]}", headers=desk)).json()
    assert scanned["status"] == "collected"  # received at the hub as any return (here: the item missing)
    got = await client.post(
        f"/receiving/returns/{scanned['id']}/receive",
        json={"items": [], "note": "empty box"},
        headers={**desk, **key()},
    )
    assert got.status_code == 200 and got.json()["status"] == "received", got.text
