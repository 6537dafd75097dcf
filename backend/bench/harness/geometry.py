"""Distances between map points, and which points a bike reaches, for clients in the city."""

from __future__ import annotations

import math
from typing import Any

Point = tuple[float, float]


def metres(a: Point, b: Point) -> float:
    """Straight-line metres between two (lat, lon) points; near enough within a city."""
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot((b[0] - a[0]) * 111_320.0, (b[1] - a[1]) * 111_320.0 * math.cos(lat))


def on_network(geo: Any, lat: float, lon: float, within_m: float = 60.0) -> bool:
    """Whether a bike reaches the point: the street network passes within ``within_m``."""
    try:
        return bool(geo.network.snap(lat, lon).distance_m < within_m)
    except Exception:  # noqa: BLE001 - off the map
        return False
