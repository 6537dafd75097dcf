"""What a dispatcher should be told of: the alert rules. Pure: plain values in,
a list of ``Raised(kind, key, detail, data)`` out.

Each rule looks at the day as it stands now and answers every alert that holds;
the service (``backend/services/alerts.py``) keeps one alert per (hub, date,
kind, key), so a rule that answers the same key again raises nothing new. The
key therefore names the *occurrence*: a courier who loses their position twice
(at 10:00 and at 14:00) raises two alerts, one per gap, keyed by when the gap began.
Late stops are grouped per courier route (one alert, not one per stop); that alert is
*updated* as its set of late stops changes (``UPDATED_BY``, ``nothing_late``).

``detail`` is an English sentence; ``data`` carries the ids and figures the desk
translates with (``stopId``, ``courierId``, ``street``, ``pickupPointId``,
``planRunId``, and for the sentence ``minutes``, ``count``, ...).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import msgspec

from backend.dispatch.failed_stop import metres
from backend.dispatch.geocode import normalize_street

Kind = Literal[
    "stop_late",
    "no_position",
    "standing_still",
    "repeated_failures",
    "pickup_point_full",
    "replan_not_applied",
    "pick_short",  # raised by the warehouse (backend/services/warehouse_*.py), not by a rule here
    "point_mismatch",  # raised by a pickup point's scan-in (backend/services/point_desk.py)
    "returns_help",  # a reconditioning worker asks for help (backend/services/returns_tasks.py)
    "wave_not_released",  # a wave's automatic release was refused (backend/services/wave_release.py)
    "stops_unplanned",  # a re-plan nobody asked for left stops off every route (backend/services/replan_save.py)
]
KINDS: tuple[Kind, ...] = (
    "stop_late",
    "no_position",
    "standing_still",
    "repeated_failures",
    "pickup_point_full",
    "replan_not_applied",
    "pick_short",
    "point_mismatch",
    "returns_help",
    "wave_not_released",
    "stops_unplanned",
)
# Stop states after which a stop cannot be late any more.
FINISHED = frozenset({"delivered", "failed", "collected", "cancelled", "unplanned"})
NO_POSITION_MIN = 5
STILL_MIN = 10
STILL_RADIUS_M = 50.0
FAILURES_PER_STREET = 3
FULL_SHARE = 0.9
LATE_SHOWN = 3  # late stops a stop_late alert names; the others are counted

# Kinds whose alert is updated (detail and data, the acknowledgement kept) when the
# named ``data`` field changes: a route's late stops come and go during the day.
# A wave refused again for another reason (its next line's job) says the newest reason.
UPDATED_BY: dict[Kind, str] = {"stop_late": "stopIds", "wave_not_released": "reason"}

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
    waiting: int  # parcels on its shelves now
    room_left: int  # shelf places still free today: capacity less those on the shelves and those announced


def _hhmm(t: dt.datetime) -> str:
    return t.strftime("%H:%M")


def _minutes(span: dt.timedelta) -> int:
    return int(span.total_seconds() // 60)


class LateStop(NamedTuple):
    stop_id: int
    courier_id: int | None
    address: str
    predicted: dt.datetime  # service start, else arrival
    window_end: dt.datetime
    minutes: int  # how late, at least 1


def late_stops(stops: Iterable[StopNow]) -> list[LateStop]:
    """A stop not finished whose predicted service start (or arrival) is after its window's end."""
    out = []
    for s in stops:
        predicted = s.service_start or s.eta
        if s.status in FINISHED or predicted <= s.window_end:
            continue
        out.append(
            LateStop(
                s.stop_id, s.courier_id, s.address, predicted, s.window_end, max(1, _minutes(predicted - s.window_end))
            )
        )
    return out


def late_routes(
    stops: Iterable[StopNow], names: Mapping[int, str] | None = None, first: int = LATE_SHOWN
) -> list[Raised]:
    """One ``stop_late`` per courier route with late stops (a busy day has thousands of late
    stops, a dispatcher acts per route): the count, every late stop's id, and the first
    ``first`` of them (earliest predicted first) with times. Keyed by the courier, so the
    service updates the alert when the set of late stops changes (``UPDATED_BY``)."""
    by_courier: dict[int | None, list[LateStop]] = {}
    for late in late_stops(stops):
        by_courier.setdefault(late.courier_id, []).append(late)
    out = []
    for courier_id in sorted(by_courier, key=lambda c: (c is None, c or 0)):
        lates = sorted(by_courier[courier_id], key=lambda x: (x.predicted, x.stop_id))
        who = _who(courier_id, names)
        shown = "; ".join(
            f"{x.stop_id} ({x.address}) at {_hhmm(x.predicted)}, {x.minutes} min after {_hhmm(x.window_end)}"
            for x in lates[:first]
        )
        more = f"; and {len(lates) - first} more" if len(lates) > first else ""
        out.append(
            Raised(
                "stop_late",
                f"route-{courier_id if courier_id is not None else 'none'}",
                f"{who}'s route has {len(lates)} stop(s) expected after their window: {shown}{more}.",
                {
                    "courierId": courier_id,
                    "count": len(lates),
                    "stopIds": sorted(x.stop_id for x in lates),
                    "first": [
                        {
                            "stopId": x.stop_id,
                            "eta": x.predicted.isoformat(),
                            "windowEnd": x.window_end.isoformat(),
                            "minutes": x.minutes,
                        }
                        for x in lates[:first]
                    ],
                    "minutes": max(x.minutes for x in lates),
                },
            )
        )
    return out


