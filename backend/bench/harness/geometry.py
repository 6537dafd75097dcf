"""Distances between map points, for clients that move around the city."""

from __future__ import annotations

import math

Point = tuple[float, float]


def metres(a: Point, b: Point) -> float:
    """Straight-line metres between two (lat, lon) points; near enough within a city."""
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot((b[0] - a[0]) * 111_320.0, (b[1] - a[1]) * 111_320.0 * math.cos(lat))
