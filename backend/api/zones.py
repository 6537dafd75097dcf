"""Restricted zones: loading windows (venstertijden) and pedestrian zones of a hub,
drawn by its dispatchers or imported from the map; planning keeps to them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post

from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, json_body
from backend.dispatch.zones import ZoneKind, ZoneWindow
from backend.services.zones import ZoneOut, add_zone, hub_of_zone, import_osm_zones, list_zones, remove_zone

ZONE_EXAMPLES = (
    (
        "A loading zone: stops inside served 07:00-11:00 on weekdays only",
        {
            "name": "Esplanadi loading zone",
            "kind": "loading",
            "polygon": [
                [60.1687, 24.9440],
                [60.1687, 24.9520],
                [60.1672, 24.9520],
                [60.1672, 24.9440],
                [60.1687, 24.9440],
            ],
            "windows": [{"days": ["mo", "tu", "we", "th", "fr"], "start": "07:00", "end": "11:00"}],
        },
    ),
    (
        "A pedestrian zone: ridden before 10:00 and after 20:00, walked in between",
        {
            "name": "Aleksanterinkatu",
            "kind": "pedestrian",
            "polygon": [
                [60.1695, 24.9440],
                [60.1695, 24.9500],
                [60.1685, 24.9500],
                [60.1685, 24.9440],
                [60.1695, 24.9440],
            ],
            "windows": [{"start": "05:00", "end": "10:00"}, {"start": "20:00", "end": "24:00"}],
        },
    ),
)


class ZoneIn(Body):
    name: Annotated[str, msgspec.Meta(max_length=120)]
    kind: ZoneKind
    # A closed ring of [lat, lon] corners: the last repeats the first.
    polygon: Annotated[list[tuple[float, float]], msgspec.Meta(max_length=1000)]
    # Loading zone: when stops inside may be served. Pedestrian zone: when bikes may be
    # ridden inside (walked at other times; none: always walked).
    windows: Annotated[list[ZoneWindow], msgspec.Meta(max_length=20)] = []


class OsmImportIn(Body):
    # When bikes may be ridden in the imported pedestrian zones (none: always walked).
    windows: Annotated[list[ZoneWindow], msgspec.Meta(max_length=20)] = []


class ZoneController(Controller):
    tags = ["re-planning"]

    @post(
        "/hubs/{hub_id:int}/zones",
        guards=[roles("dispatcher")],
        status_code=201,
        summary="Draw a restricted zone (loading windows or a pedestrian zone); the running day is re-planned",
    )
    async def create(
        self, ctx: Ctx, user: User, hub_id: Id, data: Annotated[ZoneIn, json_body(*ZONE_EXAMPLES)]
    ) -> ZoneOut:
        check_hub(user, hub_id)
        return await add_zone(
            ctx,
            hub_id,
            name=data.name,
            kind=data.kind,
            polygon=data.polygon,
            windows=data.windows,
            now=ctx.now(),
            user_id=user.id,
        )

    @post(
        "/hubs/{hub_id:int}/zones/import-osm",
        guards=[roles("dispatcher")],
        status_code=201,
        summary="Import the pedestrian areas of the map near the hub as pedestrian zones (once each)",
    )
    async def import_osm(self, ctx: Ctx, user: User, hub_id: Id, data: OsmImportIn) -> list[ZoneOut]:
        check_hub(user, hub_id)
        return await import_osm_zones(ctx, hub_id, windows=data.windows, now=ctx.now(), user_id=user.id)

    @get("/hubs/{hub_id:int}/zones", guards=[roles("dispatcher")], summary="The hub's restricted zones")
    async def listing(self, ctx: Ctx, user: User, hub_id: Id) -> list[ZoneOut]:
        check_hub(user, hub_id)
        return await list_zones(ctx, hub_id)

    @delete(
        "/zones/{zone_id:int}",
        guards=[roles("dispatcher")],
        status_code=200,
        summary="Delete a restricted zone; the running day is re-planned without it",
    )
    async def remove(self, ctx: Ctx, user: User, zone_id: Id) -> ZoneOut:
        check_hub(user, await hub_of_zone(zone_id))
        return await remove_zone(ctx, zone_id, now=ctx.now())
