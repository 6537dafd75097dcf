from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Float
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-05T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Several loops a shift: the hub's reload time, the route's reloads"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Hub",
        tablename="hub",
        column_name="reload_min",
        db_column_name="reload_min",
        column_class_name="Float",
        column_class=Float,
        params={
            "default": 10.0,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Route",
        tablename="route",
        column_name="reloads",
        db_column_name="reloads",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": "[]",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
