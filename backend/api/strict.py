"""JSON bodies are decoded strictly: `"active": 0` is not a boolean, `"1"` not a number.

Litestar converts every handler argument with msgspec's lax rules (query
strings must become numbers); for JSON bodies that lets wrong types through.
This hook decodes the body against the handler's `data` type with strict
rules first, so a wrong type gets the same 400 as any other schema mismatch.
One thing strict decoding refuses stays accepted, as the OpenAPI document
says: integral numbers such as 3.0 for integers (JSON Schema counts them as
integers).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

_NO_BODY = {"GET", "HEAD", "OPTIONS", "DELETE"}
_LAX_ALLOWED = ("Expected `int`, got `float`", "Expected `int | null`, got `float`")


def _body_type(request: Request) -> Any:
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    return None if field is None else field.annotation


async def strict_json_body(request: Request) -> None:
    """A before_request hook; decoding errors are left to Litestar's own parsing."""
    if request.method in _NO_BODY or request.content_type[0] != "application/json":
        return
    target = _body_type(request)
    if target is None:
        return
    body = await request.body()
    if not body:
        return
    try:
        msgspec.json.decode(body, type=target, strict=True)
    except msgspec.ValidationError as exc:
        if str(exc).startswith(_LAX_ALLOWED):
            return  # Litestar's lax conversion decides
        raise  # backend.api.errors answers 400 with msgspec's message, which names the field
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar's parsing answers it
