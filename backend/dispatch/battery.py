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

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from backend.dispatch.day_figures import MAX_SPEED_KMH, Point, distance_m

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


class Odometer:
    """A trail's ridden metres, fed point by point in time order, kept so that a
    re-plan reads only the points that came since the last one (a day's trail
    is thousands of points). GPS jumps are left out as in
    :func:`backend.dispatch.day_figures.ridden_m`: a point reachable from the last
    accepted one only above ``max_speed_kmh`` waits as a candidate; when the next
    point agrees with the candidate, the trail goes on from the two."""

    def __init__(self, max_speed_kmh: float = MAX_SPEED_KMH) -> None:
        self.max_speed_kmh = max_speed_kmh
        self.last: Point | None = None  # the last accepted point
        self.candidate: Point | None = None
        self.fed_until: dt.datetime | None = None  # the time of the last point fed
        self.total_m = 0.0
        self._times: list[dt.datetime] = []  # of the accepted points, ascending
        self._metres: list[float] = []  # ridden up to each of them

    def _plausible(self, a: Point, b: Point) -> bool:
        seconds = (b[2] - a[2]).total_seconds()
        return seconds > 0 and distance_m(a[0], a[1], b[0], b[1]) / seconds * 3.6 <= self.max_speed_kmh

    def _accept(self, p: Point, metres: float) -> None:
        self.total_m += metres
        self.last = p
        self._times.append(p[2])
        self._metres.append(self.total_m)

    def feed(self, points: Iterable[Point]) -> None:
        """Points later than every point fed so far, in time order."""
        for p in points:
            self.fed_until = p[2]
            if self.last is None:
                self._accept(p, 0.0)
            elif self._plausible(self.last, p):
                self._accept(p, distance_m(self.last[0], self.last[1], p[0], p[1]))
                self.candidate = None
            elif self.candidate is not None and self._plausible(self.candidate, p):
                c = self.candidate
                self._accept(c, 0.0)
                self._accept(p, distance_m(c[0], c[1], p[0], p[1]))
                self.candidate = None
            else:
                self.candidate = p

    def since_m(self, since: dt.datetime | None, latest: Point | None = None) -> float:
        """Metres ridden after ``since`` (None: all), and on to ``latest`` (a position
        not stored yet) when it is a plausible next point."""
        start = 0 if since is None else bisect.bisect_right(self._times, since)
        metres = self.total_m - self._metres[start] if start < len(self._metres) else 0.0
        last = self.last
        if (
            latest is not None
            and last is not None
            and (since is None or last[2] > since)
            and self._plausible(last, latest)
        ):
            metres += distance_m(last[0], last[1], latest[0], latest[1])
        return metres


def ridden_since_km(
    trails: Iterable[Sequence[Point]], since: dt.datetime | None, max_speed_kmh: float = MAX_SPEED_KMH
) -> float:
    """Km ridden over the trails (one per shift on the bike, each in time order) after ``since``."""
    metres = 0.0
    for points in trails:
        odometer = Odometer(max_speed_kmh)
        odometer.feed(points)
        metres += odometer.since_m(since)
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
