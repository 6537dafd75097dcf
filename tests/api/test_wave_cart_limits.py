"""A wave whose lines do not all fit the cart: a product larger than a tote is flagged
short with a sentence (dispatch's alert and the release's answer) and the rest of the
wave goes out; an order needing more totes than the cart is picked in trips that each
fit it."""

from __future__ import annotations

from backend.db.tables import Alert, OrderLine
from tests.api.warehouse_setup import (
    GTINS,
    batch,
    bind_totes,
    house,
    order,
    pick_through,
    release,
    stock,
    stock_in,
    take,
)


async def test_a_product_larger_than_a_tote_is_flagged_and_the_rest_of_the_wave_released(client) -> None:
    h = await house(client)
    await stock_in(client, h, "VASE", 3, "A01-04-1")
    await stock_in(client, h, "SODA", 10, "A01-02-1")
    with_vase = await order(h, [("VASE", 1), ("SODA", 1)])
    soda_only = await order(h, [("SODA", 2)])
    # A vase is 3 l; these totes take 2.5 l.
    (wave,) = (await release(client, h, cart={"totes": 4, "toteVolume": 2.5, "toteWeight": 15.0}))["released"]
    vase = await OrderLine.select().where((OrderLine.order == with_vase) & (OrderLine.sku == "VASE")).first()
    assert vase is not None
    assert (vase["status"], vase["short"], vase["batch_id"]) == ("short", 1, None)
    (flagged,) = wave["notPickable"]
    assert flagged["lineId"] == vase["id"] and flagged["orderId"] == with_vase and flagged["reason"] == "no_tote"
    assert "VASE (3 l, 0.9 kg) does not fit in a tote (2.5 l, 15 kg)" in flagged["detail"]
    assert wave["shortLines"] == 1 and wave["batchIds"]
    # The other lines are on pick lists, the vase on none; its stock is untouched.
    listed = []
    for batch_id in wave["batchIds"]:
        listed += [t["sku"] for t in (await batch(client, h.pickers[0], batch_id))["tasks"]]
    assert sorted(listed) == ["SODA", "SODA"]
    soda = await OrderLine.select().where(OrderLine.sku == "SODA")
    assert {r["order"] for r in soda} == {with_vase, soda_only} and all(r["status"] == "released" for r in soda)
    assert (await stock(client, h))[("A01-04-1", "VASE")] == 3
    # Dispatch sees why, on the alert and in the supervisor's figures.
    (alert,) = await Alert.select().where((Alert.hub == h.hub) & (Alert.kind == "pick_short")).output(load_json=True)
    assert "does not fit in a tote" in alert["detail"] and alert["data"]["reason"] == "no_tote"
    r = await client.get(f"/hubs/{h.hub}/waves", params={"date": h.day.isoformat()}, headers=h.dispatcher)
    assert r.status_code == 200 and r.json()[0]["short"] == 1, r.text


async def test_an_order_larger_than_the_cart_is_picked_in_trips_that_each_fit_it(client) -> None:
    h = await house(client)
    await stock_in(client, h, "CHIPS", 20, "A02-03-1")
    await stock_in(client, h, "SODA", 20, "A01-02-1")
    await stock_in(client, h, "SOAP", 20, "A01-05-1")
    # Totes of 4 l: CHIPS (2 l) two a tote, 8 SODA (0.4 l) one tote, 10 SOAP (0.3 l) one tote:
    # four totes on a cart of two.
    big = await order(h, [("CHIPS", 4), ("SODA", 8), ("SOAP", 10)])
    huge_line = await order(h, [("CHIPS", 6), ("SODA", 1)])  # 6 CHIPS alone need three totes
    cart = {"totes": 2, "toteVolume": 4.0, "toteWeight": 15.0}
    (wave,) = (await release(client, h, cart=cart))["released"]
    views = [await batch(client, h.pickers[0], b) for b in wave["batchIds"]]
    mine = [v for v in views if v["orderIds"] == [big]]
    assert len(mine) == 2, views  # two trips of the one order
    assert all(1 <= len(v["cart"]) <= 2 for v in views)
    # Each line whole in one trip: the trips' lines together are the order's, once each.
    lines = {r["id"]: r for r in await OrderLine.select().where(OrderLine.order == big)}
    trip_lines = [{t["lines"][0]["lineId"] for t in v["tasks"]} for v in mine]
    assert not trip_lines[0] & trip_lines[1] and trip_lines[0] | trip_lines[1] == set(lines)
    assert {lines[i]["batch_id"] for i in trip_lines[0]} == {mine[0]["id"]}
    # The line no cart can take is flagged with a sentence; the order's other line goes out.
    (flagged,) = wave["notPickable"]
    assert flagged["orderId"] == huge_line and "6 × CHIPS need 3 totes and a cart has 2" in flagged["detail"]
    # A picker works both trips, each with the cart's totes, and the order is picked whole.
    picker = h.pickers[0]
    for n, v in enumerate(mine):
        await take(client, picker, v["id"])
        await bind_totes(client, picker, v["id"], 1 + 10 * n)
        assert (await pick_through(client, picker, v["id"], GTINS))["status"] == "done"
    picked = await OrderLine.select().where(OrderLine.order == big)
    assert sorted((r["sku"], r["picked"], r["status"]) for r in picked) == [
        ("CHIPS", 4, "picked"),
        ("SOAP", 10, "picked"),
        ("SODA", 8, "picked"),
    ]
