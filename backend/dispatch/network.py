"""The cargo-bike street network: profile, graph, snapping, travel-time matrices.

Pure: numpy/scipy only. Built from an OSM extract (``osm_extract.read_extract``)
and cached on disk as a plain ``.npz`` keyed by the PBF's SHA-256 and
``PROFILE_VERSION``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from backend.dispatch.closed_legs import DayLegs
from backend.dispatch.closed_matrix import ClosedPairs, seed_closed
from backend.dispatch.day_matrices import DAY_MATRIX_MAX_PLACES, DayMatrices, Places
from backend.dispatch.osm_extract import BBox, OsmExtract, read_extract
from backend.dispatch.variant import Variant

# Bump whenever the profile or the cached array layout changes: old caches are then ignored.
PROFILE_VERSION = 1

EARTH_RADIUS_M = 6_371_008.8

# Riding speeds (km/h) of a loaded e-cargo bike by highway type. Anything not listed
# (motorway, steps, construction, proposed, platform, bus_guideway, raceway, corridor,
# elevator, bridleway, ...) is not routable.
SPEED_KMH: dict[str, float] = {
    "cycleway": 18.0,
    "trunk": 16.0,  # only with bicycle=yes/designated/permissive, see bicycle_profile
    "trunk_link": 16.0,
    "primary": 16.0,
    "primary_link": 16.0,
    "secondary": 16.0,
    "secondary_link": 16.0,
    "tertiary": 16.0,
    "tertiary_link": 16.0,
    "unclassified": 15.0,
    "residential": 15.0,
    "service": 15.0,
    "road": 12.0,
    "living_street": 10.0,
    "track": 12.0,
    "path": 12.0,
    # Walking-speed ways, see PUSHED_HIGHWAYS.
    "pedestrian": 5.0,
    "footway": 5.0,
    "trail": 5.0,  # non-standard tag; in this extract: short park paths (Kaisaniemi)
}
# Footways and pedestrian zones without an explicit bicycle permission: in Finland (as in most
# of Europe) a cyclist may not ride there, but may push the bike like a pedestrian. We keep
# them at walking speed rather than dropping them, because the last metres to many doors in a
# pedestrianised centre have no other way in; the slow speed keeps routes off them otherwise.
PUSHED_HIGHWAYS: frozenset[str] = frozenset({"pedestrian", "footway", "trail"})
WALK_KMH = 5.0
PEDESTRIAN_BICYCLE_OK_KMH = 8.0  # pedestrian zone/footway with bicycle=yes: ride, but gently
NEEDS_BICYCLE_OK: frozenset[str] = frozenset({"trunk", "trunk_link"})

BICYCLE_OK: frozenset[str] = frozenset({"yes", "designated", "permissive"})
# bicycle=use_sidepath: a separately mapped cycle track must be used (Finnish traffic law, and
# what OSRM's bicycle profile does); the track itself is in the graph.
BICYCLE_FORBIDDEN: frozenset[str] = frozenset({"no", "use_sidepath"})
# access=destination/delivery stay allowed: a delivery bike is exactly that traffic.
ACCESS_FORBIDDEN: frozenset[str] = frozenset({"no", "private", "agricultural", "forestry", "military"})
ONEWAY_YES: frozenset[str] = frozenset({"yes", "1", "true"})
ONEWAY_REVERSE: frozenset[str] = frozenset({"-1", "reverse"})
CONTRAFLOW_CYCLEWAY: frozenset[str] = frozenset(
    {"opposite", "opposite_lane", "opposite_track", "opposite_share_busway"}
)

# From a point to its snapped node (and back): the courier walks the bike to the door.
ACCESS_KMH = WALK_KMH
SNAP_MAX_M = 250.0
CONTAINS_MARGIN_M = 50.0

# Dijkstra runs once on integer weights time_ds * 2**24 + length_dm (exact in float64 up to
# 2**53): the high part gives the time-shortest path, the low part its distance (ties broken
# by the shorter one), so both matrices come from a single run without walking predecessors.
_DIST_BITS = 24
_DIST_SCALE = float(2**_DIST_BITS)
# ``path_through``'s first search bound for a leg: the straight line, PATH_BOUND_DETOUR times
# as long, at PATH_BOUND_KMH, plus PATH_BOUND_SLACK_S (most legs are found within it).
PATH_BOUND_DETOUR = 1.6
PATH_BOUND_KMH = 12.0
PATH_BOUND_SLACK_S = 60.0
PATH_BOUND_STEPS = (1.0, 4.0)  # the bound, then raised by these factors, then none

# A point that no open street reaches (closures, see ``matrices``): longer than any day, so
# the planner reports its stop as ``window_unreachable``; its distance is the straight line.
UNREACHABLE_S = 7 * 24 * 3600
# Node-to-node weights kept between ``matrices`` calls, per set of closed edges: a re-plan
# of the running day asks for nearly the same places again (see ``MatrixCache``). At most
# MATRIX_CACHE_NODES**2 * 8 bytes per set (46 MB at 2,400 nodes); the open network and
# the CLOSED_VARIANTS_KEPT most recently used sets of closures are kept.
MATRIX_CACHE_NODES = 2_400
CLOSED_VARIANTS_KEPT = 2
# Day matrices (DayMatrices) of up to DAY_MATRICES_KEPT hubs per set of closures are kept,
# for days of up to DAY_MATRIX_MAX_PLACES places (see backend/dispatch/day_matrices.py).
DAY_MATRICES_KEPT = 3


class EdgeProfile(msgspec.Struct, frozen=True):
    speed_kmh: float
    forward: bool  # along the way's node order
    backward: bool
    pushed: bool  # ridden/pushed at walking speed


class Snap(msgspec.Struct, frozen=True):
    node: int
    lat: float
    lon: float
    distance_m: float


class Travel(msgspec.Struct, frozen=True):
    time_s: float
    distance_m: float


class PointOutsideMap(ValueError):
    """A point that is off the map or too far from any usable street."""

    def __init__(self, lat: float, lon: float, bbox: BBox, reason: str) -> None:
        self.lat, self.lon, self.bbox, self.reason = lat, lon, bbox, reason
        super().__init__(
            f"Point ({lat:.6f}, {lon:.6f}) {reason}. The map covers latitude "
            f"{bbox.min_lat:.5f}..{bbox.max_lat:.5f} and longitude "
            f"{bbox.min_lon:.5f}..{bbox.max_lon:.5f}."
        )


def default_map_path() -> Path:
    """The demo city's extract shipped with the package (central Helsinki)."""
    return Path(__file__).parent.parent / "data" / "helsinki-centre.osm.pbf"


