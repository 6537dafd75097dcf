"""The map the service works on: street network and geocoder, loaded once."""

from __future__ import annotations

import difflib
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec
import numpy as np

from backend.dispatch import osm_extract
from backend.dispatch.closures import closure_edges
from backend.dispatch.geocode import AddressNotFound, Geocoder
from backend.dispatch.network import PointOutsideMap, StreetNetwork, file_sha256
from backend.dispatch.osm_extract import OsmExtract, PointOfInterest, WayRun, read_extract
from backend.dispatch.zones import OsmZone, osm_pedestrian_zones
from backend.errors import Invalid

log = logging.getLogger("laadbak.geo")


def cached_extract(map_path: Path, cache_dir: Path) -> OsmExtract:
    """``read_extract(map_path)``, kept in ``cache_dir`` beside the street network: parsing
    the PBF cost ~1 s of CPU at every start (server, worker, test run), decoding this ~30 ms.
    Keyed by the map's hash and by the reader's own source, so a changed reader reads anew."""
    reader = file_sha256(Path(osm_extract.__file__))[:16]
    cache_file = Path(cache_dir) / f"extract-{file_sha256(Path(map_path))}-r{reader}.msgpack"
    try:
        return msgspec.msgpack.decode(cache_file.read_bytes(), type=OsmExtract)
    except (OSError, msgspec.DecodeError):  # missing, unreadable or of another layout: read the map
        pass
    extract = read_extract(map_path)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a process starting beside us never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".msgpack.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(msgspec.msgpack.encode(extract))
        os.replace(tmp, cache_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return extract


def street_index(ways: Iterable[WayRun]) -> dict[int, str]:
    """OSM way id -> street name, for the named ways of an extract."""
    return {run.way_id: run.tags["name"] for run in ways if run.tags.get("name")}


class Geo:
    def __init__(
        self,
        network: StreetNetwork,
        geocoder: Geocoder,
        pois: tuple[PointOfInterest, ...] = (),
        street_of_way: Mapping[int, str] | None = None,
        pedestrian_zones: tuple[OsmZone, ...] = (),
    ) -> None:
        self.network = network
        self.pedestrian_zones = pedestrian_zones  # the map's pedestrian areas, to import as zones
        self.geocoder = geocoder
        self.pois = pois  # shops and amenities of the extract, for seeding a demo city
        # Street names by way: the network keeps way ids only (its cache holds no strings
        # but highway types), so street closures are matched here.
        self.street_of_way: dict[int, str] = dict(street_of_way or {})
        self._ways_of_street: dict[str, set[int]] = {}
        self._street_names: dict[str, str] = {}  # casefolded -> as on the map
        on_network = set(np.unique(network.edge_way_id).tolist())
        for way, name in self.street_of_way.items():
            if way in on_network:
                self._ways_of_street.setdefault(name.casefold(), set()).add(way)
                self._street_names[name.casefold()] = name
        self._closure_edges: dict[tuple[str, tuple[tuple[float, float], ...]], np.ndarray] = {}

    @classmethod
    def load(cls, map_path: Path, cache_dir: Path) -> Geo:
        extract = cached_extract(map_path, cache_dir)
        network = StreetNetwork.from_pbf(map_path, cache_dir=cache_dir)
        return cls(
            network,
            Geocoder.from_extract(extract),
            extract.pois,
            street_index(extract.ways),
            tuple(osm_pedestrian_zones(extract.ways)),
        )

    def street(self, name: str) -> tuple[str, frozenset[int]]:
        """The street's name as on the map and its ways that cargo bikes use.

        Raises Invalid, with the closest names as suggestions, for a name the map does not
        know (case and surrounding spaces do not matter).
        """
        key = " ".join(name.split()).casefold()
        ways = self._ways_of_street.get(key)
        if not ways:
            close = difflib.get_close_matches(key, list(self._street_names), n=5, cutoff=0.7)
            suggestions = [self._street_names[k] for k in close]
            hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
            raise Invalid(
                f"There is no street named {name!r} on the map that cargo bikes use.{hint}", suggestions=suggestions
            )
        return self._street_names[key], frozenset(ways)

    def closure_edges(self, street: str, zone: Iterable[Iterable[float]]) -> np.ndarray:
        """Edge indices a closure shuts: the street's ("" for none) within the zone (empty: anywhere).

        Kept per (street, zone): every re-plan of a day with closures asks again.
        """
        ring = tuple((float(lat), float(lon)) for lat, lon in zone)
        key = (street, ring)
        edges = self._closure_edges.get(key)
        if edges is None:
            way_ids = self.street(street)[1] if street else None
            edges = closure_edges(self.network, ring or None, way_ids)
            if len(self._closure_edges) >= 256:  # a day has a handful; bounded all the same
                self._closure_edges.pop(next(iter(self._closure_edges)))
            self._closure_edges[key] = edges
        return edges

    def streets_of(self, edges: np.ndarray) -> list[str]:
        """Names of the streets these edges (indices) belong to, sorted; unnamed ways left out."""
        ways = np.unique(self.network.edge_way_id[edges]).tolist()
        return sorted({self.street_of_way[w] for w in ways if w in self.street_of_way})

    def locate(
        self, lat: float | None, lon: float | None, address: str | None, what: str = "place"
    ) -> tuple[float, float, str]:
        """Coordinates for a place given by a point, an address, or both (the point wins).

        Raises Invalid with an actionable message for a point off the map or an
        address the map does not know.
        """
        if (lat is None) != (lon is None):
            raise Invalid(f"Give both lat and lon for the {what}, or neither and an address.")
        if lat is not None and lon is not None:
            try:
                self.network.snap(lat, lon)
            except PointOutsideMap as exc:
                raise Invalid(f"The {what} is outside the map: {exc}") from exc
            return lat, lon, address or ""
        if not address:
            raise Invalid(f"Give the {what}'s address or its lat and lon.")
        try:
            found = self.geocoder.parse_and_lookup(address)
        except AddressNotFound as exc:
            raise Invalid(
                f"Address {address!r} for the {what} is not on the map. {exc}",
                suggestions=exc.suggestions,
            ) from exc
        label = f"{found.street} {found.housenumber}" + (f", {found.postcode}" if found.postcode else "")
        return found.lat, found.lon, label
