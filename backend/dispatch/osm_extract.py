"""One pass over an OpenStreetMap PBF: street ways, addresses and points of interest.

Pure: reads a file with pyosmium and returns frozen msgspec Structs. The
cargo-bike profile (which ways are usable, at what speed, in which direction)
lives in ``network.py``; this module only keeps every ``highway=*`` way with the
tags that profile needs.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import osmium

# Tags kept on highway ways: exactly what the routing profile and maps read.
ROUTING_TAG_KEYS: frozenset[str] = frozenset(
    {
        "highway",
        "oneway",
        "oneway:bicycle",
        "junction",
        "bicycle",
        "access",
        "vehicle",
        "area",
        "name",
        "bicycle:conditional",  # ride hours of pedestrian zones (backend/dispatch/zones.py)
    }
)
ROUTING_TAG_PREFIXES: tuple[str, ...] = ("cycleway",)  # cycleway, cycleway:left:oneway, ...


class BBox(msgspec.Struct, frozen=True):
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float


class WayRun(msgspec.Struct, frozen=True):
    """A highway way, or the part of it whose node locations are in the file.

    Extracts clip ways at the boundary; nodes outside have no location, so a way
    is split into runs of consecutive located nodes rather than joining across the gap.
    """

    way_id: int
    tags: dict[str, str]
    node_ids: tuple[int, ...]
    lats: tuple[float, ...]
    lons: tuple[float, ...]


class AddressPoint(msgspec.Struct, frozen=True):
    street: str
    housenumber: str
    postcode: str | None
    lat: float
    lon: float
    source: str  # "n123", "w456", "r789": the OSM object it came from


class PointOfInterest(msgspec.Struct, frozen=True):
    name: str
    kind: str  # "shop" or "amenity"
    value: str  # e.g. "supermarket", "cafe"
    opening_hours: str | None
    lat: float
    lon: float
    street: str | None
    housenumber: str | None
    source: str


class OsmExtract(msgspec.Struct, frozen=True):
    ways: tuple[WayRun, ...]
    addresses: tuple[AddressPoint, ...]
    pois: tuple[PointOfInterest, ...]
    bbox: BBox


def _routing_tags(tags: osmium.osm.TagList) -> dict[str, str]:
    return {t.k: t.v for t in tags if t.k in ROUTING_TAG_KEYS or t.k.startswith(ROUTING_TAG_PREFIXES)}


def _address(tags: dict[str, str], lat: float, lon: float, source: str) -> AddressPoint | None:
    street, number = tags.get("addr:street"), tags.get("addr:housenumber")
    if not street or not number:
        return None
    return AddressPoint(street, number, tags.get("addr:postcode"), lat, lon, source)


def _poi(tags: dict[str, str], lat: float, lon: float, source: str) -> PointOfInterest | None:
    name = tags.get("name")
    kind = "shop" if "shop" in tags else "amenity" if "amenity" in tags else None
    if not name or kind is None:  # unnamed benches and bins are no use for a demo city
        return None
    return PointOfInterest(
        name=name,
        kind=kind,
        value=tags[kind],
        opening_hours=tags.get("opening_hours"),
        lat=lat,
        lon=lon,
        street=tags.get("addr:street"),
        housenumber=tags.get("addr:housenumber"),
        source=source,
    )


def _wants(tags: osmium.osm.TagList) -> bool:
    return "addr:housenumber" in tags or "shop" in tags or "amenity" in tags


def read_extract(path: str | Path) -> OsmExtract:
    """Read ``path`` once (nodes, then ways, then relations, as PBFs are sorted)."""
    ways: list[WayRun] = []
    addresses: list[AddressPoint] = []
    pois: list[PointOfInterest] = []
    # Centroid sums of untagged/non-highway ways: multipolygon relations (buildings with an
    # address on the relation) are located from their outer member ways.
    way_sums: dict[int, tuple[float, float, int]] = {}
    min_lat = min_lon = float("inf")
    max_lat = max_lon = float("-inf")

    def add_points(tags: dict[str, str], lat: float, lon: float, source: str) -> None:
        if (a := _address(tags, lat, lon, source)) is not None:
            addresses.append(a)
        if (p := _poi(tags, lat, lon, source)) is not None:
            pois.append(p)

    for obj in osmium.FileProcessor(str(path)).with_locations():
        if isinstance(obj, osmium.osm.Node):
            loc = obj.location
            if not loc.valid():
                continue
            lat, lon = loc.lat, loc.lon
            min_lat, max_lat = min(min_lat, lat), max(max_lat, lat)
            min_lon, max_lon = min(min_lon, lon), max(max_lon, lon)
            if _wants(obj.tags):
                add_points(dict(obj.tags), lat, lon, f"n{obj.id}")
        elif isinstance(obj, osmium.osm.Way):
            located = [(n.ref, n.location) for n in obj.nodes]
            if "highway" in obj.tags:
                ways.extend(_runs(obj.id, _routing_tags(obj.tags), located))
                continue
            coords = [(loc.lat, loc.lon) for _, loc in located if loc.valid()]
            if not coords:
                continue
            slat = sum(c[0] for c in coords)
            slon = sum(c[1] for c in coords)
            way_sums[obj.id] = (slat, slon, len(coords))
            if _wants(obj.tags):
                # Centroid of the way's nodes (closed rings repeat the first node; harmless).
                add_points(dict(obj.tags), slat / len(coords), slon / len(coords), f"w{obj.id}")
        elif isinstance(obj, osmium.osm.Relation) and _wants(obj.tags):
            sums = [
                way_sums[m.ref] for m in obj.members if m.type == "w" and m.role in ("outer", "") and m.ref in way_sums
            ]
            n = sum(s[2] for s in sums)
            if n:
                lat = sum(s[0] for s in sums) / n
                lon = sum(s[1] for s in sums) / n
                add_points(dict(obj.tags), lat, lon, f"r{obj.id}")

    if min_lat == float("inf"):
        raise ValueError(f"{path}: no located nodes in this file")
    return OsmExtract(
        ways=tuple(ways),
        addresses=tuple(addresses),
        pois=tuple(pois),
        bbox=BBox(min_lat, min_lon, max_lat, max_lon),
    )


def _runs(way_id: int, tags: dict[str, str], located: list[tuple[int, osmium.osm.Location]]) -> list[WayRun]:
    runs: list[WayRun] = []
    current: list[tuple[int, float, float]] = []

    def flush() -> None:
        if len(current) >= 2:
            ids, lats, lons = zip(*current, strict=True)
            runs.append(WayRun(way_id, tags, ids, lats, lons))
        current.clear()

    for ref, loc in located:
        if loc.valid():
            current.append((ref, loc.lat, loc.lon))
        else:
            flush()
    flush()
    return runs
