"""Return figures per ISO week: a jacket sold (2 of them) and returned too small, inspected as
grade B and worked through: the week's rate, the reason, the refund and the labour; the CSV;
a bad week or too long a range 422 naming the parameter; another hub 403."""

from __future__ import annotations

import datetime as dt
import uuid

from backend.db.tables import Hub
from backend.returns.figures import iso_week
from tests.api.helpers import login, make_user, problem
from tests.api.test_returns_desk import JACKET_CENTS, inspect_b, received_jacket, work_through
from tests.api.test_returns_portal import _now


async def test_a_returned_jacket_shows_in_its_week_of_sale_with_reason_refund_and_labour(client) -> None:
    order, desk, item = await received_jacket(client)
    done = await inspect_b(client, desk, item)
    await work_through(client, desk, item)
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
    assert w["labourMinutes"] >= 0
    assert got["topReasons"] == [{"reason": "too_small", "count": 1}]
    assert {"week": week, "category": "clothing", "reason": "too_small", "count": 1} in got["reasonsByCategory"]
    csv = await client.get(url.replace("/figures?", "/figures.csv?") + "&table=costs", headers=desk)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "filename=" in csv.headers["content-disposition"]
    header, row = csv.text.splitlines()
    assert header == "week,returns,fees_cents,refunds_cents,labour_minutes,labour_cents,net_cents"
    assert row.startswith(f"{week},1,0,{JACKET_CENTS - JACKET_CENTS // 10},")
    rates = (await client.get(url.replace("/figures?", "/figures.csv?"), headers=desk)).text.splitlines()
    assert rates[0] == "week,key,sold,returned,rate" and any(r.startswith(f"{week},clothing,") for r in rates[1:])


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
