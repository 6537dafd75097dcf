"""The dispatcher's desk: a hub's day on one screen, as of one sequence number.

``desk_day`` answers ``GET /hubs/{hubId}/desk`` and is the snapshot of the hub
websocket (backend/api/streams.py), so both show the same day: the hub, its
shops and pickup points, the couriers on shift (with their colour, shift,
bike and route), the routes in force as their events carry them, the stops
not on any route with the reason, and the couriers' last positions. Anything
after ``seq`` arrives as an event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.engine import reading
from backend.db.tables import Bike, Hub, PickupPoint, PlanRun, Shift, Shop, Stop
from backend.errors import NotFound
from backend.realtime.outbox import latest_seq
from backend.services import point_room
from backend.services.context import Context
from backend.services.courier import route_views
from backend.services.courier_colours import colours_by_rank
from backend.services.route_store import routes_in_force

# Stops of the day that no route in force carries, by their state.
NOT_ON_A_ROUTE = ("open", "unplanned")
# Where an unplanned stop's reason is looked for: the day's newest plan runs.
RUNS_READ = 20
NOT_PLANNED_YET = "not_planned_yet"
NOT_PLANNED_YET_DETAIL = "Not on a route yet; the next plan or re-plan of the day takes it."


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


async def desk_day(ctx: Context, hub_id: int, day: dt.date) -> dict[str, Any]:
    """The hub's day (see the module); NotFound for an unknown hub."""
    async with reading():  # one snapshot: nothing in it is newer than seq
        seq = await latest_seq()
        hub = await Hub.select(Hub.id, Hub.name, Hub.lat, Hub.lon).where(Hub.id == hub_id).first()
        if hub is None:
            raise NotFound(f"There is no hub with id {hub_id}.")
        routes = await routes_in_force(hub_id, day)
        views = await route_views(routes, hub_id=hub_id, day=day)
        couriers = await _couriers(hub_id, day, routes)
        shops = await _shops(hub_id)
        points = await _pickup_points(hub_id, day)
        unplanned = await _unplanned(hub_id, day, routes)
    return {
        "seq": seq,
        "date": day.isoformat(),
        "now": ctx.now().isoformat(),
        "hub": hub,
        "shops": shops,
        "pickupPoints": points,
        "couriers": couriers,
        "routes": views,
        "unplanned": unplanned,
        "positions": _positions(ctx, hub_id, day, [c["id"] for c in couriers]),
    }


async def _couriers(hub_id: int, day: dt.date, routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The couriers with a shift at the hub on ``day``, by id, each with the shift their
    route rides (else their first of the day), its bike and their colour."""
    start = dt.datetime.combine(day, dt.time())
    shifts = (
        await Shift.select(
            Shift.id,
            Shift.courier,
            Shift.start,
            Shift.end,
            Shift.status,
            Shift.bike,
            Shift.courier.name,
            Shift.courier.bike,
        )
        .where((Shift.hub == hub_id) & (Shift.start >= start) & (Shift.start < start + dt.timedelta(days=1)))
        .order_by(Shift.start, Shift.id)
    )
    route_of = {r["courier"]: r for r in routes}
    chosen: dict[int, dict[str, Any]] = {}
    for s in shifts:
        route = route_of.get(s["courier"])
        if s["courier"] not in chosen or (route is not None and route["shift"] == s["id"]):
            chosen[s["courier"]] = s
    bike_ids = {s["bike"] or s["courier.bike"] for s in chosen.values()} - {None}
    bikes = {
        b["id"]: b
        for b in await Bike.select(Bike.id, Bike.name, Bike.battery_range_km).where(
            Bike.id.is_in(list(bike_ids) or [-1])
        )
    }
    colours = colours_by_rank(list(chosen))
    out = []
    for cid in sorted(chosen):
        s = chosen[cid]
        bike = bikes.get(s["bike"] or s["courier.bike"])
        route = route_of.get(cid)
        out.append(
            {
                "id": cid,
                "name": s["courier.name"],
                "colour": colours[cid],
                "shiftId": s["id"],
                "shiftStart": s["start"].isoformat(),
                "shiftEnd": s["end"].isoformat(),
                "shiftStatus": s["status"],
                "bikeId": bike["id"] if bike else None,
                "bikeName": bike["name"] if bike else None,
                "rangeKm": bike["battery_range_km"] if bike else None,
                "routeId": route["id"] if route else None,
            }
        )
    return out


async def _shops(hub_id: int) -> list[dict[str, Any]]:
    """The hub's shops and the shared ones (of no hub)."""
    return list(
        await Shop.select(Shop.id, Shop.name, Shop.lat, Shop.lon)
        .where((Shop.hub == hub_id) | Shop.hub.is_null())
        .order_by(Shop.id)
    )


async def _pickup_points(hub_id: int, day: dt.date) -> list[dict[str, Any]]:
    """The hub's pickup points and the shared ones, with the parcels on their shelves now
    and the room left that day (both from backend/services/point_room.py)."""
    rows = (
        await PickupPoint.select(
            PickupPoint.id, PickupPoint.name, PickupPoint.lat, PickupPoint.lon, PickupPoint.capacity_parcels
        )
        .where((PickupPoint.hub == hub_id) | PickupPoint.hub.is_null())
        .order_by(PickupPoint.id)
    )
    rooms = await point_room.rooms([(r["id"], r["capacity_parcels"]) for r in rows], day)
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "lat": r["lat"],
            "lon": r["lon"],
            "capacity": r["capacity_parcels"],
            "parcelsWaiting": rooms[r["id"]].on_shelves,
            "roomLeft": rooms[r["id"]].left,
        }
        for r in rows
    ]


