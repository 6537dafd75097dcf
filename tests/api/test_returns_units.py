"""A return line of several units is one item per unit: each unit is received, graded, refunded
and stocked on its own; a parcel holding only some of them lets the desk inspect those; the
refund follows the fee and bonus the request agreed, not the shop's policy at inspection."""

from __future__ import annotations

from backend.db.tables import OrderLine, Product, ReturnRefund, Shop, StockMovement
from backend.services.warehouse_stock import add_bins
from tests.api.helpers import login, make_user, problem
from tests.api.test_returns_desk import JACKET_CENTS, key, photo, work_through
from tests.api.test_returns_portal import _body, delivered_order

GOOD = {"tags_on": True, "worn": False, "stains": False, "smell": False, "damage": False}
WORN = {**GOOD, "tags_on": False, "worn": True, "stains": True}


async def two_jackets(client, ordered=None, *, reason="too_small", outcome="refund", shop: int | None = None):
    """Both jackets of an order in one return line: (order, the desk's headers, the made return)."""
    order, lines = ordered or await delivered_order(client)
    await OrderLine.update({OrderLine.price_cents: JACKET_CENTS, OrderLine.shop: shop}).where(
        OrderLine.id == lines["jas"]
    )
    items = [{"lineId": lines["jas"], "quantity": 2, "reason": reason}]
    r = await client.post(
        "/portal/returns/", json=_body(order, lines["jas"], items=items, outcome=outcome), headers=key()
    )
    assert r.status_code == 201, r.text
    user = f"ret-{order['hub']}"
    await make_user(user, "returns", order["hub"])
    return order, await login(client, user), r.json()


async def receive(client, desk: dict, made: dict, units: int) -> list[dict]:
    url = f"/receiving/returns/{made['id']}/receive"
    r = await client.post(url, json={"items": [{"code": "JAS-42", "quantity": units}]}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if i["sku"] == "JAS-42"]


async def inspect(client, desk: dict, item: int, answers: dict, grade: str) -> dict:
    body = {"answers": answers, "photoIds": [await photo(client, desk), await photo(client, desk)], "grade": grade}
    r = await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**desk, **key()})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_two_units_are_graded_refunded_and_stocked_each_on_their_own(client) -> None:
    order, desk, made = await two_jackets(client)
    # the portal keeps a unit a row; the line counts as returned in full
    assert [(i["sku"], i["quantity"], i["status"]) for i in made["items"]] == [("JAS-42", 1, "expected")] * 2
    assert [(line["sku"], line["quantity"]) for line in made["lines"]] == [("JAS-42", 2)]  # as the customer chose
    found = await client.post("/portal/returns/find", json={"orderNumber": order["ref"], "postcode": "00100"})
    jas = next(i for i in found.json()["items"] if i["sku"] == "JAS-42")
    assert (jas["returnable"], jas["code"]) == (0, "already_returned")
    seen = (await client.get(f"/receiving/returns/scan/{made['code']}", headers=desk)).json()
    assert [i["sku"] for i in seen["items"]] == ["JAS-42", "JAS-42"]  # the receiving screen expects two

    first, second = await receive(client, desk, made, 2)
    assert (first["status"], second["status"], first["received"], second["received"]) == ("received",) * 2 + (1, 1)
    a = await inspect(client, desk, first["id"], GOOD, "A")
    c = await inspect(client, desk, second["id"], WORN, "C")
    assert (a["grade"], a["disposition"], c["grade"], c["disposition"]) == ("A", "restock", "C", "second_hand")
    # too small is the customer's doing: A keeps the whole price, C loses 25 %
    assert (a["refund"]["totalCents"], c["refund"]["totalCents"]) == (JACKET_CENTS, JACKET_CENTS - JACKET_CENTS // 4)
    assert await ReturnRefund.count().where(ReturnRefund.request == made["id"]) == 2

    await add_bins(order["hub"], aisles=1, bays=1, levels=1)
    for item in (first["id"], second["id"]):
        await work_through(client, desk, item)
        r = await client.post(f"/returns-desk/items/{item}/finish", json={"bin": "A01-01-1"}, headers={**desk, **key()})
        assert r.status_code == 200, r.text
    moves = await StockMovement.select().where(StockMovement.kind == "return").order_by(StockMovement.id)
    assert [(m["sku"], m["quantity"]) for m in moves] == [("JAS-42", 1), ("JAS-42/C", 1)]


async def test_one_of_two_units_arrived_and_that_one_is_inspected(client) -> None:
    order, desk, made = await two_jackets(client)
    arrived, lost = await receive(client, desk, made, 1)
    assert (arrived["status"], arrived["received"], lost["status"], lost["received"]) == ("received", 1, "missing", 0)
    history = (await client.get(f"/receiving/returns/{made['id']}", headers=desk)).json()["history"]
    assert [(e["state"], e["detail"]) for e in history if e["state"] == "missing"] == [("missing", "1 × JAS-42")]
    done = await inspect(client, desk, arrived["id"], WORN, "C")
    assert done["refund"]["totalCents"] == JACKET_CENTS - JACKET_CENTS // 4
    body = {"answers": WORN, "photoIds": [await photo(client, desk), await photo(client, desk)]}
    r = await client.post(f"/returns-desk/items/{lost['id']}/inspection", json=body, headers={**desk, **key()})
    assert "has not been received" in problem(r, 409)["detail"]
    assert await ReturnRefund.count().where(ReturnRefund.request == made["id"]) == 1


async def test_the_refund_follows_the_request_when_the_policy_changed_since(client) -> None:
    ordered = await delivered_order(client)
    hub = ordered[0]["hub"]
    shop = (await Shop.insert(Shop(name="Jassen", address="Street 1", lat=60.17, lon=24.94, hub=hub)))[0]["id"]
    await make_user(f"lead{hub}", "dispatcher", hub)
    lead = await login(client, f"lead{hub}")
    policy = {"changedMindFeeCents": 395, "exchangeBonusCents": 501}
    assert (await client.put(f"/shops/{shop}/return-policy", json=policy, headers=lead)).status_code == 200
    order, desk, made = await two_jackets(client, ordered, reason="changed_mind", outcome="exchange", shop=shop)
    assert (made["feeCents"], made["bonusCents"]) == (790, 501)  # the fee for each unit, the bonus once
    # the shop changes its policy before the parcel is inspected
    cheaper = {"changedMindFeeCents": 0, "exchangeBonusCents": 0}
    assert (await client.put(f"/shops/{shop}/return-policy", json=cheaper, headers=lead)).status_code == 200
    # and the jacket is a product of another shop now (the line was shipped from a store): still the request's
    other = (await Shop.insert(Shop(name="Winkel", address="Street 2", lat=60.17, lon=24.94, hub=hub)))[0]["id"]
    dear = {"changedMindFeeCents": 999, "exchangeBonusCents": 0}
    assert (await client.put(f"/shops/{other}/return-policy", json=dear, headers=lead)).status_code == 200
    await Product.update({Product.shop: other}).where(Product.sku == "JAS-42")
    items = await receive(client, desk, made, 2)
    refunds = [(await inspect(client, desk, i["id"], GOOD, "A"))["refund"] for i in items]
    lines = [{line["code"]: line["cents"] for line in r["lines"]} for r in refunds]
    assert lines == [
        {"price": JACKET_CENTS, "fee": -395, "exchange_bonus": 251},
        {"price": JACKET_CENTS, "fee": -395, "exchange_bonus": 250},
    ]
    assert sum(r["totalCents"] for r in refunds) == 2 * JACKET_CENTS - 790 + 501
