"""A unique index on tracking tokens (SQLite cannot add a UNIQUE column, so the
column came first, in the migration before this one)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T18:26:41:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique tracking tokens"


async def _ddl(sql: str) -> None:
    # The engine in force now (tests switch between SQLite and PostgreSQL in one process).
    await engine_finder().run_ddl(sql)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)

    async def create_index() -> None:
        await _ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS customer_order_tracking_token_unique "
            "ON customer_order (tracking_token)"
        )

    async def drop_index() -> None:
        await _ddl("DROP INDEX IF EXISTS customer_order_tracking_token_unique")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
