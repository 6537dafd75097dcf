"""The map the service works on: street network and geocoder, loaded once."""

from __future__ import annotations

import logging
from pathlib import Path

from backend.dispatch.geocode import AddressNotFound, Geocoder
from backend.dispatch.network import PointOutsideMap, StreetNetwork
from backend.dispatch.osm_extract import PointOfInterest, read_extract
from backend.errors import Invalid

log = logging.getLogger("laadbak.geo")


class Geo:
    def __init__(
        self, network: StreetNetwork, geocoder: Geocoder, pois: tuple[PointOfInterest, ...] = ()
    ) -> None:
        self.network = network
        self.geocoder = geocoder
        self.pois = pois  # shops and amenities of the extract, for seeding a demo city

    @classmethod
    def load(cls, map_path: Path, cache_dir: Path) -> Geo:
        extract = read_extract(map_path)
        network = StreetNetwork.from_pbf(map_path, cache_dir=cache_dir)
        return cls(network, Geocoder.from_extract(extract), extract.pois)

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
