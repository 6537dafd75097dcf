"""Street and zone closures from the dispatcher: stored, applied to planning, re-planned.

A closure shuts a zone, a street, or a street within a zone, for a time span,
for one hub's planning. Matrices are time-independent (the solver's transit
callbacks depend on (from, to) only), so the rule is conservative: a plan or
re-plan shuts every closure that overlaps what is left of the day, for all of
it. When a closure ends during the running day, :class:`ClosureReopener` re-plans
the hub so that its streets are used again; adding or deleting one that touches
the running day re-plans at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np

from backend.db.engine import transaction
from backend.db.tables import Hub, StreetClosure
from backend.dispatch.closures import BadZone, Point, check_zone, circle
from backend.dispatch.network import SNAP_MAX_M
from backend.errors import Invalid, NotFound
from backend.realtime.background import Background
from backend.services.context import Context
from backend.services.day import closure_what, closures_overlapping, edges_of
from backend.services.geo import Geo
from backend.services.idempotency import Answer, Write, fingerprint, once_then
from backend.services.replan_after import promise_replan, replan_running
from backend.services.replanning import announce_if_not_applied
from backend.structs import Out

log = logging.getLogger("laadbak.closures")

MAX_SPAN = dt.timedelta(days=31)


class ClosureOut(Out):
    id: int
    hub_id: int
    street: str
    zone: list[tuple[float, float]]
    start: dt.datetime
    end: dt.datetime
    reason: str
    streets: list[str]  # the streets it shuts (parts of), by name
    closed_edges: int  # street segments shut, each direction counted
    created_at: dt.datetime
    reopened_at: dt.datetime | None = None
    # The re-plan of the running day it caused; None when it does not touch the running day.
    replan: dict[str, Any] | None = None


def _day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def _view(geo: Geo, row: dict[str, Any], replan: dict[str, Any] | None = None) -> ClosureOut:
    edges = geo.closure_edges(row["street"], row["zone"])
    return ClosureOut(
        id=row["id"],
        hub_id=row["hub"],
        street=row["street"],
        zone=[(p[0], p[1]) for p in row["zone"]],
        start=row["start"],
        end=row["end"],
        reason=row["reason"],
        streets=geo.streets_of(edges),
        closed_edges=len(edges),
        created_at=row["created_at"],
        reopened_at=row["reopened_at"],
        replan=replan,
    )


def _zone(
    geo: Geo, zone: Sequence[Sequence[float]] | None, centre: tuple[float, float, float] | None
) -> tuple[Point, ...]:
    """The closure's polygon ((): none), checked; a circle (lat, lon, radius_m) becomes one."""
    if zone is not None and centre is not None:
        raise Invalid("Give the closed area as a zone or as a circle, not both.")
    try:
        if centre is not None:
            return circle(*centre)
        if zone is not None:
            return check_zone(zone)
    except BadZone as exc:
        raise Invalid(str(exc)) from exc
    return ()


def _map_bounds(geo: Geo) -> str:
    min_lat, min_lon, max_lat, max_lon = geo.network.bbox
    return f"latitude {min_lat:.5f}..{max_lat:.5f} and longitude {min_lon:.5f}..{max_lon:.5f}"