def _oneway_direction(tags: Mapping[str, str]) -> int:
    """+1: only along the way, -1: only against it, 0: both ways, for a bicycle."""
    oneway = tags.get("oneway", "")
    if oneway in ONEWAY_YES:
        direction = 1
    elif oneway in ONEWAY_REVERSE:
        direction = -1
    elif oneway == "no":
        direction = 0
    elif tags.get("junction") in ("roundabout", "circular") or tags.get("highway") in (
        "motorway",
        "motorway_link",
    ):
        direction = 1
    else:
        direction = 0

    bicycle_oneway = tags.get("oneway:bicycle")
    if bicycle_oneway in ONEWAY_YES:
        return 1
    if bicycle_oneway in ONEWAY_REVERSE:
        return -1
    if bicycle_oneway == "no":
        return 0
    if direction and _has_contraflow(tags):
        return 0
    return direction


def _has_contraflow(tags: Mapping[str, str]) -> bool:
    for side in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both"):
        if tags.get(side) in CONTRAFLOW_CYCLEWAY:
            return True
        # Modern tagging: cycleway:left=lane + cycleway:left:oneway=-1 (or =no, two-way lane).
        if side != "cycleway" and tags.get(f"{side}:oneway") in ("-1", "no"):
            return True
    return False


def bicycle_profile(tags: Mapping[str, str]) -> EdgeProfile | None:
    """How a loaded e-cargo bike may use a way with these tags; None if it may not."""
    highway = tags.get("highway")
    if highway not in SPEED_KMH:
        return None
    bicycle = tags.get("bicycle")
    bicycle_ok = bicycle in BICYCLE_OK
    if bicycle in BICYCLE_FORBIDDEN:
        return None
    if highway in NEEDS_BICYCLE_OK and not bicycle_ok:
        return None
    if not bicycle_ok and (tags.get("access") in ACCESS_FORBIDDEN or tags.get("vehicle") in ACCESS_FORBIDDEN):
        return None

    pushed = False
    speed = SPEED_KMH[highway]
    if bicycle == "dismount":
        speed, pushed = WALK_KMH, True
    elif highway in PUSHED_HIGHWAYS:
        if bicycle_ok:
            speed = PEDESTRIAN_BICYCLE_OK_KMH
        else:
            speed, pushed = WALK_KMH, True

    direction = _oneway_direction(tags)
    return EdgeProfile(speed_kmh=speed, forward=direction >= 0, backward=direction <= 0, pushed=pushed)


