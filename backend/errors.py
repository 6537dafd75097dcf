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

    @property
    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(LaadbakError):
    status = 400
    title = "Invalid request"


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


class TooLarge(LaadbakError):
    status = 413
    title = "Too large"


class UnsupportedMediaType(LaadbakError):
    status = 415
    title = "Unsupported media type"


class TooManyRequests(LaadbakError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, retryAfterS=retry_after_s)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}
