"""Addresses offered while a dispatcher types one (a same-day order's door)."""

from __future__ import annotations

from backend.errors import Invalid
from backend.services.context import Context
from backend.structs import Out

MIN_CHARS = 2
MAX_CHARS = 100
MAX_LIMIT = 10


class AddressSuggestion(Out):
    label: str  # as the map writes it; POST /orders takes it as the address
    lat: float
    lon: float


def suggest_addresses(ctx: Context, q: str, limit: int = 5) -> list[AddressSuggestion]:
    """At most ``limit`` (1..10) addresses on the map matching ``q``, best first; none
    for fewer than 2 characters; Invalid for more than 100."""
    text = " ".join(q.split())
    if len(q) > MAX_CHARS:
        raise Invalid(
            f"The address typed is {len(q)} characters long; suggestions take at most {MAX_CHARS}. "
            f"Type the street and house number only."
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit is how many suggestions to answer: 1 to {MAX_LIMIT}, not {limit}.")
    if len(text) < MIN_CHARS:
        return []
    return [AddressSuggestion(label=s.label, lat=s.lat, lon=s.lon) for s in ctx.geo.geocoder.suggest(text, limit)]
