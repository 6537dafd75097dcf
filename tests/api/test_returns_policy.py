"""A shop's return policy set by the dispatcher of its hub drives the portal: the window, what
cannot go back and the fees follow the stored data; bad values are refused, another hub's shop
is not found."""

from __future__ import annotations

from backend.db.tables import Shop
from tests.api.helpers import login, make_user, problem
from tests.api.test_returns_portal import delivered_order


async def test_the_dispatcher_sets_a_shops_policy_and_the_portal_follows_it(client) -> None:
    order, _ = await delivered_order(client, days_ago=20)
    hub = order["hub"]
    shop = (await Shop.insert(Shop(name="Jassen", address="Street 1", lat=60.17, lon=24.94, hub=hub)))[0]["id"]
    await make_user(f"lead{hub}", "dispatcher", hub)
    lead = await login(client, f"lead{hub}")
    find = {"orderNumber": order["ref"], "postcode": "00100"}

    got = (await client.get(f"/shops/{shop}/return-policy", headers=lead)).json()
    assert got["windowDays"] == 14 and got["freeReasons"] == ["damaged_on_arrival", "defective", "wrong_item"]

    # The default's 14 days are over for an order delivered 20 days ago.
    before = (await client.post("/portal/returns/find", json=find)).json()
    assert {i["code"] for i in before["items"] if not i["returnable"]} >= {"window_closed"}

    policy = {"windowDays": 30, "notReturnableSkus": ["SJAAL"], "changedMindFeeCents": 395, "freeReasons": []}
    r = await client.put(f"/shops/{shop}/return-policy", json=policy, headers=lead)
    assert r.status_code == 200, r.text
    assert r.json()["changedMindFeeCents"] == 395 and r.json()["freeReasons"] == []
    assert (await client.get(f"/shops/{shop}/return-policy", headers=lead)).json() == r.json()

    # The order's goods are sold by the shop now: the portal reads its policy.
    from backend.db.tables import OrderLine, Product

    skus = [x["sku"] for x in await OrderLine.select(OrderLine.sku).where(OrderLine.order == order["id"])]
    await Product.update({Product.shop: shop}).where(Product.sku.is_in(skus))
    after = (await client.post("/portal/returns/find", json=find)).json()
    # no reason is free any more: a defect pays the other-reasons fee (0), changing one's mind 3.95
    assert after["fees"]["changed_mind"] == 395 and after["fees"]["defective"] == 0
    codes = {i["sku"]: (bool(i["returnable"]), i.get("code")) for i in after["items"]}
    assert codes["JAS-42"][0] is True and codes["SJAAL"] == (False, "not_returnable")


async def test_bad_policies_and_other_hubs_are_refused_and_nothing_changes(client) -> None:
    order, _ = await delivered_order(client)
    hub = order["hub"]
    shop = (await Shop.insert(Shop(name="Mode", address="Street 2", lat=60.17, lon=24.94, hub=hub)))[0]["id"]
    await make_user(f"lead{hub}", "dispatcher", hub)
    lead = await login(client, f"lead{hub}")
    for bad in ({"windowDays": 0}, {"freeReasons": ["bored"]}, {"changedMindFeeCents": -1}, {"glitter": True}):
        problem(await client.put(f"/shops/{shop}/return-policy", json=bad, headers=lead), 400)
    assert (await client.get(f"/shops/{shop}/return-policy", headers=lead)).json()["windowDays"] == 14

    other, _ = await delivered_order(client)
    other_hub = other["hub"]
    await make_user(f"lead{other_hub}", "dispatcher", other_hub)
    stranger = await login(client, f"lead{other_hub}")
    problem(await client.get(f"/shops/{shop}/return-policy", headers=stranger), 404)
    problem(await client.put(f"/shops/{shop}/return-policy", json={"windowDays": 60}, headers=stranger), 404)
    assert (await client.get(f"/shops/{shop}/return-policy", headers=lead)).json()["windowDays"] == 14
