"""Consistency of multi-step changes: events carry final states, re-plans of one
hub are serialised across processes, and a save on stale routes is refused."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import OutboxEvent
from backend.services.replanning import take_same_day_order
from tests.api.helpers import tomorrow
from tests.api.test_replanning import _planned_day, _same_day

# docs/courier-protocol.md: the statuses a stop on a route can have.
PROTOCOL_STOP_STATUSES = {"planned", "arrived", "delivered", "failed", "collected"}


async def _route_events(after: int = 0) -> list[dict]:
    return await OutboxEvent.select().where(
        (OutboxEvent.id > after) & OutboxEvent.kind.is_in(["route.planned", "route.updated"])
    ).output(load_json=True)


async def test_every_stop_in_a_route_event_has_a_status_the_protocol_lists(client, geo) -> None:
    _, hub, _ = await _planned_day(client, geo)
    planned = await _route_events()
    assert planned and all(e["kind"] == "route.planned" for e in planned)
    seen = max(e["id"] for e in planned)
    now = dt.datetime.combine(tomorrow(), dt.time(10, 0))
    _, result = await take_same_day_order(geo, None, _same_day(hub, geo, "SD-STATUS", ("13:00", "18:00")), now,
                                          time_limit_s=1.0)
    assert result is not None and result["changedCouriers"]
    updated = await _route_events(seen)
    assert updated and all(e["kind"] == "route.updated" for e in updated)
    statuses = {s["status"] for e in planned + updated for s in e["payload"]["stops"]}
    assert statuses <= PROTOCOL_STOP_STATUSES, statuses