def _who(courier_id: int | None, names: Mapping[int, str] | None) -> str:
    if courier_id is None:
        return "No courier"
    return (names or {}).get(courier_id, f"Courier {courier_id}")


def nothing_late(key: str, data: Mapping[str, Any], names: Mapping[int, str] | None = None) -> Raised:
    """A route's ``stop_late`` once none of its stops is late any more: the count drops to 0."""
    courier_id = data.get("courierId")
    who = _who(courier_id, names)
    return Raised(
        "stop_late",
        key,
        f"{who}'s route has no stop expected after its window any more.",
        {"courierId": courier_id, "count": 0, "stopIds": [], "first": [], "minutes": 0},
    )


def cleared(kind: Kind, key: str, data: Mapping[str, Any], names: Mapping[int, str] | None = None) -> Raised | None:
    """What an updated alert (``UPDATED_BY``) becomes when its rule no longer answers its key
    (None: it stays as it is)."""
    field = UPDATED_BY.get(kind)
    if field is None or not data.get(field):
        return None
    return nothing_late(key, data, names)


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


def standing_part(trail: Sequence[Sequence[Any]], radius_m: float = STILL_RADIUS_M, keep: int = 30) -> list[Any]:
    """Of a trail of ``[lat, lon, ...]`` points, what :func:`still_since` reads: the last run
    of points within ``radius_m`` of the last one, at most ``keep`` of them (the run's first,
    when the standing began, and the latest). ``still_since`` gives the same on it as on the
    whole trail; it is what the database keeps of a trail for another process's alert check,
    as a whole trail rewritten at every flush grew with the day."""
    if not trail:
        return []
    last = (trail[-1][0], trail[-1][1])
    start = len(trail) - 1
    while start > 0 and metres((trail[start - 1][0], trail[start - 1][1]), last) < radius_m:
        start -= 1
    run = [trail[i] for i in range(start, len(trail))]
    return run if len(run) <= keep else [run[0], *run[len(run) - keep + 1 :]]


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
    """A pickup point with at least ``share`` of its shelf places taken today: by the parcels
    on them and those announced for it (its room left, backend/services/point_room.py)."""
    out = []
    for p in points:
        taken = p.capacity - p.room_left
        if p.capacity <= 0 or taken < share * p.capacity:
            continue
        out.append(
            Raised(
                "pickup_point_full",
                str(p.pickup_point_id),
                f"{p.name} has {p.room_left} of its {p.capacity} places left today "
                f"({round(100 * taken / p.capacity)} % taken, {p.waiting} parcels on its shelves); "
                f"send further parcels to another point.",
                {
                    "pickupPointId": p.pickup_point_id,
                    "waiting": p.waiting,
                    "capacity": p.capacity,
                    "roomLeft": p.room_left,
                },
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


def stops_unplanned(run_id: int, reason: str, left: Sequence[tuple[int, str]], first: int = LATE_SHOWN) -> Raised:
    """A re-plan nobody asked for by hand (a failed stop, a courier behind or out of service, a
    closure) that took stops off every route: ``left`` (stop id, why), those that were on a
    route or waiting for one before it. Keyed by the plan run: one alert per re-plan."""
    ids = [sid for sid, _ in left]
    whys: dict[str, int] = {}
    for _, why in left:
        whys[why] = whys.get(why, 0) + 1
    named = ", ".join(str(sid) for sid in ids[:first]) + (f" and {len(ids) - first} more" if len(ids) > first else "")
    return Raised(
        "stops_unplanned",
        f"run-{run_id}",
        f"The re-plan ({reason}) left {len(ids)} stop(s) off every route: {named}. "
        "Assign them by hand or move them to another day.",
        {
            "planRunId": run_id,
            "reason": reason,
            "count": len(ids),
            "stopIds": ids,
            "first": [{"stopId": sid, "reason": why} for sid, why in left[:first]],
            "reasons": whys,
            **({"stopId": ids[0]} if len(ids) == 1 else {}),
        },
    )


def wave_not_released(cutoff: str, refusal: str, day: dt.date | None = None) -> Raised:
    """A wave whose automatic release was refused (an SKU not in the catalogue, a cart no
    tote fits), or, with ``day``, a wave of that earlier day still open (only the day's own
    waves are released on their own): its lines stay open until the dispatcher fixes the
    reason and releases it. Keyed by the wave (its cut-off, and its day when earlier): one
    alert per wave and day, however often it is tried."""
    why = refusal.strip() or "no reason given"
    wave = f"{cutoff} wave" if day is None else f"{cutoff} wave of {day.isoformat()}"
    return Raised(
        "wave_not_released",
        f"wave-{cutoff}" if day is None else f"wave-{day.isoformat()}-{cutoff}",
        f"The {wave} was not released on its own; its lines stay open until it is released by hand: {why}",
        {"cutoff": cutoff, "reason": why} | ({} if day is None else {"date": day.isoformat()}),
    )
