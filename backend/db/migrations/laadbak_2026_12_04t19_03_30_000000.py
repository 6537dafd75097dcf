"""One alert per (hub, plan_date, kind, key): raising it again changes nothing.

A migration of its own: Piccolo runs a migration's raw steps before the table it
adds (see laadbak_2026_12_04t12_33_23_000000.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-04T19:03:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "alerts: one per hub, day, kind and key"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)

    async def add_index() -> None:
        await engine_finder().run_querystring(
            QueryString('CREATE UNIQUE INDEX IF NOT EXISTS alert_once ON alert (hub, plan_date, kind, "key")')
        )

    async def drop_index() -> None:
        await engine_finder().run_querystring(QueryString("DROP INDEX IF EXISTS alert_once"))

    manager.add_raw(add_index)
    manager.add_raw_backwards(drop_index)
    return manager
