from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Varchar
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


ID = "2026-12-05T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "scanner_setting: a hub's keyboard-wedge scanner prefix and suffix"


def _text(column: str) -> dict:
    return {
        "table_class_name": "ScannerSetting",
        "tablename": "scanner_setting",
        "column_name": column,
        "db_column_name": column,
        "column_class_name": "Varchar",
        "column_class": Varchar,
        "params": {
            "length": 8,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        "schema": None,
    }


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="laadbak", description=DESCRIPTION
    )

    manager.add_table(
        class_name="ScannerSetting",
        tablename="scanner_setting",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="ScannerSetting",
        tablename="scanner_setting",
        column_name="hub",
        db_column_name="hub",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Hub,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": True,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(**_text("prefix"))
    manager.add_column(**_text("suffix"))

    return manager
