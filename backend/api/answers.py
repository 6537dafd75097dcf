"""The Idempotency-Key (required or optional), a write applied once under it
(``backend/services/idempotency.py``), and its answer as a response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
from litestar import Request, Response

from backend.api.auth import check_hub
from backend.api.errors import PROBLEM_JSON
from backend.errors import Invalid
from backend.services.idempotency import fingerprint, once
from backend.services.sessions import Principal

Work = Callable[[], Awaitable[Any]]


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


async def idempotent(
    request: Request[Any, Any, Any],
    user: Principal,
    status: int,
    action: Work | None = None,
    content: bytes | None = None,
    prepare: Callable[[], Awaitable[Work]] | None = None,
) -> Response[Any]:
    """Apply the request once per Idempotency-Key; a replay gets the stored answer.

    ``content`` stands in for the body where it was consumed by form parsing.
    """
    key = request.headers.get("idempotency-key", "").strip()
    if not key or len(key) > 80:
        raise Invalid("Send an Idempotency-Key header (a new UUID per action, the same one on a retry).")
    body = content if content is not None else await request.body()
    answer = await once(
        user.id, key, fingerprint(request.method, request.url.path, body), status, action, prepare=prepare
    )
    return respond(request, answer)


async def hub_write(
    request: Request[Any, Any, Any], user: Principal, hub_id: int, status: int, work: Work
) -> Response[Any]:
    """A write to ``hub_id`` by one who may act on that hub (``check_hub``), applied once per
    Idempotency-Key; ``work``'s answer (a dict or a Struct) is stored and answered as JSON."""
    check_hub(user, hub_id)

    async def action() -> Any:
        return msgspec.to_builtins(await work())

    return await idempotent(request, user, status, action)
