"""Choosing and binding the database engine from DATABASE_URL."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from urllib.parse import urlsplit

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from backend.db import piccolo_conf
from backend.db.tables import ALL_TABLES


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path))
    parts = urlsplit(database_url)
    if parts.scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": database_url.replace("postgresql://", "postgres://", 1)})
    raise ValueError(f"unsupported DATABASE_URL {database_url!r}")


def use_database(engine: Engine) -> None:
    """Bind every table (ours and Piccolo's migration table) to ``engine``."""
    piccolo_conf.DB = engine
    for table in (*ALL_TABLES, Migration):
        table._meta.db = engine


async def migrate(quiet: bool = True) -> None:
    """Apply every pending migration; raises when one fails."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="laadbak")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}\n{out.getvalue()}")


def describe(database_url: str) -> str:
    """The database named for people: engine and place, no password."""
    if database_url.startswith("sqlite:///"):
        return f"sqlite:{database_url.removeprefix('sqlite:///')}"
    parts = urlsplit(database_url)
    return f"postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}"


def transaction():
    """A write transaction; on SQLite taken IMMEDIATE so read-then-write cannot interleave."""
    engine = piccolo_conf.DB
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
