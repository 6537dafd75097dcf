"""Shared fixtures: the suite's clock, the map (built once), and a database per backend.

Every API test runs on SQLite, and on PostgreSQL wherever it answers. With
CI=true an unreachable PostgreSQL fails the run instead of skipping.

The whole suite runs on one clock, whatever the hour it is started: the
Wednesday of this week at 09:30, ticking at real speed (``LAADBAK_TEST_CLOCK``
takes ``real`` or another ``HH:MM``). The test process, every server and
solver process it starts (a ``sitecustomize``) and every Chromium context (its
Playwright clock) share it, so a day seeded "from now" never runs past
midnight and a late-evening run tests what a morning run does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec
import pytest

from backend.settings import DEFAULT_MAP, REPO_ROOT, Settings, load_settings

T = TypeVar("T")

# Under pytest-xdist (``make test`` runs ``-n 2``) each worker ("gw0", "gw1", ...) is a process
# of its own; None in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def worker_database_url(url: str, worker: str | None) -> str:
    """The database a worker empties and fills: ``test`` becomes ``test_gw0`` (made on first
    use), as two workers on one database would empty each other's tables mid-test."""
    if not worker:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/') or '/postgres'}_{worker}"))


BASE_POSTGRES_URL = os.environ.get("LAADBAK_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
POSTGRES_URL = worker_database_url(BASE_POSTGRES_URL, WORKER)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def suite_clock_offset(choice: str, now: dt.datetime) -> float:
    """Seconds from the real clock to the suite's: ``real``, or ``HH:MM`` on this week's Wednesday
    (a fixed weekday: shops keep weekday hours, and no run starts on a Sunday)."""
    if choice == "real":
        return 0.0
    try:
        at = dt.datetime.strptime(choice, "%H:%M").time()
    except ValueError:
        raise pytest.UsageError(f"LAADBAK_TEST_CLOCK takes real or HH:MM, not {choice!r}") from None
    wednesday = now.date() + dt.timedelta(days=2 - now.weekday())
    return (dt.datetime.combine(wednesday, at) - now).total_seconds()


def pytest_configure(config: pytest.Config) -> None:
    from backend.shifted_clock import CLOCK_ENV, clock_env, start_shift

    if CLOCK_ENV in os.environ:  # a child of a shifted run (e.g. a bench's server): already moved
        return
    offset = suite_clock_offset(os.environ.get("LAADBAK_TEST_CLOCK", "09:30"), dt.datetime.now())
    os.environ.update(clock_env(offset, Path(tempfile.mkdtemp(prefix="laadbak-clock-"))))
    start_shift(offset)
    # Servers the tests start release no wave on their own: their tests release waves by hand
    # (tests/api/test_wave_release.py ticks the releaser itself).
    os.environ.setdefault("LAADBAK_WAVE_RELEASE_EVERY_S", "0")
    os.environ.setdefault("LAADBAK_WARM_SOLVERS", "0")


# The order files are handed to the workers in: those that start servers and browsers (and
# the contract fuzzer, the longest file) first, the many short ones last to even out the end.
# A plain run keeps the collection order.
_HEAVY_FIRST = ("tests/live/test_api_contract.py", "tests/live/", "tests/browser/", "tests/api/")


def _heaviness(item: pytest.Item) -> int:
    path = item.nodeid
    return next((rank for rank, prefix in enumerate(_HEAVY_FIRST) if path.startswith(prefix)), len(_HEAVY_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if WORKER:
        items.sort(key=_heaviness)  # stable: a file's tests stay together and in order


@contextlib.contextmanager
def run_lock(factory: pytest.TempPathFactory, name: str) -> Iterator[None]:
    """One worker at a time in the block, across the run's workers (a no-op in a plain run);
    the lock file lies in the folder that holds the workers' temporary folders."""
    if not WORKER:
        yield
        return
    with (factory.getbasetemp().parent / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def made_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], T]) -> T:
    """``make(folder)`` once per run however many workers ask: under pytest-xdist the first
    makes it in a folder beside the workers' own and leaves its JSON answer there; the others
    wait for it and read that. Seeding and planning a day costs a worker seconds of CPU."""
    if not WORKER:
        return make(factory.mktemp(name))
    folder = factory.getbasetemp().parent / f"made-once-{name}"
    with run_lock(factory, name):
        answer = folder / "answer.json"
        if answer.exists():
            return json.loads(answer.read_text())
        folder.mkdir(exist_ok=True)
        made = make(folder)
        answer.write_text(json.dumps(made))
        return made


def _postgres_answers() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    import asyncpg

    async def probe() -> None:
        try:
            conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        except asyncpg.InvalidCatalogNameError:
            if POSTGRES_URL == BASE_POSTGRES_URL:
                raise
            # A worker's own database, made beside the one the run was given.
            base = await asyncpg.connect(BASE_POSTGRES_URL, timeout=3)
            try:
                await base.execute(f'CREATE DATABASE "{urlsplit(POSTGRES_URL).path.lstrip("/")}"')
            finally:
                await base.close()
            conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"{type(exc).__name__}: {exc}"


_PG_REASON: list[str | None] = []


def postgres_unavailable() -> str | None:
    if not _PG_REASON:
        _PG_REASON.append(_postgres_answers())
    return _PG_REASON[0]


def need_postgres() -> None:
    """Skip the test when PostgreSQL does not answer (fail it under CI)."""
    reason = postgres_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_URL} does not answer: {reason}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} does not answer: {reason}")


