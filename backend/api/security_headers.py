"""Security headers on every response, in one middleware.

The apps load scripts and styles from this origin only, so the policy allows
no inline script. The OpenAPI pages under /schema are Litestar's own HTML with
an inline script (the document itself) and the UI vendored under /vendor: their
policy names that script by its hash, computed on the response, and this origin,
and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from typing import cast

from litestar.types import ASGIApp, Message, Receive, Scope, Send

APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'; worker-src 'self'; manifest-src 'self'"
)
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Tracking links carry their token in the path: never hand it to another site.
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"geolocation=(self), camera=(self), microphone=(), payment=(), usb=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_policy(html: bytes) -> str:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in _INLINE_SCRIPT.findall(html)
    )
    # ReDoc and Swagger UI set styles inline (a <style> in Litestar's page, and at run time);
    # ReDoc runs its search index in a worker it starts from a blob: URL.
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "font-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'none'"
    )


def security_headers(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if scope["path"].startswith("/schema"):
            await _docs(app, scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *COMMON,
                    (b"content-security-policy", APP_POLICY.encode()),
                ]
            await send(message)

        await app(scope, receive, with_headers)

    return middleware


async def _docs(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Buffer the (small, rarely read) documentation pages to hash their inline scripts."""
    start: Message | None = None
    body = bytearray()

    async def buffered(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            headers = [
                (k, v)
                for k, v in cast(Iterable[tuple[bytes, bytes]], start.get("headers", []))
                if k.lower() != b"content-length"
            ]
            headers += [
                *COMMON,
                (b"content-security-policy", docs_policy(bytes(body)).encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            await send(cast(Message, {**start, "headers": headers}))
            await send(cast(Message, {"type": "http.response.body", "body": bytes(body)}))
            return
        await send(message)

    await app(scope, receive, buffered)
