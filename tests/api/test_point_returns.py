"""Returns handed in at a pickup point: the code shows the expected items, the hand-in puts
the return in the point's cart (one pickup stop per point and day, brought into the routes
by the durable ``return_pickup`` job), another point's return and a second hand-in are
refused, a replay changes nothing, and the courier's collection makes them "collected" for
the hub's receiving."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Job, ReturnEvent, ReturnItem, ReturnRequest, Stop
from backend.services.courier import _return_collected
from backend.services.returns_receiving import find
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