@pytest.fixture(scope="session")
def geo(tmp_path_factory: pytest.TempPathFactory):
    from backend.services.geo import Geo

    # The repo's own cache dir: built once per checkout, keyed by the map's hash (by one
    # worker of a fresh checkout; the other waits and reads it).
    with run_lock(tmp_path_factory, "geo-cache"):
        return Geo.load(DEFAULT_MAP, REPO_ROOT / "var" / "cache")


# What ``TRUNCATE <tables> RESTART IDENTITY CASCADE`` empties: the tables, those that
# refer to them (transitively), and the sequences owned by their columns (restarted).
_DOOMED_TABLES = """
WITH RECURSIVE doomed(oid) AS (
    SELECT to_regclass(name)::oid FROM unnest($1::text[]) AS name
    UNION
    SELECT c.conrelid FROM pg_constraint c JOIN doomed d ON c.confrelid = d.oid WHERE c.contype = 'f'
)
SELECT oid::regclass::text FROM doomed WHERE oid IS NOT NULL
"""
_RESTART_OWNED_SEQUENCES = """
SELECT setval(s.oid, q.seqstart, false) FROM pg_class s
JOIN pg_sequence q ON q.seqrelid = s.oid
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
    AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
WHERE s.relkind = 'S' AND d.refobjid = ANY($1::regclass[])
"""


# a test's reset waits on a lock only behind a connection some earlier test left in a
# transaction: it fails after this long, naming that connection, rather than hanging the run
RESET_LOCK_TIMEOUT_S = 60
_OTHER_BACKENDS = """
SELECT pid, state, xact_start, left(query, 200) AS query FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


async def _reset_postgres(url: str, first: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    await conn.execute(f"SET lock_timeout = '{RESET_LOCK_TIMEOUT_S}s'")
    try:
        await _reset_tables(conn, first)
    except asyncpg.LockNotAvailableError as exc:
        holders = await conn.fetch(_OTHER_BACKENDS)
        raise RuntimeError(f"resetting {url} waited on a lock for {RESET_LOCK_TIMEOUT_S} s: held by {holders}") from exc
    finally:
        await conn.close()


async def _reset_tables(conn: Any, first: bool) -> None:
    import asyncpg

    from backend.db.tables import ALL_TABLES

    if first:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        return
    names = [f'"{t._meta.tablename}"' for t in ALL_TABLES]
    try:
        # The same emptied tables and restarted sequences as TRUNCATE ... RESTART IDENTITY
        # CASCADE, by DELETE: TRUNCATE makes new files for every table (about a second
        # per test for 20-odd tables), DELETE of a test's few rows takes milliseconds.
        # With the foreign-key triggers off (replica role) the order does not matter.
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            tables = [r[0] for r in await conn.fetch(_DOOMED_TABLES, names)]
            if tables:  # none yet (the schema was just made anew): asyncpg fails on an empty query
                await conn.execute(";".join(f"DELETE FROM {t}" for t in tables))
                await conn.execute(_RESTART_OWNED_SEQUENCES, tables)  # as RESTART IDENTITY: from their start
    except asyncpg.InsufficientPrivilegeError:  # the replica role needs a superuser
        await conn.execute(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")


_PG_FRESH: list[bool] = []


async def _migrate_sqlite(path: Path) -> None:
    from backend.db.engine import make_engine, migrate, use_database

    engine = make_engine(f"sqlite:///{path}")
    use_database(engine)
    await migrate()
    await engine.close_connection_pool()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with every migration applied, made once: each test gets a
    copy (its app's migrate() then finds nothing to do). Migrating a new file took ~2 s per
    test, mostly waiting on fsync of each migration's commit."""
    from tests.live.server import copy_database

    def make(folder: Path) -> str:
        built = folder / "migrated.sqlite"
        asyncio.run(_migrate_sqlite(built))
        # One file, no WAL beside it: what a copy of it starts from.
        copy_database(built, folder / "template.sqlite")
        return str(folder / "template.sqlite")

    return Path(made_once(tmp_path_factory, "sqlite-template", make))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    base = load_settings(
        {
            "LAADBAK_VAR_DIR": str(tmp_path / "var"),
            "LAADBAK_SECRET_KEY": "test-key",
            "LAADBAK_PLAN_TIME_LIMIT": "2",
            "LAADBAK_SOLVER_WORKERS": "1",
            "LAADBAK_WAVE_RELEASE_EVERY_S": "0",  # tests release waves themselves (or tick the releaser)
            "LAADBAK_WARM_SOLVERS": "0",  # most test apps never solve
        }
    )
    if request.param == "sqlite":
        from tests.live.server import copy_database

        copy_database(request.getfixturevalue("migrated_sqlite"), tmp_path / "test.sqlite")
        return msgspec.structs.replace(base, database_url=f"sqlite:///{tmp_path / 'test.sqlite'}")
    need_postgres()
    asyncio.run(_reset_postgres(POSTGRES_URL, first=not _PG_FRESH))
    _PG_FRESH.append(True)
    # The app pools its connections as a server does. Its lifespan and requests run on the test
    # client's event loop, the test body on another; asyncpg's pool belongs to one loop, so the
    # engine lends it only to the loop that started it (backend/db/engine.py LoopPostgresEngine)
    # and the test body's queries open connections of their own. Each xdist worker has a
    # database of its own (POSTGRES_URL), so no two workers' pools share one.
    return msgspec.structs.replace(base, database_url=POSTGRES_URL)


@pytest.fixture
async def client(settings: Settings, geo) -> AsyncIterator:
    from litestar.testing import AsyncTestClient

    from backend.app import create_app

    app = create_app(settings, geo=geo)
    async with AsyncTestClient(app) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
