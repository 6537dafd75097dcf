"""Shared request/response building blocks: camelCase at the edges, unknown fields refused."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, FromPath, QueryParameter

from backend.structs import Body, Out

__all__ = ["Body", "DateQuery", "HubIdQuery", "Id", "OptionalDateQuery", "Out", "json_body"]

# Query and path parameters, named in camelCase like the bodies.
HubIdQuery = Annotated[int, QueryParameter(name="hubId", description="The hub's id")]
DateQuery = Annotated[dt.date, QueryParameter(name="date", description="The day, e.g. 2026-11-23")]
OptionalDateQuery = Annotated[dt.date | None, QueryParameter(name="date", description="The day")]
Id = FromPath[int]


def json_body(*examples: tuple[str, Any]) -> BodyKwarg:
    """A JSON body marker carrying named examples for the OpenAPI document."""
    return BodyKwarg(media_type=RequestEncodingType.JSON,
                     examples=[Example(summary=summary, value=value) for summary, value in examples])


LOGIN_EXAMPLE = ("Log in as a dispatcher", {"username": "dispatcher", "password": "your password"})
ORDER_EXAMPLE = ("An evening delivery with goods from a local shop", {
    "reference": "WEB-1001", "hubId": 1, "customerName": "Mia Virtanen", "date": "2026-11-23",
    "address": "Fredrikinkatu 20", "slot": "evening",
    "parcels": [{"weightKg": 2.5, "volumeL": 10}, {"weightKg": 1.0, "volumeL": 4, "shopId": 1}],
})
WINDOW_ORDER_EXAMPLE = ("A two-hour window to a pickup point", {
    "reference": "WEB-1002", "hubId": 1, "customerName": "Jan de Vries", "date": "2026-11-23",
    "pickupPointId": 1, "window": {"start": "14:00", "end": "16:00"},
    "parcels": [{"weightKg": 1.2, "volumeL": 6, "barcode": "LB0000001002"}],
})
PLAN_EXAMPLE = ("Plan tomorrow with a 10 s budget", {"date": "2026-11-23", "timeLimitS": 10})
