"""One bin per code in a hub's warehouse.

A migration of its own: Piccolo runs a migration's raw steps before the table it
adds (see laadbak_2026_12_04t12_33_23_000000.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-05T01:15:34:000000"
VERSION = "1.38.0"
DESCRIPTION = "warehouse bins: one per hub and code"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)

    async def add_index() -> None:
        await engine_finder().run_querystring(
            QueryString("CREATE UNIQUE INDEX IF NOT EXISTS warehouse_bin_once ON warehouse_bin (hub, code)")
        )

    async def drop_index() -> None:
        await engine_finder().run_querystring(QueryString("DROP INDEX IF EXISTS warehouse_bin_once"))

    manager.add_raw(add_index)
    manager.add_raw_backwards(drop_index)
    return manager
