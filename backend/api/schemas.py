"""Shared request/response building blocks: camelCase at the edges, unknown fields refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, PathParameter, QueryParameter

from backend.structs import MAX_ID, Body, DbId, Email, Name, Note, Out, Phone, Text200

__all__ = [
    "Body",
    "CodeScan",
    "DateQuery",
    "DbId",
    "Email",
    "HubIdQuery",
    "Id",
    "Name",
    "Note",
    "OptionalDateQuery",
    "Out",
    "Phone",
    "ScanCode",
    "ScanId",
    "Text200",
    "json_body",
]

# Query and path parameters, named in camelCase like the bodies; ids bounded like
# the database's (a 2**63 is a 400, not an overflow deep inside).
HubIdQuery = Annotated[int, QueryParameter(name="hubId", description="The hub's id", ge=1, le=MAX_ID)]
DateQuery = Annotated[dt.date, QueryParameter(name="date", description="The day, e.g. 2026-11-23")]
OptionalDateQuery = Annotated[dt.date | None, QueryParameter(name="date", description="The day")]
Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]

# A handheld's scan: its own id (a retry sends the same; the unit counts once) and the code as
# the scanner typed it (prefix/suffix, symbology identifier and GS1 FNC1 are understood).
ScanId = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
ScanCode = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class CodeScan(Body):
    """One scanned code (an item, a tote) with the scan's id."""

    scan_id: ScanId
    code: ScanCode


ITEM_SCAN_EXAMPLE = ("An item", {"scanId": "5b0c…-1", "code": "8712345000014"})


@dataclasses.dataclass
class FileUpload:
    """A multipart form with one file, in the field ``file``."""

    file: UploadFile


# A form without a file part is a 400 that names the field, not an error deep inside.
UploadForm = Annotated[FileUpload, BodyKwarg(media_type=RequestEncodingType.MULTI_PART)]


def json_body(*examples: tuple[str, Any]) -> BodyKwarg:
    """A JSON body marker carrying named examples for the OpenAPI document."""
    return BodyKwarg(
        media_type=RequestEncodingType.JSON,
        examples=[Example(summary=summary, value=value) for summary, value in examples],
    )


LOGIN_EXAMPLE = ("Log in as a dispatcher", {"username": "dispatcher", "password": "your password"})
ORDER_EXAMPLE = (
    "An evening delivery with goods from a local shop",
    {
        "reference": "WEB-1001",
        "hubId": 1,
        "customerName": "Mia Virtanen",
        "date": "2026-11-23",
        "address": "Fredrikinkatu 20",
        "slot": "evening",
        "parcels": [{"weightKg": 2.5, "volumeL": 10}, {"weightKg": 1.0, "volumeL": 4, "shopId": 1}],
    },
)
WINDOW_ORDER_EXAMPLE = (
    "A two-hour window to a pickup point",
    {
        "reference": "WEB-1002",
        "hubId": 1,
        "customerName": "Jan de Vries",
        "date": "2026-11-23",
        "pickupPointId": 1,
        "window": {"start": "14:00", "end": "16:00"},
        "parcels": [{"weightKg": 1.2, "volumeL": 6, "barcode": "LB0000001002"}],
    },
)
PLAN_EXAMPLE = ("Plan tomorrow with a 10 s budget", {"date": "2026-11-23", "timeLimitS": 10})
