"""One exception mapper: every error leaves as RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
import sqlite3
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from backend.errors import LaadbakError

log = logging.getLogger("laadbak.api")
PROBLEM_JSON = "application/problem+json"


def problem(
    request: Request, status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def on_domain_error(request: Request, exc: LaadbakError) -> Response:
    return problem(request, exc.status, exc.title, exc.detail, headers=exc.headers, **exc.extra)


def _as_spelled(request: Request, key: str) -> str:
    """The API's name of a parameter (hubId) for Litestar's Python name (hub_id)."""
    try:
        field = request.route_handler.parsed_fn_signature.parameters.get(key)
    except AttributeError:
        return key
    definition = getattr(field, "kwarg_definition", None)
    for alias in ("name", "query", "header", "cookie"):
        if name := getattr(definition, alias, None):
            return str(name)
    return key


def _validation(request: Request, exc: ValidationException) -> tuple[str, list[Any]]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {**e, "key": _as_spelled(request, e["key"])} if isinstance(e, dict) and e.get("key") else e for e in errors
    ]
    # msgspec's messages already name the field ("... - at `$.window.end`").
    messages = [
        f"{e['key']}: {e.get('message', '')}"
        if e.get("key") and e["key"] not in e.get("message", "")
        else e.get("message", "")
        for e in errors
        if isinstance(e, dict)
    ]
    return "; ".join(m for m in messages if m) or str(exc.detail), errors


def on_validation_error(request: Request, exc: ValidationException) -> Response:
    detail, errors = _validation(request, exc)
    return problem(request, 400, "Invalid request", detail, errors=errors)


_AT = re.compile(r"at `\$\.([^`]+)`")


def on_bad_table_entry(request: Request, exc: ValidationException | msgspec.ValidationError) -> Response:
    """For bodies that are tables of data (a hub's returns settings): an entry the schema
    refuses (a grade that does not exist, a percentage above 100) is a 422 naming its ``field``;
    a body that is not JSON at all stays a 400."""
    detail, errors = _validation(request, exc) if isinstance(exc, ValidationException) else (str(exc), [])
    if detail.startswith("JSON is malformed"):
        return (
            on_validation_error(request, exc)
            if isinstance(exc, ValidationException)
            else on_msgspec_error(request, exc)
        )
    found = _AT.search(detail)
    field: dict[str, Any] = {"field": found.group(1)} if found else {}
    return problem(request, 422, "Invalid input", f"Nothing was stored. {detail}", errors=errors, **field)


# Litestar's own wording ("Error", "Method Not Allowed", "Request Entity Too
# Large") names the status, not what to do: each gets a title and a sentence.
TITLES = {
    400: "Invalid request",
    401: "Not logged in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Too large",
    415: "Unsupported media type",
    429: "Too many requests",
}


def _sentence(request: Request, exc: HTTPException) -> str:
    detail = str(exc.detail)
    status = exc.status_code
    if status == 405:
        allow = (exc.headers or {}).get("allow") or (exc.headers or {}).get("Allow") or ""
        return f"{request.method} is not allowed on {request.url.path}" + (
            f"; use {allow.replace(', ', ' or ')}." if allow else "."
        )
    if status == 404 and (detail == "Not Found" or "no file or directory" in detail):
        return f"There is nothing at {request.url.path}; check the address against /schema."
    if status == 413:
        return "The body is larger than this endpoint accepts; send a smaller one (photos up to 5 MB)."
    if status == 400 and detail.startswith("JSON is malformed"):
        return f"The body is not valid JSON ({detail.removeprefix('JSON is malformed: ')}); send a JSON object."
    if detail == HTTPStatus(status).phrase:
        return f"{detail}: the request cannot be served as sent; see /schema for what this endpoint accepts."
    return detail


def on_http_error(request: Request, exc: HTTPException) -> Response:
    extra = {"errors": exc.extra} if exc.extra else {}
    title = TITLES.get(exc.status_code, HTTPStatus(exc.status_code).phrase)
    # Litestar's headers (Allow on a 405, Retry-After) go out with the problem.
    return problem(request, exc.status_code, title, _sentence(request, exc), headers=exc.headers, **extra)


def on_msgspec_error(request: Request, exc: msgspec.ValidationError | msgspec.DecodeError) -> Response:
    return problem(request, 400, "Invalid request", str(exc))


def on_integrity_error(request: Request, exc: Exception) -> Response:
    """The database refused a write that a check before it should have caught
    (two requests racing for the same unique name, say): a conflict, not a fault."""
    log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        request,
        409,
        "Conflict",
        "That conflicts with what is stored already (a name or number that must be unique, or a "
        "reference that no longer exists); reload and try again with another value.",
    )


def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        request, 500, "Internal error", "Something went wrong on our side; it has been logged. Please try again."
    )


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
