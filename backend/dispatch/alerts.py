"""What a dispatcher should be told of: the alert rules. Pure: plain values in,
a list of ``Raised(kind, key, detail, data)`` out.

Each rule looks at the day as it stands now and answers every alert that holds;
the service (``backend/services/alerts.py``) keeps one alert per (hub, date,
kind, key), so a rule that answers the same key again raises nothing new. The
key therefore names the *occurrence*: a stop is late once a day, but a courier
who loses their position twice (at 10:00 and at 14:00) raises two alerts, one per
gap, keyed by when the gap began.

``detail`` is an English sentence; ``data`` carries the ids and figures the desk
translates with (``stopId``, ``courierId``, ``street``, ``pickupPointId``,
``planRunId``, and for the sentence ``minutes``, ``count``, ...).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple

import msgspec

from backend.dispatch.failed_stop import metres
from backend.dispatch.geocode import normalize_street

Kind = Literal[
    "stop_late", "no_position", "standing_still", "repeated_failures", "pickup_point_full", "replan_not_applied"
]
KINDS: tuple[Kind, ...] = (
    "stop_late",
    "no_position",
    "standing_still",
    "repeated_failures",
    "pickup_point_full",
    "replan_not_applied",
)
# Stop states after which a stop cannot be late any more.
FINISHED = frozenset({"delivered", "failed", "collected", "cancelled", "unplanned"})
NO_POSITION_MIN = 5
STILL_MIN = 10
STILL_RADIUS_M = 50.0
FAILURES_PER_STREET = 3
FULL_SHARE = 0.9

Place = tuple[float, float]  # (lat, lon)


class Raised(NamedTuple):
    kind: Kind
    key: str
    detail: str
    data: dict[str, Any]


class StopNow(msgspec.Struct, frozen=True, kw_only=True):
    """A stop on a route in force, as it stands."""

    stop_id: int
    courier_id: int | None
    status: str
    address: str
    window_end: dt.datetime
    eta: dt.datetime
    service_start: dt.datetime | None = None  # None: the eta


class TrailPoint(msgspec.Struct, frozen=True, array_like=True):
    lat: float
    lon: float
    at: dt.datetime


class CourierNow(msgspec.Struct, frozen=True, kw_only=True):
    """A courier on the road (shift started) and what is known of where they are."""

    courier_id: int
    name: str
    started_at: dt.datetime  # when the shift started: the gap before a first position counts from there
    last_position_at: dt.datetime | None = None
    trail: tuple[TrailPoint, ...] = ()  # oldest first; the last one is the last position
    open_stops: tuple[Place, ...] = ()  # stops of their route not done yet
    at_stop: bool = False  # arrived at a stop (serving it)
    hub: Place | None = None  # standing at the hub (loading) is not standing still


class FailedStop(msgspec.Struct, frozen=True, kw_only=True):
    stop_id: int
    address: str


class PointLoad(msgspec.Struct, frozen=True, kw_only=True):
    pickup_point_id: int
    name: str
    capacity: int
    waiting: int  # parcels there now


def _hhmm(t: dt.datetime) -> str:
    return t.strftime("%H:%M")


def _minutes(span: dt.timedelta) -> int:
    return int(span.total_seconds() // 60)


def late_stops(stops: Iterable[StopNow]) -> list[Raised]:
    """A stop not finished whose predicted service start (or arrival) is after its window's end."""
    out = []
    for s in stops:
        predicted = s.service_start or s.eta
        if s.status in FINISHED or predicted <= s.window_end:
            continue
        late_min = max(1, _minutes(predicted - s.window_end))
        out.append(
            Raised(
                "stop_late",
                str(s.stop_id),
                f"Stop {s.stop_id} ({s.address}) is expected at {_hhmm(predicted)}, "
                f"{late_min} min after its window ends at {_hhmm(s.window_end)}.",
                {
                    "stopId": s.stop_id,
                    "courierId": s.courier_id,
                    "eta": predicted.isoformat(),
                    "windowEnd": s.window_end.isoformat(),
                    "minutes": late_min,
                },
            )
        )
    return out


def no_position(couriers: Iterable[CourierNow], now: dt.datetime, after_min: int = NO_POSITION_MIN) -> list[Raised]:
    """A courier on the road who has sent no position for more than ``after_min`` minutes
    (counted from the shift's start when none came at all). Keyed by the gap's start."""
    out = []
    for c in couriers:
        since = c.last_position_at or c.started_at
        if now - since <= dt.timedelta(minutes=after_min):
            continue
        never = c.last_position_at is None
        what = "since the shift started" if never else "since"
        out.append(
            Raised(
                "no_position",
                f"{c.courier_id}@{since.isoformat(timespec='seconds')}",
                f"{c.name} has sent no position for {_minutes(now - since)} min ({what} {_hhmm(since)}).",
                {
                    "courierId": c.courier_id,
                    "since": since.isoformat(),
                    "minutes": _minutes(now - since),
                    "never": never,
                },
            )
        )
    return out


