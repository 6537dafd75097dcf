"""The returns desk: inspection with photos, the refund recorded once, the task list step by step
(done twice refused, a replay harmless, "need help" an alert on the desk), the final check and
the item in stock as its graded variant with its history; bad photos and another hub refused."""

from __future__ import annotations

import io
import uuid

from PIL import Image

from backend.db.tables import Alert, Hub, OrderLine, ReturnEvent, ReturnRefund, Route, StockMovement, Stop
from backend.services.warehouse_stock import add_bins
from tests.api.helpers import done_by_the_worker, login, make_user, problem, tomorrow
from tests.api.test_planning import _small_day
from tests.api.test_returns_portal import _body, delivered_order

JACKET_CENTS = 8000


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def received_jacket(client, order=None, lines=None, user: str | None = None) -> tuple[dict, dict, int]:
    """A jacket returned too small, received at the hub: (order, the desk's headers, the item's id)."""
    if order is None:
        order, lines = await delivered_order(client)
    await OrderLine.update({OrderLine.price_cents: JACKET_CENTS}).where(OrderLine.id == lines["jas"])
    made = (await client.post("/portal/returns/", json=_body(order, lines["jas"]), headers=key())).json()
    user = user or f"ret-{uuid.uuid4().hex[:6]}"
    await make_user(user, "returns", order["hub"])
    desk = await login(client, user)
    url = f"/receiving/returns/{made['id']}/receive"
    r = await client.post(url, json={"items": [{"code": "JAS-42"}]}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    item = next(i for i in r.json()["items"] if i["sku"] == "JAS-42")
    return order, desk, item["id"]


async def photo(client, desk: dict, data: bytes | None = None) -> str:
    files = {"file": ("item.png", data or png(), "image/png")}
    r = await client.post("/returns-desk/photos", files=files, headers={**desk, **key()})
    assert r.status_code == 201, r.text
    photo_id: str = r.json()["photoId"]
    return photo_id


WORN = {"tags_on": False, "worn": True, "stains": False, "smell": False, "damage": False}


async def inspect_b(client, desk: dict, item: int) -> dict:
    pid1, pid2 = await photo(client, desk), await photo(client, desk)
    body = {"answers": WORN, "photoIds": [pid1, pid2]}
    r = await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**desk, **key()})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def work_through(client, desk: dict, item: int) -> dict:
    """Every step of the item's list started and done, then the final check."""
    view = (await client.get(f"/returns-desk/items/{item}/tasks", headers=desk)).json()
    for step in view["steps"]:
        for kind in ("start", "done"):
            url = f"/returns-desk/items/{item}/steps/{step['n']}"
            r = await client.post(url, json={"kind": kind}, headers={**desk, **key()})
            assert r.status_code == 200, r.text
    r = await client.post(f"/returns-desk/items/{item}/check", json={"passed": True}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_inspection_grades_b_and_the_refund_is_recorded_once(client) -> None:
    order, desk, item = await received_jacket(client)
    shown = (await client.get(f"/returns-desk/items/{item}/checklist", headers=desk)).json()
    assert shown["category"] == "clothing" and [q["id"] for q in shown["questions"]][:2] == ["tags_on", "worn"]
    assert shown["questions"][1]["text"] == {"en": "Worn?", "nl": "Gedragen?"}
    done = await inspect_b(client, desk, item)
    assert (done["grade"], done["disposition"], done["ends"]) == ("B", "outlet", "stock_graded")
    assert done["findings"] == ["tags_on", "worn"]
    # too small is the customer's doing: grade B takes 10 % of the €80 paid
    assert done["refund"]["totalCents"] == JACKET_CENTS - JACKET_CENTS // 10
    assert [line["code"] for line in done["refund"]["lines"]] == ["price", "grade"]
    url = f"/returns-desk/items/{item}/refund"
    first = await client.post(url, headers={**desk, **key()})
    again = await client.post(url, headers={**desk, **key()})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == done["refund"]
    assert await ReturnRefund.count().where(ReturnRefund.item == item) == 1
    # inspecting again is refused, a replay of the first answers it
    pid = await photo(client, desk)
    body = {"answers": {**WORN, "worn": False}, "photoIds": [pid]}
    problem(await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**desk, **key()}), 409)
    assert await ReturnRefund.count() == 1


