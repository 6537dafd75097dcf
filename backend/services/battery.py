"""A bike's battery: reported levels kept, and the range left worked out for the
desk (``GET /couriers/{id}/trail``) and for re-planning (``day.live_day``), both
from :func:`bike_ranges`, so the two always show the same figure. The rule is
in the pure core, :mod:`backend.dispatch.battery`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from backend.db.engine import current_engine, reading, transaction
from backend.db.tables import BatteryReport, Bike, Courier, Shift, TrailPoint
from backend.dispatch.battery import Odometer, RangeLeft, Reading, is_charge, range_left
from backend.dispatch.day_figures import MAX_SPEED_KMH, Point
from backend.errors import Invalid, NotFound
from backend.services.idempotency import Answer, fingerprint, once

# courier id -> their latest position not stored yet ({"lat", "lon", "ts"}), as the position store has it
Latest = Callable[[int], dict[str, Any] | None]


def with_latest(points: list[Point], last: dict[str, Any] | None, day: dt.date) -> list[Point]:
    """The stored trail and, at its end, the latest position not stored yet (flushes come every 15 s)."""
    if not last or not isinstance(last.get("ts"), str):
        return points
    ts = dt.datetime.fromisoformat(last["ts"])
    if ts.date() != day or (points and ts <= points[-1][2]):
        return points
    return [*points, (round(last["lat"], 6), round(last["lon"], 6), ts)]


def _bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time())
    return start, start + dt.timedelta(days=1)


async def _day_shifts(day: dt.date) -> list[dict[str, Any]]:
    start, end = _bounds(day)
    rows = await Shift.select(Shift.id, Shift.hub, Shift.bike, Shift.courier, Shift.status, Shift.courier.bike).where(
        (Shift.start >= start) & (Shift.start < end)
    )
    for r in rows:
        r["on_bike"] = r["bike"] or r["courier.bike"]
    return rows


async def bike_ranges(
    bike_ids: Iterable[int],
    day: dt.date,
    now: dt.datetime,
    *,
    max_speed_kmh: float = MAX_SPEED_KMH,
    latest: Latest | None = None,
) -> dict[int, RangeLeft]:
    """Each bike's range left at ``now``: its latest report of ``day`` (or full at the
    day's start) less the km ridden since on every shift of the day it is used on
    (their stored trails, and the latest positions not stored yet)."""
    wanted = sorted(set(bike_ids))
    if not wanted:
        return {}
    start, _ = _bounds(day)
    capacity = {
        b["id"]: b["battery_range_km"]
        for b in await Bike.select(Bike.id, Bike.battery_range_km).where(Bike.id.is_in(wanted))
    }
    readings: dict[int, Reading] = {}
    for r in (
        await BatteryReport.select(BatteryReport.bike, BatteryReport.level_pct, BatteryReport.at)
        .where(BatteryReport.bike.is_in(wanted) & (BatteryReport.at >= start) & (BatteryReport.at <= now))
        .order_by(BatteryReport.at)
        .order_by(BatteryReport.id)
    ):
        readings[r["bike"]] = Reading(at=r["at"], level_pct=r["level_pct"])  # the latest wins
    shifts = [s for s in await _day_shifts(day) if s["on_bike"] in capacity]
    odometers = await _odometers([s["id"] for s in shifts], max_speed_kmh)
    ridden: dict[int, float] = dict.fromkeys(capacity, 0.0)
    for s in shifts:
        odometer, bike = odometers[s["id"]], s["on_bike"]
        since = readings[bike].at if bike in readings else None
        last = with_latest([], latest(s["courier"]), day) if latest is not None and s["status"] == "started" else []
        ridden[bike] += odometer.since_m(since, last[0] if last else None) / 1000
    return {bike: range_left(km, readings.get(bike), ridden[bike]) for bike, km in capacity.items()}


class _Kept(msgspec.Struct, kw_only=True):
    odometer: Any  # Odometer
    max_id: int = 0  # the last trail point fed
    checked: int = 0  # every point of this shift up to this id has been read


# Per database engine: shift -> its trail's odometer as read last time, so that a
# re-plan reads only the points stored since (a day's trails are tens of thousands
# of points). Points of one shift are appended in order by one process's flush.
# (The engine is held while its entry is: its id cannot name another engine meanwhile.)
_KEPT: dict[int, tuple[Any, dict[int, _Kept]]] = {}
MAX_ENGINES = 4
MAX_KEPT = 10_000
# Points another transaction may still commit below the highest id seen: read again.
SLACK_IDS = 500


async def _points(where: Any) -> list[dict[str, Any]]:
    return await (
        TrailPoint.select(TrailPoint.id, TrailPoint.shift, TrailPoint.lat, TrailPoint.lon, TrailPoint.at)
        .where(where)
        .order_by(TrailPoint.at)
        .order_by(TrailPoint.id)
    )


def _kept_for(engine: Any) -> dict[int, _Kept]:
    entry = _KEPT.get(id(engine))
    if entry is None or entry[0] is not engine:
        while len(_KEPT) >= MAX_ENGINES:
            del _KEPT[next(iter(_KEPT))]
        entry = _KEPT[id(engine)] = (engine, {})
    return entry[1]


async def _odometers(shift_ids: list[int], max_speed_kmh: float) -> dict[int, Odometer]:
    """Each shift's trail odometer, brought up to date with what is stored."""
    if not shift_ids:
        return {}
    kept = _kept_for(current_engine())
    if len(kept) > MAX_KEPT:
        kept.clear()
    mine = {}
    for sid in shift_ids:
        k = kept.get(sid)
        if k is None or k.odometer.max_speed_kmh != max_speed_kmh:
            k = kept[sid] = _Kept(odometer=Odometer(max_speed_kmh))
        mine[sid] = k
    top = await TrailPoint.select(TrailPoint.id).order_by(TrailPoint.id, ascending=False).first()
    since = min(max(k.max_id, k.checked) for k in mine.values())
    fresh: dict[int, list[dict[str, Any]]] = {}
    for p in await _points(TrailPoint.shift.is_in(shift_ids) & (TrailPoint.id > since)):
        if p["id"] > mine[p["shift"]].max_id:
            fresh.setdefault(p["shift"], []).append(p)
    for sid, rows in fresh.items():
        k = mine[sid]
        fed = k.odometer.fed_until
        if fed is not None and rows[0]["at"] < fed:  # a point older than those fed: read it all again
            k = kept[sid] = mine[sid] = _Kept(odometer=Odometer(max_speed_kmh))
            rows = await _points(TrailPoint.shift == sid)
        k.odometer.feed((r["lat"], r["lon"], r["at"]) for r in rows)
        k.max_id = max(r["id"] for r in rows)
    for k in mine.values():
        k.checked = max(k.checked, (top["id"] if top else 0) - SLACK_IDS)
    return {sid: k.odometer for sid, k in mine.items()}


