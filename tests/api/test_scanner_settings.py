"""A hub's keyboard-wedge scanner setting: its dispatcher sets the prefix and suffix
(``/hubs/{id}/scanner``), the apps that scan read their hub's (``/scanner``), and the
warehouse reads a code sent with them. Bad input is a 422 naming the field, nothing kept."""

from __future__ import annotations

from backend.db.tables import PickupPoint, PointOperator, Tote
from tests.api.helpers import login, make_user, problem
from tests.api.warehouse_setup import (
    SODA,
    answered,
    batch,
    bind_totes,
    gtin,
    house,
    ok,
    picked,
    post,
    release,
    scan,
    scan_item,
    stock_in,
    take,
)
from tests.api.warehouse_setup import order as seed_order


async def test_the_dispatcher_sets_the_hubs_scanner_and_its_workers_read_it(client) -> None:
    h = await house(client, pickers=1)
    hd, url = h.dispatcher, f"/hubs/{h.hub}/scanner"
    r = await client.get(url, headers=hd)
    assert r.status_code == 200 and r.json() == {"hubId": h.hub, "prefix": "", "suffix": ""}, r.text
    r = await client.put(url, json={"prefix": "]X9", "suffix": "#"}, headers=hd)
    assert r.status_code == 200 and r.json() == {"hubId": h.hub, "prefix": "]X9", "suffix": "#"}, r.text
    assert (await client.get(url, headers=hd)).json()["prefix"] == "]X9"
    # the same body again: the same state (a PUT replaces the setting whole; no key needed)
    assert (await client.put(url, json={"prefix": "]X9", "suffix": "#"}, headers=hd)).status_code == 200
    # the picker's app reads its hub's
    mine = await client.get("/scanner", headers=h.pickers[0])
    assert mine.status_code == 200 and mine.json() == {"hubId": h.hub, "prefix": "]X9", "suffix": "#"}
    # a pickup point's desk reads the hub of its point
    point = (
        await PickupPoint.insert(
            PickupPoint(
                name="Kiosk",
                kind="parcel_shop",
                lat=60.17,
                lon=24.94,
                capacity_parcels=10,
                max_weight_kg=20,
                max_volume_l=100,
                hub=h.hub,
            )
        )
    )[0]["id"]
    user = await make_user(f"point{h.hub}", "point")
    await PointOperator.insert(PointOperator(user=user, point=point))
    at_point = await client.get("/scanner", headers=await login(client, f"point{h.hub}"))
    assert at_point.json() == {"hubId": h.hub, "prefix": "]X9", "suffix": "#"}
    # the returns desk of the hub too; a courier has no scanner to set up
    await make_user(f"returns{h.hub}", "returns", h.hub)
    desk = await client.get("/scanner", headers=await login(client, f"returns{h.hub}"))
    assert desk.json() == {"hubId": h.hub, "prefix": "]X9", "suffix": "#"}
    await make_user(f"rider{h.hub}", "courier", h.hub)
    problem(await client.get("/scanner", headers=await login(client, f"rider{h.hub}")), 403)
    # a PUT leaving one out sets it to none
    r = await client.put(url, json={"prefix": "$"}, headers=hd)
    assert r.json() == {"hubId": h.hub, "prefix": "$", "suffix": ""}


async def test_a_bad_prefix_or_suffix_is_a_422_naming_the_field_and_nothing_changes(client) -> None:
    h = await house(client, pickers=0)
    hd, url = h.dispatcher, f"/hubs/{h.hub}/scanner"
    await client.put(url, json={"prefix": "$", "suffix": "#"}, headers=hd)
    for body, field, words in (
        ({"prefix": "$$$$$$$$$", "suffix": "#"}, "prefix", "longer than 8"),
        ({"prefix": "\u0002", "suffix": "#"}, "prefix", "control character"),
        ({"prefix": "$", "suffix": " #"}, "suffix", "space"),
        ({"prefix": "$", "suffix": "42"}, "suffix", "only digits"),
    ):
        p = problem(await client.put(url, json=body, headers=hd), 422)
        assert p["field"] == field and words in p["detail"] and f"scanner's {field}" in p["detail"], p
    problem(await client.put(url, json={"prefix": 5}, headers=hd), 400)  # a wrong type
    problem(await client.put(url, json={"prefx": "$"}, headers=hd), 400)  # an unknown field
    assert (await client.get(url, headers=hd)).json() == {"hubId": h.hub, "prefix": "$", "suffix": "#"}


async def test_only_the_hubs_dispatchers_reach_its_scanner_setting(client) -> None:
    h = await house(client, pickers=1)
    other = await house(client, pickers=0)
    url = f"/hubs/{h.hub}/scanner"
    problem(await client.get(url, headers=other.dispatcher), 403)
    problem(await client.put(url, json={"prefix": "$"}, headers=other.dispatcher), 403)
    problem(await client.put(url, json={"prefix": "$"}, headers=h.pickers[0]), 403)  # a picker reads, never sets
    assert (await client.get(url, headers=h.dispatcher)).json()["prefix"] == ""  # nothing was set
    await make_user("scanroot", "admin")
    root = await login(client, "scanroot")
    problem(await client.get("/hubs/999999/scanner", headers=root), 404)
    problem(await client.put("/hubs/999999/scanner", json={"prefix": "$"}, headers=root), 404)
    # an account of no hub reads none (the apps then take nothing off)
    assert (await client.get("/scanner", headers=root)).json() == {"hubId": None, "prefix": "", "suffix": ""}


async def test_a_code_sent_with_the_hubs_prefix_and_suffix_is_read_by_the_picking(client) -> None:
    h = await house(client, pickers=1)
    await client.put(f"/hubs/{h.hub}/scanner", json={"prefix": "$", "suffix": "*"}, headers=h.dispatcher)
    await stock_in(client, h, "SODA", 5, "A01-02-1")
    await seed_order(h, [("SODA", 1)])
    (batch_id,) = (await release(client, h))["released"][0]["batchIds"]
    picker = h.pickers[0]
    await take(client, picker, batch_id)
    await bind_totes(client, picker, batch_id, 500)
    body = await ok(await scan(client, picker, batch_id, "$A01-02-1*"))
    assert body["batch"]["phase"] == "product"
    body = await ok(await scan(client, picker, batch_id, "$" + gtin(SODA) + "*\r"))
    assert body["batch"]["phase"] == "tote"
    assert (await batch(client, picker, batch_id))["inHand"] == 1


async def test_a_packer_scans_a_tote_and_an_item_with_the_hubs_prefix_and_suffix(client) -> None:
    h = await house(client, pickers=1)
    _, (order_id,) = await picked(client, h, [("SODA", 1)])
    tote = (await Tote.select(Tote.code).where(Tote.order_id == order_id).first())["code"]
    picker = h.pickers[0]
    # before the setting the prefix is part of the code: not a tote
    assert problem(await post(client, picker, "/pack/start", {"code": f"${tote}*"}), 422)["code"] == "not_a_tote"
    await client.put(f"/hubs/{h.hub}/scanner", json={"prefix": "$", "suffix": "*"}, headers=h.dispatcher)
    job = await answered(await post(client, picker, "/pack/start", {"code": f"${tote}*"}))
    assert job["order"]["id"] == order_id
    await answered(await scan_item(client, picker, f"/pack/jobs/{job['id']}/items", f"${gtin(SODA)}*"))
    assert (await answered(await client.get(f"/pack/jobs/{job['id']}", headers=picker)))["missing"] == {}
