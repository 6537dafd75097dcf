"""The sort station through the API: a pick-then-sort batch picked, sorted to its orders'
totes, then one order packed from its tote; every bad input refused with a sentence and a
code and nothing changed; replays count nothing twice."""

from __future__ import annotations

from backend.db.tables import SortJob, Tote
from tests.api.helpers import problem
from tests.api.warehouse_setup import (
    GTINS,
    UNKNOWN_GTIN,
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


async def _item(client, who, job: int, code: str, scan_id: str | None = None, idem: dict[str, str] | None = None):
    return await scan_item(client, who, f"/sort/{job}/items", code, scan_id, idem)


async def _picked_batch(client, h: House) -> tuple[int, int, int]:
    """Two orders in one pick-then-sort batch, picked; (batch, first order, second order)."""
    batch_id, (first, second) = await picked(
        client, h, [("SODA", 2), ("CHIPS", 1)], [("SODA", 1)], mode="pick_then_sort"
    )
    return batch_id, first, second


async def test_a_pick_then_sort_batch_is_sorted_to_totes_then_packed(client) -> None:
    h = await house(client)
    batch_id, first, second = await _picked_batch(client, h)
    picker = h.pickers[1]  # sorting is not tied to who picked
    listed = (await client.get("/sort/batches", headers=picker)).json()
    assert [(b["batchId"], b["orders"], b["sortId"]) for b in listed] == [(batch_id, 2, None)]
    other = await house(client, pickers=1)
    assert (await client.get("/sort/batches", headers=other.pickers[0])).json() == []

    problem(await client.post("/sort/start", json={"batchId": batch_id}, headers=picker), 422)  # no key
    idem = key()
    job = await answered(await post(client, picker, "/sort/start", {"batchId": batch_id}, idem))
    again = await post(client, picker, "/sort/start", {"batchId": batch_id}, idem)
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == job
    assert (await answered(await post(client, picker, "/sort/start", {"batchId": batch_id})))["id"] == job[
        "id"
    ]  # resume
    jid = job["id"]
    assert [(o["orderId"], o["left"], o["tote"]) for o in job["orders"]] == [(first, 3, None), (second, 1, None)]

    # An item for an order without a tote: told which order, nothing counted.
    body = problem(await _item(client, picker, jid, GTINS["SODA"]), 422)
    assert body["code"] == "no_tote" and body["orderId"] == first
    totes = f"/sort/{jid}/totes"
    await answered(await post(client, picker, totes, {"orderId": first, "code": "T-0101"}))
    for body_in, expect in (
        ({"orderId": second, "code": "T-0101"}, "tote_in_use"),
        ({"orderId": first, "code": "T-0102"}, "order_has_tote"),
        ({"orderId": 999999, "code": "T-0103"}, "not_in_batch"),
        ({"orderId": second, "code": "A01-02-1"}, "not_a_tote"),
    ):
        assert problem(await post(client, picker, totes, body_in), 422)["code"] == expect
    await answered(await post(client, picker, totes, {"orderId": second, "code": "T-0102"}))

    # Scans: the least complete order first; a replay (same key, or same scan id) counts nothing.
    idem = key()
    one = await answered(await _item(client, picker, jid, f"]E0{GTINS['SODA']}\r\n", "s1", idem))
    assert (one["orderId"], one["tote"], one["left"]) == (first, "T-0101", 2)
    replay = await _item(client, picker, jid, f"]E0{GTINS['SODA']}\r\n", "s1", idem)
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json() == one
    same = await answered(await _item(client, picker, jid, GTINS["SODA"], "s1"))
    assert same["replayed"] and same["job"] == one["job"]
    two = await answered(await _item(client, picker, jid, GTINS["SODA"]))
    assert (two["orderId"], two["tote"], two["left"]) == (second, "T-0102", 0)  # 1/2 vs 0/1
    assert await Tote.select(Tote.order_id).where(Tote.code == "T-0102").first() == {"order_id": second}
    assert not await Tote.exists().where(Tote.code == "T-0101")  # not before the order is complete
    problem(await post(client, picker, "/pack/start", {"code": "T-0101"}), 422)

    before = (await client.get(f"/sort/{jid}", headers=picker)).json()
    for code, expect in (
        (bad_check_digit(GTINS["SODA"]), "unreadable"),
        (UNKNOWN_GTIN, "unknown_product"),
        (GTINS["SOAP"], "not_in_batch"),
        ("A01-02-1", "not_a_product"),
    ):
        body = problem(await _item(client, picker, jid, code), 422)
        assert body["code"] == expect and body["detail"], body
    await answered(await _item(client, picker, jid, GTINS["SODA"]))
    assert problem(await _item(client, picker, jid, GTINS["SODA"]), 422)["code"] == "extra"
    assert (await client.get(f"/sort/{jid}", headers=picker)).json()["left"] == before["left"] - 1
    last = await answered(await _item(client, picker, jid, GTINS["CHIPS"]))
    assert last["left"] == 0 and last["job"]["status"] == "done" and last["job"]["left"] == 0
    assert problem(await _item(client, picker, jid, GTINS["CHIPS"]), 409)["code"] == "sorted"
    assert problem(await post(client, picker, totes, {"orderId": first, "code": "T-0101"}), 409)["code"] == "sorted"
    assert (await client.get("/sort/batches", headers=picker)).json() == []

    # The complete order's tote opens its packing, the existing flow.
    pack = await answered(await post(client, picker, "/pack/start", {"code": "T-0101"}))
    assert pack["order"]["id"] == first
    assert {i["sku"]: i["quantity"] for i in pack["items"]} == {"SODA": 2, "CHIPS": 1}


async def test_only_a_picked_pick_then_sort_batch_of_your_hub_is_sorted(client) -> None:
    h = await house(client)
    await stock_in(client, h, "SODA", 10, "A01-02-1")
    await order(h, [("SODA", 2)])
    (batch_id,) = (await release(client, h, mode="pick_then_sort"))["released"][0]["batchIds"]
    picker = h.pickers[0]
    assert problem(await post(client, picker, "/sort/start", {"batchId": batch_id}), 409)["code"] == "batch_not_picked"
    problem(await post(client, picker, "/sort/start", {"batchId": 999999}), 404)
    other = await house(client)
    problem(await post(client, other.pickers[0], "/sort/start", {"batchId": batch_id}), 404)
    problem(await post(client, h.dispatcher, "/sort/start", {"batchId": batch_id}), 403)
    problem(await post(client, picker, "/sort/start", {"batch": batch_id}), 400)

    await order(h, [("SODA", 1)])  # released later, sorted while picking
    (other_batch,) = (await release(client, h, mode="sort_while_picking"))["released"][0]["batchIds"]
    body = problem(await post(client, picker, "/sort/start", {"batchId": other_batch}), 422)
    assert body["code"] == "not_pick_then_sort"
    assert not await SortJob.exists()
    problem(await client.get("/sort/999999", headers=picker), 404)
