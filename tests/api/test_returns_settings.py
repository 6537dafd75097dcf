"""A hub's returns settings drive the desk: the disposition table changed through the API sends
a grade B item back into stock as new instead of reconditioning it; the refund table changed
changes the deduction; the labour rate costs the task timers' minutes in the figures. Every bad
entry is a 422 naming it, and nothing is stored; another hub and the returns desk cannot set them."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import uuid

from backend.db.tables import Hub, StockMovement
from backend.returns.figures import iso_week
from backend.services.warehouse_stock import add_bins
from tests.api.helpers import login, make_user, problem
from tests.api.test_returns_desk import JACKET_CENTS, inspect_b, key, received_jacket, work_through
from tests.api.test_returns_portal import _now


async def _lead(client, hub: int) -> dict:
    name = f"lead-{uuid.uuid4().hex[:6]}"
    await make_user(name, "dispatcher", hub)
    return await login(client, name)


async def _settings(client, hub: int, headers: dict) -> dict:
    r = await client.get(f"/hubs/{hub}/returns/settings", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_grade_b_goes_back_into_stock_as_new_once_the_table_says_so(client) -> None:
    order, desk, item = await received_jacket(client)
    hub = order["hub"]
    lead = await _lead(client, hub)
    shown = await _settings(client, hub, desk)  # the returns desk may read them
    assert shown["isDefault"] is True
    rows = shown["settings"]["dispositions"]
    assert next(r for r in rows if r["grade"] == "B" and not r["category"])["dispositions"] == ["outlet"]

    changed = copy.deepcopy(shown["settings"])
    for r in changed["dispositions"]:
        if r["grade"] == "B" and not r["category"]:
            r["dispositions"] = ["restock", "outlet"]
    problem(await client.put(f"/hubs/{hub}/returns/settings", json=changed, headers=desk), 403)
    r = await client.put(f"/hubs/{hub}/returns/settings", json=changed, headers=lead)
    assert r.status_code == 200, r.text
    assert r.json()["isDefault"] is False and r.json()["settings"] == changed
    assert (await _settings(client, hub, lead))["settings"] == changed

    checklist = (await client.get(f"/returns-desk/items/{item}/checklist", headers=desk)).json()
    assert {"grade": "B", "dispositions": ["restock", "outlet"]} in checklist["grades"]
    done = await inspect_b(client, desk, item)
    assert (done["grade"], done["disposition"], done["ends"]) == ("B", "restock", "stock_new")
    tasks = (await client.get(f"/returns-desk/items/{item}/tasks", headers=desk)).json()
    assert [s["kind"] for s in tasks["steps"]] == ["unpack", "repackage", "relabel"]  # clothing/restock
    await work_through(client, desk, item)
    await add_bins(hub, aisles=1, bays=1, levels=1)
    end = await client.post(f"/returns-desk/items/{item}/finish", json={"bin": "A01-01-1"}, headers={**desk, **key()})
    assert end.status_code == 200, end.text
    assert (end.json()["end"], end.json()["sku"]) == ("stock_new", "JAS-42")
    moves = await StockMovement.select().where(StockMovement.kind == "return")
    assert [(m["sku"], m["quantity"]) for m in moves] == [("JAS-42", 1)]


async def test_the_refund_table_sets_the_deduction(client) -> None:
    order, desk, item = await received_jacket(client)
    hub = order["hub"]
    lead = await _lead(client, hub)
    body = {"refunds": {"grades": [{"grade": "B", "pct": 30}, {"grade": "C", "pct": 50}]}}
    r = await client.put(f"/hubs/{hub}/returns/settings", json=body, headers=lead)
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["dispositions"] == (await _settings(client, hub, lead))["settings"]["dispositions"]
    done = await inspect_b(client, desk, item)
    # too small is the customer's doing: grade B takes 30 % now (10 % by default)
    assert done["refund"]["totalCents"] == JACKET_CENTS - JACKET_CENTS * 30 // 100
    grade_line = next(line for line in done["refund"]["lines"] if line["code"] == "grade")
    assert grade_line["cents"] == -2400 and "30%" in grade_line["note"]


async def test_the_labour_rate_costs_the_task_minutes_in_the_figures(client) -> None:
    order, desk, item = await received_jacket(client)
    hub = order["hub"]
    lead = await _lead(client, hub)
    r = await client.put(f"/hubs/{hub}/returns/settings", json={"labourCentsPerHour": 2400}, headers=lead)
    assert r.status_code == 200 and r.json()["settings"]["labourCentsPerHour"] == 2400
    done = await inspect_b(client, desk, item)
    at = [_now(client)]
    client.app.state.context = dataclasses.replace(client.app.state.context, clock=lambda: at[0])
    view = (await client.get(f"/returns-desk/items/{item}/tasks", headers=desk)).json()
    for step in view["steps"]:  # 10 minutes a step
        for kind, later in (("start", 0), ("done", 10)):
            at[0] += dt.timedelta(minutes=later)
            url = f"/returns-desk/items/{item}/steps/{step['n']}"
            assert (await client.post(url, json={"kind": kind}, headers={**desk, **key()})).status_code == 200
    minutes = 10 * len(view["steps"])
    week = iso_week(_now(client).date() - dt.timedelta(days=2))
    got = (await client.get(f"/hubs/{hub}/returns/figures?from={week}&to={week}", headers=lead)).json()
    w = got["weeks"][0]
    assert got["labourCentsPerHour"] == 2400
    assert w["labourMinutes"] == minutes and w["labourCents"] == minutes * 40
    assert w["netCents"] == done["refund"]["totalCents"] + minutes * 40
    csv = await client.get(f"/hubs/{hub}/returns/figures.csv?from={week}&to={week}&table=costs", headers=lead)
    assert csv.text.splitlines()[1].endswith(f",{minutes},{minutes * 40},{done['refund']['totalCents'] + minutes * 40}")


def _with(base: dict, **changes) -> dict:
    out = copy.deepcopy(base)
    out.update(changes)
    return out


async def test_each_bad_entry_is_a_422_naming_it_and_nothing_is_stored(client) -> None:
    order, desk, _ = await received_jacket(client)
    hub = order["hub"]
    lead = await _lead(client, hub)
    good = (await _settings(client, hub, lead))["settings"]
    rows = good["dispositions"]
    no_c = [r for r in rows if r["grade"] != "C"]
    worn = {"id": "fit", "textKey": "", "good": True}
    bad = {
        "an unknown grade": (
            {"dispositions": [*rows, {"grade": "E", "dispositions": ["restock"]}]},
            "dispositions[6].grade",
        ),
        "an unknown disposition": (
            {"dispositions": [{"grade": "A", "dispositions": ["donate"]}]},
            "dispositions[0].dispositions[0]",
        ),
        "a percentage above 100": ({"refunds": {"grades": [{"grade": "B", "pct": 120}]}}, "refunds.grades[0].pct"),
        "a percentage below 0": ({"refunds": {"grades": [{"grade": "B", "pct": -1}]}}, "refunds.grades[0].pct"),
        "a grade given twice": (
            {"refunds": {"grades": [{"grade": "B", "pct": 1}, {"grade": "B", "pct": 2}]}},
            "refunds.grades[1]",
        ),
        "a deduction for a question no checklist asks": (
            {"refunds": {"grades": [], "findings": [{"finding": "sparkles", "pct": 5}]}},
            "refunds.findings.sparkles",
        ),
        "a grade that goes nowhere": ({"dispositions": no_c}, "dispositions.C"),
        "a disposition without its template": (
            {"templates": [t for t in good["templates"] if t["disposition"] != "outlet"]},
            "dispositions.B",
        ),
        "a disposition that ends nowhere": (
            {"ends": [e for e in good["ends"] if e["disposition"] != "outlet"]},
            "ends.outlet",
        ),
        "an unknown step": (
            {"templates": [{"category": "general", "disposition": "outlet", "steps": ["polish"]}]},
            "templates[0].steps[0]",
        ),
        "a template without steps": (
            {"templates": [{"category": "general", "disposition": "outlet", "steps": []}]},
            "templates[0].steps",
        ),
        "an empty checklist": ({"checklists": [{"category": "general", "questions": []}]}, "checklists[0].questions"),
        "a question without an id": (
            {"checklists": [{"category": "general", "questions": [{"id": "", "textKey": "returns.check.complete"}]}]},
            "checklists[0].questions[0].id",
        ),
        "a new question without its words": (
            {"checklists": [*good["checklists"], {"category": "toys", "questions": [worn]}]},
            "checklists.toys.fit",
        ),
        "a grade cap on a question not asked": (
            {"grading": [{"category": "clothing", "finding": "sparkles", "atBest": "B"}]},
            "grading.clothing.sparkles",
        ),
        "an unknown grade cap": (
            {"grading": [{"category": "clothing", "finding": "worn", "atBest": "Z"}]},
            "grading[0].atBest",
        ),
        "no general checklist": (
            {"checklists": [c for c in good["checklists"] if c["category"] != "general"]},
            "checklists",
        ),
        "a negative labour rate": ({"labourCentsPerHour": -5}, "labourCentsPerHour"),
    }
    for what, (body, field) in bad.items():
        r = await client.put(f"/hubs/{hub}/returns/settings", json=body, headers=lead)
        got = problem(r, 422)
        assert got.get("field") == field, (what, got)
        assert got["detail"].startswith("Nothing was stored."), (what, got)
    after = await _settings(client, hub, lead)
    assert after["isDefault"] is True and after["settings"] == good
    problem(
        await client.put(
            f"/hubs/{hub}/returns/settings", content=b"{not json", headers={**lead, "content-type": "application/json"}
        ),
        400,
    )


async def test_a_new_question_with_its_words_and_grade_cap_is_asked_at_the_desk(client) -> None:
    order, desk, item = await received_jacket(client)
    hub = order["hub"]
    lead = await _lead(client, hub)
    good = (await _settings(client, hub, lead))["settings"]
    mine = {
        "category": "clothing",
        "questions": [{"id": "buttons_ok", "text": {"en": "Buttons all there?", "nl": "Alle knopen erbij?"}}],
        "minPhotos": 0,
    }
    others = [c for c in good["checklists"] if c["category"] != "clothing"]
    body = {"checklists": [*others, mine]}
    # the clothing grade caps name the questions no longer asked: refused, naming the first
    refused = problem(await client.put(f"/hubs/{hub}/returns/settings", json=body, headers=lead), 422)
    assert refused["field"] == "grading.clothing.tags_on"
    caps = [c for c in good["grading"] if c["category"] != "clothing"]
    body["grading"] = [*caps, {"category": "clothing", "finding": "buttons_ok", "atBest": "C"}]
    r = await client.put(f"/hubs/{hub}/returns/settings", json=body, headers=lead)
    assert r.status_code == 200, r.text
    shown = (await client.get(f"/returns-desk/items/{item}/checklist", headers=desk)).json()
    assert [q["id"] for q in shown["questions"]] == ["buttons_ok"]
    assert shown["questions"][0]["text"] == {"en": "Buttons all there?", "nl": "Alle knopen erbij?"}
    body = {"answers": {"buttons_ok": False}, "photoIds": []}
    r = await client.post(f"/returns-desk/items/{item}/inspection", json=body, headers={**desk, **key()})
    assert r.status_code == 201, r.text
    assert (r.json()["suggested"], r.json()["grade"], r.json()["findings"]) == ("C", "C", ["buttons_ok"])


async def test_another_hubs_dispatcher_or_desk_is_refused(client) -> None:
    order, desk, _ = await received_jacket(client)
    hub = order["hub"]
    other = (await Hub.insert(Hub(name=f"Other {uuid.uuid4().hex[:6]}", lat=60.2, lon=24.9)))[0]["id"]
    stranger = await _lead(client, other)
    problem(await client.get(f"/hubs/{hub}/returns/settings", headers=stranger), 403)
    problem(await client.put(f"/hubs/{hub}/returns/settings", json={"labourCentsPerHour": 1}, headers=stranger), 403)
    problem(await client.get(f"/hubs/{other}/returns/settings", headers=desk), 403)
    assert (await _settings(client, hub, desk))["isDefault"] is True


async def test_two_puts_at_once_leave_one_of_them_whole(client) -> None:
    import asyncio

    from backend.db.returns_settings_tables import HubReturnsSettings

    order, desk, _ = await received_jacket(client)
    hub = order["hub"]
    lead = await _lead(client, hub)
    url = f"/hubs/{hub}/returns/settings"
    answers = await asyncio.gather(
        *(client.put(url, json={"labourCentsPerHour": rate}, headers=lead) for rate in (1000, 2000))
    )
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    assert await HubReturnsSettings.count().where(HubReturnsSettings.hub == hub) == 1
    assert (await _settings(client, hub, desk))["settings"]["labourCentsPerHour"] in (1000, 2000)
