"""Packing through the API: a picked order packed from its tote, every bad input refused
with a sentence and a code and nothing changed, replays, the shop's options, the label,
and the packed parcel in the courier's loading list and on a running route."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from backend.db.tables import Job, PackJob, Parcel, Stop, Tote
from tests.api.code128_reader import read_code128
from tests.api.helpers import problem
from tests.api.warehouse_setup import (
    CHIPS,
    GTINS,
    SOAP,
    SODA,
    UNKNOWN_GTIN,
    VASE,
    House,
    answered,
    bad_check_digit,
    house,
    key,
    order,
    picked,
    post,
    release,
    scan_item,
    stock_in,
)


async def _picked(client, h: House, *orders: list[tuple[str, int]]) -> dict[int, str]:
    """Orders picked through one batch; order id -> a tote holding its goods."""
    _, ids = await picked(client, h, *orders)
    totes = {t["order_id"]: t["code"] for t in await Tote.select().where(Tote.hub == h.hub)}
    return {oid: totes[oid] for oid in ids}


async def _item(client, who, job: int, code: str, scan_id: str | None = None, idem: dict[str, str] | None = None):
    return await scan_item(client, who, f"/pack/jobs/{job}/items", code, scan_id, idem)


async def _job(client, who, job: int) -> dict[str, Any]:
    return await answered(await client.get(f"/pack/jobs/{job}", headers=who))


async def test_an_order_is_packed_from_its_tote_with_every_bad_input_refused(client) -> None:
    h = await house(client)
    r = await client.put(
        f"/shops/{h.shop}/packing", json={"giftWrap": True, "card": True, "cardMessage": "Enjoy!"}, headers=h.dispatcher
    )
    assert r.status_code == 200 and r.json()["giftWrap"] is True, r.text
    problem(await client.put(f"/shops/{h.shop}/packing", json={"glitter": True}, headers=h.dispatcher), 400)
    body = problem(await client.put(f"/shops/{h.shop}/packing", json={"cardMessage": "Hi"}, headers=h.dispatcher), 422)
    assert body["code"] == "card_off"
    mine, other = (await _picked(client, h, [("SODA", 2), ("VASE", 1)], [("CHIPS", 1)])).items()
    picker = h.pickers[1]  # packing is not tied to who picked

    # Starting: not a tote, a tote we do not know, no Idempotency-Key.
    assert problem(await post(client, picker, "/pack/start", {"code": "A01-02-1"}), 422)["code"] == "not_a_tote"
    assert problem(await post(client, picker, "/pack/start", {"code": "T-9999"}), 422)["code"] == "unknown_tote"
    problem(await client.post("/pack/start", json={"code": mine[1]}, headers=picker), 422)
    job = await answered(await post(client, picker, "/pack/start", {"code": mine[1]}))
    jid = job["id"]
    assert job["order"]["id"] == mine[0] and job["status"] == "open"
    assert {i["sku"]: i["quantity"] for i in job["items"]} == {"SODA": 2, "VASE": 1}
    assert job["suggestedBox"]["code"] == "M" and job["box"] == "M"  # 3.8 l: more than 80 % of S
    assert job["options"] == {"steps": ["card", "gift_wrap"], "cardMessage": "Enjoy!"}
    assert job["missing"] == {"SODA": 2, "VASE": 1}

    # Scans: one unit each; a replay (same key, or the same scan id) counts nothing again.
    idem = key()
    first = await _item(client, picker, jid, GTINS["SODA"], "s1", idem)
    again = await _item(client, picker, jid, GTINS["SODA"], "s1", idem)
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    await answered(await _item(client, picker, jid, GTINS["SODA"], "s1"))
    assert (await _job(client, picker, jid))["missing"] == {"SODA": 1, "VASE": 1}
    await answered(await _item(client, picker, jid, GTINS["SODA"]))
    before = await _job(client, picker, jid)
    for code, expect in (
        (bad_check_digit(GTINS["VASE"]), "unreadable"),
        (UNKNOWN_GTIN, "unknown_product"),
        (GTINS["SOAP"], "not_in_order"),
        (GTINS["CHIPS"], "other_order"),
        (GTINS["SODA"], "extra"),
        ("A01-02-1", "not_a_product"),
    ):
        body = problem(await _item(client, picker, jid, code), 422)
        assert body["code"] == expect and body["detail"], body
        assert await _job(client, picker, jid) == before  # nothing changed
    assert "order " + str(other[0]) in problem(await _item(client, picker, jid, GTINS["CHIPS"]), 422)["detail"]

    # Closing: not before every item is scanned, not in a box too small, not without the shop's steps.
    close = f"/pack/jobs/{jid}/close"
    body = problem(await post(client, picker, close, {"options": ["card", "gift_wrap"]}), 422)
    assert body["code"] == "missing" and body["missing"] == {"VASE": 1}
    await answered(await _item(client, picker, jid, GTINS["VASE"]))
    assert problem(await post(client, picker, close, {"box": "S", "options": ["card", "gift_wrap"]}), 422)["code"] == (
        "box_too_small"
    )
    assert problem(await post(client, picker, close, {"box": "Q"}), 422)["code"] == "unknown_box"
    body = problem(await post(client, picker, close, {"options": ["card"]}), 422)
    assert body["code"] == "options_missing" and body["missing"] == ["gift_wrap"]
    assert await PackJob.select(PackJob.status).where(PackJob.id == jid).first() == {"status": "open"}
    assert not await Parcel.exists().where(Parcel.order == mine[0])

    idem = key()
    done = await answered(await post(client, picker, close, {"box": "L", "options": ["gift_wrap", "card"]}, idem))
    assert done["status"] == "closed" and done["box"] == "L" and done["dispatch"] == "with_the_plan"
    replay = await post(client, picker, close, {"box": "L", "options": ["gift_wrap", "card"]}, idem)
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json() == done
    assert problem(await post(client, picker, close, {}), 409)["code"] == "closed"
    parcel = await Parcel.select().where(Parcel.order == mine[0]).first()
    assert parcel["id"] == done["parcel"]["id"]
    assert parcel["weight_kg"] == (2 * 350 + 900 + 400) / 1000 and parcel["volume_l"] == 39.38  # box L
    stop = await Stop.select(Stop.weight_kg, Stop.volume_l).where(Stop.order == mine[0]).first()
    assert stop == {"weight_kg": parcel["weight_kg"], "volume_l": parcel["volume_l"]}
    assert (await Tote.select(Tote.order_id).where(Tote.code == mine[1]).first())["order_id"] is None
    assert problem(await post(client, picker, "/pack/start", {"code": mine[1]}), 422)["code"] == "tote_empty"

    # The label: a PDF whose Code 128 is the parcel's barcode, with the address and the hub.
    r = await client.get(done["parcel"]["labelUrl"], headers=picker)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    page = PdfReader(io.BytesIO(r.content)).pages[0]
    assert read_code128(page.get_contents().get_data()) == parcel["barcode"]
    text = page.extract_text()
    assert "Customer 1" in text and "Hub " in text and "Vase shop" in text and "evening 18:00-22:00" in text
    # the stop's address, a part per line (not the coordinates the label falls back to)
    lines = [line.strip() for line in text.splitlines()]
    assert "Fixture street 1" in lines and "00100 Helsinki" in lines, lines
    assert "60.18000" not in text


async def test_packing_is_refused_across_hubs_and_before_the_picking_ends(client) -> None:
    h = await house(client, pickers=1)
    g = await house(client, pickers=1)
    (mine,) = (await _picked(client, h, [("SODA", 1)])).items()
    # Another hub's picker: the tote is not theirs, nor the packing, nor the label.
    assert problem(await post(client, g.pickers[0], "/pack/start", {"code": mine[1]}), 422)["code"] == "unknown_tote"
    job = await answered(await post(client, h.pickers[0], "/pack/start", {"code": mine[1]}))
    problem(await client.get(f"/pack/jobs/{job['id']}", headers=g.pickers[0]), 404)
    problem(await _item(client, g.pickers[0], job["id"], GTINS["SODA"]), 404)
    await answered(await _item(client, h.pickers[0], job["id"], GTINS["SODA"]))
    done = await answered(await post(client, h.pickers[0], f"/pack/jobs/{job['id']}/close", {}))
    problem(await client.get(done["parcel"]["labelUrl"], headers=g.pickers[0]), 404)
    problem(await client.get(done["parcel"]["labelUrl"], headers=g.dispatcher), 403)  # not a picker
    problem(await client.put(f"/shops/{h.shop}/packing", json={"giftWrap": True}, headers=g.dispatcher), 404)
    # A tote of an order still being picked.
    await Tote.insert(Tote(code=f"T-9{g.hub:03d}", hub=g.hub, order_id=await order(g, [("SODA", 1)])))
    await stock_in(client, g, "SODA", 1, "A01-02-1")
    await release(client, g)
    body = problem(await post(client, g.pickers[0], "/pack/start", {"code": f"T-9{g.hub:03d}"}), 409)
    assert body["code"] == "not_picked" and "being picked" in body["detail"]
    # An order whose every line was short at release: nothing to pack.
    await Tote.insert(Tote(code=f"T-8{g.hub:03d}", hub=g.hub, order_id=await order(g, [("CHIPS", 1)])))
    await release(client, g)
    body = problem(await post(client, g.pickers[0], "/pack/start", {"code": f"T-8{g.hub:03d}"}), 422)
    assert body["code"] == "nothing_to_pack"


async def test_a_packed_parcel_lands_on_a_running_route_and_the_loading_list_follows(client, geo) -> None:
    from backend.db.tables import OrderLine
    from backend.db.tables import Product as ProductRow
    from backend.services.warehouse_stock import add_products
    from tests.api.helpers import login, make_user, post_ok, tomorrow
    from tests.api.test_planning import _addresses
    from tests.api.test_replanning import _current_routes, _holders, _planned_day

    admin, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    if not await ProductRow.exists().where(ProductRow.sku == "SODA"):
        await add_products([SODA, CHIPS, SOAP, VASE])
    await make_user(f"packer{hub}", "picker", hub)
    packer = await login(client, f"packer{hub}")
    # A routed order whose goods still wait in the warehouse: on the loading list, not ready.
    route = next(r for r in routes if any(s["kind"] == "delivery" for s in r["stops"]))
    waiting = next(s for s in route["stops"] if s["kind"] == "delivery")
    await OrderLine.insert(OrderLine(order=waiting["orderId"], sku="SOAP", quantity=1, status="released"))
    courier = await login(client, f"courier{[r['courier'] for r in routes].index(route['courier'])}")
    r = await client.get("/courier/today", params={"date": day.isoformat()}, headers=courier)
    ready = {i["orderId"]: i["ready"] for i in r.json()["loading"]}
    assert ready[waiting["orderId"]] is False and list(ready.values()).count(False) == 1

    # A new order, picked after the day was planned: packing it plans it into the running routes.
    new = await post_ok(
        client,
        "/orders",
        {
            "reference": "PACKED-1",
            "hubId": hub,
            "customerName": "Late Packer",
            "date": day.isoformat(),
            "address": _addresses(geo)[500],
            "window": {"start": "13:00", "end": "18:00"},
            "parcels": [{"weightKg": 1, "volumeL": 5}],
        },
        admin,
    )
    await OrderLine.insert(OrderLine(order=new["id"], sku="SODA", quantity=2, status="picked", source="hub", picked=2))
    await Tote.insert(Tote(code="T-0500", hub=hub, order_id=new["id"]))
    job = await answered(await post(client, packer, "/pack/start", {"code": "T-0500"}))
    for _ in range(2):
        await answered(await _item(client, packer, job["id"], GTINS["SODA"]))
    done = await answered(await post(client, packer, f"/pack/jobs/{job['id']}/close", {}))
    assert done["dispatch"] == "replan" and done["box"] == "S"
    assert done["parcel"]["barcode"] == new["parcels"][0]["barcode"]  # the order's parcel, now weighed
    assert done["parcel"]["weightKg"] == (2 * 350 + 150) / 1000
    (row,) = await Job.select().where(Job.key == f"packed:{new['id']}").output(load_json=True)
    assert row["kind"] == "replan" and row["payload"]["hubId"] == hub and row["status"] in ("pending", "running")

    # The durable job re-plans the running day: the packed order's stop lands on one route.
    await _done_by_the_worker(row["id"])
    stop = await Stop.select(Stop.id, Stop.status, Stop.weight_kg).where(Stop.order == new["id"]).first()
    assert stop["status"] == "planned" and stop["weight_kg"] == done["parcel"]["weightKg"]
    holder = _holders(await _current_routes(hub))[stop["id"]]
    assert len(holder) == 1
    courier = await login(client, f"courier{[r['courier'] for r in routes].index(holder[0])}")
    r = await client.get("/courier/today", params={"date": day.isoformat()}, headers=courier)
    item = next(i for i in r.json()["loading"] if i["orderId"] == new["id"])
    assert item["ready"] is True and item["barcode"] == done["parcel"]["barcode"]


async def _done_by_the_worker(job_id: int) -> None:
    """The app's own worker runs the job: woken as the answer is sent, else at its next poll."""
    import asyncio

    for _ in range(1200):
        if (await Job.select(Job.status).where(Job.id == job_id).first())["status"] == "done":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} was not done within two minutes")