def _touches_running_day(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> bool:
    """Whether [start, end) overlaps what is left of today, [now, midnight)."""
    return start < _day_end(now.date()) and end > now


async def add_closure(
    ctx: Context,
    hub_id: int,
    *,
    reason: str,
    start: dt.datetime,
    end: dt.datetime,
    street: str | None = None,
    zone: Sequence[Sequence[float]] | None = None,
    centre: tuple[float, float, float] | None = None,
    now: dt.datetime,
    time_limit_s: float | None = None,
    user_id: int | None = None,
) -> ClosureOut:
    """Close a street, a zone (polygon, or circle ``centre`` = (lat, lon, radius_m)), or a
    street within a zone, for [start, end); re-plans the running day when it touches it.

    Raises Invalid (422) with what to change for: a span that ends before it starts or
    has ended, a bad polygon, an unknown street, a zone with no street of the map in
    it, and a closure that would cut the hub off the streets.
    """
    row = await _checked(ctx.geo, hub_id, reason, start, end, street, zone, centre, now, user_id)
    async with transaction():
        closure_id = await _insert(row, now)
    return await _replanned(ctx, await _read(closure_id), now, time_limit_s)


async def add_closure_once(
    ctx: Context,
    hub_id: int,
    *,
    reason: str,
    start: dt.datetime,
    end: dt.datetime,
    street: str | None = None,
    zone: Sequence[Sequence[float]] | None = None,
    centre: tuple[float, float, float] | None = None,
    now: dt.datetime,
    user_id: int,
    key: str | None,
    body: bytes,
) -> Answer:
    """:func:`add_closure` once per Idempotency-Key when one is given: a replay answers
    what the first request answered (its re-plan included) and closes and re-plans
    nothing again; the same key with another body is refused (422, ``key_reused``)."""
    if key is None:
        out = await add_closure(
            ctx,
            hub_id,
            reason=reason,
            start=start,
            end=end,
            street=street,
            zone=zone,
            centre=centre,
            now=now,
            user_id=user_id,
        )
        return Answer(201, msgspec.to_builtins(out), replayed=False)

    async def prepare() -> Write:
        row = await _checked(ctx.geo, hub_id, reason, start, end, street, zone, centre, now, user_id)

        async def write() -> dict[str, Any]:
            return {"id": await _insert(row, now)}

        return write

    async def then(first: dict[str, Any]) -> Any:
        return msgspec.to_builtins(await _replanned(ctx, await _read(first["id"]), now, None))

    return await once_then(
        user_id, key, fingerprint("POST", f"/hubs/{hub_id}/closures", body), 201, prepare=prepare, then=then
    )


async def _checked(
    geo: Geo,
    hub_id: int,
    reason: str,
    start: dt.datetime,
    end: dt.datetime,
    street: str | None,
    zone: Sequence[Sequence[float]] | None,
    centre: tuple[float, float, float] | None,
    now: dt.datetime,
    user_id: int | None,
) -> StreetClosure:
    """The closure's row to insert, checked (see :func:`add_closure`); nothing is written."""
    hub = await Hub.select(Hub.id, Hub.name, Hub.lat, Hub.lon).where(Hub.id == hub_id).first()
    if hub is None:
        raise NotFound(f"There is no hub with id {hub_id}.")
    if start.tzinfo is not None or end.tzinfo is not None:
        raise Invalid("Give the closure's start and end as local times without a time zone, e.g. 2026-11-23T10:00.")
    if end <= start:
        raise Invalid(
            f"The closure ends ({end:%Y-%m-%d %H:%M}) before it starts ({start:%Y-%m-%d %H:%M}); "
            f"swap them or correct the end."
        )
    if end <= now:
        raise Invalid(f"The closure ended at {end:%Y-%m-%d %H:%M}, before now; there is nothing left to close.")
    if end - start > MAX_SPAN:
        raise Invalid(f"A closure may last at most {MAX_SPAN.days} days; enter longer works as several.")
    name = " ".join((street or "").split())
    if street is not None and not name:
        raise Invalid("The street name is empty; give the street's name as on the map, or leave it out.")
    polygon = _zone(geo, zone, centre)
    if not name and not polygon:
        raise Invalid(
            "Say what is closed: a street (its name), a zone (corners [lat, lon]) or a circle "
            "(lat, lon, radiusM), or a street and a zone for a stretch of it."
        )
    if name:
        name = geo.street(name)[0]  # unknown: 422 with suggestions
    edges = geo.closure_edges(name, polygon)
    if len(edges) == 0:
        if name:
            raise Invalid(f"{name} does not pass through the zone; draw the zone over the closed stretch.")
        if not any(geo.network.contains(lat, lon) for lat, lon in polygon):
            raise Invalid(f"The zone is outside the map, which covers {_map_bounds(geo)}.")
        raise Invalid(
            "The zone contains no street that cargo bikes use, so closing it changes nothing; "
            "draw it over the closed streets."
        )
    # With the other closures of that time, could bikes still leave and return to the hub?
    others = edges_of(geo, await closures_overlapping(hub_id, start, end))
    (hub_reach,) = geo.network.reach([(hub["lat"], hub["lon"])], np.union1d(others, edges))
    if hub_reach is None:
        raise Invalid(
            f"This closure would cut hub {hub['name']} off the streets: no open street within "
            f"{SNAP_MAX_M:.0f} m leads away from it and back. Close a smaller zone, or fewer "
            f"streets at once."
        )
    return StreetClosure(
        hub=hub_id,
        street=name,
        zone=[list(p) for p in polygon],
        start=start,
        end=end,
        reason=reason,
        created_by=user_id,
    )


async def _replanned(ctx: Context, row: dict[str, Any], now: dt.datetime, time_limit_s: float | None) -> ClosureOut:
    """The stored closure, with the re-plan of the running day when it touches it."""
    replan = None
    if _touches_running_day(row["start"], row["end"], now):
        key = f"closure:{row['id']}:closed"
        before = await _closed_but(ctx.geo, row["hub"], now, but=row["id"])
        replan = await replan_running(
            ctx, row["hub"], now, _closed_reason(row), time_limit_s, keys=[key], baseline_closed=before
        )
    return _view(ctx.geo, row, replan)


async def _insert(row: StreetClosure, now: dt.datetime) -> int:
    """Inside the caller's transaction: the closure, and the re-plan it owes the running day."""
    closure_id = int((await StreetClosure.insert(row))[0]["id"])
    if _touches_running_day(row.start, row.end, now):
        reason = _closed_reason({"street": row.street, "zone": row.zone, "reason": row.reason})
        await promise_replan(row.hub, now, reason, f"closure:{closure_id}:closed")
    return closure_id


async def _closed_but(
    geo: Geo, hub_id: int, now: dt.datetime, *, but: int | None = None, also: Sequence[dict[str, Any]] = ()
) -> np.ndarray:
    """The edges closed for what is left of today as they were before a change: without
    the closure ``but`` (just made), with those ``also`` (just lifted). The routes whose
    legs differ from theirs are the ones the change re-times."""
    rows = await closures_overlapping(hub_id, now, _day_end(now.date()), but=but)
    return edges_of(geo, [*rows, *also])


def _closed_reason(row: dict[str, Any]) -> str:
    return f"street closed: {closure_what(row)}"


async def _read(closure_id: int) -> dict[str, Any]:
    row = await StreetClosure.select().where(StreetClosure.id == closure_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"There is no closure with id {closure_id}.")
    return row


async def list_closures(ctx: Context, hub_id: int, day: dt.date | None, now: dt.datetime) -> list[ClosureOut]:
    """The hub's closures overlapping ``day``; without a day, those not ended yet."""
    if day is not None:
        start, end = dt.datetime.combine(day, dt.time()), _day_end(day)
    else:
        start, end = now, dt.datetime.max
    return [_view(ctx.geo, r) for r in await closures_overlapping(hub_id, start, end)]


async def hub_of_closure(closure_id: int) -> int:
    row = await StreetClosure.select(StreetClosure.hub).where(StreetClosure.id == closure_id).first()
    if row is None:
        raise NotFound(f"There is no closure with id {closure_id}.")
    return int(row["hub"])


async def remove_closure(
    ctx: Context, closure_id: int, *, now: dt.datetime, time_limit_s: float | None = None
) -> ClosureOut:
    """Delete a closure (the streets are open again); re-plans the running day when it touched it."""
    row = await _read(closure_id)
    touches = _touches_running_day(row["start"], row["end"], now)  # the running day avoids it: reopen
    reason = f"street reopened: {closure_what(row)}"
    key = f"closure:{closure_id}:removed"
    async with transaction():
        gone = await StreetClosure.delete().where(StreetClosure.id == closure_id).returning(StreetClosure.id)
        if gone and touches:
            await promise_replan(row["hub"], now, reason, key)
    if not gone:
        raise NotFound(f"There is no closure with id {closure_id}.")
    replan = None
    if touches:
        before = await _closed_but(ctx.geo, row["hub"], now, also=[row])
        replan = await replan_running(ctx, row["hub"], now, reason, time_limit_s, keys=[key], baseline_closed=before)
    return _view(ctx.geo, row, replan)


async def reopen_ended(
    ctx: Context, now: dt.datetime, *, time_limit_s: float | None = None
) -> dict[int, dict[str, Any]]:
    """Closures that have ended: each claimed once (by one worker), and each hub whose
    running day they touched re-planned, once. Returns the re-plans by hub id."""
    ended = (
        await StreetClosure.select()
        .where((StreetClosure.end <= now) & StreetClosure.reopened_at.is_null())
        .output(load_json=True)
    )
    by_hub: dict[int, list[dict[str, Any]]] = {}
    for row in ended:
        # Ended on an earlier day: no running day avoids it any more.
        today = row["end"] > dt.datetime.combine(now.date(), dt.time())
        async with transaction():
            claimed = (
                await StreetClosure.update({StreetClosure.reopened_at: now})
                .where((StreetClosure.id == row["id"]) & StreetClosure.reopened_at.is_null())
                .returning(StreetClosure.id)
            )
            if claimed and today:
                reason = f"street reopened: {closure_what(row)}"
                await promise_replan(row["hub"], now, reason, f"closure:{row['id']}:reopened")
        if claimed and today:
            by_hub.setdefault(row["hub"], []).append(row)
    results: dict[int, dict[str, Any]] = {}
    for hub_id, rows in by_hub.items():
        what = "; ".join(closure_what(r) for r in rows)
        try:
            keys = [f"closure:{r['id']}:reopened" for r in rows]
            before = await _closed_but(ctx.geo, hub_id, now, also=rows)
            result = await replan_running(
                ctx, hub_id, now, f"street reopened: {what}", time_limit_s, keys=keys, baseline_closed=before
            )
        except Exception:  # noqa: BLE001 - one hub's failure must not keep the others closed
            log.exception("re-plan after closures of hub %s ended failed", hub_id)
            continue
        if result is not None:
            await announce_if_not_applied(hub_id, now.date(), result, now)
            results[hub_id] = result
    return results


class ClosureReopener(Background):
    """Every ``every_s``, re-plans hubs whose closures have just ended."""

    task_name = "closure-reopener"

    def __init__(self, ctx: Context, every_s: float = 30.0) -> None:
        self.ctx, self.every_s = ctx, every_s

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                done = await reopen_ended(self.ctx, self.ctx.now())
                if done and self.ctx.feed is not None:
                    await self.ctx.feed.poke()
            except Exception:  # noqa: BLE001 - try again next time
                log.exception("reopening ended closures failed")
