"""The day's figures from plain values: the distance of a ridden trail (with GPS
jumps left out), a courier's recent speed, the CO2 a diesel van would have
emitted over the same kilometres, and the shares of stops on time and
delivered at the first attempt. Pure: no clock, no I/O.

Definitions (also in docs/api.md, "The day's figures"):

- *done*: a delivery delivered or a pickup collected; *failed*: failed.
  Cancelled stops (withdrawn by a redirect) are not counted at all.
- *on time*: a done stop whose ``completed_at`` lies inside its window
  (both ends included); the share is over all done stops.
- *first-attempt success*: among the orders whose first delivery stop (the
  earliest one that was not cancelled) is delivered or failed, the share whose
  first delivery stop is delivered.
- *minutes per stop*: the mean of ``completed_at - arrived_at`` over the stops
  where both are known (and the completion is not before the arrival).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import msgspec

EARTH_RADIUS_M = 6_371_008.8
# Thinning the stored trail: a point is skipped when it moved less than this
# AND came less than this long after the last point kept.
THIN_MIN_M = 5.0
THIN_MIN_S = 30.0
# A point that would need more than this speed from the last accepted one is a
# GPS jump, not riding (a cargo e-bike is assisted up to 25 km/h).
MAX_SPEED_KMH = 45.0
# The recent speed is measured over this much of the trail's end.
SPEED_WINDOW_S = 120.0
SPEED_MIN_SPAN_S = 10.0

# What a diesel delivery van emits per km: the UK government's (DESNZ/Defra)
# greenhouse gas conversion factors 2024, v1.1, sheet "Delivery vehicles",
# Vans, Average (up to 3.5 tonnes), Diesel, kg CO2e per km. The tailpipe
# (tank-to-wheel) figure: the fuel's production (well-to-tank) comes on top, so
# this is the lower bound. The e-bike's own charging is not subtracted.
CO2_FACTOR_KG_PER_KM = 0.25023
CO2_SOURCE = (
    "UK DESNZ/Defra greenhouse gas reporting conversion factors 2024 (v1.1), Delivery vehicles: "
    "Vans, Average (up to 3.5 tonnes), Diesel, 0.25023 kg CO2e per km (tank-to-wheel; "
    "the fuel's production comes on top, the e-bike's own charging is not subtracted)"
)

DONE_STATES = frozenset({"delivered", "collected"})
FAILED = "failed"
CANCELLED = "cancelled"

Point = tuple[float, float, dt.datetime]  # lat, lon, when


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def keep_point(last_kept: Point | None, point: Point) -> bool:
    """Whether the stored trail keeps ``point``: not when it moved < 5 m and is
    < 30 s after the last point kept (standing still is kept twice a minute)."""
    if last_kept is None:
        return True
    moved = distance_m(last_kept[0], last_kept[1], point[0], point[1])
    after = (point[2] - last_kept[2]).total_seconds()
    return not (moved < THIN_MIN_M and after < THIN_MIN_S)


def _plausible(a: Point, b: Point, max_speed_kmh: float) -> bool:
    seconds = (b[2] - a[2]).total_seconds()
    if seconds <= 0:
        return False
    return distance_m(a[0], a[1], b[0], b[1]) / seconds * 3.6 <= max_speed_kmh


def _walk(points: Iterable[Point], max_speed_kmh: float) -> list[tuple[Point, float]]:
    """The accepted points in time order, each with the metres ridden to it
    (0 for the first, and for the first after a jump)."""
    walk: list[tuple[Point, float]] = []
    candidate: Point | None = None
    for p in sorted(points, key=lambda q: q[2]):
        if not walk:
            walk.append((p, 0.0))
            continue
        last = walk[-1][0]
        if _plausible(last, p, max_speed_kmh):
            walk.append((p, distance_m(last[0], last[1], p[0], p[1])))
            candidate = None
        elif candidate is not None and _plausible(candidate, p, max_speed_kmh):
            walk += [(candidate, 0.0), (p, distance_m(candidate[0], candidate[1], p[0], p[1]))]
            candidate = None
        else:
            candidate = p
    return walk


def ridden_points(points: Iterable[Point], max_speed_kmh: float = MAX_SPEED_KMH) -> list[Point]:
    """The points of a trail that count as riding, in time order.

    A point that could only be reached from the last accepted one faster than
    ``max_speed_kmh`` is a jump and left out. When two points in a row are
    reachable from each other but not from the last accepted one, the last
    accepted one was the outlier (e.g. a wrong first fix): the trail goes on
    from the two, and the jump itself is not counted (:func:`ridden_m`).
    """
    return [p for p, _ in _walk(points, max_speed_kmh)]


def ridden_m(points: Iterable[Point], max_speed_kmh: float = MAX_SPEED_KMH) -> float:
    """Metres ridden along a trail, GPS jumps left out."""
    return sum(m for _, m in _walk(points, max_speed_kmh))


def recent_speed_kmh(
    points: Iterable[Point], window_s: float = SPEED_WINDOW_S, max_speed_kmh: float = MAX_SPEED_KMH
) -> float | None:
    """The speed over the last ``window_s`` of the trail, km/h (None: too little of it)."""
    walk = _walk(points, max_speed_kmh)
    if len(walk) < 2:
        return None
    end = walk[-1][0][2]
    recent = [(p, m) for p, m in walk if (end - p[2]).total_seconds() <= window_s]
    span = (end - recent[0][0][2]).total_seconds()
    if len(recent) < 2 or span < SPEED_MIN_SPAN_S:
        return None
    return round(sum(m for _, m in recent[1:]) / span * 3.6, 1)


def co2_avoided_kg(km: float, factor_kg_per_km: float = CO2_FACTOR_KG_PER_KM) -> float:
    """What a diesel van would have emitted over ``km``."""
    return round(km * factor_kg_per_km, 3)


def share(count: int, of: int) -> float | None:
    """count / of, 0..1; None when there is nothing to count."""
    return round(count / of, 4) if of else None


class StopFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One stop of the day as the figures need it."""

    status: str
    window_start: dt.datetime
    window_end: dt.datetime
    arrived_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None


