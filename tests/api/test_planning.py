"""Planning a small day through the API; routes readable by their courier only."""

from __future__ import annotations

from backend.db.tables import PlanRun, Route
from backend.dispatch.portfolio import DEFAULT_ENGINES, engines_for
from backend.services.day import load_day
from tests.api.helpers import admin, login, make_user, post_ok, problem, tomorrow


def _addresses(geo) -> list[str]:
    return [
        f"{a.street} {a.housenumber}" for a in sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))
    ]


async def _small_day(client, geo, couriers: int = 2, basket: bool = True) -> tuple[dict, int, list[int]]:
    h = await admin(client)
    a = _addresses(geo)
    day = tomorrow().isoformat()
    hub = (await post_ok(client, "/hubs", {"name": "Hub", "address": a[100]}, h))["id"]
    shops = [
        (
            await post_ok(
                client,
                "/shops",
                {
                    "name": f"Shop {i}",
                    "address": a[200 + i],
                    "hubId": hub,
                    "openingHours": [
                        {"days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "opens": "09:00", "closes": "19:00"}
                    ],
                },
                h,
            )
        )["id"]
        for i in range(2)
    ]
    courier_ids = []
    for i in range(couriers):
        bike = (
            await post_ok(
                client, "/bikes", {"name": f"B{i}", "payloadKg": 150, "volumeL": 600, "batteryRangeKm": 40}, h
            )
        )["id"]
        uid = await make_user(f"courier{i}", "courier", hub_id=hub)
        c = (await post_ok(client, "/couriers", {"name": f"C{i}", "bikeId": bike, "hubId": hub, "userId": uid}, h))[
            "id"
        ]
        await post_ok(
            client, "/shifts", {"courierId": c, "hubId": hub, "start": f"{day}T08:00:00", "end": f"{day}T20:00:00"}, h
        )
        courier_ids.append(c)
    for i in range(8):
        body = {
            "reference": f"O-{i}",
            "hubId": hub,
            "customerName": f"N{i}",
            "date": day,
            "address": a[300 + 7 * i],
            "parcels": [{"weightKg": 3, "volumeL": 12}],
        }
        body.update({"slot": "afternoon"} if i % 2 else {"window": {"start": "10:00", "end": "12:00"}})
        if i == 3 and basket:  # a basket from two shops to one door
            body["parcels"] += [
                {"weightKg": 1, "volumeL": 3, "shopId": shops[0]},
                {"weightKg": 1, "volumeL": 3, "shopId": shops[1]},
            ]
        await post_ok(client, "/orders", body, h)
    return h, hub, courier_ids


async def test_plan_a_day_and_read_the_routes(client, geo) -> None:
    h, hub, couriers = await _small_day(client, geo)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "done" and run["figures"]["violations"] == 0
    assert run["figures"]["stops"] == 10 and run["figures"]["planned"] == 10, run
    assert run["unplanned"] == []
    routes = (await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=h)).json()
    assert sorted(r["id"] for r in routes) == sorted(run["routeIds"])
    stops = [s for r in routes for s in r["stops"]]
    assert len(stops) == 10 and all(s["eta"] <= s["serviceStart"] <= s["departure"] for s in stops)
    for s in stops:  # service starts inside the customer's window
        assert s["windowStart"] <= s["serviceStart"] <= s["windowEnd"], s
    # The basket: both shop pickups ride on the same bike, before the delivery.
    for route in routes:
        kinds = [(s["orderId"], s["kind"]) for s in route["stops"]]
        basket = [k for k in kinds if k[0] == next((s["orderId"] for s in stops if s["kind"] == "pickup"), None)]
        if basket:
            assert basket[-1][1] == "delivery" and len(basket) == 3
    # Re-planning makes a new version and keeps only one current route per courier.
    r2 = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r2.status_code == 201
    assert await Route.count().where(Route.current.eq(True)) == len(r2.json()["routeIds"])
    assert await PlanRun.count() == 2