async def hub_shift_ranges(
    hub_id: int,
    day: dt.date,
    now: dt.datetime,
    *,
    max_speed_kmh: float = MAX_SPEED_KMH,
    latest: Latest | None = None,
) -> dict[int, RangeLeft]:
    """The range left of the bike of each of the hub's shifts of ``day`` (shift id -> range), for a re-plan."""
    on_bike = {s["id"]: s["on_bike"] for s in await _day_shifts(day) if s["hub"] == hub_id and s["on_bike"]}
    ranges = await bike_ranges(on_bike.values(), day, now, max_speed_kmh=max_speed_kmh, latest=latest)
    return {sid: ranges[bike] for sid, bike in on_bike.items() if bike in ranges}


def range_view(left: RangeLeft | None) -> dict[str, Any]:
    """The battery as the API shows it (camelCase)."""
    if left is None:
        return {"rangeKm": None, "rangeLeftKm": None, "batteryPct": None, "batteryReportedAt": None}
    return {
        "rangeKm": left.capacity_km,
        "rangeLeftKm": left.left_km,
        "batteryPct": left.level_pct,
        "batteryReportedAt": left.reported_at.isoformat() if left.reported_at else None,
    }


def checked_level(level_pct: float | None, charged: bool) -> float:
    """The level to keep, or Invalid naming the field (nothing is stored then)."""
    if charged:
        if level_pct is not None and level_pct != 100:
            raise Invalid(
                f"charged: true means a full battery, but levelPct is {level_pct:g}; send one of the two.",
                field="levelPct",
            )
        return 100.0
    if level_pct is None:
        raise Invalid("Send levelPct (the battery level, 0 to 100 %) or charged: true.", field="levelPct")
    if not 0 <= level_pct <= 100:  # NaN fails too
        raise Invalid(
            f"levelPct must be a battery level from 0 to 100 (%); {level_pct:g} is outside it. Nothing was stored.",
            field="levelPct",
        )
    return float(level_pct)