def still_since(trail: Sequence[TrailPoint], radius_m: float = STILL_RADIUS_M) -> dt.datetime | None:
    """Since when the trail has stayed within ``radius_m`` of its last point (None: no trail)."""
    if not trail:
        return None
    last = (trail[-1].lat, trail[-1].lon)
    since = trail[-1].at
    for p in reversed(trail):
        if metres((p.lat, p.lon), last) >= radius_m:
            break
        since = p.at
    return since


def standing_still(
    couriers: Iterable[CourierNow],
    now: dt.datetime,
    after_min: int = STILL_MIN,
    *,
    fresh_min: int = NO_POSITION_MIN,
    radius_m: float = STILL_RADIUS_M,
) -> list[Raised]:
    """A courier on the road, with stops left, who has moved less than ``radius_m`` for more
    than ``after_min`` minutes while not at a stop (nor at the hub).

    Only with fresh positions (the last within ``fresh_min``): without them it is
    ``no_position``, not standing still. Keyed by when the standing began."""
    out = []
    for c in couriers:
        if not c.open_stops or c.at_stop or not c.trail or now - c.trail[-1].at > dt.timedelta(minutes=fresh_min):
            continue
        since = still_since(c.trail, radius_m)
        if since is None or now - since <= dt.timedelta(minutes=after_min):
            continue
        here = (c.trail[-1].lat, c.trail[-1].lon)
        places = (*c.open_stops, *((c.hub,) if c.hub else ()))
        if any(metres(here, p) < radius_m for p in places):
            continue  # at a stop (not yet marked arrived) or at the hub
        minutes = _minutes(now - since)
        out.append(
            Raised(
                "standing_still",
                f"{c.courier_id}@{since.isoformat(timespec='seconds')}",
                f"{c.name} has not moved for {minutes} min (since {_hhmm(since)}), away from any stop, "
                f"with {len(c.open_stops)} stop(s) left.",
                {
                    "courierId": c.courier_id,
                    "since": since.isoformat(),
                    "minutes": minutes,
                    "lat": here[0],
                    "lon": here[1],
                    "stopsLeft": len(c.open_stops),
                },
            )
        )
    return out


_NUMBER = re.compile(r"\s\d")


def street_of(address: str) -> str:
    """'Bulevardi 16 B, 00120 Helsinki' -> 'Bulevardi': the words before the house number."""
    first = address.split(",")[0].strip()
    m = _NUMBER.search(first)
    return " ".join((first[: m.start()] if m else first).split())


def repeated_failures(failed: Iterable[FailedStop], at_least: int = FAILURES_PER_STREET) -> list[Raised]:
    """``at_least`` failed stops in one street today (streets compared case- and accent-insensitively)."""
    by_street: dict[str, list[FailedStop]] = {}
    names: dict[str, str] = {}
    for f in failed:
        name = street_of(f.address)
        key = normalize_street(name)
        if not key:
            continue
        names.setdefault(key, name)
        by_street.setdefault(key, []).append(f)
    out = []
    for key in sorted(by_street):
        stops = by_street[key]
        if len(stops) < at_least:
            continue
        out.append(
            Raised(
                "repeated_failures",
                key,
                f"{len(stops)} stops failed in {names[key]} today; something may block the street or its doors.",
                {"street": names[key], "count": len(stops), "stopIds": sorted(s.stop_id for s in stops)},
            )
        )
    return out


def pickup_points_full(points: Iterable[PointLoad], share: float = FULL_SHARE) -> list[Raised]:
    """A pickup point holding at least ``share`` of its capacity in parcels waiting there."""
    out = []
    for p in points:
        if p.capacity <= 0 or p.waiting < share * p.capacity:
            continue
        out.append(
            Raised(
                "pickup_point_full",
                str(p.pickup_point_id),
                f"{p.name} holds {p.waiting} of its {p.capacity} parcels ({round(100 * p.waiting / p.capacity)} %); "
                f"send further parcels to another point.",
                {"pickupPointId": p.pickup_point_id, "waiting": p.waiting, "capacity": p.capacity},
            )
        )
    return out


def replan_not_applied(reason: str, detail: str, at: dt.datetime, unplanned: int = 0) -> Raised:
    """A re-plan that answered ``applied: false``: the routes stayed as they were. Keyed by
    its reason and minute, so a retry of the same re-plan raises it once."""
    why = detail.strip() or "no reason given"
    return Raised(
        "replan_not_applied",
        f"{reason[:120]}@{at.isoformat(timespec='minutes')}",
        f"The re-plan at {_hhmm(at)} ({reason}) was not applied; the routes stay as they were: {why}",
        {"planRunId": None, "reason": reason, "unplanned": unplanned},
    )
