"""Return figures per ISO week: a jacket sold (2 of them) and returned too small, inspected as
grade B and worked through: the week's rate, the reason, the refund and the labour; the CSV;
a bad week or too long a range 422 naming the parameter; another hub 403."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from backend.db.tables import Hub, ReturnInspection
from backend.returns.figures import iso_week
from tests.api.helpers import login, make_user, problem
from tests.api.test_returns_desk import JACKET_CENTS, inspect_b, received_jacket, work_through
from tests.api.test_returns_portal import _now


async def test_a_returned_jacket_shows_in_its_week_of_sale_with_reason_refund_and_labour(client) -> None:
    order, desk, item = await received_jacket(client)
    done = await inspect_b(client, desk, item)
    await work_through(client, desk, item)
    steps = await three_minutes_a_step(item)
    week = iso_week(_now(client).date() - dt.timedelta(days=2))
    url = f"/hubs/{order['hub']}/returns/figures?from={week}&to={week}"
    name = f"disp-{uuid.uuid4().hex[:6]}"
    await make_user(name, "dispatcher", order["hub"])
    r = await client.get(url, headers=desk)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (await client.get(url, headers=await login(client, name))).json() == got  # the dispatcher's desk too
    assert [w["week"] for w in got["weeks"]] == [week]
    w = got["weeks"][0]
    # sold: 2 jackets and the scarf; back: the jacket the portal returned
    assert w["sold"] >= 2 and w["returned"] == 1 and w["rate"] == round(1 / w["sold"], 4)
    assert w["refundsCents"] == done["refund"]["totalCents"] == JACKET_CENTS - JACKET_CENTS // 10
    assert (steps, w["labourMinutes"], w["labourCents"]) == (6, 18.0, 0)  # no hourly cost set
    # the fee is already off the refund: the net cost is the refund (and the labour's cost)
    assert (w["feesCents"], w["netCents"]) == (0, w["refundsCents"])
    assert got["byProduct"] == [
        {
            "week": week,
            "sku": "JAS-42",
            "name": "Jas",
            "category": "clothing",
            "sold": 2,
            "returned": 1,
            "rate": 0.5,
            "reasons": [{"reason": "too_small", "count": 1}],
        },
        {
            "week": week,
            "sku": "SJAAL",
            "name": "Sjaal",
            "category": "clothing",
            "sold": 1,
            "returned": 0,
            "rate": 0.0,
            "reasons": [],
        },
    ]
    assert got["topReasons"] == [{"reason": "too_small", "count": 1}]
    assert {"week": week, "category": "clothing", "reason": "too_small", "count": 1} in got["reasonsByCategory"]
    csv = await client.get(url.replace("/figures?", "/figures.csv?") + "&table=costs", headers=desk)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "filename=" in csv.headers["content-disposition"]
    header, row = csv.text.splitlines()
    assert header == "week,returns,fees_cents,refunds_cents,labour_minutes,labour_cents,net_cents"
    assert row.startswith(f"{week},1,0,{JACKET_CENTS - JACKET_CENTS // 10},")
    assert row == f"{week},1,0,{JACKET_CENTS - JACKET_CENTS // 10},18,0,{JACKET_CENTS - JACKET_CENTS // 10}"
    rates = (await client.get(url.replace("/figures?", "/figures.csv?"), headers=desk)).text.splitlines()
    assert rates[0] == "week,key,sold,returned,rate" and any(r.startswith(f"{week},clothing,") for r in rates[1:])
    csv_url = url.replace("/figures?", "/figures.csv?") + "&by=sku&table="
    by_sku = await client.get(csv_url + "rates", headers=desk)
    assert by_sku.status_code == 200 and by_sku.headers["content-type"].startswith("text/csv")
    assert by_sku.text.splitlines() == ["week,key,sold,returned,rate", f"{week},JAS-42,2,1,0.5", f"{week},SJAAL,1,0,0"]
    reasons = (await client.get(csv_url + "reasons", headers=desk)).text.splitlines()
    assert reasons == ["week,key,reason,count", f"{week},JAS-42,too_small,1"]
    problem(await client.get(csv_url + "rates&by=colour", headers=desk), 400)


async def three_minutes_a_step(item: int) -> int:
    """The item's step timers rewritten so each step took three minutes: labour with an exact value."""
    row = await ReturnInspection.select(ReturnInspection.events).where(ReturnInspection.item == item).first()
    assert row is not None
    events = json.loads(row["events"]) if isinstance(row["events"], str) else row["events"]
    base = dt.datetime(2026, 12, 2, 10, 0)
    order = {step: n for n, step in enumerate(dict.fromkeys(e["step_id"] for e in events))}
    for e in events:
        at = base + dt.timedelta(minutes=10 * order[e["step_id"]] + (3 if e["kind"] == "done" else 0))
        e["at"] = at.isoformat()
    await ReturnInspection.update({ReturnInspection.events: events}).where(ReturnInspection.item == item)
    return len(order)


async def test_a_bad_week_or_too_long_a_range_is_422_naming_the_parameter(client) -> None:
    order, desk, _ = await received_jacket(client)
    base = f"/hubs/{order['hub']}/returns/figures"
    bad = problem(await client.get(f"{base}?from=2026-49&to=2026-W50", headers=desk), 422)
    assert bad["detail"].startswith("from must be an ISO week") and bad["field"] == "from"
    late = problem(await client.get(f"{base}?from=2026-W01&to=2026-W54", headers=desk), 422)  # 2026 has 53 weeks
    assert late["detail"].startswith("to must be an ISO week") and late["field"] == "to"
    long = problem(await client.get(f"{base}?from=2025-W01&to=2026-W10", headers=desk), 422)
    assert "at most 53 weeks" in long["detail"] and long["field"] == "to"
    assert problem(await client.get(f"{base}.csv?from=2026-W10&to=2026-W09", headers=desk), 422)


async def test_another_hub_is_refused(client) -> None:
    order, desk, _ = await received_jacket(client)
    other = (await Hub.insert(Hub(name=f"Other {uuid.uuid4().hex[:6]}", lat=60.2, lon=24.9)))[0]["id"]
    name = f"disp-{uuid.uuid4().hex[:6]}"
    await make_user(name, "dispatcher", other)
    theirs = await login(client, name)
    url = f"/hubs/{order['hub']}/returns/figures?from=2026-W01&to=2026-W02"
    problem(await client.get(url, headers=theirs), 403)
    problem(await client.get(f"/hubs/{other}/returns/figures?from=2026-W01&to=2026-W02", headers=desk), 403)
    problem(await client.get(url.replace("figures?", "figures.csv?"), headers=theirs), 403)