async def test_two_packers_scanning_the_last_unit_at_once_count_it_once(client) -> None:
    import asyncio

    h = await house(client)
    ((oid, tote),) = (await _picked(client, h, [("SODA", 2)])).items()
    job = await answered(await post(client, h.pickers[0], "/pack/start", {"code": tote}))
    await answered(await _item(client, h.pickers[0], job["id"], GTINS["SODA"]))
    a, b = await asyncio.gather(
        _item(client, h.pickers[0], job["id"], GTINS["SODA"]), _item(client, h.pickers[1], job["id"], GTINS["SODA"])
    )
    assert sorted([a.status_code, b.status_code]) == [200, 422]
    assert problem(a if a.status_code == 422 else b, 422)["code"] == "extra"
    row = await PackJob.select(PackJob.scans).where(PackJob.order_id == oid).output(load_json=True).first()
    assert len(row["scans"]) == 2
    # Two closes at once: one parcel, the other told it is closed.
    c, d = await asyncio.gather(
        post(client, h.pickers[0], f"/pack/jobs/{job['id']}/close", {}),
        post(client, h.pickers[1], f"/pack/jobs/{job['id']}/close", {}),
    )
    assert sorted([c.status_code, d.status_code]) == [200, 409]
    assert await Parcel.count().where(Parcel.order == oid) == 1
