"""Shared fixtures: the map (built once), and a database per backend.

Every API test runs on SQLite, and on PostgreSQL wherever it answers. With
CI=true an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from backend.settings import DEFAULT_MAP, REPO_ROOT, Settings, load_settings

POSTGRES_URL = os.environ.get("LAADBAK_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_answers() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    import asyncpg

    async def probe() -> None:
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


@pytest.fixture(scope="session")
def geo():
    from backend.services.geo import Geo

    # The repo's own cache dir: built once per checkout, keyed by the map's hash.
    return Geo.load(DEFAULT_MAP, REPO_ROOT / "var" / "cache")


async def _reset_postgres(url: str, first: bool) -> None:
    import asyncpg

    from backend.db.tables import ALL_TABLES

    conn = await asyncpg.connect(url)
    try:
        if first:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        else:
            names = ", ".join(f'"{t._meta.tablename}"' for t in ALL_TABLES)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


_PG_FRESH: list[bool] = []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    base = load_settings(
        {
            "LAADBAK_VAR_DIR": str(tmp_path / "var"),
            "LAADBAK_SECRET_KEY": "test-key",
            "LAADBAK_PLAN_TIME_LIMIT": "2",
            "LAADBAK_SOLVER_WORKERS": "1",
        }
    )
    if request.param == "sqlite":
        return msgspec.structs.replace(base, database_url=f"sqlite:///{tmp_path / 'test.sqlite'}")
    reason = postgres_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_URL} does not answer: {reason}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} does not answer: {reason}")
    asyncio.run(_reset_postgres(POSTGRES_URL, first=not _PG_FRESH))
    _PG_FRESH.append(True)
    return msgspec.structs.replace(base, database_url=POSTGRES_URL, db_pool=False)


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
