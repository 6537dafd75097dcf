"""Choosing and binding the database engine from DATABASE_URL."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import logging
import sqlite3
import sys
import time
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import aiosqlite
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from backend.db import piccolo_conf
from backend.db.tables import ALL_TABLES


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-ahead logging lets reads go on while one writer writes.
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
        return PooledSQLiteEngine(path=str(path), timeout=30)
    parts = urlsplit(database_url)
    if parts.scheme in ("postgres", "postgresql"):
        return LoopPostgresEngine(config={"dsn": database_url.replace("postgresql://", "postgres://", 1)})
    raise ValueError(f"unsupported DATABASE_URL {database_url!r}")


class LoopPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine whose connection pool serves the event loop that started it.

    asyncpg's pool and its connections belong to one event loop. A server has one loop, so
    there this changes nothing. The API tests have two: the app (its lifespan and requests)
    runs on the test client's loop, the test body on its own; a query or transaction of the
    test body's opens a connection of its own, as without a pool, instead of taking one of the
    app's loop's pooled connections (which fails: "attached to a different loop")."""

    _own_pool: Any = None
    _pool_loop: asyncio.AbstractEventLoop | None = None

    @property  # type: ignore[override]
    def pool(self) -> Any:
        if self._own_pool is None:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return self._own_pool if loop is self._pool_loop else None

    @pool.setter
    def pool(self, value: Any) -> None:
        # Piccolo sets it: None in __init__, the new pool in start_connection_pool (on its loop).
        self._own_pool = value
        self._pool_loop = asyncio.get_running_loop() if value is not None else None

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _ReleasingTransaction(engine=self, allow_nested=allow_nested)


class _ReleasingTransaction(PostgresTransaction):
    """Piccolo's transaction, whose connection goes back whatever happens to its BEGIN,
    COMMIT or ROLLBACK. Piccolo's gives it back only after these succeed: a task cancelled
    a second time during its rollback (``backend.aio.cancel_and_wait`` cancels a stopping
    task again every second) kept its pooled connection, and the pool's close at shutdown
    waited for it for ever (an app's teardown hung in CI). asyncpg's release is shielded
    from cancels and rolls back what was left open."""

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            self.transaction = self.connection.transaction()
            await self.begin()
        except BaseException:
            await self._give_back()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            try:
                await self._give_back()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None

    async def _give_back(self) -> None:
        pool = self.engine.pool
        if pool is not None:
            await pool.release(self.connection)
            return
        try:
            await self.connection.close()
        except BaseException:
            self.connection.terminate()  # the server rolls back what it left open
            raise


async def close_pool(engine: Engine, timeout_s: float = 10.0) -> None:
    """Close ``engine``'s connection pool, waiting at most ``timeout_s`` for connections still
    lent out (as asyncpg advises: its close waits for every one of them); then they are cut."""
    try:
        async with asyncio.timeout(timeout_s):
            await engine.close_connection_pool()
    except TimeoutError:
        log.warning("the database pool still lent connections after %.0f s at shutdown; they were cut", timeout_s)
        if isinstance(engine, PostgresEngine):
            engine.pool = None  # asyncpg terminated it on the cancel


def current_engine() -> Engine:
    """The engine bound by :func:`use_database`."""
    if piccolo_conf.DB is None:
        raise RuntimeError("no database in use: call use_database() first")
    return piccolo_conf.DB


def use_database(engine: Engine) -> None:
    """Bind every table (ours and Piccolo's migration table) to ``engine``."""
    piccolo_conf.DB = engine
    for table in (*ALL_TABLES, Migration):
        table._meta.db = engine  # type: ignore[attr-defined]


async def migrate(quiet: bool = True) -> None:
    """Apply every pending migration; raises when one fails.

    One process at a time (a lock on the database): several processes started
    together on one database (``serve --workers N``, ``laadbak worker``) would
    otherwise run the same migration at once."""
    from backend.db.locks import exclusive

    out = io.StringIO()
    async with exclusive("migrate", 0, what="migration", timeout_s=600):
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


log = logging.getLogger("laadbak.db")
SLOW_WRITE_S = 0.1


