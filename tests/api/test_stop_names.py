"""Routes keep their stops in the database's own names; the API answers camelCase;
the migration rewrites routes written before in the old shape."""

from __future__ import annotations

import importlib

from backend.db.tables import Route
from tests.api.helpers import tomorrow
from tests.api.test_planning import _small_day

SNAKE = {
    "stop_id",
    "order_id",
    "kind",
    "address",
    "lat",
    "lon",
    "eta",
    "planned_eta",
    "planned_service_start",
    "service_start",
    "departure",
    "window_start",
    "window_end",
    "travel_s",
    "service_s",
    "late",
    "load_kg",
    "distance_m",
    "loop",
}
MIGRATION = importlib.import_module("backend.db.migrations.laadbak_2026_12_04t15_30_00_000000")


async def _stored() -> list[dict]:
    return await Route.select(Route.id, Route.stops).order_by(Route.id).output(load_json=True)


async def test_routes_keep_snake_case_and_the_api_answers_camel_case(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    stored = [s for row in await _stored() for s in row["stops"]]
    assert stored and all(set(s) == SNAKE for s in stored)
    routes = (await client.get(f"/routes?hubId={hub}&date={tomorrow()}", headers=h)).json()
    views = [s for route in routes for s in route["stops"]]
    assert {s["stopId"] for s in views} == {s["stop_id"] for s in stored}
    assert all({"stopId", "orderId", "plannedEta", "serviceStart", "windowStart", "windowEnd"} <= set(s) for s in views)
    assert not any("stop_id" in s or "window_start" in s for s in views)


async def test_the_migration_rewrites_old_routes_and_back(client, geo) -> None:
    h, hub, _ = await _small_day(client, geo)
    r = await client.post(f"/hubs/{hub}/plans", json={"date": tomorrow().isoformat(), "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    before = await _stored()
    camel = {v: k for k, v in MIGRATION.NAMES.items()}
    await MIGRATION.rename_stops(camel)  # as a route written before this change
    old = await _stored()
    assert all("stopId" in s and "stop_id" not in s for row in old for s in row["stops"])
    await MIGRATION.rename_stops(MIGRATION.NAMES)
    assert await _stored() == before
