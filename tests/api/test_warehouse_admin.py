"""The warehouse's own data through the API: bins added from the layout and retired when
empty, the product catalogue (GTINs checked by the core, graded variants, search), stock
received and counted on the floor, order lines on POST /orders picked up by a wave, the
hub's picking settings used by a release, and a short pick moving the batch's other lines
at the emptied bin. Every bad input a sentence with nothing written; every replay once."""

from __future__ import annotations

import uuid

from backend.db.tables import IdempotencyRecord, Order, OrderLine, PickBatch, Product, WarehouseBin
from backend.warehouse.barcodes import with_check_digit
from tests.api.helpers import login, make_user, problem, tomorrow
from tests.api.warehouse_setup import (
    SODA,
    batch,
    bind_totes,
    gtin,
    house,
    key,
    ok,
    pick_through,
    release,
    scan,
    stock,
    stock_in,
    take,
)
from tests.api.warehouse_setup import order as seed_order


async def _other_dispatcher(client) -> dict[str, str]:
    """A dispatcher of another hub."""
    other = await house(client, pickers=0)
    return other.dispatcher


async def test_bins_are_added_from_the_layout_listed_and_retired_only_when_empty(client) -> None:
    h = await house(client)
    hd = h.dispatcher
    body = {"zone": "A", "aisleFrom": 3, "aisleTo": 4, "bayTo": 4, "levels": 2}
    headers = {**hd, **key()}
    r = await client.post(f"/hubs/{h.hub}/bins", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 16 and r.json()["codes"][:2] == ["A03-01-1", "A03-01-2"]
    again = await client.post(f"/hubs/{h.hub}/bins", json=body, headers=headers)  # a retry: applied once
    assert again.status_code == 201 and again.json() == r.json() and again.headers["idempotent-replayed"] == "true"
    assert await WarehouseBin.count().where(WarehouseBin.hub == h.hub) == 10 + 16
    # the same bins with a new key: 409, nothing added
    assert (
        "A03-01-1"
        in problem(await client.post(f"/hubs/{h.hub}/bins", json=body, headers={**hd, **key()}), 409)["detail"]
    )
    bad = [
        ({**body, "zone": "B", "aisleFrom": 1, "aisleTo": 1}, 422, "zone A"),  # aisle 1 is zone A's
        ({**body, "aisleFrom": 5, "aisleTo": 4}, 422, "aisleTo"),
        ({**body, "zone": "a"}, 400, "zone"),
        ({**body, "aisleFrom": 5, "aisleTo": 99, "bayTo": 99, "levels": 9}, 422, "at most"),
    ]
    for wrong, status, words in bad:
        detail = problem(await client.post(f"/hubs/{h.hub}/bins", json=wrong, headers={**hd, **key()}), status)[
            "detail"
        ]
        assert words in detail, detail
    assert await WarehouseBin.count().where(WarehouseBin.hub == h.hub) == 26
    # the floor's walking order still reads the new aisles: x by aisle, y by bay
    r = await client.get(f"/hubs/{h.hub}/bins", params={"aisle": 3}, headers=hd)
    listed = r.json()
    assert len(listed) == 8 and listed[0]["x"] == 6.0 and listed[0]["stock"] == {}
    # a bin with stock cannot be retired; counted empty (a correction with a reason), it can
    await stock_in(client, h, "SODA", 4, "A03-01-1")
    r = await client.delete(f"/hubs/{h.hub}/bins/A03-01-1", headers={**hd, **key()})
    assert "4 × SODA" in problem(r, 409)["detail"] and r.json()["code"] == "bin_not_empty"
    count = {"kind": "correction", "sku": "SODA", "quantity": 0, "bin": "A03-01-1", "reason": "moved to A01"}
    r = await client.post("/pick/stock/movements", json=count, headers={**h.pickers[0], **key()})
    assert r.status_code == 201, r.text
    retire_key = key()
    r = await client.delete(f"/hubs/{h.hub}/bins/a03-01-1", headers={**hd, **retire_key})
    assert r.status_code == 200 and r.json() == {"retired": "A03-01-1"}, r.text
    r = await client.delete(f"/hubs/{h.hub}/bins/a03-01-1", headers={**hd, **retire_key})
    assert r.status_code == 200 and r.headers["idempotent-replayed"] == "true"
    problem(await client.delete(f"/hubs/{h.hub}/bins/A03-01-1", headers={**hd, **key()}), 404)
    assert "A03-01-1" not in {b["code"] for b in (await client.get(f"/hubs/{h.hub}/bins", headers=hd)).json()}
    # another hub's dispatcher: 403; no key: 422; a hub that does not exist: 404
    other = await _other_dispatcher(client)
    problem(await client.post(f"/hubs/{h.hub}/bins", json=body, headers={**other, **key()}), 403)
    problem(await client.get(f"/hubs/{h.hub}/bins", headers=other), 403)
    problem(await client.delete(f"/hubs/{h.hub}/bins/A03-02-1", headers=hd), 422)
    root = await _admin(client)
    problem(await client.get("/hubs/999999/bins", headers=root), 404)


async def _admin(client) -> dict[str, str]:
    name = f"root{uuid.uuid4().hex[:6]}"
    await make_user(name, "admin")
    return await login(client, name)


async def test_a_bin_an_open_batch_picks_from_cannot_be_retired(client) -> None:
    h = await house(client)
    await stock_in(client, h, "SODA", 1, "A01-02-1")
    await seed_order(h, [("SODA", 1)])
    await release(client, h)
    # the picker takes the last unit: the bin is empty by the ledger but the batch still means to go there
    await client.post(
        f"/hubs/{h.hub}/stock/movements",
        json={"kind": "correction", "sku": "SODA", "quantity": 0, "bin": "A01-02-1"},
        headers={**h.dispatcher, **key()},
    )
    r = await client.delete(f"/hubs/{h.hub}/bins/A01-02-1", headers={**h.dispatcher, **key()})
    assert problem(r, 409)["code"] == "bin_in_use"


async def test_products_are_added_changed_graded_and_found(client) -> None:
    h = await house(client)
    hd = h.dispatcher
    code = with_check_digit("871234511111")
    body = {"sku": "TEA-20", "name": "Green tea", "gtins": [code], "weightG": 60, "volumeMl": 300, "category": "food"}
    headers = {**hd, **key()}
    r = await client.post(f"/hubs/{h.hub}/products", json=body, headers=headers)
    assert r.status_code == 201, r.text
    tea = r.json()
    assert (tea["sku"], tea["gtins"], tea["grade"], tea["shopId"]) == ("TEA-20", [code], None, None)
    replay = await client.post(f"/hubs/{h.hub}/products", json=body, headers=headers)
    assert replay.json() == tea and replay.headers["idempotent-replayed"] == "true"
    assert await Product.count().where(Product.sku == "TEA-20") == 1
    bad_digit = code[:-1] + str((int(code[-1]) + 1) % 10)
    cases = [
        ({**body, "sku": "TEA-21", "gtins": ["12", bad_digit]}, 422, "gtins[0]"),
        ({**body, "sku": "TEA-21", "gtins": [bad_digit]}, 422, "check digit"),
        ({**body, "sku": "TEA-21", "gtins": [gtin(SODA)]}, 409, "SODA"),  # another product's barcode
        (body, 409, "TEA-20 already"),
        ({**body, "sku": "TEA/B"}, 400, "sku"),  # "/" is for graded variants
        ({**body, "sku": "TEA-21", "weightG": -1}, 400, "weightG"),
        ({**body, "sku": "TEA-21", "shopId": 999999}, 422, "shopId 999999"),
    ]
    for wrong, status, words in cases:
        detail = problem(await client.post(f"/hubs/{h.hub}/products", json=wrong, headers={**hd, **key()}), status)[
            "detail"
        ]
        assert words in detail, (words, detail)
    assert await Product.count().where(Product.sku == "TEA-21") == 0
    # change it (not the SKU): a shop of the hub sells it now
    change = {"name": "Green tea, loose", "gtins": [code], "weightG": 80, "volumeMl": 350, "shopId": h.shop}
    r = await client.put(f"/hubs/{h.hub}/products/{tea['id']}", json=change, headers={**hd, **key()})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["weightG"], r.json()["shopId"], r.json()["category"]) == (
        "Green tea, loose",
        80,
        h.shop,
        "general",
    )
    # a graded variant: its own SKU and label, the new item's weight unless told
    label = with_check_digit("200123450000")
    r = await client.post(
        f"/hubs/{h.hub}/products/{tea['id']}/grades", json={"grade": "B", "gtins": [label]}, headers={**hd, **key()}
    )
    assert r.status_code == 201, r.text
    graded = r.json()
    assert (graded["sku"], graded["baseSku"], graded["grade"], graded["weightG"]) == ("TEA-20/B", "TEA-20", "B", 80)
    again = await client.post(
        f"/hubs/{h.hub}/products/{tea['id']}/grades", json={"grade": "B"}, headers={**hd, **key()}
    )
    problem(again, 409)
    r = await client.post(f"/hubs/{h.hub}/products/{graded['id']}/grades", json={"grade": "C"}, headers={**hd, **key()})
    assert "already a graded item" in problem(r, 422)["detail"]
    # search: part of a SKU or name, any case, or a whole GTIN
    found = (await client.get(f"/hubs/{h.hub}/products", params={"q": "tea-2"}, headers=hd)).json()
    assert [p["sku"] for p in found] == ["TEA-20", "TEA-20/B"]
    found = (await client.get(f"/hubs/{h.hub}/products", params={"q": "LOOSE (b"}, headers=hd)).json()
    assert [p["sku"] for p in found] == ["TEA-20/B"]
    found = (await client.get(f"/hubs/{h.hub}/products", params={"q": label}, headers=hd)).json()
    assert [p["sku"] for p in found] == ["TEA-20/B"]
    # another hub's dispatcher: not with a shop of this hub (422), not a product this hub's shop sells
    # (404), not through this hub (403)
    other = await house(client, pickers=0)
    od = other.dispatcher
    r = await client.put(f"/hubs/{other.hub}/products/{tea['id']}", json=change, headers={**od, **key()})
    assert f"not to hub {other.hub}" in problem(r, 422)["detail"]
    r = await client.put(
        f"/hubs/{other.hub}/products/{tea['id']}", json={**change, "shopId": None}, headers={**od, **key()}
    )
    problem(r, 404)
    problem(await client.get(f"/hubs/{h.hub}/products", headers=od), 403)
    problem(await client.put(f"/hubs/{h.hub}/products/999999", json=change, headers={**hd, **key()}), 404)


