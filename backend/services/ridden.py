"""What was ridden and done: a courier's trail of a day, the hub's figures of the
day, and the day as CSV and a trail as GPX. The math is in the pure core
(``backend/dispatch/day_figures.py``); this module reads and formats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from typing import Any

from backend.db.engine import reading
from backend.db.tables import Courier, Hub, Parcel, Shift, Stop, TrailPoint
from backend.dispatch.day_figures import (
    CO2_FACTOR_KG_PER_KM,
    CO2_SOURCE,
    DeliveryFacts,
    Point,
    StopFacts,
    co2_avoided_kg,
    first_attempt_share,
    recent_speed_kmh,
    ridden_m,
    share,
    stop_figures,
)
from backend.errors import NotFound
from backend.services.battery import courier_range, range_view, with_latest
from backend.services.context import Context
from backend.services.courier import shift_of
from backend.services.route_store import routes_in_force

# A speed is "now" only while positions keep coming.
SPEED_STALE_S = 300
GPX_NS = "http://www.topografix.com/GPX/1/1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CSV_COLUMNS = (
    "stopId",
    "orderReference",
    "kind",
    "address",
    "courierId",
    "courier",
    "position",
    "windowStart",
    "windowEnd",
    "eta",
    "arrivedAt",
    "completedAt",
    "status",
    "failReason",
    "failNote",
)


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


async def _courier(courier_id: int) -> dict[str, Any]:
    row = (
        await Courier.select(Courier.id, Courier.name, Courier.bike, Courier.hub)
        .where(Courier.id == courier_id)
        .first()
    )
    if row is None:
        raise NotFound(f"There is no courier with id {courier_id}.")
    return row


async def _stored_trail(shift_id: int) -> list[Point]:
    rows = (
        await TrailPoint.select(TrailPoint.lat, TrailPoint.lon, TrailPoint.at)
        .where(TrailPoint.shift == shift_id)
        .order_by(TrailPoint.at)
        .order_by(TrailPoint.id)
    )
    return [(r["lat"], r["lon"], r["at"]) for r in rows]


async def _day_trail(
    ctx: Context, courier_id: int, day: dt.date
) -> tuple[dict[str, Any], dict[str, Any] | None, list[Point]]:
    """The courier, their shift of the day (None: no shift) and its trail, oldest first."""
    async with reading():
        courier = await _courier(courier_id)
        shift = await shift_of(courier_id, day)
        points = await _stored_trail(shift["id"]) if shift else []
    courier["bikeId"] = (shift or {}).get("bike") or courier["bike"]
    if shift is not None:
        points = with_latest(points, ctx.positions.last(courier_id) if ctx.positions else None, day)
    return courier, shift, points


async def courier_trail(ctx: Context, courier_id: int, day: dt.date, now: dt.datetime) -> dict[str, Any]:
    """``GET /couriers/{id}/trail``: the ridden trail of the day's shift, km, speed, range left."""
    courier, shift, points = await _day_trail(ctx, courier_id, day)
    fastest = ctx.settings.trail_max_kmh
    km = round(ridden_m(points, fastest) / 1000, 2)
    last_at = points[-1][2] if points else (shift or {}).get("last_position_at")
    age = max(0, round((now - last_at).total_seconds())) if last_at else None
    latest = ctx.positions.last if ctx.positions else None
    # The same figure a re-plan gives the planner (backend/services/battery.py).
    left = await courier_range(courier["bikeId"], day, now, max_speed_kmh=fastest, latest=latest)
    return {
        "courierId": courier_id,
        "shiftId": shift["id"] if shift else None,
        "points": [[lat, lon, t.isoformat()] for lat, lon, t in points],
        "riddenKm": km,
        "speedKmh": recent_speed_kmh(points, max_speed_kmh=fastest)
        if age is not None and age <= SPEED_STALE_S
        else None,
        "lastPositionAt": _iso(last_at),
        "lastPositionAgeS": age,
        **range_view(left),
    }


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time())
    return start, start + dt.timedelta(days=1)


async def _hub_exists(hub_id: int) -> None:
    if await Hub.select(Hub.id).where(Hub.id == hub_id).first() is None:
        raise NotFound(f"There is no hub with id {hub_id}.")


async def _ridden_km(hub_id: int, day: dt.date, max_speed_kmh: float) -> float:
    start, end = _day_bounds(day)
    shifts = [
        r["id"]
        for r in await Shift.select(Shift.id).where(
            (Shift.hub == hub_id) & (Shift.start >= start) & (Shift.start < end)
        )
    ]
    if not shifts:
        return 0.0
    trails: dict[int, list[Point]] = {s: [] for s in shifts}
    rows = (
        await TrailPoint.select(TrailPoint.shift, TrailPoint.lat, TrailPoint.lon, TrailPoint.at)
        .where(TrailPoint.shift.is_in(shifts))
        .order_by(TrailPoint.at)
    )
    for r in rows:
        trails[r["shift"]].append((r["lat"], r["lon"], r["at"]))
    return sum(ridden_m(points, max_speed_kmh) for points in trails.values()) / 1000


