"""Offline geocoder over the OSM extract's ``addr:*`` tags.

Pure: no network. Street names match case-, accent- and whitespace-insensitively;
a miss raises ``AddressNotFound`` with suggestions a person can act on.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path

import msgspec

from backend.dispatch.osm_extract import OsmExtract, read_extract

MAX_SUGGESTIONS = 5
_POSTCODE = re.compile(r"\b(\d{5})\b")
_NUMBER_START = re.compile(r"^(\d+)([a-z])?(?![a-z])")


class Address(msgspec.Struct, frozen=True):
    street: str
    housenumber: str
    postcode: str | None
    lat: float
    lon: float


class AddressNotFound(LookupError):
    def __init__(self, query: str, reason: str, suggestions: list[str]) -> None:
        self.query = query
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Address '{query}' not found: {reason}.{hint}")


def normalize_street(text: str) -> str:
    """'  Pitkäsilta ' -> 'pitkasilta': casefold, strip accents, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def normalize_number(text: str) -> str:
    """'5 B', '5b', '5 B, 2. krs' -> '5b'; '22 - 24' -> '22-24'; '5 B 12' -> '5b 12'.

    Floor notes after a comma are dropped; a flat number stays a separate token so
    '5 12' (house 5, flat 12) never turns into house 512.
    """
    s = normalize_street(text.split(",")[0])
    s = re.sub(r"\s*-\s*", "-", s)
    return re.sub(r"(\d)\s+([a-z])(?![a-z])", r"\1\2", s)


def _number_value(hn: str) -> int | None:
    m = re.match(r"\d+", hn)
    return int(m.group()) if m else None


class Geocoder:
    def __init__(self, addresses: list[Address]) -> None:
        self._addresses = addresses
        # street key -> number key -> candidates (several postcodes are possible)
        self._index: dict[str, dict[str, list[Address]]] = {}
        self._street_names: dict[str, str] = {}
        aliases: list[tuple[str, str, Address]] = []
        for a in addresses:
            skey = normalize_street(a.street)
            self._street_names.setdefault(skey, a.street)
            nkey = normalize_number(a.housenumber)
            self._index.setdefault(skey, {}).setdefault(nkey, []).append(a)
            # A range "22-24" is one building; it answers "22" and "24" unless they exist alone.
            m = re.fullmatch(r"(\d+)-(\d+)", nkey)
            if m:
                lo, hi = int(m.group(1)), int(m.group(2))
                step = 2 if (hi - lo) % 2 == 0 else 1
                aliases += [(skey, str(k), a) for k in range(lo, hi + 1, step)][:20]
        for skey, nkey, a in aliases:
            self._index[skey].setdefault(nkey, [a])

    @classmethod
    def from_extract(cls, extract: OsmExtract) -> Geocoder:
        # Nodes come first in the extract: an entrance/address point wins over a building
        # centroid with the same address, which is where a courier should stop anyway.
        return cls([Address(a.street, a.housenumber, a.postcode, a.lat, a.lon) for a in extract.addresses])

    @classmethod
    def from_pbf(cls, path: str | Path) -> Geocoder:
        return cls.from_extract(read_extract(path))

    def addresses(self) -> list[Address]:
        """One address per distinct street + house number (for seeding demos)."""
        seen: set[tuple[str, str]] = set()
        out = []
        for a in self._addresses:
            key = (normalize_street(a.street), normalize_number(a.housenumber))
            if key not in seen:
                seen.add(key)
                out.append(a)
        return out

    def lookup(self, street: str, housenumber: str, postcode: str | None = None) -> Address:
        query = f"{street.strip()} {housenumber.strip()}"
        if postcode:
            query += f", {postcode.strip()}"
        skey = normalize_street(street)
        numbers = self._index.get(skey)
        if numbers is None:
            suggestions = self._street_suggestions(skey, housenumber)
            raise AddressNotFound(query, "no such street in the map", suggestions)
        nkey = normalize_number(housenumber)
        candidates = numbers.get(nkey)
        if candidates is None:
            # "5 B 12" (staircase B, flat 12) or "5 C": same building as "5b" / "5".
            m = _NUMBER_START.match(nkey)
            if m:
                candidates = numbers.get(m.group(1) + (m.group(2) or "")) or numbers.get(m.group(1))
        if candidates is None:
            name = self._street_names[skey]
            raise AddressNotFound(
                query,
                f"{name} has no number {housenumber.strip()} in the map",
                self._nearest_numbers(skey, nkey),
            )
        chosen = candidates[0]
        if postcode:
            # Street + number identify the address in one city; the postcode only breaks ties.
            wanted = postcode.strip()
            chosen = next((a for a in candidates if a.postcode == wanted), chosen)
        if chosen.postcode is None:
            # The entrance point often lacks addr:postcode that its building carries.
            known = next((a.postcode for a in candidates if a.postcode), None)
            chosen = msgspec.structs.replace(chosen, postcode=known)
        return chosen

    def parse_and_lookup(self, text: str) -> Address:
        """Free text like 'Mannerheimintie 5', 'Bulevardi 16 B, 00120 Helsinki'."""
        first, _, rest = text.partition(",")
        pm = _POSTCODE.search(rest)
        postcode = pm.group(1) if pm else None
        tokens = first.split()
        split = next((i for i, t in enumerate(tokens) if i > 0 and t[0].isdigit()), None)
        if split is None:
            raise AddressNotFound(
                text.strip(),
                "expected a street name followed by a house number, e.g. 'Mannerheimintie 5'",
                [],
            )
        return self.lookup(" ".join(tokens[:split]), " ".join(tokens[split:]), postcode)

    # ---- suggestions --------------------------------------------------------------------

    def _street_suggestions(self, skey: str, housenumber: str) -> list[str]:
        close = difflib.get_close_matches(skey, list(self._index), n=MAX_SUGGESTIONS, cutoff=0.6)
        out = []
        for key in close:
            name = self._street_names[key]
            has_number = normalize_number(housenumber) in self._index[key]
            out.append(f"{name} {housenumber.strip()}" if has_number else name)
        return out

    def _nearest_numbers(self, skey: str, nkey: str) -> list[str]:
        name = self._street_names[skey]
        target = _number_value(nkey)
        shown = sorted({a.housenumber for cands in self._index[skey].values() for a in cands})
        if target is None:
            return [f"{name} {hn}" for hn in shown[:MAX_SUGGESTIONS]]

        def distance(hn: str) -> tuple[int, str]:
            value = _number_value(normalize_number(hn))
            return (abs(value - target) if value is not None else 10**9, hn)

        return [f"{name} {hn}" for hn in sorted(shown, key=distance)[:MAX_SUGGESTIONS]]
