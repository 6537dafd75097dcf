"""Rules every request body meets before it is parsed: the content type the
endpoint takes (JSON or a multipart form), and JSON nested no deeper than any
real body needs. Checked once for every route, before the handler's body
parsing, so no endpoint can forget them.

Refusing a ``text/plain`` or form body where JSON is expected also closes the
cross-site "simple request" that a browser sends without asking first.
"""

from __future__ import annotations

import datetime as dt
import re

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import BodyKwarg

from backend.api.csrf import check_csrf
from backend.api.strict import strict_json_body
from backend.errors import BadRequest, UnsupportedMediaType
from backend.structs import check_day

MAX_JSON_DEPTH = 32
_JSON_SPECIAL = re.compile(rb'["\\\[\]{}]')


def _expected_media_type(request: Request) -> str | None:
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    return kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than ``limit`` (strings are skipped,
    escapes included), without decoding: a decoder would recurse first."""
    depth, in_string, escape_at = 0, False, -2
    for match in _JSON_SPECIAL.finditer(body):
        i, char = match.start(), body[match.start()]
        if in_string:
            if char == 0x5C:  # a backslash escapes the next character, unless it is itself escaped
                escape_at = -2 if escape_at == i - 1 else i
            elif char == 0x22 and escape_at != i - 1:
                in_string = False
            continue
        if char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif char in (0x5D, 0x7D):
            depth -= 1
    return False


async def check_request(request: Request) -> None:
    """Every rule a request meets before its handler parses it."""
    check_csrf(request)
    check_date_query(request)
    await check_body(request)
    await strict_json_body(request)


def check_date_query(request: Request) -> None:
    """``?date=`` is bounded like dates in bodies (a year 9999 overflows date arithmetic)."""
    text = request.query_params.get("date")
    if not text:
        return
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return  # the handler's own parsing answers with its 400
    check_day("date", day)


async def check_body(request: Request) -> None:
    expected = _expected_media_type(request)
    if expected is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if expected == RequestEncodingType.MULTI_PART:
        if content_type != "multipart/form-data":
            raise UnsupportedMediaType("Send the file as multipart/form-data, in a form field named 'file'.")
        return
    if not _is_json(content_type):
        said = f"as {content_type}" if content_type else "without a Content-Type"
        raise UnsupportedMediaType(
            f"This endpoint takes JSON; the body came {said}. Send it with 'Content-Type: application/json'."
        )
    if json_too_deep(await request.body()):
        raise BadRequest(
            f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep; no request needs that.", code="too_deep"
        )