class StopFigures(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    done: int
    failed: int
    remaining: int
    on_time_share: float | None
    avg_minutes_per_stop: float | None


def on_time(stop: StopFacts) -> bool:
    return (
        stop.status in DONE_STATES
        and stop.completed_at is not None
        and stop.window_start <= stop.completed_at <= stop.window_end
    )


def stop_figures(stops: Iterable[StopFacts]) -> StopFigures:
    """Counts and shares over a day's stops (cancelled ones left out)."""
    counted = [s for s in stops if s.status != CANCELLED]
    done = [s for s in counted if s.status in DONE_STATES]
    failed = sum(1 for s in counted if s.status == FAILED)
    spans = [
        (s.completed_at - s.arrived_at).total_seconds() / 60
        for s in counted
        if s.arrived_at is not None and s.completed_at is not None and s.completed_at >= s.arrived_at
    ]
    return StopFigures(
        total=len(counted),
        done=len(done),
        failed=failed,
        remaining=len(counted) - len(done) - failed,
        on_time_share=share(sum(1 for s in done if on_time(s)), len(done)),
        avg_minutes_per_stop=round(sum(spans) / len(spans), 1) if spans else None,
    )


class DeliveryFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery stop of an order: which, of which day, in what state."""

    stop_id: int
    order_id: int
    plan_date: dt.date
    status: str


def first_attempt_share(deliveries: Iterable[DeliveryFacts], day: dt.date) -> tuple[int, int]:
    """(delivered at the first attempt, orders counted) for the orders whose first
    delivery stop (the earliest not cancelled) is of ``day`` and delivered or failed.

    ``deliveries`` must hold every delivery stop of those orders, of any day.
    """
    first: dict[int, DeliveryFacts] = {}
    for d in deliveries:
        if d.status == CANCELLED:
            continue
        known = first.get(d.order_id)
        if known is None or d.stop_id < known.stop_id:
            first[d.order_id] = d
    attempted = [d for d in first.values() if d.plan_date == day and d.status in ("delivered", FAILED)]
    return sum(1 for d in attempted if d.status == "delivered"), len(attempted)
