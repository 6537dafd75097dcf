"""Bases for request and response bodies: camelCase at the edges, unknown fields refused."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

# The hub's wall-clock time, written without an offset (RFC 3339's date-time
# needs one, so the OpenAPI document declares this pattern instead).
LOCAL_DATE_TIME_PATTERN = (r"^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
                           r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?$")
LocalDateTime = Annotated[dt.datetime, msgspec.Meta(extra_json_schema={
    "pattern": LOCAL_DATE_TIME_PATTERN,
    "description": "The hub's local date and time, without an offset, e.g. 2026-11-23T08:00:00.",
})]


class Body(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """Base of every request body."""


class Out(msgspec.Struct, kw_only=True, rename="camel"):
    """Base of every response body."""