async def test_pickers_receive_and_count_stock_through_the_ledger_never_below_zero(client) -> None:
    h = await house(client)
    picker = h.pickers[0]
    receipt = {"kind": "receipt", "sku": "SODA", "quantity": 6, "bin": "A01-03-1"}
    headers = {**picker, **key()}
    r = await client.post("/pick/stock/movements", json=receipt, headers=headers)
    assert r.status_code == 201 and r.json()["stock"] == {"bin A01-03-1": 6}, r.text
    r = await client.post("/pick/stock/movements", json=receipt, headers=headers)
    assert r.headers["idempotent-replayed"] == "true"
    assert (await stock(client, h))[("A01-03-1", "SODA")] == 6  # once
    count = {"kind": "correction", "sku": "SODA", "quantity": 4, "bin": "A01-03-1"}
    cases = [
        (count, 422, "reason"),  # a correction says why
        ({**count, "quantity": -1, "reason": "x"}, 400, "quantity"),
        ({**receipt, "quantity": 0}, 422, "at least 1"),
        ({**receipt, "bin": "Z09-09-9"}, 422, "no bin"),
        ({**receipt, "sku": "NOPE"}, 422, "no product"),
        ({**receipt, "kind": "pick"}, 400, "kind"),
    ]
    for wrong, status, words in cases:
        detail = problem(await client.post("/pick/stock/movements", json=wrong, headers={**picker, **key()}), status)[
            "detail"
        ]
        assert words in detail, (words, detail)
    r = await client.post("/pick/stock/movements", json={**count, "reason": "2 dented"}, headers={**picker, **key()})
    assert r.status_code == 201 and r.json()["movements"][0]["quantity"] == -2, r.text
    assert (await stock(client, h))[("A01-03-1", "SODA")] == 4
    # a picker of no hub is told why
    await make_user(f"drifter{h.hub}", "picker")
    drifter = await login(client, f"drifter{h.hub}")
    problem(await client.post("/pick/stock/movements", json=receipt, headers={**drifter, **key()}), 403)


