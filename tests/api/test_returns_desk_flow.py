"""The returns desk's flow around the steps: grade D repaired and graded again (into stock as
its B variant), grade D back to the supplier (the supplier list), and who works a list — a new
list goes to the least-loaded returns worker who is on, another worker's list is taken over
explicitly, a supervisor hands it on."""

from __future__ import annotations

import uuid

from backend.db.tables import ReturnEvent, StockMovement
from backend.services.warehouse_stock import add_bins
from tests.api.helpers import login, make_user, problem
from tests.api.test_returns_desk import WORN, key, photo, received_jacket
from tests.api.test_returns_portal import _body


async def inspect_d(client, desk: dict, item: int, disposition: str | None) -> dict:
    body = {"answers": {**WORN, "damage": True}, "photoIds": [await photo(client, desk), await photo(client, desk)]}
    body["grade"] = "D"
    if disposition:
        body["disposition"] = disposition
    r = await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**desk, **key()})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def steps_and_check(client, desk: dict, item: int) -> list[str]:
    view = (await client.get(f"/returns-desk/items/{item}/tasks", headers=desk)).json()
    for step in view["steps"]:
        for kind in ("start", "done"):
            r = await client.post(
                f"/returns-desk/items/{item}/steps/{step['n']}", json={"kind": kind}, headers={**desk, **key()}
            )
            assert r.status_code == 200, r.text
    r = await client.post(f"/returns-desk/items/{item}/check", json={"passed": True}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    return [s["kind"] for s in view["steps"]]


async def test_grade_d_repaired_then_graded_b_is_stocked_as_the_b_variant(client) -> None:
    order, desk, item = await received_jacket(client)
    await add_bins(order["hub"], aisles=1, bays=1, levels=1)
    shown = (await client.get(f"/returns-desk/items/{item}/checklist", headers=desk)).json()
    assert next(g for g in shown["grades"] if g["grade"] == "D")["dispositions"] == ["repair", "supplier"]
    done = await inspect_d(client, desk, item, "repair")
    assert (done["grade"], done["disposition"], done["ends"]) == ("D", "repair", "stock_graded")
    kinds = await steps_and_check(client, desk, item)
    assert "repair" in kinds
    url = f"/returns-desk/items/{item}/finish"
    missing = problem(await client.post(url, json={"bin": "A01-01-1"}, headers={**desk, **key()}), 422)
    assert "was repaired: give its grade after the repair" in missing["detail"]
    still_d = problem(await client.post(url, json={"bin": "A01-01-1", "regrade": "D"}, headers={**desk, **key()}), 422)
    assert "not stocked as it is" in still_d["detail"]
    no_bin = problem(await client.post(url, json={"regrade": "B"}, headers={**desk, **key()}), 422)
    assert "Say which bin" in no_bin["detail"]
    assert await StockMovement.count().where(StockMovement.kind == "return") == 0
    r = await client.post(url, json={"bin": "A01-01-1", "regrade": "B"}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    assert (r.json()["end"], r.json()["sku"], r.json()["grade"]) == ("stock_graded", "JAS-42/B", "B")
    moves = await StockMovement.select().where(StockMovement.kind == "return")
    assert [(m["sku"], m["quantity"], m["bin"]) for m in moves] == [("JAS-42/B", 1, "A01-01-1")]


async def test_grade_d_back_to_the_supplier_is_on_the_supplier_list_without_stock(client) -> None:
    order, desk, item = await received_jacket(client)
    done = await inspect_d(client, desk, item, "supplier")
    assert (done["disposition"], done["ends"]) == ("supplier", "supplier")
    assert await steps_and_check(client, desk, item) == ["repackage", "relabel"]
    assert (await client.get("/returns-desk/supplier", headers=desk)).json() == []
    url = f"/returns-desk/items/{item}/finish"
    graded = problem(await client.post(url, json={"regrade": "B"}, headers={**desk, **key()}), 422)
    assert "Only a repaired item is graded again" in graded["detail"]
    r = await client.post(url, json={}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    assert (r.json()["end"], r.json()["sku"]) == ("supplier", None)
    assert await StockMovement.count().where(StockMovement.kind == "return") == 0
    listed = (await client.get("/returns-desk/supplier", headers=desk)).json()
    assert [(s["itemId"], s["sku"], s["grade"], s["findings"]) for s in listed] == [
        (item, "JAS-42", "D", ["tags_on", "worn", "damage"])
    ]
    assert listed[0]["returnCode"].startswith("R-") and listed[0]["finishedAt"]


async def _second_jacket(client, order: dict, line: int, desk: dict) -> int:
    """The order's other jacket returned too and received by ``desk``: its item id."""
    made = (await client.post("/portal/returns/", json=_body(order, line), headers=key())).json()
    url = f"/receiving/returns/{made['id']}/receive"
    r = await client.post(url, json={"items": [{"code": "JAS-42"}]}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    return int(next(i for i in r.json()["items"] if i["sku"] == "JAS-42")["id"])


async def test_lists_go_to_the_least_loaded_worker_on_and_are_taken_over_explicitly(client) -> None:
    tag = uuid.uuid4().hex[:5]
    ana, bo, cas = f"ana-{tag}", f"bo-{tag}", f"cas-{tag}"
    order, desk_a, first = await received_jacket(client, user=ana)
    await make_user(bo, "returns", order["hub"])
    await make_user(cas, "returns", order["hub"])  # never logs in: not on
    desk_b = await login(client, bo)
    lines = {r["sku"]: r["order_line"] for r in await _lines_of(first)}
    second = await _second_jacket(client, order, lines["JAS-42"], desk_a)
    a = await inspect_d(client, desk_a, first, "supplier")
    b = await inspect_d(client, desk_a, second, "supplier")
    assert (a["worker"], b["worker"]) == (ana, bo)  # a tie goes to the first; then the one with fewer steps
    workers = (await client.get("/returns-desk/workers", headers=desk_a)).json()
    assert [(w["username"], w["openSteps"]) for w in workers] == [(ana, 2), (bo, 2)]
    # each sees their own list first, the other's after it
    mine = (await client.get("/returns-desk/tasks", headers=desk_b)).json()
    assert [(q["worker"], q["mine"], [i["itemId"] for i in q["items"]]) for q in mine] == [
        (bo, True, [second]),
        (ana, False, [first]),
    ]
    # Bo cannot work Ana's list without taking it over
    step = f"/returns-desk/items/{first}/steps/1"
    refused = problem(await client.post(step, json={"kind": "start"}, headers={**desk_b, **key()}), 409)
    assert "take it over first" in refused["detail"]
    give = f"/returns-desk/items/{first}/worker"
    no = problem(await client.post(give, json={"worker": ana}, headers={**desk_b, **key()}), 403)
    assert "Only a supervisor" in no["detail"]
    taken = await client.post(give, json={"worker": bo}, headers={**desk_b, **key()})
    assert taken.status_code == 200 and taken.json()["worker"] == bo
    assert (await client.post(step, json={"kind": "start"}, headers={**desk_b, **key()})).status_code == 200
    # a supervisor (the hub's dispatcher) hands it back to Ana; an unknown worker is refused
    await make_user(f"disp-{tag}", "dispatcher", order["hub"])
    sup = await login(client, f"disp-{tag}")
    bad = problem(await client.post(give, json={"worker": "nobody"}, headers={**sup, **key()}), 422)
    assert "not a returns worker of this hub" in bad["detail"]
    back = await client.post(give, json={"worker": ana}, headers={**sup, **key()})
    assert back.status_code == 200 and back.json()["worker"] == ana
    lists = (await client.get("/returns-desk/lists", headers=sup)).json()
    assert sorted((q["worker"], [i["itemId"] for i in q["items"]][0]) for q in lists) == [(ana, first), (bo, second)]
    history = [e["detail"] for e in await ReturnEvent.select().where(ReturnEvent.state == "assigned")]
    assert history == [
        f"item {first}: task list of {ana}; {bo} took it over",
        f"item {first}: task list of {bo}; disp-{tag} gave it to {ana}",
    ]


async def test_nobody_on_leaves_the_list_open_and_the_first_start_takes_it(client) -> None:
    name = f"solo-{uuid.uuid4().hex[:5]}"
    order, desk, item = await received_jacket(client, user=name)
    assert (await client.post("/auth/logout", headers=desk)).status_code == 204  # nobody is on now
    await make_user(f"root-{name}", "admin", order["hub"])
    root = await login(client, f"root-{name}")
    assert (await inspect_d(client, root, item, "supplier"))["worker"] is None
    desk = await login(client, name)
    queue = (await client.get("/returns-desk/tasks", headers=desk)).json()
    assert [(q["worker"], q["mine"]) for q in queue] == [(None, False)]
    r = await client.post(f"/returns-desk/items/{item}/steps/1", json={"kind": "start"}, headers={**desk, **key()})
    assert r.status_code == 200 and r.json()["worker"] == name


async def _lines_of(item: int) -> list[dict]:
    from backend.db.tables import ReturnItem

    return list(await ReturnItem.select(ReturnItem.sku, ReturnItem.order_line).where(ReturnItem.id == item))
