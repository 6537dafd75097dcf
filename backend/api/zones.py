"""Restricted zones: loading windows (venstertijden) and pedestrian zones of a hub,
drawn by its dispatchers or imported from the map; planning keeps to them."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post

from backend.api.answers import optional_key, respond
from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, json_body
from backend.dispatch.zones import ZoneKind, ZoneWindow
from backend.services.zones import ZoneOut, add_zone_once, hub_of_zone, import_osm_zones, list_zones, remove_zone

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
        "A loading zone with windows per vehicle kind: vans 07:00-10:00, every other kind 07:00-18:00",
        {
            "name": "Kamppi loading zone",
            "kind": "loading",
            "polygon": [
                [60.1687, 24.9300],
                [60.1687, 24.9360],
                [60.1672, 24.9360],
                [60.1672, 24.9300],
                [60.1687, 24.9300],
            ],
            "windows": [
                {"start": "07:00", "end": "10:00", "kinds": ["van"]},
                {"start": "07:00", "end": "18:00"},
            ],
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
            "exempt": ["walker"],
        },
    ),
)


class ZoneIn(Body):
    name: Annotated[str, msgspec.Meta(max_length=120)]
    kind: ZoneKind
    # A closed ring of [lat, lon] corners: the last repeats the first.
    polygon: Annotated[list[tuple[float, float]], msgspec.Meta(max_length=1000)]
    # Loading zone: when stops inside may be served. Pedestrian zone: when bikes may be
    # ridden inside (walked at other times; none: always walked). A window may name the
    # vehicle kinds it is for (``kinds``); a kind no window names keeps to the others.
    windows: Annotated[list[ZoneWindow], msgspec.Meta(max_length=20)] = []
    # Vehicle kinds the zone does not restrict at all (e.g. "walker" in a pedestrian zone).
    # Vehicle kinds are checked by the service, with a sentence naming the field (422).
    exempt: Annotated[list[str], msgspec.Meta(max_length=4)] = []


class OsmImportIn(Body):
    # When bikes may be ridden in the imported pedestrian zones (none: always walked).
    windows: Annotated[list[ZoneWindow], msgspec.Meta(max_length=20)] = []


class ZoneController(Controller):
    tags = ["re-planning"]

    @post(
        "/hubs/{hub_id:int}/zones",
        guards=[roles("dispatcher")],
        status_code=201,
        summary="Draw a restricted zone (loading windows or a pedestrian zone); the running day is re-planned "
        "(an Idempotency-Key is optional: a retry with the same key stores it and re-plans once)",
    )
    async def create(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        hub_id: Id,
        data: Annotated[ZoneIn, json_body(*ZONE_EXAMPLES)],
    ) -> Response[Any]:
        check_hub(user, hub_id)
        key = optional_key(request)
        answer = await add_zone_once(
            ctx,
            hub_id,
            name=data.name,
            kind=data.kind,
            polygon=data.polygon,
            windows=data.windows,
            exempt=data.exempt,
            now=ctx.now(),
            user_id=user.id,
            key=key,
            body=await request.body(),
        )
        return respond(request, answer)

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