async def test_a_day_pyvrp_can_express_goes_to_the_whole_portfolio(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo, basket=False)
    # one window per stop, no locks, no baskets: both runs of the portfolio may plan it
    day_input = await load_day(geo, hub, tomorrow())
    assert engines_for(day_input.problem, DEFAULT_ENGINES) == ("pyvrp", "pyvrp")
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "done" and run["figures"]["violations"] == 0
    assert run["figures"]["planned"] == 8 and run["unplanned"] == []
    # two cold PyVRP searches, seeds of their own; bikes that may reload plan with loops
    assert run["figures"]["engine"] in ("pyvrp", "pyvrp-reload")
    engines = run["figures"]["engines"]  # every run's plan, the winner marked
    assert [e["engine"] for e in engines] == [run["figures"]["engine"]] * 2, engines
    assert [e["engine"] for e in engines if e["won"]] == [run["figures"]["engine"]]
    assert all(e["violations"] == 0 and e["cost"] > 0 and e["solveS"] > 0 for e in engines)
    routes = (await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=h)).json()
    stops = [s for r in routes for s in r["stops"]]
    assert len(stops) == 8
    for s in stops:
        assert (
            s["eta"] <= s["serviceStart"] <= s["departure"] and s["windowStart"] <= s["serviceStart"] <= s["windowEnd"]
        )


async def test_a_courier_reads_only_their_own_route(client, geo) -> None:
    h, hub, couriers = await _small_day(client, geo)
    run = (
        await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    ).json()
    routes = {r["courierId"]: r for r in (await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=h)).json()}
    c0 = await login(client, "courier0")
    mine = await client.get(f"/routes/mine?date={tomorrow()}", headers=c0)
    if couriers[0] in routes:
        assert mine.status_code == 200 and mine.json()["courierId"] == couriers[0]
    others = [r for cid, r in routes.items() if cid != couriers[0]]
    for other in others:
        problem(await client.get(f"/routes/{other['id']}", headers=c0), 404)
    problem(await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=c0), 403)
    problem(await client.get(f"/plan-runs/{run['id']}", headers=c0), 403)


async def test_plan_for_a_hub_without_couriers_is_refused(client, geo) -> None:
    h = await admin(client)
    hub = (await post_ok(client, "/hubs", {"name": "Empty", "address": _addresses(geo)[100]}, h))["id"]
    body = problem(await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat()}, headers=h), 422)
    assert "no courier shifts" in body["detail"]
    problem(await client.post("/hubs/999/plans", json={"date": tomorrow().isoformat()}, headers=h), 404)
    problem(await client.post(f"/hubs/{hub}/plans", json={"date": "tomorrow"}, headers=h), 400)
    assert await PlanRun.count() == 0


async def test_unplannable_stops_are_reported_with_a_reason(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo, couriers=1)
    a = _addresses(geo)
    await post_ok(
        client,
        "/orders",
        {
            "reference": "HEAVY",
            "hubId": hub,
            "customerName": "Big",
            "date": tomorrow().isoformat(),
            "address": a[400],
            "slot": "afternoon",
            "parcels": [{"weightKg": 190, "volumeL": 100}],
        },
        h,
    )
    await post_ok(
        client,
        "/orders",
        {
            "reference": "NIGHT",
            "hubId": hub,
            "customerName": "Owl",
            "date": tomorrow().isoformat(),
            "address": a[401],
            "window": {"start": "21:00", "end": "22:00"},
            "parcels": [{"weightKg": 1, "volumeL": 1}],
        },
        h,
    )
    run = (
        await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    ).json()
    reasons = {u["reason"] for u in run["unplanned"]}
    assert {"too_heavy", "window_unreachable"} <= reasons, run["unplanned"]
    assert all(u["detail"] for u in run["unplanned"])
    assert run["figures"]["planned"] + run["figures"]["unplanned"] == run["figures"]["stops"]
