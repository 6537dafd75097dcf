"""Redis for the tests that need it: skipped where it does not answer, except
with CI=true, where a missing Redis fails the run."""

from __future__ import annotations

import os

import pytest

from tests.conftest import IN_CI

REDIS_URL = os.environ.get("LAADBAK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def redis_reason(url: str = REDIS_URL) -> str | None:
    """None when Redis answers at ``url``, else the reason."""
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()


async def redis_or_skip(url: str = REDIS_URL) -> str:
    """``url`` when Redis answers there; else skip the test (fail it under CI)."""
    reason = await redis_reason(url)
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {url} does not answer: {reason}")
        pytest.skip(f"Redis at {url} does not answer: {reason}")
    return url
