"""HTTP clients for the harness: log in, then act with a bearer token and an Idempotency-Key.

:class:`ApiClient` speaks just enough HTTP/1.1 for many simulated phones in one
process: one short-lived connection per request. httpx's connection pool costs
the client process more CPU than the server spends at a few thousand waiting
requests (its queue scan is quadratic), and a bench would measure its own
client. The plain functions at the end are for tests and one-off calls (httpx).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx

# What a request that never got its answer raises here: refused, cut, timed out, garbled.
TRANSPORT_ERRORS = (OSError, TimeoutError, ValueError, IndexError)


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header of a token (none without one); never put tokens in URLs."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def idempotency_key() -> str:
    """A new key for one action; a retry of the same action sends the same key again."""
    return str(uuid.uuid4())


def problem_text(body: Any) -> str:
    """The sentence of a problem-details answer (or whatever came), for a report."""
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


class ApiClient:
    """One user's client: ``post``/``get`` raw, ``send`` with retries, ``login`` for a token."""

    def __init__(self, base: str, token: str | None = None, timeout: float = 60.0) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token, self.timeout = token, timeout
        self.login_ms: float | None = None  # how long the successful login took

    def _head(self, method: str, path: str, headers: dict[str, str] | None) -> list[str]:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close"]
        return head + [f"{k}: {v}" for k, v in {**bearer(self.token), **(headers or {})}.items()]

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One POST; transport errors raise."""
        data = json.dumps(body).encode()
        head = self._head(
            "POST",
            path,
            {
                "Content-Type": "application/json",
                "Content-Length": str(len(data)),
                **(headers or {}),
            },
        )
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + data
        return await asyncio.wait_for(self._exchange(request), self.timeout)

    async def get(self, path: str) -> tuple[int, Any]:
        """One GET; transport errors raise."""
        request = ("\r\n".join(self._head("GET", path, None)) + "\r\n\r\n").encode()
        return await asyncio.wait_for(self._exchange(request), self.timeout)

    async def send(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotent: bool = False,
        retries: int = 0,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        """A POST that answers ``(0, {"detail": ...})`` when the transport fails ``retries + 1``
        times; ``idempotent`` sends one Idempotency-Key, the same on every retry, so a request
        that reached the server is applied once."""
        extra = {"Idempotency-Key": idempotency_key()} if idempotent else None
        for attempt in range(retries + 1):
            try:
                return await asyncio.wait_for(self.post(path, body, extra), timeout or self.timeout)
            except TRANSPORT_ERRORS as exc:  # a transport failure is a result too
                if attempt == retries:
                    return 0, {"detail": f"{type(exc).__name__}: {exc}"}
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def login(self, username: str, password: str, tries: int = 5) -> tuple[int, Any]:
        """Log in (a few tries, backing off: a busy server may refuse a moment); on success the
        token is this client's from now on. Answers the last status and body."""
        status, body = 0, None
        for attempt in range(tries):
            t = time.monotonic()
            status, body = await self.send("/auth/login", {"username": username, "password": password})
            if status == 200:
                self.token = body["token"]
                self.login_ms = (time.monotonic() - t) * 1000
                return status, body
            await asyncio.sleep(0.5 * (attempt + 1))
        return status, body

    async def _exchange(self, request: bytes) -> tuple[int, Any]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(request)
            raw = await reader.read()
        finally:
            writer.close()
        head, _, payload = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in lines[1:]):
            payload = _unchunk(payload)
        return status, (json.loads(payload) if payload else None)


def _unchunk(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while True:
        j = data.index(b"\r\n", i)
        size = int(data[i:j].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[j + 2 : j + 2 + size]
        i = j + 2 + size + 2


# --- one-off calls (tests, fixtures) ------------------------------------------------------


def login(base: str, username: str, password: str) -> str:
    """Log in and answer the bearer token; raises on a refusal."""
    r = httpx.post(base + "/auth/login", json={"username": username, "password": password})
    r.raise_for_status()
    return str(r.json()["token"])


def act(
    base: str, token: str, stop_id: int, action: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    """A courier's action on a stop (arrive, deliver, fail, collect) with an Idempotency-Key."""
    return httpx.post(
        f"{base}/courier/stops/{stop_id}/{action}",
        json=body,
        headers={**bearer(token), "Idempotency-Key": key or idempotency_key()},
    )
