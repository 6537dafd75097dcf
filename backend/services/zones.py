"""Restricted zones of a hub: loading windows (venstertijden) and pedestrian zones.

A sibling of closures (``backend/services/closures.py``): both are polygons on the
hub's map that the planning of a day reads in :func:`backend.services.day.load_day`,
and adding or deleting one re-plans the running day. The rules themselves are the
pure core's (``backend/dispatch/zones.py``); zones are also imported from the map
where OSM tags them (:func:`import_osm_zones`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from typing import Any

import msgspec

from backend.db.engine import transaction
from backend.db.tables import AccessZone, Hub
from backend.dispatch.closures import BadZone, check_zone
from backend.dispatch.zones import ZoneKind, ZoneWindow, kinds_problem, window_problem
from backend.errors import Invalid, NotFound
from backend.services.context import Context
from backend.services.geo import Geo
from backend.services.idempotency import Answer, Write, fingerprint, once_then
from backend.services.replan_after import promise_replan, replan_running
from backend.structs import Out


class ZoneOut(Out):
    id: int
    hub_id: int
    name: str
    kind: ZoneKind
    polygon: list[tuple[float, float]]  # a closed ring: the last corner repeats the first
    windows: list[ZoneWindow]
    exempt: list[str]  # vehicle kinds the zone does not restrict
    source: str  # "": drawn by a dispatcher; "osm:w123": imported from the map
    street_segments: int  # street segments (each direction) partly inside
    created_at: dt.datetime
    # The re-plan of the running day it caused; None when today has no routes yet.
    replan: dict[str, Any] | None = None


def _view(geo: Geo, row: dict[str, Any], replan: dict[str, Any] | None = None) -> ZoneOut:
    ring = [(p[0], p[1]) for p in row["polygon"]]
    return ZoneOut(
        id=row["id"],
        hub_id=row["hub"],
        name=row["name"],
        kind=row["kind"],
        polygon=[*ring, ring[0]],
        windows=[ZoneWindow(**w) for w in row["windows"]],
        exempt=list(row.get("exempt") or []),
        source=row["source"],
        street_segments=len(geo.closure_edges("", ring)),
        created_at=row["created_at"],
        replan=replan,
    )


def stored_window(w: ZoneWindow) -> dict[str, Any]:
    """A window as the zone's row keeps it (``kinds`` only when it names some)."""
    row: dict[str, Any] = {"days": list(w.days), "start": w.start, "end": w.end}
    if w.kinds:
        row["kinds"] = sorted(set(w.kinds))
    return row


def check_zone_input(
    geo: Geo,
    name: str,
    kind: ZoneKind,
    polygon: Sequence[Sequence[float]],
    windows: Sequence[ZoneWindow],
    exempt: Sequence[str] = (),
) -> tuple[str, list[list[float]], list[dict[str, Any]]]:
    """(name, ring, windows) as stored, or Invalid (422) naming the field to correct."""
    clean = " ".join(name.split())
    if not clean:
        raise Invalid("name: give the zone a name people know it by, e.g. 'Esplanadi loading zone'.", field="name")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in clean):
        raise Invalid("name: the name contains an invisible control character; type it again.", field="name")
    try:
        ring = check_zone(polygon, must_close=True)
    except BadZone as exc:
        raise Invalid(f"polygon: {exc}", field="polygon") from exc
    if not any(geo.network.contains(lat, lon) for lat, lon in ring):
        lat0, lon0, lat1, lon1 = geo.network.bbox
        raise Invalid(
            f"polygon: the zone is outside the map, which covers latitude {lat0:.5f}..{lat1:.5f} "
            f"and longitude {lon0:.5f}..{lon1:.5f}.",
            field="polygon",
        )
    wrong = kinds_problem(exempt)
    if wrong:
        raise Invalid(f"exempt: {wrong}.", field="exempt")
    for i, w in enumerate(windows):
        kinds_wrong = kinds_problem(w.kinds)
        if kinds_wrong:
            raise Invalid(f"windows[{i}].kinds: {kinds_wrong}.", field=f"windows[{i}].kinds")
        wrong = window_problem(w)
        if wrong:
            raise Invalid(f"windows[{i}]: {wrong}.", field=f"windows[{i}]")
        both = sorted(set(w.kinds) & set(exempt))
        if both:
            raise Invalid(
                f"windows[{i}].kinds: {', '.join(both)} is exempt from the zone (exempt), so a window "
                f"for it would never apply; drop it from one of the two.",
                field=f"windows[{i}].kinds",
            )
    if kind == "loading" and not windows:
        raise Invalid(
            "windows: a loading zone needs at least one window during which stops inside may be served.",
            field="windows",
        )
    stored = [stored_window(w) for w in windows]
    return clean, [list(p) for p in ring], stored


