"""Street and zone closures: which edges of the street network a closure shuts.

Pure: numpy only, given a :class:`~backend.dispatch.network.StreetNetwork`.

A zone is a simple polygon of ``(lat, lon)`` vertices; a circle is turned into
a polygon (:func:`circle`) so that everything downstream handles one shape.
An edge is closed when any part of it lies in the zone: one of its ends is
inside, or the segment crosses the outline. "Both ends inside" would let a long
segment run straight through a small zone, which a closed square does not allow.
A street closure closes every edge of the ways with that name; with a zone as
well, only those of its edges that the zone closes (a stretch of the street).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from backend.dispatch.network import StreetNetwork

Point = tuple[float, float]  # (lat, lon)

EARTH_RADIUS_M = 6_371_008.8
CIRCLE_SIDES = 32
MIN_RADIUS_M = 10.0
MAX_RADIUS_M = 3_000.0
MAX_VERTICES = 200
MIN_AREA_M2 = 50.0  # smaller than a street crossing: a slip of the mouse, not a closure


class BadZone(ValueError):
    """A zone that is not a usable polygon; the message says what to fix."""


def _local_xy(points: np.ndarray, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular metres around (lat0, lon0): exact enough at city scale."""
    k = math.pi / 180 * EARTH_RADIUS_M
    return (points[:, 1] - lon0) * k * math.cos(math.radians(lat0)), (points[:, 0] - lat0) * k


def circle(lat: float, lon: float, radius_m: float, sides: int = CIRCLE_SIDES) -> tuple[Point, ...]:
    """A circle as a regular polygon whose vertices lie on it.

    The polygon lies inside the circle; its edges cut the circle by at most
    ``radius_m * (1 - cos(pi / sides))`` (0.5 % of the radius with 32 sides).
    """
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadZone(f"The circle's centre ({lat}, {lon}) is not a latitude and longitude.")
    if not (math.isfinite(radius_m) and MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M):
        raise BadZone(
            f"A circle's radius must be between {MIN_RADIUS_M:.0f} and {MAX_RADIUS_M:.0f} m, not {radius_m} m."
        )
    k = math.pi / 180 * EARTH_RADIUS_M
    dlat = radius_m / k
    dlon = radius_m / (k * math.cos(math.radians(lat)))
    return tuple(
        (lat + dlat * math.sin(2 * math.pi * i / sides), lon + dlon * math.cos(2 * math.pi * i / sides))
        for i in range(sides)
    )


Coord = np.ndarray | float  # one coordinate per segment, or one for all


def _orient(ax: Coord, ay: Coord, bx: Coord, by: Coord, cx: Coord, cy: Coord) -> np.ndarray:
    """Sign of the turn a -> b -> c: +1 left, -1 right, 0 collinear (element-wise)."""
    return np.asarray(np.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)))


def _segments_meet(
    ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray, cx: float, cy: float, dx: float, dy: float
) -> np.ndarray:
    """Whether segments a-b (arrays) and c-d (one segment) share a point, touching included."""
    o1 = _orient(ax, ay, bx, by, cx, cy)
    o2 = _orient(ax, ay, bx, by, dx, dy)
    o3 = _orient(cx, cy, dx, dy, ax, ay)
    o4 = _orient(cx, cy, dx, dy, bx, by)
    proper = (o1 * o2 <= 0) & (o3 * o4 <= 0)
    # All four collinear: they meet only if their extents overlap.
    collinear = (o1 == 0) & (o2 == 0)
    overlap = (
        (np.minimum(ax, bx) <= max(cx, dx))
        & (min(cx, dx) <= np.maximum(ax, bx))
        & (np.minimum(ay, by) <= max(cy, dy))
        & (min(cy, dy) <= np.maximum(ay, by))
    )
    return np.asarray(np.where(collinear, overlap, proper))


def check_zone(points: Sequence[Sequence[float]], must_close: bool = False) -> tuple[Point, ...]:
    """The zone as a clean polygon, or BadZone saying what is wrong with it.

    A repeated first vertex at the end (a closed ring, as GeoJSON writes it) and
    repeated consecutive vertices are dropped. The outline must not cross itself.
    With ``must_close``, the ring must end where it starts (a drawn outline that
    stops short is refused rather than closed by a guess).
    """
    if must_close and (len(points) < 4 or list(points[0]) != list(points[-1])):
        raise BadZone(
            "The zone's outline does not close: give at least 4 corners [lat, lon], "
            "the last one the same as the first (a closed ring, as GeoJSON writes it)."
        )
    ring: list[Point] = []
    for i, p in enumerate(points):
        if len(p) != 2:
            raise BadZone(f"Vertex {i} of the zone must be [lat, lon], not {list(p)}.")
        lat, lon = float(p[0]), float(p[1])
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadZone(f"Vertex {i} of the zone, [{p[0]}, {p[1]}], is not a latitude and longitude.")
        if not ring or ring[-1] != (lat, lon):
            ring.append((lat, lon))
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise BadZone(f"A zone needs at least 3 different corners; this one has {len(ring)}.")
    if len(ring) > MAX_VERTICES:
        raise BadZone(f"A zone may have at most {MAX_VERTICES} corners; this one has {len(ring)}.")
    arr = np.asarray(ring)
    x, y = _local_xy(arr, float(arr[:, 0].mean()), float(arr[:, 1].mean()))
    n = len(ring)
    ax, ay, bx, by = x, y, np.roll(x, -1), np.roll(y, -1)
    for i in range(n):
        meets = _segments_meet(ax, ay, bx, by, float(ax[i]), float(ay[i]), float(bx[i]), float(by[i]))
        # Neighbours share a corner by construction; anything else is a crossing.
        meets[[i, (i - 1) % n, (i + 1) % n]] = False
        if meets.any():
            j = int(np.flatnonzero(meets)[0])
            raise BadZone(
                f"The zone's outline crosses itself (side {i + 1} meets side {j + 1}); "
                f"give the corners in order around the area."
            )
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    if area < MIN_AREA_M2:
        raise BadZone(
            f"The zone encloses {area:.0f} m², less than {MIN_AREA_M2:.0f} m²: its corners are "
            f"(nearly) on one line or one spot. Draw the area the closure covers."
        )
    return tuple(ring)


