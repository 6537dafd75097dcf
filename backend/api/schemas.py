"""Shared request/response building blocks: camelCase at the edges, unknown fields refused."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar.params import FromPath, QueryParameter

from backend.structs import Body, Out

__all__ = ["Body", "DateQuery", "HubIdQuery", "Id", "OptionalDateQuery", "Out"]

# Query and path parameters, named in camelCase like the bodies.
HubIdQuery = Annotated[int, QueryParameter(name="hubId", description="The hub's id")]
DateQuery = Annotated[dt.date, QueryParameter(name="date", description="The day, e.g. 2026-11-23")]
OptionalDateQuery = Annotated[dt.date | None, QueryParameter(name="date", description="The day")]
Id = FromPath[int]
