"""A bike's range left, from plain values: the battery's capacity (km on a full
charge), the latest level reported (a courier's app or a dispatcher) and the
distance ridden since. Pure: no clock, no I/O.

The rule (also in docs/api.md, "Battery"):

- A day starts with a full battery (bikes charge overnight at the hub).
- A report of ``level_pct`` at time T says: at T the bike had
  ``capacity_km * level_pct / 100`` left. 100 % is a charge.
- The range left is that (or the full capacity without a report that day)
  less the km ridden since (the GPS trail of every shift on the bike after T,
  jumps left out as in :mod:`backend.dispatch.day_figures`), at least 0.
- A re-plan gives a bike on the road that range, from where it is, as its
  ``max_distance_m``. When its route in force is longer than that, the stops
  it holds only by being on that route are freed for the other couriers
  (:func:`route_m` decides); stops under way or with goods on board stay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from backend.dispatch.day_figures import MAX_SPEED_KMH, Point, ridden_m

FULL_PCT = 100.0


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    """The bike's latest reported battery level of the day."""

    at: dt.datetime
    level_pct: float


class RangeLeft(msgspec.Struct, frozen=True, kw_only=True):
    capacity_km: float
    level_pct: float | None  # the latest report's level (None: none that day, full at the start)
    reported_at: dt.datetime | None
    ridden_km: float  # since the report (or the start of the day)
    left_km: float


def is_charge(level_pct: float) -> bool:
    """A report of a full battery resets the distance ridden."""
    return level_pct >= FULL_PCT


def ridden_since_km(
    trails: Iterable[Sequence[Point]], since: dt.datetime | None, max_speed_kmh: float = MAX_SPEED_KMH
) -> float:
    """Km ridden over the trails (one per shift on the bike) after ``since`` (None: all of them)."""
    metres = 0.0
    for points in trails:
        kept = [p for p in points if since is None or p[2] > since]
        metres += ridden_m(kept, max_speed_kmh)
    return metres / 1000


def range_left(capacity_km: float, reading: Reading | None, ridden_km: float) -> RangeLeft:
    """What is left of the battery: the reported (or full) range less what was ridden since."""
    level = reading.level_pct if reading is not None else FULL_PCT
    start_km = capacity_km * max(0.0, min(FULL_PCT, level)) / FULL_PCT
    return RangeLeft(
        capacity_km=capacity_km,
        level_pct=reading.level_pct if reading is not None else None,
        reported_at=reading.at if reading is not None else None,
        ridden_km=round(ridden_km, 2),
        left_km=round(max(0.0, start_km - ridden_km), 2),
    )


def range_left_m(left: RangeLeft) -> int:
    """The planner's ``max_distance_m`` for it."""
    return int(left.left_km * 1000)


def route_m(dist_m: Any, start: int, locations: Sequence[int], end: int) -> int:
    """Metres of a route from ``start`` through ``locations`` in order to ``end``."""
    total, at = 0, start
    for loc in (*locations, end):
        total += int(dist_m[at][loc])
        at = loc
    return total


def over_range(dist_m: Any, start: int, locations: Sequence[int], end: int, range_m: int | None) -> bool:
    """Whether riding the route in force from where the bike is (``start``) back to the hub
    needs more than the range left: then its stops that may move are freed for others."""
    return range_m is not None and route_m(dist_m, start, locations, end) > range_m
