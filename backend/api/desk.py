"""The dispatcher's desk: the hub's day on one screen, and the routes drawn along the streets."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, get
from litestar.openapi import ResponseSpec

from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id, OptionalDateQuery
from backend.services.desk import desk_day
from backend.services.hub_scope import hub_of_route
from backend.services.route_geometry import hub_routes_geojson, route_geojson

DISPATCH = [roles("dispatcher")]
GEOJSON = "application/geo+json"


class DeskHub(msgspec.Struct):
    id: int
    name: str
    lat: float
    lon: float


class DeskDay(msgspec.Struct, rename="camel"):
    """What GET /hubs/{hubId}/desk sends (built as a dict, so described here; see docs/api.md)."""

    seq: int
    date: str
    now: str
    hub: DeskHub
    shops: list[dict[str, Any]]
    pickup_points: list[dict[str, Any]]
    couriers: list[dict[str, Any]]
    routes: list[dict[str, Any]]
    unplanned: list[dict[str, Any]]
    positions: list[dict[str, Any]]


class _LineString(msgspec.Struct):
    type: Literal["LineString"]
    coordinates: list[list[float]]  # [lon, lat] pairs


class _RouteProperties(msgspec.Struct, rename="camel"):
    route_id: int
    version: int
    courier_id: int
    colour: str


class RouteFeature(msgspec.Struct):
    """A route's line along the streets: hub -> stops in riding order -> hub."""

    type: Literal["Feature"]
    geometry: _LineString
    properties: _RouteProperties


class RoutesGeoJSON(msgspec.Struct):
    type: Literal["FeatureCollection"]
    features: list[RouteFeature]


class DeskController(Controller):
    tags = ["desk"]

    @get(
        "/hubs/{hub_id:int}/desk",
        guards=DISPATCH,
        summary="The hub's day for the dispatcher's desk: couriers, routes, unplanned stops, positions",
        responses={200: ResponseSpec(data_container=DeskDay, description="The desk's day, as of seq")},
    )
    async def desk(self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDateQuery = None) -> dict[str, Any]:
        check_hub(user, hub_id)
        return await desk_day(ctx, hub_id, date or ctx.now().date())

    @get(
        "/hubs/{hub_id:int}/routes.geojson",
        guards=DISPATCH,
        summary="The hub's routes in force along the streets, one GeoJSON Feature per route",
        media_type=GEOJSON,
        responses={
            200: ResponseSpec(data_container=RoutesGeoJSON, description="A FeatureCollection", media_type=GEOJSON)
        },
    )
    async def routes_geojson(self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDateQuery = None) -> bytes:
        check_hub(user, hub_id)
        return await hub_routes_geojson(ctx, hub_id, date or ctx.now().date())

    @get(
        "/routes/{route_id:int}/geometry",
        guards=DISPATCH,
        summary="One route version's line along the streets, as a GeoJSON Feature",
        media_type=GEOJSON,
        responses={200: ResponseSpec(data_container=RouteFeature, description="A Feature", media_type=GEOJSON)},
    )
    async def route_geometry(self, ctx: Ctx, user: User, route_id: Id) -> bytes:
        check_hub(user, await hub_of_route(route_id))
        return await route_geojson(ctx, route_id)
