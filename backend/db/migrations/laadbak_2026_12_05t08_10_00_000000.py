from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-05T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "checkout_hold.route: the carrier rules' inputs besides the parcels"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="laadbak", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="CheckoutHold",
        tablename="checkout_hold",
        column_name="route",
        db_column_name="route",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": "{}",
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