async def _hub_name(hub_id: int) -> str:
    hub = await Hub.select(Hub.name).where(Hub.id == hub_id).first()
    if hub is None:
        raise NotFound(f"There is no hub with id {hub_id}.")
    return str(hub["name"])


async def add_zone(
    ctx: Context,
    hub_id: int,
    *,
    name: str,
    kind: ZoneKind,
    polygon: Sequence[Sequence[float]],
    windows: Sequence[ZoneWindow],
    now: dt.datetime,
    exempt: Sequence[str] = (),
    user_id: int | None = None,
    time_limit_s: float | None = None,
) -> ZoneOut:
    """Store a zone of the hub and re-plan its running day (when today has routes).

    Raises Invalid (422) naming the field for: an outline that does not close or
    crosses itself, a window that ends before it starts, a loading zone without
    windows, a zone off the map, a window for an exempt kind; nothing is stored then.
    """
    row = await _checked(ctx.geo, hub_id, name, kind, polygon, windows, exempt, user_id)
    async with transaction():
        zone_id = await _insert(row, now)
    return await _replanned(ctx, await _read(zone_id), now, time_limit_s)


async def add_zone_once(
    ctx: Context,
    hub_id: int,
    *,
    name: str,
    kind: ZoneKind,
    polygon: Sequence[Sequence[float]],
    windows: Sequence[ZoneWindow],
    exempt: Sequence[str],
    now: dt.datetime,
    user_id: int,
    key: str | None,
    body: bytes,
) -> Answer:
    """:func:`add_zone` once per Idempotency-Key when one is given: a replay answers what
    the first request answered (its re-plan included) and stores and re-plans nothing
    again; the same key with another body is refused (422, ``key_reused``)."""
    if key is None:
        out = await add_zone(
            ctx, hub_id, name=name, kind=kind, polygon=polygon, windows=windows, exempt=exempt, now=now, user_id=user_id
        )
        return Answer(201, msgspec.to_builtins(out), replayed=False)

    async def prepare() -> Write:
        row = await _checked(ctx.geo, hub_id, name, kind, polygon, windows, exempt, user_id)

        async def write() -> dict[str, Any]:
            return {"id": await _insert(row, now)}

        return write

    async def then(first: dict[str, Any]) -> Any:
        return msgspec.to_builtins(await _replanned(ctx, await _read(first["id"]), now, None))

    return await once_then(
        user_id, key, fingerprint("POST", f"/hubs/{hub_id}/zones", body), 201, prepare=prepare, then=then
    )


async def _checked(
    geo: Geo,
    hub_id: int,
    name: str,
    kind: ZoneKind,
    polygon: Sequence[Sequence[float]],
    windows: Sequence[ZoneWindow],
    exempt: Sequence[str],
    user_id: int | None,
) -> AccessZone:
    """The zone's row to insert, checked (see :func:`add_zone`); nothing is written."""
    await _hub_name(hub_id)
    clean, ring, stored = check_zone_input(geo, name, kind, polygon, windows, exempt)
    return AccessZone(
        hub=hub_id,
        name=clean,
        kind=kind,
        polygon=ring,
        windows=stored,
        exempt=sorted(set(exempt)),
        created_by=user_id,
    )