async def test_order_lines_on_post_orders_are_checked_and_picked_in_the_next_wave(client, geo) -> None:
    h = await house(client)
    addr = sorted(f"{a.street} {a.housenumber}" for a in geo.geocoder.addresses())[20]
    day = tomorrow()
    body = {
        "reference": f"L-{h.hub}",
        "hubId": h.hub,
        "customerName": "Mia",
        "date": day.isoformat(),
        "address": addr,
        "slot": "evening",
        "parcels": [{"weightKg": 2.5, "volumeL": 10}],
    }
    for lines, status, words in [
        ([{"sku": "SODA", "quantity": 2}, {"sku": "NOPE", "quantity": 1}], 422, "lines[1].sku"),
        ([{"sku": "SODA", "quantity": 0}], 422, "lines[0].quantity"),
        ([{"sku": "SODA"}], 400, "quantity"),
    ]:
        detail = problem(await client.post("/orders", json={**body, "lines": lines}, headers=h.dispatcher), status)[
            "detail"
        ]
        assert words in detail, detail
    assert await Order.count().where(Order.hub == h.hub) == 0 and await OrderLine.count() == 0  # nothing stored
    lines = [{"sku": "SODA", "quantity": 2}, {"sku": "SOAP", "quantity": 1}]
    r = await client.post("/orders", json={**body, "lines": lines}, headers=h.dispatcher)
    assert r.status_code == 201, r.text
    made = r.json()
    assert [(x["sku"], x["quantity"], x["status"]) for x in made["lines"]] == [("SODA", 2, "open"), ("SOAP", 1, "open")]
    await stock_in(client, h, "SODA", 5, "A01-02-1")
    await stock_in(client, h, "SOAP", 5, "A02-01-1")
    h.day = day
    (wave,) = (await release(client, h))["released"]
    assert wave["lines"] == 2 and wave["shortLines"] == 0
    (batch_id,) = wave["batchIds"]
    view = await batch(client, h.pickers[0], batch_id)
    assert view["orderIds"] == [made["id"]] and {t["sku"] for t in view["tasks"]} == {"SODA", "SOAP"}
    r = await client.get(f"/orders/{made['id']}", headers=h.dispatcher)
    assert {x["status"] for x in r.json()["lines"]} == {"released"}


