"""Back to the supplier: the items whose end is "supplier" are listed with the shop that sold
them until they are sent; one parcel per supplier, under its reference, once per item."""

from __future__ import annotations

import uuid

from backend.db.returns_supplier_tables import ReturnShipment
from backend.db.tables import Hub, Product, ReturnEvent, ReturnInspection, Shop
from tests.api.helpers import login, make_user, problem
from tests.api.test_returns_desk import key, received_jacket
from tests.api.test_returns_desk_flow import _lines_of, _second_jacket, inspect_d, steps_and_check

SHIP = "/returns-desk/supplier/shipments"


async def _finish(client, desk: dict, item: int) -> None:
    r = await client.post(f"/returns-desk/items/{item}/finish", json={}, headers={**desk, **key()})
    assert r.status_code == 200 and r.json()["end"] == "supplier", r.text


async def _two_defective_jackets(client) -> tuple[dict, dict, int, int]:
    """Two jackets of the shop "Modehuis Noord" graded D and sent back to it: order, desk, items."""
    order, desk, first = await received_jacket(client)
    lines = {r["sku"]: r["order_line"] for r in await _lines_of(first)}
    second = await _second_jacket(client, order, lines["JAS-42"], desk)
    shop = (await Shop.insert(Shop(name="Modehuis Noord", lat=60.17, lon=24.94, hub=order["hub"])))[0]["id"]
    await Product.update({Product.shop: shop}).where(Product.sku == "JAS-42")
    for item in (first, second):
        await inspect_d(client, desk, item, "supplier")
        await steps_and_check(client, desk, item)
    return order, desk, first, second


async def test_finished_items_go_to_their_supplier_once_under_the_parcels_reference(client) -> None:
    order, desk, first, second = await _two_defective_jackets(client)
    await _finish(client, desk, first)
    early = problem(
        await client.post(SHIP, json={"items": [first, second], "reference": "3S1"}, headers={**desk, **key()}), 409
    )
    assert f"Item {second} is not finished yet" in early["detail"]
    await _finish(client, desk, second)
    listed = (await client.get("/returns-desk/supplier", headers=desk)).json()
    assert sorted((s["itemId"], s["shop"], s["shipment"]) for s in listed) == [
        (first, "Modehuis Noord", None),
        (second, "Modehuis Noord", None),
    ]
    blank = problem(await client.post(SHIP, json={"items": [first], "reference": "  "}, headers={**desk, **key()}), 422)
    assert "Give the parcel's reference" in blank["detail"]
    assert await ReturnShipment.count() == 0  # nothing half-written by the refusals

    once = key()
    body = {"items": [second, first, first], "reference": "3SABC123"}  # a code scanned twice is one item
    sent = await client.post(SHIP, json=body, headers={**desk, **once})
    assert sent.status_code == 201, sent.text
    assert (sent.json()["items"], sent.json()["supplier"], sent.json()["reference"]) == (
        [first, second],
        "Modehuis Noord",
        "3SABC123",
    )
    replay = await client.post(SHIP, json=body, headers={**desk, **once})
    assert (replay.status_code, replay.json()) == (201, sent.json())
    assert await ReturnShipment.count() == 2
    again = problem(await client.post(SHIP, json={"items": [first], "reference": "X"}, headers={**desk, **key()}), 409)
    assert f"Item {first} went to its supplier on" in again["detail"] and "3SABC123" in again["detail"]

    assert (await client.get("/returns-desk/supplier", headers=desk)).json() == []
    gone = (await client.get("/returns-desk/supplier?shipped=true", headers=desk)).json()
    assert sorted((s["itemId"], s["shipment"]["reference"], s["shipment"]["supplier"]) for s in gone) == [
        (first, "3SABC123", "Modehuis Noord"),
        (second, "3SABC123", "Modehuis Noord"),
    ]
    history = (
        await ReturnEvent.select(ReturnEvent.detail).where(ReturnEvent.state == "to_supplier").order_by(ReturnEvent.id)
    )
    assert [h["detail"] for h in history] == [
        f"item {first} sent to Modehuis Noord, reference 3SABC123",
        f"item {second} sent to Modehuis Noord, reference 3SABC123",
    ]


async def test_one_parcel_is_one_supplier_and_only_the_hubs_own_finished_supplier_items(client) -> None:
    order, desk, first, second = await _two_defective_jackets(client)
    await _finish(client, desk, first)
    await _finish(client, desk, second)
    # the second item is of a product no shop sells (as if another supplier's)
    await ReturnInspection.update({ReturnInspection.sku: "SJAAL"}).where(ReturnInspection.item == second)
    mixed = problem(
        await client.post(SHIP, json={"items": [first, second], "reference": "3S2"}, headers={**desk, **key()}), 422
    )
    assert "One parcel goes to one supplier" in mixed["detail"] and "Modehuis Noord" in mixed["detail"]
    await ReturnInspection.update({ReturnInspection.disposition: "repair"}).where(ReturnInspection.item == second)
    repaired = problem(
        await client.post(SHIP, json={"items": [second], "reference": "3S2"}, headers={**desk, **key()}), 409
    )
    assert f"Item {second} does not go back to its supplier (its way: repair)" in repaired["detail"]
    unknown = problem(
        await client.post(SHIP, json={"items": [999999], "reference": "3S2"}, headers={**desk, **key()}), 422
    )
    assert "Item 999999 has not been inspected" in unknown["detail"]
    elsewhere = (await Hub.insert(Hub(name=f"Hub {uuid.uuid4().hex[:6]}", lat=60.2, lon=24.9)))[0]["id"]
    name = f"ret-{uuid.uuid4().hex[:6]}"
    await make_user(name, "returns", elsewhere)
    other = await login(client, name)
    problem(await client.post(SHIP, json={"items": [first], "reference": "3S2"}, headers={**other, **key()}), 403)
    assert (await client.get("/returns-desk/supplier", headers=other)).json() == []
    assert await ReturnShipment.count() == 0
    ok = await client.post(SHIP, json={"items": [first], "reference": "3S2"}, headers={**desk, **key()})
    assert ok.status_code == 201 and ok.json()["items"] == [first], ok.text