async def test_an_incomplete_checklist_or_a_better_grade_without_a_note_is_refused(client) -> None:
    order, desk, item = await received_jacket(client)
    url = f"/returns-desk/items/{item}/inspection"
    pid = await photo(client, desk)
    half = {"answers": {"tags_on": True}, "photoIds": [pid]}
    assert "still open" in problem(await client.post(url, json=half, headers={**desk, **key()}), 422)["detail"]
    better = {"answers": WORN, "photoIds": [pid, await photo(client, desk)], "grade": "A"}
    assert "add a note" in problem(await client.post(url, json=better, headers={**desk, **key()}), 422)["detail"]
    assert await ReturnRefund.count() == 0


async def test_a_photo_too_big_or_not_an_image_is_refused(client) -> None:
    order, desk, item = await received_jacket(client)
    files = {"file": ("x.png", b"not an image at all", "image/png")}
    r = await client.post("/returns-desk/photos", files=files, headers={**desk, **key()})
    assert "not a JPEG, PNG or WebP" in problem(r, 422)["detail"]
    big = b"\xff\xd8\xff" + b"0" * 5_000_001
    r = await client.post(
        "/returns-desk/photos", files={"file": ("big.jpg", big, "image/jpeg")}, headers={**desk, **key()}
    )
    assert "larger than 5 MB" in problem(r, 422)["detail"]
    body = {"answers": WORN, "photoIds": ["0" * 32, "1" * 32]}
    r = await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**desk, **key()})
    assert "upload it first" in problem(r, 422)["detail"]


async def test_another_hubs_desk_is_refused(client) -> None:
    order, desk, item = await received_jacket(client)
    other = (await Hub.insert(Hub(name=f"Other {uuid.uuid4().hex[:6]}", lat=60.2, lon=24.9)))[0]["id"]
    await make_user("ret-other", "returns", other)
    theirs = await login(client, "ret-other")
    problem(await client.get(f"/returns-desk/items/{item}/checklist", headers=theirs), 403)
    pid = await photo(client, theirs)
    body = {"answers": WORN, "photoIds": [pid, pid]}
    problem(await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**theirs, **key()}), 403)
    await inspect_b(client, desk, item)
    url = f"/returns-desk/items/{item}/steps/1"
    problem(await client.post(url, json={"kind": "start"}, headers={**theirs, **key()}), 403)
    problem(await client.post(f"/returns-desk/items/{item}/refund", headers={**theirs, **key()}), 403)
    assert (await client.get("/returns-desk/tasks", headers=theirs)).json() == []


async def test_steps_done_twice_refused_replay_harmless_help_reaches_the_desk(client) -> None:
    order, desk, item = await received_jacket(client)
    await inspect_b(client, desk, item)
    queue = (await client.get("/returns-desk/tasks", headers=desk)).json()
    assert [b["template"] for b in queue] == ["clothing/outlet"]
    assert [s["kind"] for s in queue[0]["items"][0]["steps"]][:3] == ["unpack", "wash", "iron"]
    url = f"/returns-desk/items/{item}/steps/1"
    r = await client.post(url, json={"kind": "start"}, headers={**desk, **key()})
    assert r.json()["current"]["state"] == "active" and r.json()["startedAt"]
    done_key = key()
    r = await client.post(url, json={"kind": "done"}, headers={**desk, **done_key})
    assert r.status_code == 200 and r.json()["current"]["n"] == 2
    replay = await client.post(url, json={"kind": "done"}, headers={**desk, **done_key})
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == r.json()
    again = problem(await client.post(url, json={"kind": "done"}, headers={**desk, **key()}), 409)
    assert "already done" in again["detail"]
    # step 3 before step 2 is refused
    problem(
        await client.post(f"/returns-desk/items/{item}/steps/3", json={"kind": "start"}, headers={**desk, **key()}), 409
    )
    wash = f"/returns-desk/items/{item}/steps/2"
    for kind in ("start", "problem", "help"):
        r = await client.post(wash, json={"kind": kind, "note": "stain stays"}, headers={**desk, **key()})
        assert r.status_code == 200, r.text
    assert r.json()["current"]["state"] == "help"
    alerts = await Alert.select().where(Alert.kind == "returns_help").output(load_json=True)
    assert len(alerts) == 1 and alerts[0]["hub"] == order["hub"] and alerts[0]["data"]["stepKind"] == "wash"
    # finishing before the list is done is refused
    problem(await client.post(f"/returns-desk/items/{item}/finish", json={}, headers={**desk, **key()}), 409)


