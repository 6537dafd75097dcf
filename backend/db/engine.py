"""Choosing and binding the database engine from DATABASE_URL."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import weakref
from collections.abc import AsyncIterator
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
        # Write-ahead logging lets reads go on while one writer writes.
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
        return SQLiteEngine(path=str(path), timeout=30)
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


_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _WRITERS.get(loop)
    if lock is None:
        lock = _WRITERS[loop] = asyncio.Lock()
    return lock


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A write transaction; nested calls join the outer one.

    On SQLite it is taken IMMEDIATE, so read-then-write cannot interleave, and
    writers of this process queue on an asyncio lock first: SQLite has one
    writer at a time, and waiting in its busy handler while holding the event
    loop's attention makes a convoy of "database is locked" errors.
    """
    engine = piccolo_conf.DB
    if not isinstance(engine, SQLiteEngine):
        async with engine.transaction():
            yield
        return
    if engine.current_transaction.get() is not None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
        return
    async with _writer_lock(), engine.transaction(transaction_type=TransactionType.immediate):
        yield


def reading():
    """A read-only snapshot on one connection (several queries, one connection)."""
    engine = piccolo_conf.DB
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.deferred)
    return engine.transaction()