def _caller() -> str:
    """The first frame outside this module and contextlib: who wrote."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in (__file__, contextlib.__file__):
        frame = frame.f_back
    return f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name}:{frame.f_lineno})" if frame else "?"


class WriterFigures:
    """How long this process's write transactions held the writer (SQLite): the longest
    hold and who held it, how many holds, how many over ``SLOW_WRITE_S``, the longest wait."""

    def __init__(self) -> None:
        self.holds = 0
        self.slow = 0
        self.longest_ms = 0.0
        self.longest_in = ""
        self.longest_wait_ms = 0.0

    def record(self, held_s: float, waited_s: float, caller: Callable[[], str]) -> None:
        self.holds += 1
        self.longest_wait_ms = max(self.longest_wait_ms, waited_s * 1000)
        if held_s > SLOW_WRITE_S:
            self.slow += 1
        if held_s * 1000 > self.longest_ms:
            self.longest_ms, self.longest_in = held_s * 1000, caller()

    def text(self) -> str:
        return (
            f"holds={self.holds} slow={self.slow} longest_hold_ms={self.longest_ms:.1f} "
            f"longest_wait_ms={self.longest_wait_ms:.1f} longest_in={self.longest_in or '-'}"
        )


WRITER_FIGURES = WriterFigures()

_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _WRITERS.get(loop)
    if lock is None:
        lock = _WRITERS[loop] = asyncio.Lock()
    return lock


# A statement of the writer's transaction runs at once on the event loop's thread, up to
# this much of it between two yields to the loop, and only with this many values or fewer
# (a bulk insert goes to the connection's thread).
INLINE_BUDGET_S = 0.005
INLINE_MAX_ARGS = 400


class _PooledConnection:
    """An aiosqlite connection whose ``close`` hands it back to the pool
    (Piccolo's transactions close the connection they were given); its reads try the
    loop's thread first (:func:`_read`)."""

    def __init__(self, engine: PooledSQLiteEngine, connection: aiosqlite.Connection) -> None:
        self._engine, self._connection = engine, connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> Any:
        return await _read(self._connection, sql, parameters or [])

    async def close(self) -> None:
        await self._engine._release(self._connection)


# A read (of up to INLINE_MAX_ARGS values) runs at once on the event loop's thread for up
# to this long; one that outgrows it is interrupted and runs again on its connection's thread.
READ_INLINE_BUDGET_S = 0.002
_NO_DEADLINE = float("inf")
_DEADLINE = "_laadbak_read_deadline"


def _watch(connection: aiosqlite.Connection) -> None:
    """Give ``connection`` a progress handler that interrupts a statement past its deadline
    (none but an inline read's has one)."""
    deadline = [_NO_DEADLINE]
    setattr(connection, _DEADLINE, deadline)
    connection._conn.set_progress_handler(lambda: time.perf_counter() > deadline[0], 1000)


async def _read(connection: aiosqlite.Connection, sql: str, args: Any) -> Any:
    """``sql``'s rows. Most reads are an indexed lookup of a fraction of a millisecond,
    where a round trip to the connection's thread waits for a turn of a busy event loop
    (twice: the statement, then its rows), and under `bench ws` that wait, not SQLite, was
    an action's tail. So the read runs here first; a big one (a desk's whole day) is
    interrupted at ``READ_INLINE_BUDGET_S`` and goes to the thread, a read having nothing
    to undo. Only a connection's owner calls this, so its thread is idle meanwhile."""
    deadline: list[float] | None = getattr(connection, _DEADLINE, None)
    if deadline is None or len(args) > INLINE_MAX_ARGS or not sql.lstrip()[:6].upper().startswith("SELECT"):
        return await connection.execute_fetchall(sql, args)
    deadline[0] = time.perf_counter() + READ_INLINE_BUDGET_S
    try:
        cursor = connection._conn.execute(sql, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()
    except sqlite3.OperationalError as exc:
        if str(exc) != "interrupted":
            raise
    finally:
        deadline[0] = _NO_DEADLINE
    return await connection.execute_fetchall(sql, args)


class _WriterConnection(_PooledConnection):
    """The writer's connection. Once its transaction holds SQLite's write lock (``BEGIN
    IMMEDIATE``, which may wait for another process and so goes to the connection's
    thread), its statements and the ``COMMIT`` run at once on the calling thread: each is
    a fraction of a millisecond in WAL mode, where a round trip to the connection's thread
    waits for a turn of a busy event loop every time, with every other writer queued
    behind (holds of 100-200 ms, waits of tens of seconds under `bench ws`). After
    ``INLINE_BUDGET_S`` of such work the transaction lets the loop run once."""

    inline = False
    _since_yield = 0.0

    async def execute(self, sql: str, parameters: Any = None) -> Any:
        if self.inline:
            await self._run_now(sql, parameters or [])
            return None
        return await self._connection.execute(sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> Any:
        args = parameters or []
        if self.inline and len(args) <= INLINE_MAX_ARGS:
            return await self._run_now(sql, args)
        return await self._connection.execute_fetchall(sql, args)

    async def _run_now(self, sql: str, args: Any) -> list[Any]:
        if self._since_yield >= INLINE_BUDGET_S:
            self._since_yield = 0.0
            await asyncio.sleep(0)  # the writer stays held; the sockets get a turn
        t0 = time.perf_counter()
        try:
            cursor = self._connection._conn.execute(sql, args)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            self._since_yield += time.perf_counter() - t0

    async def close(self) -> None:
        try:
            if self._connection.in_transaction:
                await self.execute("ROLLBACK")
        finally:
            self.inline = False


class _WriterTransaction(SQLiteTransaction):
    async def get_connection(self) -> Any:
        assert isinstance(self.engine, PooledSQLiteEngine)  # only that engine makes these
        return await self.engine.writer_connection()

    async def begin(self) -> None:
        await super().begin()  # in the connection's thread: it may wait for another process's writer
        self.connection.inline = True


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, with long-lived connections.

    Piccolo opens a connection (and its thread) for every query outside a
    transaction, and re-sends ``PRAGMA foreign_keys`` before every statement
    inside one; under a few hundred requests a second that setup, not the
    queries, is the work. Here connections are set up once and reused, each
    statement is one round trip to the connection's thread, and writes
    outside a transaction queue on the same writer lock as transactions and
    run on the writer's own connection.
    """

    POOL_SIZE = 6
    CHECKPOINT_EVERY_S = 2.0

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._idle: list[aiosqlite.Connection] = []
        # One writer connection per event loop: the writer lock is an asyncio lock of one
        # loop, so a second loop (the test body's, beside the app's) writing on the same
        # connection would interleave statements with the first ("cannot commit transaction
        # - SQL statements in progress"). Across connections SQLite's own lock serialises.
        self._writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiosqlite.Connection] = (
            weakref.WeakKeyDictionary()
        )
        self._autocheckpoint: dict[int, int] = {}
        self._checkpointer: asyncio.Task[None] | None = None
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _slot(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is None:
            slot = self._slots[loop] = asyncio.Semaphore(self.POOL_SIZE)
        return slot

    async def _open(self) -> aiosqlite.Connection:
        # The writer's statements may run on the loop's thread (_WriterConnection), the
        # others' on the connection's own: either way one at a time.
        connection = aiosqlite.connect(**self.connection_kwargs, check_same_thread=False)
        connection._thread.daemon = True  # an unclosed pool must not keep the process alive
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]  # Piccolo types it as a class
        _watch(connection)
        await connection.execute("PRAGMA foreign_keys = 1")
        # WAL with synchronous=NORMAL cannot corrupt the database; a power cut
        # may lose the last commits, a crash of the process cannot.
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    async def _acquire(self) -> aiosqlite.Connection:
        await self._slot().acquire()
        try:
            return self._idle.pop() if self._idle else await self._open()
        except BaseException:
            self._slot().release()
            raise

    async def _release(self, connection: aiosqlite.Connection) -> None:
        try:
            if connection.in_transaction:  # never hand on a half-finished transaction
                await connection.rollback()
            if len(self._idle) < self.POOL_SIZE:
                self._idle.append(connection)
            else:
                await connection.close()
        except Exception:  # noqa: BLE001 - a broken connection is dropped, not reused
            with contextlib.suppress(Exception):
                await connection.close()
        finally:
            self._slot().release()

    async def get_connection(self) -> Any:
        return _PooledConnection(self, await self._acquire())

    async def writer_connection(self) -> Any:
        # Writers have a connection of their own: one that queued behind a
        # crowd of readers for a pooled one would hold the writer lock all
        # that time, and every other writer with it.
        loop = asyncio.get_running_loop()
        writer = self._writers.get(loop)
        if writer is None:
            writer = self._writers[loop] = await self._open()
        autocheckpoint = 0 if self._checkpointer is not None else 1000
        if self._autocheckpoint.get(id(writer), 1000) != autocheckpoint:
            await writer.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
            self._autocheckpoint[id(writer)] = autocheckpoint
        return _WriterConnection(self, writer)

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        """IMMEDIATE transactions are writes, taken under the writer lock by
        :func:`transaction`: they run on the writer's connection."""
        kind = _WriterTransaction if transaction_type is TransactionType.immediate else SQLiteTransaction
        return kind(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def start_connection_pool(self, **_: Any) -> None:
        """Connections open on first use; this starts the checkpointer.

        SQLite copies the write-ahead log back into the database on the commit
        that crosses 1,000 pages, inside that writer's commit: half a second
        during which every writer waits. Here a background task does it,
        beside the writer rather than in its way.
        """
        if self._checkpointer is None:
            self._checkpointer = asyncio.create_task(self._checkpoints(), name="sqlite-checkpoint")

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(self.CHECKPOINT_EVERY_S)
            try:
                connection = await self._acquire()
                try:
                    # fetched, so that its statement ends: one left stepping kept the
                    # connection's read snapshot open (its next reads missed newer commits, its
                    # next checkpoint found the table locked)
                    await connection.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    await self._release(connection)
            except Exception:  # noqa: BLE001 - the next one catches up
                log.warning("WAL checkpoint failed", exc_info=True)

    async def close_connection_pool(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._checkpointer
            self._checkpointer = None
        idle, self._idle = self._idle, []
        idle.extend(self._writers.values())
        self._writers.clear()
        self._autocheckpoint.clear()
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        writes = query_type != "select" and not query.lstrip()[:6].upper().startswith(("SELECT", "PRAGMA"))
        if writes:
            async with _writer_lock():
                connection = await self.writer_connection()
                return await connection.execute_fetchall(query, args or [])
        connection = await self._acquire()
        try:
            return await _read(connection, query, args or [])
        finally:
            await self._release(connection)

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        return await connection.execute_fetchall(query, args or [])


# What waits for the outermost transaction() in progress to commit (None: in none).
_AFTER_COMMIT: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "after_commit", default=None
)


def after_commit(fn: Callable[[], None]) -> None:
    """Call ``fn`` once the transaction() in progress commits, never when it rolls back; at
    once outside one (a lone statement commits as it runs). For what must not see a change
    before others can read it (the outbox's listeners). ``fn`` should not raise: if it does,
    it is logged, the commit stands and the others still run."""
    pending = _AFTER_COMMIT.get()
    if pending is None:
        _call(fn)
    else:
        pending.append(fn)


def _call(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - the change is committed; a listener's fault cannot undo it
        log.exception("an after-commit call failed")


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A write transaction; nested calls join the outer one. What ``after_commit`` was
    given inside runs when the outermost one has committed (dropped on a rollback)."""
    if _AFTER_COMMIT.get() is not None:
        async with _transaction():
            yield
        return
    pending: list[Callable[[], None]] = []
    token = _AFTER_COMMIT.set(pending)
    try:
        async with _transaction():
            yield
    finally:
        _AFTER_COMMIT.reset(token)
    for fn in pending:  # reached only when the block ended without an exception: committed
        _call(fn)


@contextlib.asynccontextmanager
async def _transaction() -> AsyncIterator[None]:
    """On SQLite it is taken IMMEDIATE, so read-then-write cannot interleave, and
    writers of this process queue on an asyncio lock first: SQLite has one
    writer at a time, and waiting in its busy handler while holding the event
    loop's attention makes a convoy of "database is locked" errors.
    """
    engine = current_engine()
    if not isinstance(engine, SQLiteEngine):
        async with engine.transaction():
            yield
        return
    if engine.current_transaction.get() is not None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
        return
    lock = _writer_lock()
    t0 = time.monotonic()
    async with lock:
        t1 = time.monotonic()
        try:
            async with engine.transaction(transaction_type=TransactionType.immediate):
                yield
        finally:
            held = time.monotonic() - t1
            WRITER_FIGURES.record(held, t1 - t0, _caller)
            if held > SLOW_WRITE_S:  # every other writer of this process waited that long
                log.warning(
                    "a write transaction held the writer for %.0f ms (waited %.0f ms) in %s",
                    held * 1000,
                    (t1 - t0) * 1000,
                    _caller(),
                )


def reading():
    """A read-only snapshot on one connection (several queries, one connection)."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.deferred)
    return engine.transaction()
