"""A big hub's live day for the minute's alert check: couriers on the road with a day's trail.

Every courier has started their shift, rides a route of ``stops_per_courier`` stops, and has
sent ``trail_points`` positions (one every 6 s, the phone's pace) to the position store;
one in ten has stood still for the last 120 of them (12 minutes). The rows are written the way
``bench ws`` writes its day (backend/bench/ws_day.py), on addresses laid out on a grid
rather than read from the map, so that no street network is loaded.
"""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace
from typing import Any

from backend.bench.ws_day import write_riders

HUB = (52.37, 4.89)
POSITION_EVERY_S = 6
STANDING_EVERY = 10  # one courier in ten stands still at the end of their trail
STANDING_POINTS = 120  # 12 minutes: over the 10 that raise standing_still


def _addresses(n: int) -> list[Any]:
    side = int(n**0.5) + 1
    return [
        SimpleNamespace(
            street=f"Gridstraat {i // side}",
            housenumber=str(i % side + 1),
            lat=HUB[0] + (i // side - side / 2) * 4e-4,
            lon=HUB[1] + (i % side - side / 2) * 6e-4,
        )
        for i in range(n)
    ]


async def seed_live_day(
    routes: int, trail_points: int, now: dt.datetime, *, stops_per_courier: int = 6
) -> tuple[int, Any]:
    """Write the day into the bound database; answers the hub's id and the position store."""
    from backend.db.engine import transaction
    from backend.db.tables import Hub, Shift
    from backend.realtime.positions import PositionStore

    day = now.date()
    async with transaction():
        hub_id = (
            await Hub.insert(Hub(name="Bench hub", address="Gridstraat 0", lat=HUB[0], lon=HUB[1], opening_hours=[]))
        )[0]["id"]
        names = [f"bench{i:05d}" for i in range(1, routes + 1)]
        courier_ids, shift_ids = await write_riders(
            hub_id, HUB, names, "not a login", _addresses(2000), stops_per_courier, day, random.Random(1)
        )
        started = now - dt.timedelta(seconds=POSITION_EVERY_S * trail_points)
        await Shift.update(
            {Shift.status: "started", Shift.started_at: started, Shift.last_position_at: started}, force=True
        )
    store = PositionStore(trail_max=max(trail_points, 1))
    for k, name in enumerate(names):
        courier = courier_ids[name]
        lat, lon = HUB
        for i in range(trail_points):
            moving = k % STANDING_EVERY or i < trail_points - STANDING_POINTS
            lat, lon = (lat + 1e-4, lon + 1e-4) if moving else (lat, lon)
            at = now - dt.timedelta(seconds=POSITION_EVERY_S * (trail_points - i))
            store.record(courier_id=courier, shift_id=shift_ids[courier], hub_id=hub_id, lat=lat, lon=lon, ts=at)
    return hub_id, store