Coord = np.ndarray | float


def haversine_m(lat1: Coord, lon1: Coord, lat2: Coord, lon2: Coord) -> np.ndarray:
    """Great-circle distance in metres (element-wise)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file (hex), read in 1 MB pieces: what the caches of a map are keyed by."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_arrays(extract: OsmExtract) -> dict[str, np.ndarray]:
    """The cargo-bike graph as plain arrays (the cache's content), largest SCC only."""
    index: dict[int, int] = {}
    lats: list[float] = []
    lons: list[float] = []
    us: list[int] = []
    vs: list[int] = []
    speeds: list[float] = []
    ways: list[int] = []
    highways: list[str] = []
    alongs: list[bool] = []
    pusheds: list[bool] = []

    def node(osm_id: int, lat: float, lon: float) -> int:
        i = index.get(osm_id)
        if i is None:
            i = index[osm_id] = len(lats)
            lats.append(lat)
            lons.append(lon)
        return i

    for run in extract.ways:
        prof = bicycle_profile(run.tags)
        if prof is None:
            continue
        ids = [node(n, la, lo) for n, la, lo in zip(run.node_ids, run.lats, run.lons, strict=True)]
        hw = run.tags["highway"]
        for a, b in zip(ids, ids[1:], strict=False):
            if a == b:
                continue
            for frm, to, along, ok in ((a, b, True, prof.forward), (b, a, False, prof.backward)):
                if ok:
                    us.append(frm)
                    vs.append(to)
                    speeds.append(prof.speed_kmh)
                    ways.append(run.way_id)
                    highways.append(hw)
                    alongs.append(along)
                    pusheds.append(prof.pushed)
    if not us:
        raise ValueError("no way in this extract is usable by a cargo bike")

    lat = np.asarray(lats)
    lon = np.asarray(lons)
    u = np.asarray(us, dtype=np.int64)
    v = np.asarray(vs, dtype=np.int64)
    length = haversine_m(lat[u], lon[u], lat[v], lon[v])
    time = length / (np.asarray(speeds) / 3.6)

    # Parallel edges (two ways sharing a segment): keep the fastest. The sparse matrix would
    # otherwise add them up. Keep the original order for map geometry.
    order = np.lexsort((time, v, u))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
    keep = np.sort(order[first])

    # Largest strongly connected component: every stop must be reachable from every other.
    n = len(lat)
    adjacency = csr_matrix((np.ones(len(keep)), (u[keep], v[keep])), shape=(n, n))
    _, labels = connected_components(adjacency, directed=True, connection="strong")
    biggest = np.bincount(labels).argmax()
    in_scc = labels == biggest
    keep = keep[in_scc[u[keep]] & in_scc[v[keep]]]
    new_index = np.cumsum(in_scc) - 1

    bb = extract.bbox
    return {
        "lat": lat[in_scc],
        "lon": lon[in_scc],
        "edge_u": new_index[u[keep]],
        "edge_v": new_index[v[keep]],
        "edge_length_m": length[keep],
        "edge_time_s": time[keep],
        "edge_way_id": np.asarray(ways, dtype=np.int64)[keep],
        "edge_highway": np.asarray(highways, dtype=np.str_)[keep],
        "edge_along": np.asarray(alongs, dtype=bool)[keep],
        "edge_pushed": np.asarray(pusheds, dtype=bool)[keep],
        "bbox": np.asarray([bb.min_lat, bb.min_lon, bb.max_lat, bb.max_lon]),
    }


class StreetNetwork:
    """Directed cargo-bike graph with nearest-node snapping and Dijkstra matrices."""

    def __init__(self, arrays: Mapping[str, np.ndarray], matrix_cache_nodes: int = MATRIX_CACHE_NODES) -> None:
        self.lat: np.ndarray = np.asarray(arrays["lat"], dtype=np.float64)
        self.lon: np.ndarray = np.asarray(arrays["lon"], dtype=np.float64)
        self.edge_u: np.ndarray = np.asarray(arrays["edge_u"], dtype=np.int64)
        self.edge_v: np.ndarray = np.asarray(arrays["edge_v"], dtype=np.int64)
        self.edge_length_m: np.ndarray = np.asarray(arrays["edge_length_m"], dtype=np.float64)
        self.edge_time_s: np.ndarray = np.asarray(arrays["edge_time_s"], dtype=np.float64)
        self.edge_way_id: np.ndarray = np.asarray(arrays["edge_way_id"], dtype=np.int64)
        self.edge_highway: np.ndarray = np.asarray(arrays["edge_highway"], dtype=np.str_)
        self.edge_along: np.ndarray = np.asarray(arrays["edge_along"], dtype=bool)
        self.edge_pushed: np.ndarray = np.asarray(arrays["edge_pushed"], dtype=bool)
        b = [float(x) for x in arrays["bbox"]]
        self._bbox = BBox(b[0], b[1], b[2], b[3])

        n = len(self.lat)
        time_ds = np.maximum(1, np.rint(self.edge_time_s * 10))
        length_dm = np.maximum(1, np.rint(self.edge_length_m * 10))
        self._weight = time_ds * _DIST_SCALE + length_dm
        self._graph = csr_matrix((self._weight, (self.edge_u, self.edge_v)), shape=(n, n))
        self._edge_keys = np.sort(self.edge_u * n + self.edge_v)

        # Local equirectangular metres around the map centre: exact enough at city scale.
        self._lat0 = (self._bbox.min_lat + self._bbox.max_lat) / 2
        self._lon0 = (self._bbox.min_lon + self._bbox.max_lon) / 2
        self._tree = cKDTree(np.column_stack(self._project(self.lat, self.lon)))

        self.matrix_cache_nodes = matrix_cache_nodes
        self._open = Variant(self, np.zeros(0, dtype=np.int64))
        self._closed_variants: OrderedDict[bytes, Variant] = OrderedDict()
        self._variants_lock = threading.Lock()

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def from_extract(cls, extract: OsmExtract) -> StreetNetwork:
        return cls(build_arrays(extract))

    @classmethod
    def from_pbf(cls, path: str | Path, cache_dir: Path | None = None) -> StreetNetwork:
        path = Path(path)
        if cache_dir is None:
            return cls.from_extract(read_extract(path))
        cache_file = Path(cache_dir) / f"street-network-{file_sha256(path)}-p{PROFILE_VERSION}.npz"
        if cache_file.exists():
            try:
                with np.load(cache_file, allow_pickle=False) as data:
                    return cls({k: data[k] for k in data.files})
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                pass  # unreadable or from an older layout: rebuild and overwrite
        arrays: dict[str, Any] = build_arrays(read_extract(path))
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: concurrent workers never see a half-written cache.
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **arrays)
            os.replace(tmp, cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cls(arrays)

    # ---- basic facts --------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        return len(self.lat)

    @property
    def edge_count(self) -> int:
        return len(self.edge_u)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon) of the extract's data."""
        b = self._bbox
        return (b.min_lat, b.min_lon, b.max_lat, b.max_lon)

    def has_edge(self, u: int, v: int) -> bool:
        key = u * self.node_count + v
        i = np.searchsorted(self._edge_keys, key)
        return bool(i < len(self._edge_keys) and self._edge_keys[i] == key)

    def contains(self, lat: float, lon: float) -> bool:
        """Inside the map's bounds, with a CONTAINS_MARGIN_M margin."""
        b = self._bbox
        dlat = math.degrees(CONTAINS_MARGIN_M / EARTH_RADIUS_M)
        dlon = dlat / math.cos(math.radians(self._lat0))
        return b.min_lat - dlat <= lat <= b.max_lat + dlat and b.min_lon - dlon <= lon <= b.max_lon + dlon

    # ---- snapping -----------------------------------------------------------------------

    def _project(self, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
        k = math.pi / 180 * EARTH_RADIUS_M
        kx = k * math.cos(math.radians(self._lat0))
        x = (np.asarray(lon, dtype=np.float64) - self._lon0) * kx
        y = (np.asarray(lat, dtype=np.float64) - self._lat0) * k
        return x, y

    def project(self, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
        """Local metres (x east, y north) around the map's centre: for geometry at city scale."""
        return self._project(lat, lon)

    def snap_many(self, points: Sequence[tuple[float, float]] | np.ndarray) -> list[Snap]:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        for lat, lon in pts:
            if not (math.isfinite(lat) and math.isfinite(lon)) or not self.contains(lat, lon):
                raise PointOutsideMap(float(lat), float(lon), self._bbox, "is outside the map")
        _, nodes = self._tree.query(np.column_stack(self._project(pts[:, 0], pts[:, 1])))
        nodes = np.atleast_1d(nodes)
        dist = haversine_m(pts[:, 0], pts[:, 1], self.lat[nodes], self.lon[nodes])
        snaps = []
        for (lat, lon), node, d in zip(pts, nodes, dist, strict=True):
            if d > SNAP_MAX_M:
                raise PointOutsideMap(
                    float(lat),
                    float(lon),
                    self._bbox,
                    f"is {d:.0f} m from the nearest street usable by cargo bike (at most {SNAP_MAX_M:.0f} m allowed)",
                )
            snaps.append(Snap(int(node), float(self.lat[node]), float(self.lon[node]), float(d)))
        return snaps

    def snap(self, lat: float, lon: float) -> Snap:
        return self.snap_many([(lat, lon)])[0]

    # ---- travel -------------------------------------------------------------------------

    @staticmethod
    def split_weights(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dijkstra weights -> (time in s, distance in m)."""
        return StreetNetwork._split(weight)

    @staticmethod
    def _split(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dijkstra weights -> (time in s, distance in m)."""
        time_ds = np.floor(weight / _DIST_SCALE)
        length_dm = weight - time_ds * _DIST_SCALE
        return time_ds / 10, length_dm / 10

    def _variant(self, closed: Iterable[int] | None, walked: Iterable[int] | None = None) -> Variant:
        """The network without the ``closed`` edges and with the ``walked`` ones at WALK_KMH
        (indices; pedestrian zones in their no-ride hours), built once per pair of sets and kept."""
        edges, slow = (np.unique(np.fromiter(() if e is None else e, dtype=np.int64)) for e in (closed, walked))
        if len(edges) == 0 and len(slow) == 0:
            return self._open
        for e in (edges, slow):
            if len(e) and (e[0] < 0 or e[-1] >= self.edge_count):
                raise ValueError(f"closed and walked edges must be edge indices 0..{self.edge_count - 1}")
        key = edges.tobytes() + b"/" + slow.tobytes()
        with self._variants_lock:
            variant = self._closed_variants.get(key)
            if variant is not None:
                self._closed_variants.move_to_end(key)
                return variant
        variant = Variant(self, edges, slow)  # outside the lock: a few ms, and two builds are harmless
        with self._variants_lock:
            kept = [self._open, *self._closed_variants.values()]
        # A closure in the running day: only the paths through it run again, at the first
        # weights asked for (in a matrix thread: a variant is also made on the event loop).
        variant.cache.seed = functools.partial(seed_closed, variant, kept, self.edge_u, self.edge_v)
        with self._variants_lock:
            self._closed_variants[key] = variant
            while len(self._closed_variants) > CLOSED_VARIANTS_KEPT:
                self._closed_variants.popitem(last=False)
        return variant

    def walked_weight(self, walked: np.ndarray) -> np.ndarray:
        """Edge weights with the ``walked`` edges at walking speed (never faster than before)."""
        weight: np.ndarray = self._weight.copy()
        length_dm = np.maximum(1, np.rint(self.edge_length_m[walked] * 10))
        walk_ds = np.maximum(np.rint(self.edge_length_m[walked] / (WALK_KMH / 3.6) * 10), 1)
        weight[walked] = np.maximum(walk_ds, np.floor(weight[walked] / _DIST_SCALE)) * _DIST_SCALE + length_dm
        return weight

    def reach(self, points: Sequence[tuple[float, float]], closed: Iterable[int] | None = None) -> list[Snap | None]:
        """Where each point joins the open network: its nearest node still connected to the
        rest with the ``closed`` edges shut, or None when that is over SNAP_MAX_M away.

        Raises PointOutsideMap for points off the map (closures or not).
        """
        snaps = self.snap_many(points)
        variant = self._variant(closed)
        if variant.all_open:
            return list(snaps)
        dist, nodes = variant.snap(np.asarray(points, dtype=np.float64).reshape(-1, 2))
        return [
            Snap(int(n), float(self.lat[n]), float(self.lon[n]), float(d)) if d <= SNAP_MAX_M else None
            for n, d in zip(nodes, dist, strict=True)
        ]

    def travel(self, a_node: int, b_node: int, closed: Iterable[int] | None = None) -> Travel:
        """Shortest-time travel between two graph nodes (with the ``closed`` edges shut)."""
        w = dijkstra(self._variant(closed).graph, directed=True, indices=a_node)[b_node]
        if not np.isfinite(w):
            raise ValueError(f"node {b_node} is not reachable from node {a_node}")
        t, d = self._split(np.asarray(w))
        return Travel(float(t), float(d))

    def node_path(self, a_node: int, b_node: int, closed: Iterable[int] | None = None) -> list[int]:
        """Nodes along the shortest-time path from a_node to b_node (both included)."""
        graph = self._variant(closed).graph
        _, pred = dijkstra(graph, directed=True, indices=a_node, return_predecessors=True)
        nodes = [b_node]
        while nodes[-1] != a_node:
            p = int(pred[nodes[-1]])
            if p < 0:
                raise ValueError(f"node {b_node} is not reachable from node {a_node}")
            nodes.append(p)
        return nodes[::-1]

    def path(
        self, a: tuple[float, float], b: tuple[float, float], closed: Iterable[int] | None = None
    ) -> list[tuple[float, float]]:
        """(lat, lon) geometry from point a to point b along the shortest-time path.

        With ``closed`` edges, a point inside a closure joins the open network at its
        nearest reachable node (on foot); ValueError when one of them cannot.
        """
        sa, sb = self.reach([a, b], closed)
        if sa is None or sb is None:
            raise ValueError("no open street within reach of one of the points")
        coords = [(float(a[0]), float(a[1]))]
        nodes = self.node_path(sa.node, sb.node, closed)
        coords += [(float(self.lat[i]), float(self.lon[i])) for i in nodes]
        coords.append((float(b[0]), float(b[1])))
        return [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]

    def path_through(
        self, places: Sequence[tuple[float, float]], closed: Iterable[int] | None = None
    ) -> list[tuple[float, float]]:
        """(lat, lon) geometry through ``places`` in their order, each leg as :meth:`path`
        draws it (the same shortest-time path): a route's line in one go.

        Each leg's Dijkstra run stops at a bound from the straight-line distance
        (PATH_BOUND_*), raised until the end is reached, then unbounded: a short leg
        explores its neighbourhood, not the city. A leg whose end cannot join the open
        network (inside a closure, beyond SNAP_MAX_M) or cannot be reached is drawn
        straight. PointOutsideMap for a place off the map.
        """
        pts = [(float(lat), float(lon)) for lat, lon in places]
        if len(pts) < 2:
            return pts
        snaps = self.reach(pts, closed)
        graph = self._variant(closed).graph
        coords = [pts[0]]
        for i in range(len(pts) - 1):
            sa, sb = snaps[i], snaps[i + 1]
            if sa is not None and sb is not None and pts[i] != pts[i + 1]:  # else straight (or nothing)
                nodes = self._bounded_path(graph, sa.node, sb.node)
                coords += [(float(self.lat[n]), float(self.lon[n])) for n in nodes]
            coords.append(pts[i + 1])
        return [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]

    def _bounded_path(self, graph: Any, a_node: int, b_node: int) -> list[int]:
        """Nodes of the shortest-time path a -> b ([] when unreachable), searched within a
        growing bound: a bounded search that reaches b has found its shortest path."""
        if a_node == b_node:
            return [a_node]
        straight_m = float(haversine_m(self.lat[a_node], self.lon[a_node], self.lat[b_node], self.lon[b_node]))
        bound_s = PATH_BOUND_SLACK_S + PATH_BOUND_DETOUR * straight_m / (PATH_BOUND_KMH / 3.6)
        for limit in (*(bound_s * k for k in PATH_BOUND_STEPS), np.inf):
            _, pred = dijkstra(
                graph, directed=True, indices=a_node, return_predecessors=True, limit=(limit * 10 + 1) * _DIST_SCALE
            )
            if pred[b_node] >= 0:
                nodes = [b_node]
                while nodes[-1] != a_node:
                    nodes.append(int(pred[nodes[-1]]))
                return nodes[::-1]
        return []

    def matrices(
        self,
        points: Sequence[tuple[float, float]],
        closed: Iterable[int] | None = None,
        walked: Iterable[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(time in int s, distance in int m) between all (lat, lon) points, row = from.

        Includes the access legs from each point to its snapped node at ACCESS_KMH.
        Identical points are 0 apart.

        ``closed``: indices of edges shut by closures. A point whose nearest node is cut
        off joins the open network at the nearest node that is not, on foot (the courier
        leaves the bike at the closure and walks, at most SNAP_MAX_M); a point farther
        from every open street is UNREACHABLE_S away from every other point. ``walked``:
        indices of edges the bike is pushed along at WALK_KMH (pedestrian zones).

        Node-to-node weights come from a cache kept per set of closed edges: repeated
        calls cost Dijkstra runs for new nodes only, with the same result.
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        n = len(pts)
        if n == 0:
            empty = np.zeros((0, 0), dtype=np.int64)
            return empty, empty.copy()
        variant = self._variant(closed, walked)
        places = self.places_of(variant, pts)
        time_s, dist_m = self.matrix_block(variant, places, places)
        # Identical points are 0 apart: each point from itself, and repeated points (several
        # shops at one address) from each other. Found by sorting, not by comparing all pairs.
        diagonal = np.arange(n)
        time_s[diagonal, diagonal] = 0
        dist_m[diagonal, diagonal] = 0
        _, point_id, counts = np.unique(pts, axis=0, return_inverse=True, return_counts=True)
        point_id = point_id.reshape(-1)
        repeated = np.flatnonzero(counts[point_id] > 1)
        if len(repeated):
            rows, cols = np.nonzero(point_id[repeated][:, None] == point_id[repeated][None, :])
            time_s[repeated[rows], repeated[cols]] = 0
            dist_m[repeated[rows], repeated[cols]] = 0
        return time_s, dist_m

    def day_matrices(
        self,
        points: Sequence[tuple[float, float]],
        closed: Iterable[int] | None = None,
        walked: Iterable[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(time, distance, index): the matrices of :meth:`matrices`, kept between calls.

        ``time[index[i], index[j]]`` is ``matrices(points)[0][i, j]``, and so for
        distance. The matrices are those of a :class:`DayMatrices` kept per first
        point (a hub's day starts with the hub) and set of closures: a running day
        asks again and again for nearly the same places, and only new places cost
        anything. They live in shared memory (:mod:`backend.dispatch.shared_matrix`)
        and reach the solver's processes by name. None when the day has more than
        DAY_MATRIX_MAX_PLACES places (use :meth:`matrices`).
        """
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0 or len(pts) > DAY_MATRIX_MAX_PLACES:
            return None
        variant = self._variant(closed, walked)
        first = (float(pts[0, 0]), float(pts[0, 1]))
        with variant.days_lock:
            day = variant.days.get(first)
            if day is None:
                day = variant.days[first] = DayMatrices(self, variant)
            variant.days.move_to_end(first)
            while len(variant.days) > DAY_MATRICES_KEPT:
                variant.days.popitem(last=False)[1].release()
        return day.lookup(pts)

    def day_legs(
        self, points: Sequence[tuple[float, float]], closed: Iterable[int], walked: Iterable[int] | None = None
    ) -> DayLegs | None:
        """While the weights of this set of closures are not known yet (a closure just made):
        the matrices of :meth:`matrices` filled only where asked for (:class:`DayLegs`, from
        the weights known without the closure). None when they are known, or cannot be started
        from: ask :meth:`day_matrices`."""
        variant = self._variant(closed, walked)
        if variant.cache.seed is None:
            return None
        with self._variants_lock:
            kept = [self._open, *self._closed_variants.values()]
        pairs = ClosedPairs(variant, kept, self.edge_u, self.edge_v)
        if not pairs.tested:  # no network known to start from: the whole matrices
            return None
        return DayLegs(self, variant, pairs, np.asarray(points, dtype=np.float64).reshape(-1, 2))

    def places_of(self, variant: Variant, pts: np.ndarray) -> Places:
        """Where each point joins the network (off the map: PointOutsideMap, closures or not)."""
        snaps = self.snap_many(pts)
        if variant.all_open:
            nodes = np.fromiter((s.node for s in snaps), dtype=np.int64, count=len(pts))
            access_m = np.fromiter((s.distance_m for s in snaps), dtype=np.float64, count=len(pts))
        else:
            access_m, nodes = variant.snap(pts)
        return Places(pts, nodes, access_m)

    def matrix_block(self, variant: Variant, a: Places, b: Places) -> tuple[np.ndarray, np.ndarray]:
        """(time, distance) from the places ``a`` to the places ``b``, before the identical-points rule.

        Element by element the same sums in the same order whatever the block: a
        matrix assembled from blocks equals one computed whole.
        """
        ra, rb = a.access_m <= SNAP_MAX_M, b.access_m <= SNAP_MAX_M
        sa, sb = a.access_m / (ACCESS_KMH / 3.6), b.access_m / (ACCESS_KMH / 3.6)
        ua, ia = np.unique(a.nodes[ra], return_inverse=True)
        ub, ib = np.unique(b.nodes[rb], return_inverse=True)
        weight = variant.cache.weights(ua, ub)
        if not np.all(np.isfinite(weight)):  # cannot happen within one strongly connected component
            raise RuntimeError("street network is not strongly connected")
        # Split per node pair, then spread to the points: element-wise, so the same numbers
        # as splitting the spread weights. In place where possible: these may be n x n.
        t_unique, d_unique = self._split(weight)
        if ra.all() and rb.all():
            time_s = t_unique[np.ix_(ia, ib)]
            time_s += sa[:, None]
            time_s += sb[None, :]
            dist_m = d_unique[np.ix_(ia, ib)]
            dist_m += a.access_m[:, None]
            dist_m += b.access_m[None, :]
        else:
            oa, ob = np.flatnonzero(ra), np.flatnonzero(rb)
            time_s = np.full((len(a.pts), len(b.pts)), float(UNREACHABLE_S))
            dist_m = haversine_m(a.pts[:, 0, None], a.pts[:, 1, None], b.pts[None, :, 0], b.pts[None, :, 1])
            time_s[np.ix_(oa, ob)] = t_unique[np.ix_(ia, ib)] + sa[oa][:, None] + sb[ob][None, :]
            dist_m[np.ix_(oa, ob)] = d_unique[np.ix_(ia, ib)] + a.access_m[oa][:, None] + b.access_m[ob][None, :]
        np.rint(time_s, out=time_s)
        np.rint(dist_m, out=dist_m)
        return time_s.astype(np.int64), dist_m.astype(np.int64)

    def matrix_cache_info(self, closed: Iterable[int] | None = None) -> dict[str, int]:
        """How the node-to-node cache for this set of closures stands (for tests and benchmarks)."""
        cache = self._variant(closed).cache
        return {
            "nodes": len(cache.slot_of),
            "forward_runs": cache.forward_runs,
            "reverse_runs": cache.reverse_runs,
            "capacity": cache.capacity,
        }

    # ---- maps ---------------------------------------------------------------------------

    def edges_geojson(self) -> dict[str, Any]:
        """GeoJSON FeatureCollection of the network: one LineString per run of a way.

        Two-way segments appear once (``oneway: false``); one-way segments are drawn in
        their direction of travel (``oneway: true``).
        """
        n = self.node_count
        keys = self.edge_u * n + self.edge_v
        order = np.argsort(keys)
        rev_keys = self.edge_v * n + self.edge_u
        pos = np.minimum(np.searchsorted(keys[order], rev_keys), len(keys) - 1)
        rev = order[pos]
        has_rev = keys[rev] == rev_keys
        # Of a two-way pair, draw the one along the way's node order (ties: lower node first).
        draw = (
            ~has_rev
            | (self.edge_along & ~self.edge_along[rev])
            | ((self.edge_along == self.edge_along[rev]) & (self.edge_u < self.edge_v))
        )

        features: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        last_v = -1
        for e in np.flatnonzero(draw):
            u, v, oneway = int(self.edge_u[e]), int(self.edge_v[e]), not bool(has_rev[e])
            way = int(self.edge_way_id[e])
            props: dict[str, Any] = current["properties"] if current else {}
            if current is None or u != last_v or props["wayId"] != way or props["oneway"] != oneway:
                current = {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[float(self.lon[u]), float(self.lat[u])]],
                    },
                    "properties": {
                        "wayId": way,
                        "highway": str(self.edge_highway[e]),
                        "oneway": oneway,
                        "pushed": bool(self.edge_pushed[e]),
                    },
                }
                features.append(current)
            current["geometry"]["coordinates"].append([float(self.lon[v]), float(self.lat[v])])
            last_v = v
        return {"type": "FeatureCollection", "features": features}