async def test_the_hubs_picking_settings_are_used_by_a_release_that_says_nothing(client) -> None:
    h = await house(client)
    hd = h.dispatcher
    r = await client.get(f"/hubs/{h.hub}/picking-settings", headers=hd)
    assert r.json() == {
        "hubId": h.hub,
        "mode": "sort_while_picking",
        "cart": {"totes": 8, "toteVolume": 40.0, "toteWeight": 15.0},
        "leadMinutes": 120,
    }
    want = {"mode": "pick_then_sort", "cart": {"totes": 2, "toteVolume": 30, "toteWeight": 10}, "leadMinutes": 90}
    r = await client.put(f"/hubs/{h.hub}/picking-settings", json=want, headers={**hd, **key()})
    assert r.status_code == 200 and r.json()["mode"] == "pick_then_sort", r.text
    for wrong in (
        {"mode": "zigzag"},
        {"cart": {"totes": 0}},
        {"cart": {"toteVolume": -1}},
        {"speed": 3},
        {"leadMinutes": -5},
    ):
        problem(await client.put(f"/hubs/{h.hub}/picking-settings", json=wrong, headers={**hd, **key()}), 400)
    problem(await client.put(f"/hubs/{h.hub}/picking-settings", json=want, headers=hd), 422)  # no key
    other = await _other_dispatcher(client)
    problem(await client.put(f"/hubs/{h.hub}/picking-settings", json=want, headers={**other, **key()}), 403)
    kept = (await client.get(f"/hubs/{h.hub}/picking-settings", headers=hd)).json()
    assert (kept["cart"]["totes"], kept["leadMinutes"]) == (2, 90)
    await stock_in(client, h, "SODA", 10, "A01-02-1")
    for _ in range(3):
        await seed_order(h, [("SODA", 1)])
    (wave,) = (await release(client, h))["released"]
    modes = {r["mode"] for r in await PickBatch.select(PickBatch.mode).where(PickBatch.hub == h.hub)}
    assert modes == {"pick_then_sort"}
    # pick then sort: one pick line for the SODA of every order in the batch, then sorting
    view = await batch(client, h.pickers[0], wave["batchIds"][0])
    assert len(wave["batchIds"]) == 2  # three orders of one tote each on carts of two totes
    assert view["cart"] == [] and view["sortLines"]
    # a release that says otherwise wins
    await seed_order(h, [("SODA", 1)])
    (wave,) = (await release(client, h, mode="sort_while_picking"))["released"]
    row = await PickBatch.select(PickBatch.mode).where(PickBatch.id == wave["batchIds"][0]).first()
    assert row is not None and row["mode"] == "sort_while_picking"


