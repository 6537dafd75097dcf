"""Offline geocoder on the shipped Helsinki extract."""

from __future__ import annotations

import re
import unicodedata

import pytest

from backend.dispatch.geocode import Address, AddressNotFound, Geocoder, normalize_number
from backend.dispatch.network import default_map_path
from backend.dispatch.osm_extract import AddressPoint, OsmExtract, read_extract


@pytest.fixture(scope="module")
def extract() -> OsmExtract:
    return read_extract(default_map_path())


@pytest.fixture(scope="module")
def geocoder(extract: OsmExtract) -> Geocoder:
    return Geocoder.from_extract(extract)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _plain(extract: OsmExtract, accented: bool) -> AddressPoint:
    """A real address with a plain numeric house number (accented street if asked)."""
    for a in extract.addresses:
        if re.fullmatch(r"\d+", a.housenumber) and (_ascii(a.street) != a.street) == accented:
            return a
    raise AssertionError("no such address in the extract")


def _matches(found: Address, extract: OsmExtract, street: str, number: str) -> bool:
    return any(
        a.street == street
        and normalize_number(a.housenumber) == normalize_number(number)
        and (a.lat, a.lon) == (found.lat, found.lon)
        for a in extract.addresses
    )


def test_extract_has_addresses_from_nodes_ways_and_relations(extract: OsmExtract) -> None:
    kinds = {a.source[0] for a in extract.addresses}
    assert kinds == {"n", "w", "r"}
    assert len(extract.addresses) > 1000
    assert any(p.opening_hours for p in extract.pois)
    assert any(p.kind == "shop" for p in extract.pois)


def test_lookup_real_address_case_accent_whitespace_insensitive(geocoder: Geocoder, extract: OsmExtract) -> None:
    real = _plain(extract, accented=False)
    found = geocoder.lookup(f"  {real.street.upper()} ", f" {real.housenumber} ")
    assert found.street == real.street
    assert _matches(found, extract, real.street, real.housenumber)

    accented = _plain(extract, accented=True)
    sloppy = "  ".join(_ascii(accented.street).lower().split(" "))
    found = geocoder.parse_and_lookup(f"{sloppy}   {accented.housenumber} ")
    assert found.street == accented.street
    assert _matches(found, extract, accented.street, accented.housenumber)


def test_parse_and_lookup_with_postcode(geocoder: Geocoder, extract: OsmExtract) -> None:
    real = next(a for a in extract.addresses if a.postcode and re.fullmatch(r"\d+", a.housenumber))
    found = geocoder.parse_and_lookup(f"{real.street} {real.housenumber}, {real.postcode} Helsinki")
    assert found.street == real.street and found.postcode == real.postcode


def test_staircase_and_flat_fall_back_to_the_building(geocoder: Geocoder, extract: OsmExtract) -> None:
    real = _plain(extract, accented=False)
    exact = geocoder.lookup(real.street, real.housenumber)
    # "12 12" is house 12, flat 12 (never house 1212); "12 A 5" is staircase A, flat 5.
    assert geocoder.lookup(real.street, f"{real.housenumber} 12") == exact
    staircase = geocoder.lookup(real.street, f"{real.housenumber} A 5")
    assert normalize_number(staircase.housenumber) in (
        normalize_number(real.housenumber),
        normalize_number(real.housenumber + "a"),
    )


def test_misspelled_street_suggests_the_right_one(geocoder: Geocoder, extract: OsmExtract) -> None:
    plain, accented = _plain(extract, accented=False), _plain(extract, accented=True)
    real = max(plain, accented, key=lambda a: len(a.street))
    middle = len(real.street) // 2
    typo = real.street[:middle] + real.street[middle + 1 :]  # drop a letter
    with pytest.raises(AddressNotFound) as err:
        geocoder.lookup(typo, real.housenumber)
    assert err.value.query.startswith(typo)
    assert 0 < len(err.value.suggestions) <= 5
    assert any(s.startswith(real.street) for s in err.value.suggestions)
    assert real.street in str(err.value) and "Did you mean" in str(err.value)


def test_missing_house_number_suggests_nearest_numbers(geocoder: Geocoder, extract: OsmExtract) -> None:
    real = _plain(extract, accented=False)
    with pytest.raises(AddressNotFound) as err:
        geocoder.lookup(real.street, "9999")
    suggestions = err.value.suggestions
    assert 0 < len(suggestions) <= 5
    assert all(s.startswith(real.street + " ") for s in suggestions)
    numbers = [int(re.findall(r"\d+", s[len(real.street) :])[0]) for s in suggestions]
    assert numbers == sorted(numbers, reverse=True)  # nearest to 9999 first = highest first
    assert "no number 9999" in str(err.value)


def test_free_text_without_number_is_refused(geocoder: Geocoder) -> None:
    with pytest.raises(AddressNotFound, match="house number"):
        geocoder.parse_and_lookup("Mannerheimintie")


def test_addresses_are_unique_and_inside_the_map(geocoder: Geocoder, extract: OsmExtract) -> None:
    addresses = geocoder.addresses()
    keys = [(a.street.casefold(), normalize_number(a.housenumber)) for a in addresses]
    assert len(keys) == len(set(keys)) > 300
    bb = extract.bbox
    for a in addresses:
        assert bb.min_lat <= a.lat <= bb.max_lat and bb.min_lon <= a.lon <= bb.max_lon
