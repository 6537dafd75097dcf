"""Bikes ridden by a hub's courier become that hub's (the column came in the
migration before this one: Piccolo runs raw steps before added columns)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T12:33:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "bikes take their courier's hub"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)

    async def backfill() -> None:
        await engine_finder().run_ddl(
            "UPDATE bike SET hub = (SELECT MIN(courier.hub) FROM courier WHERE courier.bike = bike.id) "
            "WHERE hub IS NULL"
        )

    manager.add_raw(backfill)
    return manager