async def test_worked_through_in_stock_as_grade_b_with_its_history(client) -> None:
    order, desk, item = await received_jacket(client)
    await add_bins(order["hub"], aisles=1, bays=1, levels=1)
    await inspect_b(client, desk, item)
    checked = await work_through(client, desk, item)
    assert checked["status"] == "checked" and checked["current"] is None
    url = f"/returns-desk/items/{item}/finish"
    r = await client.post(url, json={"bin": "A01-01-1"}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    assert (r.json()["end"], r.json()["sku"], r.json()["grade"]) == ("stock_graded", "JAS-42/B", "B")
    assert [h["what"] for h in r.json()["history"]][-2:] == ["final check", "stock"]
    moves = await StockMovement.select().where(StockMovement.sku == "JAS-42/B")
    assert [(m["kind"], m["quantity"], m["bin"]) for m in moves] == [("return", 1, "A01-01-1")]
    problem(await client.post(url, json={"bin": "A01-01-1"}, headers={**desk, **key()}), 409)
    assert await StockMovement.count().where(StockMovement.sku == "JAS-42/B") == 1
    states = [e["state"] for e in await ReturnEvent.select(ReturnEvent.state).order_by(ReturnEvent.id)]
    assert states[:4] == ["registered", "received", "inspected", "refund"]
    assert states[-2:] == ["checked", "finished"] and states.count("step") == 12


async def test_end_to_end_portal_courier_pickup_inspection_b_tasks_stock_and_refund_once(client, geo) -> None:
    """Portal request → courier pickup stop planned and collected → received at the hub → inspected
    as grade B → task list worked through → in stock as grade B with its history → refund once."""
    h, hub, _ = await _small_day(client, geo, basket=False)
    day = tomorrow()
    r = await client.post(f"/hubs/{hub}/plans", json={"date": day.isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    near = await Stop.select(Stop.lat, Stop.lon).where(Stop.hub == hub).first()
    order, lines = await delivered_order(client, hub, place=(near["lat"], near["lon"]))
    await OrderLine.update({OrderLine.price_cents: JACKET_CENTS}).where(OrderLine.id == lines["jas"])
    body = _body(order, lines["jas"], handIn="courier", date=day.isoformat(), slot="afternoon")
    del body["pickupPointId"]
    made = (await client.post("/portal/returns/", json=body, headers=key())).json()
    # The app's own job worker plans the pickup stop in (the durable return_pickup job)
    await done_by_the_worker(f"return_pickup:{made['stopId']}")
    routes = await Route.select(Route.stops).where((Route.hub == hub) & (Route.current == True)).output(load_json=True)  # noqa: E712
    assert made["stopId"] in [s["stop_id"] for r in routes for s in r["stops"]]
    for name in ("courier0", "courier1"):  # whoever has the stop collects it with the return's code
        courier = await login(client, name)
        url = f"/courier/stops/{made['stopId']}/collect?date={day}"
        r = await client.post(url, json={"barcodes": [made["code"]]}, headers={**courier, **key()})
        if r.status_code == 200:
            break
    assert r.status_code == 200, r.text
    await make_user("ret-e2e", "returns", hub)
    desk = await login(client, "ret-e2e")
    scanned = (await client.get(f"/receiving/returns/scan/{made['code']}", headers=desk)).json()
    url = f"/receiving/returns/{scanned['id']}/receive"
    got = await client.post(url, json={"items": [{"code": "JAS-42"}]}, headers={**desk, **key()})
    item = got.json()["items"][0]["id"]
    inspected = await inspect_b(client, desk, item)
    assert inspected["grade"] == "B"
    await work_through(client, desk, item)
    await add_bins(hub, zone="R", aisles=1, bays=1, levels=1)
    done = await client.post(f"/returns-desk/items/{item}/finish", json={"bin": "R01-01-1"}, headers={**desk, **key()})
    assert done.status_code == 200, done.text
    assert done.json()["sku"] == "JAS-42/B"
    stock = (await client.get(f"/receiving/returns/{made['id']}", headers=desk)).json()
    states = [e["state"] for e in stock["history"]]
    assert states[:5] == ["registered", "collected", "received", "inspected", "refund"]
    assert states[-1] == "finished" and "stock" in stock["history"][-1]["detail"]
    for _ in range(2):
        refund = await client.post(f"/returns-desk/items/{item}/refund", headers={**desk, **key()})
        assert refund.json()["totalCents"] == 7200
    assert await ReturnRefund.count() == 1
    moves = await StockMovement.select().where((StockMovement.sku == "JAS-42/B") & (StockMovement.kind == "return"))
    assert [(m["quantity"], m["bin"], m["hub"]) for m in moves] == [(1, "R01-01-1", hub)]


async def test_two_taps_of_done_at_once_do_the_step_once_and_a_failed_check_ends_the_list(client) -> None:
    import asyncio

    order, desk, item = await received_jacket(client)
    await inspect_b(client, desk, item)
    url = f"/returns-desk/items/{item}/steps/1"
    await client.post(url, json={"kind": "start"}, headers={**desk, **key()})
    answers = await asyncio.gather(
        *(client.post(url, json={"kind": "done"}, headers={**desk, **key()}) for _ in range(2))
    )
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    assert await ReturnEvent.count().where(ReturnEvent.state == "step") == 2
    view = (await client.get(f"/returns-desk/items/{item}/tasks", headers=desk)).json()
    for step in view["steps"][1:]:
        for kind in ("start", "done"):
            r = await client.post(
                f"/returns-desk/items/{item}/steps/{step['n']}", json={"kind": kind}, headers={**desk, **key()}
            )
            assert r.status_code == 200, r.text
    check = f"/returns-desk/items/{item}/check"
    problem(await client.post(check, json={"passed": False}, headers={**desk, **key()}), 409)  # say what is wrong
    r = await client.post(check, json={"passed": False, "note": "stain stays"}, headers={**desk, **key()})
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert (
        "failed its final check"
        in problem(
            await client.post(f"/returns-desk/items/{item}/finish", json={}, headers={**desk, **key()}),
            409,
        )["detail"]
    )
    assert await StockMovement.count().where(StockMovement.kind == "return") == 0


async def test_scrap_is_recycled_without_a_task_list_and_without_stock(client) -> None:
    order, desk, item = await received_jacket(client)
    pid = await photo(client, desk)
    body = {"answers": {**WORN, "damage": True}, "photoIds": [pid, await photo(client, desk)], "grade": "scrap"}
    r = await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**desk, **key()})
    assert r.status_code == 201, r.text
    assert (r.json()["disposition"], r.json()["ends"], r.json()["steps"]) == ("recycle", "recycled", 0)
    assert r.json()["refund"]["totalCents"] == 0  # too small, and scrap: nothing back (the floor keeps it at 0)
    assert (await client.get("/returns-desk/tasks", headers=desk)).json() == []
    done = await client.post(f"/returns-desk/items/{item}/finish", json={}, headers={**desk, **key()})
    assert done.status_code == 200, done.text
    assert (done.json()["end"], done.json()["sku"]) == ("recycled", None)
    assert await StockMovement.count().where(StockMovement.kind == "return") == 0
