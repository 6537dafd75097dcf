"""One exception mapper: every error leaves as RFC 9457 problem details."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from backend.errors import LaadbakError

log = logging.getLogger("laadbak.api")
PROBLEM_JSON = "application/problem+json"


def problem(request: Request, status: int, title: str, detail: str, *, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def on_domain_error(request: Request, exc: LaadbakError) -> Response:
    return problem(request, exc.status, exc.title, exc.detail, headers=exc.headers, **exc.extra)


def on_validation_error(request: Request, exc: ValidationException) -> Response:
    errors = exc.extra if isinstance(exc.extra, list) else []
    # msgspec's messages already name the field ("... - at `$.window.end`").
    messages = [
        f"{e['key']}: {e.get('message', '')}" if e.get("key") and e["key"] not in e.get("message", "")
        else e.get("message", "")
        for e in errors if isinstance(e, dict)
    ]
    detail = "; ".join(m for m in messages if m) or str(exc.detail)
    return problem(request, 400, "Invalid request", detail, errors=errors)


def on_http_error(request: Request, exc: HTTPException) -> Response:
    extra = {"errors": exc.extra} if exc.extra else {}
    title = {401: "Not logged in", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
             413: "Too large"}.get(exc.status_code, "Error")
    return problem(request, exc.status_code, title, str(exc.detail), **extra)


def on_msgspec_error(request: Request, exc: msgspec.ValidationError | msgspec.DecodeError) -> Response:
    return problem(request, 400, "Invalid request", str(exc))


def on_integrity_error(request: Request, exc: Exception) -> Response:
    """The database refused a write that a check before it should have caught
    (two requests racing for the same unique name, say): a conflict, not a fault."""
    log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return problem(request, 409, "Conflict",
                   "That conflicts with what is stored already (a name or number that must be unique, or a "
                   "reference that no longer exists); reload and try again with another value.")


def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(request, 500, "Internal error",
                   "Something went wrong on our side; it has been logged. Please try again.")


EXCEPTION_HANDLERS = {
    LaadbakError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    msgspec.ValidationError: on_msgspec_error,
    msgspec.DecodeError: on_msgspec_error,
    sqlite3.IntegrityError: on_integrity_error,
    asyncpg.exceptions.IntegrityConstraintViolationError: on_integrity_error,
    Exception: on_unexpected,
}