async def _unplanned(hub_id: int, day: dt.date, routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The day's stops no route in force carries (unplanned, or open: not planned yet),
    each with the reason of the newest plan run that left it out."""
    on_routes = {s["stop_id"] for r in routes for s in r["stops"]}
    rows = [
        r
        for r in await Stop.select(
            Stop.id,
            Stop.order,
            Stop.order.reference,
            Stop.kind,
            Stop.address,
            Stop.lat,
            Stop.lon,
            Stop.window_start,
            Stop.window_end,
        )
        .where((Stop.hub == hub_id) & (Stop.plan_date == day) & Stop.status.is_in(list(NOT_ON_A_ROUTE)))
        .order_by(Stop.window_start, Stop.id)
        if r["id"] not in on_routes
    ]
    reasons: dict[int, dict[str, Any]] = {}
    if rows:
        runs = (
            await PlanRun.select(PlanRun.unplanned)
            .where((PlanRun.hub == hub_id) & (PlanRun.plan_date == day))
            .order_by(PlanRun.id, ascending=False)
            .limit(RUNS_READ)
            .output(load_json=True)
        )
        for run in runs:  # newest first: the first word on a stop is the one in force
            for u in run["unplanned"] or []:
                reasons.setdefault(int(u["stopId"]), u)
    out = []
    for r in rows:
        why = reasons.get(r["id"], {})
        out.append(
            {
                "stopId": r["id"],
                "orderId": r["order"],
                "reference": r["order.reference"],
                "kind": r["kind"],
                "address": r["address"],
                "lat": r["lat"],
                "lon": r["lon"],
                "windowStart": r["window_start"].isoformat(),
                "windowEnd": r["window_end"].isoformat(),
                "reason": why.get("reason", NOT_PLANNED_YET),
                "detail": why.get("detail", NOT_PLANNED_YET_DETAIL),
            }
        )
    return out


def _positions(ctx: Context, hub_id: int, day: dt.date, couriers: list[int]) -> list[dict[str, Any]]:
    """The couriers' last known positions (today only: positions are now, not a day's)."""
    if ctx.positions is None or day != ctx.now().date():
        return []
    out = []
    for cid in couriers:
        last = ctx.positions.last(cid)
        if last is None or last.get("hubId", hub_id) != hub_id:
            continue
        out.append(
            {
                "courierId": cid,
                "hubId": hub_id,
                "lat": last["lat"],
                "lon": last["lon"],
                "ts": last.get("ts"),
                "accuracy": last.get("accuracy"),
            }
        )
    return out
