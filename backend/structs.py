"""Bases for request and response bodies: camelCase at the edges, unknown fields
refused, and the bounds every incoming value shares (ids, text, dates)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from backend.errors import Invalid

# The hub's wall-clock time, written without an offset (RFC 3339's date-time
# needs one, so the OpenAPI document declares this pattern instead).
LOCAL_DATE_TIME_PATTERN = (
    r"^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?$"
)
LocalDateTime = Annotated[
    dt.datetime,
    msgspec.Meta(
        extra_json_schema={
            "pattern": LOCAL_DATE_TIME_PATTERN,
            "description": "The hub's local date and time, without an offset, e.g. 2026-11-23T08:00:00.",
        }
    ),
]

# Table ids are PostgreSQL SERIALs (32-bit): a larger number is refused as
# input, not overflowed inside the database driver.
MAX_ID = 2**31 - 1
DbId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, description="An id")]
# Text sizes by use; every string a request carries has one.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]
Note = Annotated[str, msgspec.Meta(max_length=1000)]
Email = Annotated[str, msgspec.Meta(max_length=254)]
Phone = Annotated[str, msgspec.Meta(max_length=32)]

# Dates a request may name: operations run today and plan ahead; a year 9999 or
# 1900 is a typo, refused with a sentence rather than planned.
DAYS_BACK = 366
DAYS_AHEAD = 2 * 366


def check_day(name: str, value: dt.date | dt.datetime, today: dt.date | None = None) -> None:
    """A rule, not a shape: a 422 (the document allows any date; this service a range of them)."""
    today = today or dt.date.today()
    day = value.date() if isinstance(value, dt.datetime) else value
    first, last = today - dt.timedelta(days=DAYS_BACK), today + dt.timedelta(days=DAYS_AHEAD)
    if not first <= day <= last:
        raise Invalid(
            f"{name} {day.isoformat()} is out of range: give a day between {first.isoformat()} and {last.isoformat()}."
        )


class Body(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """Base of every request body. Subclasses with their own ``__post_init__``
    call ``super().__post_init__()``."""

    def __post_init__(self) -> None:
        for field, value in zip(self.__struct_encode_fields__, _values(self), strict=True):
            if isinstance(value, dt.date):
                check_day(field, value)


def _values(struct: msgspec.Struct) -> list[Any]:
    return [getattr(struct, name) for name in struct.__struct_fields__]


class Out(msgspec.Struct, kw_only=True, rename="camel"):
    """Base of every response body."""
