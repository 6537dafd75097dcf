"""Cross-site request forgery: a page on another site can make the browser send
the session cookie, but it cannot read our cookies nor set custom headers
without our consent. So a write authenticated by the session cookie must carry
the CSRF token (the ``laadbak_csrf`` cookie, which only our pages can read) in
the ``X-CSRF-Token`` header — the double-submit pattern — and must not come
from a foreign Origin.

The token is derived from the session (an HMAC), so it needs no storage and a
session always has one. Bearer-token requests are exempt: browsers never add
an Authorization header on their own. Routes without guards (login, the
customer's tracking link) do not act on the session and are exempt too.
"""

from __future__ import annotations

import hashlib
import hmac

from litestar import Request, Response

from backend.errors import Forbidden

SESSION_COOKIE = "laadbak_session"
CSRF_COOKIE = "laadbak_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def csrf_token(session_token: str, secret: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:32]


def set_session_cookies(response: Response, token: str, *, secret: str, max_age: int, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/", max_age=max_age, secure=secure)
    # Readable by our own pages' scripts, which echo it in X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(token, secret),
        httponly=False,
        samesite="strict",
        path="/",
        max_age=max_age,
        secure=secure,
    )


def delete_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS or not request.route_handler.resolve_guards():
        return
    session = request.cookies.get(SESSION_COOKIE)
    if not session or request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    settings = request.app.state.settings
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in settings.public_origins:
        raise Forbidden(f"Changes come from this service's own pages only, not from {origin[:100]}.")
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given, csrf_token(session, settings.secret_key)):
        raise Forbidden(
            "This change needs the X-CSRF-Token header (the laadbak_csrf cookie's value); "
            "reload the page, or log in again.",
            code="csrf",
        )
