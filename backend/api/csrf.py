"""Session cookies and the double-submit CSRF check for writes that ride on them.

At login the server sets two cookies: the HttpOnly session cookie and a
readable ``laadbak_csrf`` cookie holding a random value. A browser sends both
cookies with any request, even one a foreign page makes it send; only a script
of our own origin can read the CSRF cookie and copy it into the
``X-CSRF-Token`` header. So a write authenticated by the session cookie must
carry the header with the cookie's value, and must not come from a foreign
``Origin``. Bearer tokens are never sent by a browser on its own: exempt.
"""

from __future__ import annotations

import secrets

from litestar import Response
from litestar.connection import ASGIConnection

from backend.errors import Forbidden
from backend.settings import Settings

SESSION_COOKIE = "laadbak_session"
CSRF_COOKIE = "laadbak_csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def set_session_cookies(response: Response, token: str, settings: Settings) -> None:
    """The session cookie and its CSRF twin, Secure when the service is served over HTTPS."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        max_age=settings.token_ttl_s, secure=settings.secure_cookies)
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), httponly=False, samesite="strict", path="/",
                        max_age=settings.token_ttl_s, secure=settings.secure_cookies)


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def refuse_forged_write(connection: ASGIConnection) -> None:
    """Raise Forbidden for a cookie-authenticated write that a foreign page could have made."""
    if connection.scope["type"] != "http" or connection.scope["method"] not in UNSAFE_METHODS:
        return
    if connection.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if not connection.cookies.get(SESSION_COOKIE):
        return
    origin = connection.headers.get("origin")
    allowed = connection.app.state.settings.public_origins
    if origin is not None and origin not in allowed:
        raise Forbidden(f"This write comes from the page of {origin}, which may not act with your session; "
                        f"use the app at {' or '.join(allowed) or 'the service itself'}.")
    expected = connection.cookies.get(CSRF_COOKIE) or ""
    sent = connection.headers.get(CSRF_HEADER) or ""
    if not expected or not secrets.compare_digest(expected.encode(), sent.encode()):
        raise Forbidden("A write with the session cookie must send the value of the laadbak_csrf cookie "
                        "in the X-CSRF-Token header (or use 'Authorization: Bearer'); log in again if "
                        "the cookie is missing.")