def _inside(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd test of points (x, y) against the polygon (px, py) (element-wise)."""
    inside = np.zeros(len(x), dtype=bool)
    n = len(px)
    for i in range(n):
        xi, yi, xj, yj = px[i], py[i], px[i - 1], py[i - 1]
        spans = (yi > y) != (yj > y)
        if yi == yj:
            continue  # a horizontal side never crosses the horizontal ray
        x_cross = xi + (xj - xi) * (y - yi) / (yj - yi)
        inside ^= spans & (x < x_cross)
    return inside


def points_inside(zone: Sequence[Point], points: Sequence[Point]) -> np.ndarray:
    """Mask over ``points`` ((lat, lon)): inside the zone (a polygon of (lat, lon))."""
    if not points:
        return np.zeros(0, dtype=bool)
    ring, pts = np.asarray(zone, dtype=np.float64), np.asarray(points, dtype=np.float64)
    lat0, lon0 = float(ring[:, 0].mean()), float(ring[:, 1].mean())
    px, py = _local_xy(ring, lat0, lon0)
    x, y = _local_xy(pts, lat0, lon0)
    return _inside(x, y, px, py)


def zone_nodes(network: StreetNetwork, zone: Sequence[Point]) -> np.ndarray:
    """Mask over the network's nodes: inside the zone."""
    px, py = network.project([p[0] for p in zone], [p[1] for p in zone])
    x, y = network.project(network.lat, network.lon)
    return _inside(x, y, np.asarray(px), np.asarray(py))


def zone_edges(network: StreetNetwork, zone: Sequence[Point]) -> np.ndarray:
    """Mask over the network's edges: some part of the edge is in the zone."""
    px, py = (np.asarray(a) for a in network.project([p[0] for p in zone], [p[1] for p in zone]))
    x, y = network.project(network.lat, network.lon)
    inside = _inside(x, y, px, py)
    u, v = network.edge_u, network.edge_v
    closed = inside[u] | inside[v]
    ax, ay, bx, by = x[u], y[u], x[v], y[v]
    # Only edges whose box overlaps the zone's box can cross it.
    near = (
        ~closed
        & (np.maximum(ax, bx) >= px.min())
        & (np.minimum(ax, bx) <= px.max())
        & (np.maximum(ay, by) >= py.min())
        & (np.minimum(ay, by) <= py.max())
    )
    idx = np.flatnonzero(near)
    if len(idx):
        crosses = np.zeros(len(idx), dtype=bool)
        for i in range(len(px)):
            crosses |= _segments_meet(
                ax[idx], ay[idx], bx[idx], by[idx], float(px[i - 1]), float(py[i - 1]), float(px[i]), float(py[i])
            )
        closed[idx] = crosses
    return np.asarray(closed)


def street_edges(network: StreetNetwork, way_ids: Iterable[int]) -> np.ndarray:
    """Mask over the network's edges: part of one of these OSM ways."""
    return np.isin(network.edge_way_id, np.fromiter(way_ids, dtype=np.int64))


def closure_edges(
    network: StreetNetwork, zone: Sequence[Point] | None = None, way_ids: Iterable[int] | None = None
) -> np.ndarray:
    """Indices of the edges one closure shuts: a zone, a street, or a street within a zone."""
    if zone is None and way_ids is None:
        raise ValueError("a closure needs a zone, a street, or both")
    mask = np.ones(network.edge_count, dtype=bool)
    if zone is not None:
        mask &= zone_edges(network, zone)
    if way_ids is not None:
        mask &= street_edges(network, way_ids)
    return np.flatnonzero(mask)


def closures_near(network: StreetNetwork, point: Point, edge_sets: Sequence[np.ndarray], radius_m: float) -> list[int]:
    """Which of the closures (each given by the edges it shuts) shut a street within
    ``radius_m`` of ``point``: those that cut a place off its nearby streets. Empty when
    none does (the place is cut off by a closure farther away, or by several at once)."""
    near = []
    for i, edges in enumerate(edge_sets):
        if len(edges) == 0:
            continue
        ends = np.union1d(network.edge_u[edges], network.edge_v[edges])
        lat, lon = network.lat[ends], network.lon[ends]
        k = math.pi / 180 * EARTH_RADIUS_M
        dx = (lon - point[1]) * k * math.cos(math.radians(point[0]))
        dy = (lat - point[0]) * k
        if float(np.min(np.hypot(dx, dy))) <= radius_m:
            near.append(i)
    return near
