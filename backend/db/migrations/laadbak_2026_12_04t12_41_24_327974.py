from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Integer, Text, Timestamp, Varchar
from piccolo.columns.defaults.timestamp import TimestampNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T12:41:24:327974"
VERSION = "1.38.0"
DESCRIPTION = "durable jobs"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)
    manager.add_table(class_name="Job", tablename="job", schema=None, columns=None)
    manager.add_column(table_class_name="Job", tablename="job", column_name="kind", db_column_name="kind",
                       column_class_name="Varchar", column_class=Varchar, schema=None,
                       params={"length": 40, "default": '', "null": False, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="key", db_column_name="key",
                       column_class_name="Varchar", column_class=Varchar, schema=None,
                       params={"length": 160, "default": '', "null": False, "unique": True, "index": True, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="payload", db_column_name="payload",
                       column_class_name="JSON", column_class=JSON, schema=None,
                       params={"default": '{}', "null": False, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="status", db_column_name="status",
                       column_class_name="Varchar", column_class=Varchar, schema=None,
                       params={"length": 12, "default": 'pending', "null": False, "unique": False, "index": True, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="attempts", db_column_name="attempts",
                       column_class_name="Integer", column_class=Integer, schema=None,
                       params={"default": 0, "null": False, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="run_after", db_column_name="run_after",
                       column_class_name="Timestamp", column_class=Timestamp, schema=None,
                       params={"default": TimestampNow(), "null": False, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="lease_until", db_column_name="lease_until",
                       column_class_name="Timestamp", column_class=Timestamp, schema=None,
                       params={"default": None, "null": True, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="claimed_by", db_column_name="claimed_by",
                       column_class_name="Varchar", column_class=Varchar, schema=None,
                       params={"length": 80, "default": None, "null": True, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="last_error", db_column_name="last_error",
                       column_class_name="Text", column_class=Text, schema=None,
                       params={"default": '', "null": False, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="created_at", db_column_name="created_at",
                       column_class_name="Timestamp", column_class=Timestamp, schema=None,
                       params={"default": TimestampNow(), "null": False, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    manager.add_column(table_class_name="Job", tablename="job", column_name="finished_at", db_column_name="finished_at",
                       column_class_name="Timestamp", column_class=Timestamp, schema=None,
                       params={"default": None, "null": True, "unique": False, "index": False, "primary_key": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False})
    return manager
