from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import JSON
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Timestamp
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Hub(Table, tablename="hub", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class User(Table, tablename="app_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-12-05T10:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hub_returns_settings: a hub's disposition, refund, checklist and template tables and labour rate"


def _params(**own):
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **own,
    }


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="laadbak", description=DESCRIPTION
    )

    manager.add_table(
        class_name="HubReturnsSettings",
        tablename="hub_returns_settings",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="HubReturnsSettings",
        tablename="hub_returns_settings",
        column_name="hub",
        db_column_name="hub",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params=_params(
            references=Hub,
            on_delete=OnDelete.cascade,
            on_update=OnUpdate.cascade,
            target_column=None,
            null=True,
            unique=True,
            index=True,
        ),
        schema=None,
    )

    manager.add_column(
        table_class_name="HubReturnsSettings",
        tablename="hub_returns_settings",
        column_name="settings",
        db_column_name="settings",
        column_class_name="JSON",
        column_class=JSON,
        params=_params(default="{}"),
        schema=None,
    )

    manager.add_column(
        table_class_name="HubReturnsSettings",
        tablename="hub_returns_settings",
        column_name="by_user",
        db_column_name="by_user",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params=_params(
            references=User,
            on_delete=OnDelete.set_null,
            on_update=OnUpdate.cascade,
            target_column=None,
            null=True,
        ),
        schema=None,
    )

    manager.add_column(
        table_class_name="HubReturnsSettings",
        tablename="hub_returns_settings",
        column_name="at",
        db_column_name="at",
        column_class_name="Timestamp",
        column_class=Timestamp,
        params=_params(default=None, null=True),
        schema=None,
    )

    return manager