async def hub_figures(ctx: Context, hub_id: int, day: dt.date) -> dict[str, Any]:
    """``GET /hubs/{id}/figures``: the day's counts, shares, kilometres and CO2 avoided."""
    async with reading():
        await _hub_exists(hub_id)
        stops = await Stop.select(
            Stop.id,
            Stop.order,
            Stop.kind,
            Stop.status,
            Stop.pickup_point,
            Stop.window_start,
            Stop.window_end,
            Stop.arrived_at,
            Stop.completed_at,
        ).where((Stop.hub == hub_id) & (Stop.plan_date == day))
        orders = list({s["order"] for s in stops if s["kind"] == "delivery"})
        deliveries = (
            await Stop.select(Stop.id, Stop.order, Stop.plan_date, Stop.status).where(
                Stop.order.is_in(orders) & (Stop.kind == "delivery")
            )
            if orders
            else []
        )
        at_points = list(
            {
                s["order"]
                for s in stops
                if s["kind"] == "delivery" and s["pickup_point"] is not None and s["status"] == "delivered"
            }
        )
        parcels_at_points = (
            await Parcel.count().where(Parcel.order.is_in(at_points) & (Parcel.status == "delivered"))
            if at_points
            else 0
        )
        km = await _ridden_km(hub_id, day, ctx.settings.trail_max_kmh)
    figures = stop_figures(
        StopFacts(
            status=s["status"],
            window_start=s["window_start"],
            window_end=s["window_end"],
            arrived_at=s["arrived_at"],
            completed_at=s["completed_at"],
        )
        for s in stops
    )
    first, attempted = first_attempt_share(
        (
            DeliveryFacts(stop_id=d["id"], order_id=d["order"], plan_date=d["plan_date"], status=d["status"])
            for d in deliveries
        ),
        day,
    )
    return {
        "date": day.isoformat(),
        "stopsTotal": figures.total,
        "stopsDone": figures.done,
        "stopsFailed": figures.failed,
        "stopsRemaining": figures.remaining,
        "onTimeShare": figures.on_time_share,
        "firstAttemptShare": share(first, attempted),
        "riddenKm": round(km, 2),
        "co2AvoidedKg": co2_avoided_kg(km),
        "co2FactorKgPerKm": CO2_FACTOR_KG_PER_KM,
        "co2Source": CO2_SOURCE,
        "parcelsAtPickupPoints": parcels_at_points,
        "avgMinutesPerStop": figures.avg_minutes_per_stop,
    }


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def day_csv(hub_id: int, day: dt.date) -> str:
    """``GET /hubs/{id}/day.csv``: one row per stop of the day, in riding order per courier."""
    async with reading():
        await _hub_exists(hub_id)
        stops = (
            await Stop.select(*Stop.all_columns(), Stop.order.reference)
            .where((Stop.hub == hub_id) & (Stop.plan_date == day))
            .order_by(Stop.id)
        )
        routes = await routes_in_force(hub_id, day)
        names = {
            c["id"]: c["name"] for c in await Courier.select(Courier.id, Courier.name).where(Courier.hub == hub_id)
        }
    on_route: dict[int, tuple[int, int, str | None]] = {}  # stop id -> courier, position (1-based), eta
    for route in routes:
        for i, s in enumerate(route["stops"], start=1):
            on_route[s["stop_id"]] = (route["courier"], i, s.get("eta"))
    stops.sort(key=lambda s: (s["id"] not in on_route, on_route.get(s["id"], (0, 0, None))[:2], s["id"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in stops:
        courier, position, eta = on_route.get(s["id"], (None, None, None))
        row = (
            s["id"],
            s["order.reference"],
            s["kind"],
            s["address"],
            courier,
            names.get(courier, "") if courier else "",
            position,
            _iso(s["window_start"]),
            _iso(s["window_end"]),
            eta,
            _iso(s["arrived_at"]),
            _iso(s["completed_at"]),
            s["status"],
            s["fail_reason"],
            s["fail_note"],
        )
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return out.getvalue()


def _utc(t: dt.datetime) -> str:
    """GPX times are UTC: a local wall-clock time (the server's zone, as the clock that stamped it)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def trail_gpx(ctx: Context, courier_id: int, day: dt.date) -> str:
    """``GET /couriers/{id}/trail.gpx``: the day's ridden trail as GPX 1.1 (one track, one segment)."""
    courier, shift, points = await _day_trail(ctx, courier_id, day)
    ET.register_namespace("", GPX_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(
        f"{{{GPX_NS}}}gpx",
        {"version": "1.1", "creator": "Laadbak", f"{{{XSI_NS}}}schemaLocation": f"{GPX_NS} {GPX_NS}/gpx.xsd"},
    )
    meta = ET.SubElement(root, f"{{{GPX_NS}}}metadata")
    ET.SubElement(meta, f"{{{GPX_NS}}}name").text = f"{courier['name']}, {day.isoformat()}"
    if points:
        ET.SubElement(meta, f"{{{GPX_NS}}}time").text = _utc(points[0][2])
    trk = ET.SubElement(root, f"{{{GPX_NS}}}trk")
    ET.SubElement(trk, f"{{{GPX_NS}}}name").text = f"{courier['name']}, shift {shift['id'] if shift else '-'}"
    seg = ET.SubElement(trk, f"{{{GPX_NS}}}trkseg")
    for lat, lon, t in points:
        pt = ET.SubElement(seg, f"{{{GPX_NS}}}trkpt", {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"})
        ET.SubElement(pt, f"{{{GPX_NS}}}time").text = _utc(t)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