async def _bike_of(courier_id: int, day: dt.date) -> tuple[dict[str, Any], int]:
    courier = (
        await Courier.select(Courier.id, Courier.name, Courier.hub, Courier.bike)
        .where(Courier.id == courier_id)
        .first()
    )
    if courier is None:
        raise NotFound(f"There is no courier with id {courier_id}.")
    shifts = sorted((s for s in await _day_shifts(day) if s["courier"] == courier_id), key=lambda s: s["id"])
    started = [s for s in shifts if s["status"] == "started"]
    bike = (started or shifts or [{"on_bike": courier["bike"]}])[-1]["on_bike"]
    if bike is None:
        raise Invalid(
            f"Courier {courier['name']} has no bike today; give the shift or the courier a bike, "
            "then report its battery."
        )
    return courier, bike


async def report_battery(
    courier_id: int, level_pct: float, *, by_user: int, now: dt.datetime, max_speed_kmh: float = MAX_SPEED_KMH
) -> dict[str, Any]:
    """Keep a battery level for the courier's bike of today; answers the range left.
    The caller has checked who may report for this courier."""
    courier, bike = await _bike_of(courier_id, now.date())
    async with transaction():
        await BatteryReport.insert(
            BatteryReport(bike=bike, courier=courier_id, level_pct=level_pct, at=now, by_user=by_user)
        )
        left = (await bike_ranges([bike], now.date(), now, max_speed_kmh=max_speed_kmh))[bike]
    return {
        "courierId": courier["id"],
        "bikeId": bike,
        "levelPct": level_pct,
        "charged": is_charge(level_pct),
        "reportedAt": now.isoformat(),
        **range_view(left),
    }


async def report_battery_once(
    courier_id: int,
    level_pct: float | None,
    charged: bool,
    *,
    by_user: int,
    now: dt.datetime,
    key: str | None,
    body: bytes,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> Answer:
    """:func:`report_battery` once per Idempotency-Key when one is given (a replay answers
    the stored report and keeps nothing again). A level outside 0-100 % is refused
    before anything, the key's record included, is written."""
    level = checked_level(level_pct, charged)
    path = f"/couriers/{courier_id}/battery"

    async def action() -> dict[str, Any]:
        return await report_battery(courier_id, level, by_user=by_user, now=now, max_speed_kmh=max_speed_kmh)

    if key is None:
        return Answer(201, await action(), replayed=False)
    return await once(by_user, key, fingerprint("POST", path, body), 201, action)


async def courier_range(
    bike_id: int | None, day: dt.date, now: dt.datetime, *, max_speed_kmh: float, latest: Latest | None
) -> RangeLeft | None:
    """The range left of a courier's bike of the day (None: no bike): the desk's figure."""
    if bike_id is None:
        return None
    async with reading():
        return (await bike_ranges([bike_id], day, now, max_speed_kmh=max_speed_kmh, latest=latest)).get(bike_id)
