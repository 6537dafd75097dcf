"""What a dispatcher's screen starts from: the hub and its routes in force, as of one sequence number."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.engine import reading
from backend.db.tables import Hub
from backend.realtime.outbox import latest_seq
from backend.services.courier import route_view
from backend.services.route_store import routes_in_force


async def hub_day(hub_id: int, day: dt.date) -> dict[str, Any]:
    """``seq``, ``date``, ``hub`` and ``routes`` (as their events carry them), read in one snapshot."""
    async with reading():
        seq = await latest_seq()
        hub = await Hub.select(Hub.id, Hub.name, Hub.lat, Hub.lon).where(Hub.id == hub_id).first()
        routes = [await route_view(r) for r in await routes_in_force(hub_id, day)]
    return {"seq": seq, "date": day.isoformat(), "hub": hub, "routes": routes}
