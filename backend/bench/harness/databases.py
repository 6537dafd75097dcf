"""Throw-away PostgreSQL databases for benches and live tests that run several processes
on one database: made beside the one a URL names, dropped afterwards."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


async def create_pg_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; returns its URL."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def drop_pg_database(url: str, name: str) -> None:
    """Drop database ``name`` on the server of ``url`` (its connections are ended)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
