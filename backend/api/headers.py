"""Security headers on every response, set in one place (a before-send hook).

The apps (landing page, courier app, tracking page) load nothing but their own
files and run no inline script or style, so one strict policy fits them all.
The OpenAPI pages Litestar renders (/schema/...) embed inline scripts and load
their UI from a CDN: each rendered page gets a policy of its own that names the
hashes of exactly the inline scripts it carries and the hosts it loads from.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.openapi import OpenAPIConfig
from litestar.types import Message, Scope

APP_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    # The tracking page carries its token in the path: no Referer may leak it.
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    # The courier app locates the bike and scans barcodes with the camera.
    "permissions-policy": "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()",
}

# Where a rendered OpenAPI page leaves its policy for the hook (an ASGI scope extension key).
_DOCS_CSP = "laadbak.docs_csp"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_URL = re.compile(rb"""(?:src|href)\s*=\s*["'](https://[^"']+)["']""", re.I)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Before-send hook: every HTTP answer leaves with the headers (404s and errors too)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["content-security-policy"] = scope.get(_DOCS_CSP, APP_CSP)  # type: ignore[call-overload]
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value


def docs_csp(page: bytes) -> str:
    """The policy an OpenAPI UI page needs: its inline scripts by hash, its CDN hosts by name."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    hosts = " ".join(sorted({f"https://{urlsplit(url.decode()).netloc}" for url in _URL.findall(page)}))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {hashes} {hosts}".strip(),
        # The UIs inject <style> elements as they render (CSS-in-JS).
        f"style-src 'self' 'unsafe-inline' {hosts}".strip(),
        f"img-src 'self' data: {hosts}".strip(),
        f"font-src 'self' data: {hosts} https://fonts.gstatic.com".strip(),
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ])


def with_docs_csp(config: OpenAPIConfig) -> OpenAPIConfig:
    """Make every OpenAPI UI page leave with the policy its own HTML needs."""
    for plugin in config.render_plugins:
        if plugin.media_type != "text/html":
            continue
        render = plugin.render

        def render_with_csp(request: Any, schema: dict[str, Any], render: Any = render) -> bytes:
            page: bytes = render(request, schema)
            request.scope[_DOCS_CSP] = docs_csp(page)
            return page

        plugin.render = render_with_csp  # type: ignore[method-assign]
    return config
