"""Errors the domain raises; the API maps each to one problem-details answer."""

from __future__ import annotations

from typing import Any


class LaadbakError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(LaadbakError):
    status = 422
    title = "Invalid input"


class NotFound(LaadbakError):
    status = 404
    title = "Not found"


class Conflict(LaadbakError):
    status = 409
    title = "Conflict"


class Stale(Conflict):
    """What a change was worked out from changed before it was written: the
    write is refused whole, and the caller works it out again from a fresh read."""


class Forbidden(LaadbakError):
    status = 403
    title = "Forbidden"


class Unauthorized(LaadbakError):
    status = 401
    title = "Not logged in"
