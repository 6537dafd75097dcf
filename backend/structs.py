"""Bases for request and response bodies: camelCase at the edges, unknown fields refused."""

from __future__ import annotations

import msgspec


class Body(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """Base of every request body."""


class Out(msgspec.Struct, kw_only=True, rename="camel"):
    """Base of every response body."""
