"""Locks that hold across server processes on one database.

``exclusive(scope, key)`` is held from reading to saving, so two processes do
not both work from the same state (two re-plans of one hub). It is taken in
the database the work writes to, and a crashed holder never blocks the next:

- PostgreSQL: a session advisory lock on a connection of its own; the server
  drops it when that connection ends, however the process ends.
- SQLite: every process on one file runs on the same machine (SQLite's own
  locking needs that), so an ``flock`` on a file beside the database does; the
  kernel drops it when the process dies. There is no lease to outlive a crash.

A lock in Redis would add nothing here: it guards writes to the database, and
its expiry time would either run out under a long re-plan or hold up the next
one after a crash.

``write_guard(scope, key)``, inside a write transaction, serialises the writes
of that scope on PostgreSQL until commit (SQLite's IMMEDIATE transactions
already do), so a check of what is in force followed by the write cannot
interleave with another writer's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from backend.db import piccolo_conf
from backend.errors import Conflict

POLL_S = 0.02
_LOCAL: dict[tuple[asyncio.AbstractEventLoop, int, str, int], asyncio.Lock] = {}


def _namespace(scope: str, salt: str = "") -> int:
    return zlib.crc32(f"laadbak:{scope}{salt}".encode()) & 0x7FFFFFFF  # an int4 for pg_advisory_lock(int, int)


@contextlib.asynccontextmanager
async def exclusive(scope: str, key: int, *, what: str = "", timeout_s: float = 120.0) -> AsyncIterator[None]:
    """Hold ``scope``/``key`` against every other holder on this database, in
    this process or another; Conflict after ``timeout_s`` of waiting (``what``
    names the work for that answer)."""
    engine = piccolo_conf.DB
    # Holders in this process queue here first (per engine: two engines in one
    # process are two servers, as far as the database is concerned).
    local_key = (asyncio.get_running_loop(), id(engine), scope, key)
    local = _LOCAL.get(local_key)
    if local is None:
        local = _LOCAL[local_key] = asyncio.Lock()
    deadline = time.monotonic() + timeout_s
    async with local:
        if isinstance(engine, PostgresEngine):
            async with _advisory(engine, scope, key, deadline, what or f"{scope} {key}"):
                yield
        elif isinstance(engine, SQLiteEngine):
            async with _flock(Path(engine.path), scope, key, deadline, what or f"{scope} {key}"):
                yield
        else:  # pragma: no cover - make_engine builds only these two
            raise TypeError(f"no cross-process lock for {type(engine).__name__}")


def _busy(what: str) -> Conflict:
    return Conflict(f"Another {what} has been running for too long; try again in a minute.", code="busy")


@contextlib.asynccontextmanager
async def _advisory(engine: PostgresEngine, scope: str, key: int, deadline: float, what: str) -> AsyncIterator[None]:
    connection: Any = await engine.get_new_connection()
    try:
        ms = max(1, int((deadline - time.monotonic()) * 1000))
        try:
            await connection.execute(f"SET lock_timeout = {ms}")
            await connection.execute("SELECT pg_advisory_lock($1, $2)", _namespace(scope), key)
        except Exception as exc:
            if type(exc).__name__ == "LockNotAvailableError":
                raise _busy(what) from exc
            raise
        yield
        await connection.execute("SELECT pg_advisory_unlock($1, $2)", _namespace(scope), key)
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


@contextlib.asynccontextmanager
async def _flock(db: Path, scope: str, key: int, deadline: float, what: str) -> AsyncIterator[None]:
    import fcntl

    folder = db.parent / f"{db.name}-locks"
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / f"{scope}-{key}", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(what) from None
                await asyncio.sleep(POLL_S)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the flock


async def write_guard(scope: str, key: int) -> None:
    """Inside a write transaction: other writers of ``scope``/``key`` wait until it ends."""
    engine = piccolo_conf.DB
    if isinstance(engine, PostgresEngine):
        from backend.db.tables import Hub  # any table: the statement runs in the current transaction

        await Hub.raw("SELECT pg_advisory_xact_lock({}, {})", _namespace(scope, ":write"), key)
