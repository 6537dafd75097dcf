"""An optional Idempotency-Key, and the answer of a request applied once
(``backend/services/idempotency.py``) as a response."""

from __future__ import annotations

from typing import Any, Protocol

from litestar import Request, Response

from backend.api.errors import PROBLEM_JSON
from backend.errors import Invalid


class Answered(Protocol):
    """A request's answer as applied once: the stored answer (services/idempotency.py) or a
    pick event's outcome (services/warehouse_picking.py)."""

    @property
    def status(self) -> int: ...
    @property
    def body(self) -> dict[str, Any]: ...
    @property
    def replayed(self) -> bool: ...


def optional_key(request: Request[Any, Any, Any]) -> str | None:
    """The request's Idempotency-Key; None when it sends none."""
    key = request.headers.get("idempotency-key", "").strip()
    if len(key) > 80:
        raise Invalid("The Idempotency-Key is too long; send a UUID (at most 80 characters).")
    return key or None


def respond(request: Request[Any, Any, Any], answer: Answered) -> Response[Any]:
    """The stored or fresh answer; a replay says so (Idempotent-Replayed)."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    if answer.status == 429 and "retryAfterS" in answer.body:  # TooManyRequests' header, kept in its body
        headers["Retry-After"] = str(answer.body["retryAfterS"])
    if answer.status >= 400:
        problem = {"type": "about:blank", "instance": request.url.path, **answer.body}
        return Response(problem, status_code=answer.status, media_type=PROBLEM_JSON, headers=headers)
    return Response(answer.body, status_code=answer.status, headers=headers)
