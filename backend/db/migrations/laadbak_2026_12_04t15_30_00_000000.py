"""Routes keep their stops in the database's own names (snake_case, as its
columns); the API maps them to camelCase at the edge. Rewrites the stops of
every route written before, and back."""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-04T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "route stops in snake_case"

# The API's names of a kept stop's fields -> the database's (the others are one word).
NAMES = {
    "stopId": "stop_id", "orderId": "order_id", "plannedEta": "planned_eta", "serviceStart": "service_start",
    "windowStart": "window_start", "windowEnd": "window_end", "travelS": "travel_s", "serviceS": "service_s",
    "loadKg": "load_kg", "distanceM": "distance_m",
}


async def rename_stops(names: dict[str, str]) -> None:
    # The engine in force now (tests switch between SQLite and PostgreSQL in one process).
    engine = engine_finder()
    for row in await engine.run_querystring(QueryString("SELECT id, stops FROM route")):
        stops = json.loads(row["stops"]) if isinstance(row["stops"], str) else row["stops"]
        renamed = [{names.get(k, k): v for k, v in s.items()} for s in stops or []]
        if renamed != stops:
            await engine.run_querystring(
                QueryString("UPDATE route SET stops = {} WHERE id = {}", json.dumps(renamed), row["id"]))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)

    async def to_snake_case() -> None:
        await rename_stops(NAMES)

    async def to_camel_case() -> None:
        await rename_stops({v: k for k, v in NAMES.items()})

    manager.add_raw(to_snake_case)
    manager.add_raw_backwards(to_camel_case)
    return manager