async def _insert(row: AccessZone, now: dt.datetime) -> int:
    """Inside the caller's transaction: the zone, and the re-plan it owes the running day."""
    zone_id = int((await AccessZone.insert(row))[0]["id"])
    await promise_replan(row.hub, now, f"{row.kind} zone added: {row.name}", f"zone:{zone_id}:added")
    return zone_id


async def _replanned(ctx: Context, row: dict[str, Any], now: dt.datetime, time_limit_s: float | None) -> ZoneOut:
    reason, key = f"{row['kind']} zone added: {row['name']}", f"zone:{row['id']}:added"
    replan = await replan_running(ctx, row["hub"], now, reason, time_limit_s, keys=[key])
    return _view(ctx.geo, row, replan)


async def _read(zone_id: int) -> dict[str, Any]:
    row = await AccessZone.select().where(AccessZone.id == zone_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"There is no zone with id {zone_id}.")
    return row


async def list_zones(ctx: Context, hub_id: int) -> list[ZoneOut]:
    await _hub_name(hub_id)
    rows = await AccessZone.select().where(AccessZone.hub == hub_id).order_by(AccessZone.id).output(load_json=True)
    return [_view(ctx.geo, r) for r in rows]


async def hub_of_zone(zone_id: int) -> int:
    row = await AccessZone.select(AccessZone.hub).where(AccessZone.id == zone_id).first()
    if row is None:
        raise NotFound(f"There is no zone with id {zone_id}.")
    return int(row["hub"])


async def remove_zone(ctx: Context, zone_id: int, *, now: dt.datetime, time_limit_s: float | None = None) -> ZoneOut:
    """Delete a zone; the running day is re-planned without it."""
    row = await _read(zone_id)
    reason, key = f"{row['kind']} zone removed: {row['name']}", f"zone:{zone_id}:removed"
    async with transaction():
        gone = await AccessZone.delete().where(AccessZone.id == zone_id).returning(AccessZone.id)
        if gone:
            await promise_replan(row["hub"], now, reason, key)
    if not gone:
        raise NotFound(f"There is no zone with id {zone_id}.")
    replan = await replan_running(ctx, row["hub"], now, reason, time_limit_s, keys=[key])
    return _view(ctx.geo, row, replan)


async def import_osm_zones(
    ctx: Context,
    hub_id: int,
    *,
    windows: Sequence[ZoneWindow],
    now: dt.datetime,
    user_id: int | None = None,
    time_limit_s: float | None = None,
) -> list[ZoneOut]:
    """The map's pedestrian areas as pedestrian zones of the hub, each imported once
    (a second import adds none). Ride hours: the map's ``bicycle:conditional`` where
    tagged, else ``windows`` (none: always walked). Returns the zones added."""
    await _hub_name(hub_id)
    for i, w in enumerate(windows):
        wrong = window_problem(w)
        if wrong:
            raise Invalid(f"windows[{i}]: {wrong}.", field=f"windows[{i}]")
    have = {r["source"] for r in await AccessZone.select(AccessZone.source).where(AccessZone.hub == hub_id)}
    fresh = [z for z in ctx.geo.pedestrian_zones if z.source not in have]
    ids: list[int] = []
    async with transaction():
        for z in fresh:
            ride = z.windows if z.windows is not None else tuple(windows)
            row = AccessZone(
                hub=hub_id,
                name=z.name[:120],
                kind="pedestrian",
                polygon=[list(p) for p in z.polygon],
                windows=[stored_window(w) for w in ride],
                source=z.source,
                created_by=user_id,
            )
            ids.append((await AccessZone.insert(row))[0]["id"])
        reason, key = f"{len(ids)} pedestrian zones imported", f"zone:{min(ids, default=0)}:imported"
        if ids:
            await promise_replan(hub_id, now, reason, key)
    rows = [await _read(i) for i in ids]
    replan = None
    if ids:
        replan = await replan_running(ctx, hub_id, now, reason, time_limit_s, keys=[key])
    return [_view(ctx.geo, r, replan) for r in rows]