async def test_a_short_pick_that_empties_a_bin_moves_the_batchs_other_lines_there(client) -> None:
    h = await house(client)
    await stock_in(client, h, "SODA", 3, "A01-02-1")  # near the pack station: both orders take from it
    await stock_in(client, h, "SODA", 5, "A02-04-1")
    first = await seed_order(h, [("SODA", 2)])
    second = await seed_order(h, [("SODA", 1)])
    (batch_id,) = (await release(client, h))["released"][0]["batchIds"]
    picker = h.pickers[0]
    await take(client, picker, batch_id)
    await bind_totes(client, picker, batch_id, 1)
    view = await batch(client, picker, batch_id)
    assert sorted((t["bin"], t["orderId"]) for t in view["tasks"]) == [("A01-02-1", first), ("A01-02-1", second)]
    await ok(await scan(client, picker, batch_id, "A01-02-1"))
    r = await client.post(
        f"/pick/batches/{batch_id}/short", json={"scanId": "s1", "taskId": view["current"]["id"]}, headers=picker
    )
    body = await ok(r)
    assert "1 more line(s) at bin A01-02-1 moved too" in body["message"], body
    view = await batch(client, picker, batch_id)
    open_ = sorted((t["bin"], t["orderId"], t["quantity"]) for t in view["tasks"] if t["state"] == "open")
    assert open_ == [("A02-04-1", first, 2), ("A02-04-1", second, 1)]  # nobody walks to the empty bin
    view = await pick_through(client, picker, batch_id, {"SODA": gtin(SODA)})
    assert view["status"] == "done"
    lines = sorted((r["order"], r["picked"], r["short"], r["status"]) for r in await OrderLine.select())
    assert lines == [(first, 2, 0, "picked"), (second, 1, 0, "picked")]
    left = await stock(client, h)
    assert ("A01-02-1", "SODA") not in left and left[("A02-04-1", "SODA")] == 2
    assert await IdempotencyRecord.count() > 0
