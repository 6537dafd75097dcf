"""Routes drawn along the streets, for the dispatcher's map.

A route's line goes from the hub through its stops in riding order and back to
the hub, each leg along the street network's shortest-time path
(:meth:`StreetNetwork.path_through`), avoiding the streets closed during the
route (the closures it was planned around). A line depends only on those places
and closures, so it is kept per fingerprint of the two, not per route row: the
new row that an ETA update or a re-plan writes with the same stops in the same
order gets the kept line with a dictionary look-up. Lines are kept as GeoJSON text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np

from backend.db.engine import reading
from backend.db.tables import Hub
from backend.dispatch.network import StreetNetwork
from backend.errors import NotFound
from backend.services.context import Context
from backend.services.courier_colours import hub_colours
from backend.services.day import closures_overlapping, edges_of
from backend.services.route_store import read_route, routes_in_force

# Route lines kept per street network (a 100-courier day is about 3 MB of them).
LINES_KEPT = 2_000

Place = tuple[float, float]


class _Lines:
    """Fingerprint of places and closures -> GeoJSON coordinates, the most recently used kept."""

    def __init__(self) -> None:
        self._lines: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, fingerprint: bytes) -> bytes | None:
        with self._lock:
            line = self._lines.get(fingerprint)
            if line is not None:
                self._lines.move_to_end(fingerprint)
            return line

    def put(self, fingerprint: bytes, line: bytes) -> None:
        with self._lock:
            self._lines[fingerprint] = line
            self._lines.move_to_end(fingerprint)
            while len(self._lines) > LINES_KEPT:
                self._lines.popitem(last=False)


_KEPT: weakref.WeakKeyDictionary[StreetNetwork, _Lines] = weakref.WeakKeyDictionary()


def _kept(network: StreetNetwork) -> _Lines:
    lines = _KEPT.get(network)
    if lines is None:
        lines = _KEPT[network] = _Lines()
    return lines


def route_places(hub: dict[str, Any], route: dict[str, Any]) -> list[Place]:
    """Hub -> the route's stops in riding order -> hub (as the route row keeps them), back
    through the hub between two loops (a reload)."""
    home = (float(hub["lat"]), float(hub["lon"]))
    places = [home]
    loop = None
    for s in route["stops"]:
        if loop is not None and s.get("loop", 1) != loop:
            places.append(home)
        loop = s.get("loop", 1)
        places.append((float(s["lat"]), float(s["lon"])))
    return [*places, home]


def line_coordinates(network: StreetNetwork, places: list[Place], closed: np.ndarray) -> list[list[float]]:
    """GeoJSON ``[lon, lat]`` positions along the streets through ``places`` (at least two)."""
    try:
        coords = network.path_through(places, closed)
    except ValueError:  # a place off the map: the straight line is the best there is
        coords = places
    if len(coords) < 2:
        coords = [coords[0], coords[0]]
    return [[round(lon, 6), round(lat, 6)] for lat, lon in coords]


def _fingerprint(places: list[Place], closed: np.ndarray) -> bytes:
    digest = hashlib.blake2b(np.asarray(places, dtype=np.float64).tobytes(), digest_size=16)
    digest.update(np.asarray(closed, dtype=np.int64).tobytes())
    return digest.digest()


async def _lines(
    ctx: Context, hub: dict[str, Any], routes: list[dict[str, Any]], closures: list[dict[str, Any]]
) -> dict[int, bytes]:
    """Route id -> its line (GeoJSON coordinates as text): kept ones, the others computed in a thread."""
    network = ctx.geo.network
    kept = _kept(network)
    lines: dict[int, bytes] = {}
    todo: list[tuple[int, bytes, list[Place], np.ndarray]] = []
    for route in routes:
        during = [c for c in closures if c["start"] < route["end"] and c["end"] > route["start"]]
        closed = edges_of(ctx.geo, during)
        places = route_places(hub, route)
        fingerprint = _fingerprint(places, closed)
        line = kept.get(fingerprint)
        if line is None:
            todo.append((route["id"], fingerprint, places, closed))
        else:
            lines[route["id"]] = line

    def compute() -> list[tuple[int, bytes, bytes]]:
        return [
            (rid, fp, json.dumps(line_coordinates(network, places, closed), separators=(",", ":")).encode())
            for rid, fp, places, closed in todo
        ]

    if todo:  # Dijkstra runs: off the event loop
        for rid, fp, line in await asyncio.to_thread(compute):
            kept.put(fp, line)
            lines[rid] = line
    return lines


def _feature(route: dict[str, Any], colour: str, line: bytes) -> bytes:
    properties = {"routeId": route["id"], "version": route["version"], "courierId": route["courier"], "colour": colour}
    return b"".join(
        (
            b'{"type":"Feature","geometry":{"type":"LineString","coordinates":',
            line,
            b'},"properties":',
            json.dumps(properties, separators=(",", ":")).encode(),
            b"}",
        )
    )


async def _hub_row(hub_id: int) -> dict[str, Any]:
    hub = await Hub.select(Hub.id, Hub.lat, Hub.lon).where(Hub.id == hub_id).first()
    if hub is None:
        raise NotFound(f"There is no hub with id {hub_id}.")
    return hub


def _span(routes: list[dict[str, Any]], day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time())
    if not routes:
        return start, start + dt.timedelta(days=1)
    return min(r["start"] for r in routes), max(r["end"] for r in routes)


async def hub_routes_geojson(ctx: Context, hub_id: int, day: dt.date) -> bytes:
    """The hub's routes in force on ``day`` as a GeoJSON FeatureCollection (text), one
    Feature per route: its line along the streets and ``{routeId, version, courierId, colour}``."""
    async with reading():
        hub = await _hub_row(hub_id)
        routes = await routes_in_force(hub_id, day)
        colours = await hub_colours(hub_id, day)
        closures = await closures_overlapping(hub_id, *_span(routes, day)) if routes else []
    lines = await _lines(ctx, hub, routes, closures)
    features = b",".join(_feature(r, colours.get(r["courier"], "#000000"), lines[r["id"]]) for r in routes)
    return b'{"type":"FeatureCollection","features":[' + features + b"]}"


async def route_geojson(ctx: Context, route_id: int) -> bytes:
    """One route version's Feature (any version, in force or not), as in ``hub_routes_geojson``."""
    async with reading():
        route = await read_route(route_id)
        if route is None:
            raise NotFound(f"There is no route with id {route_id}.")
        hub = await _hub_row(route["hub"])
        colours = await hub_colours(route["hub"], route["plan_date"])
        closures = await closures_overlapping(route["hub"], route["start"], route["end"])
    lines = await _lines(ctx, hub, [route], closures)
    return _feature(route, colours.get(route["courier"], "#000000"), lines[route_id])
