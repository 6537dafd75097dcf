"""Offline geocoder over the OSM extract's ``addr:*`` tags.

Pure: no network. Street names match case-, accent- and whitespace-insensitively;
a miss raises ``AddressNotFound`` with suggestions a person can act on.
"""

from __future__ import annotations

import bisect
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


class Suggestion(msgspec.Struct, frozen=True):
    """An address offered while someone types: a label that geocodes back to it, and where it is."""

    label: str
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
        self._by_street: tuple[list[str], dict[str, list[Address]]] | None = None  # built on the first suggest()
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

    # ---- suggestions while typing ----------------------------------------------------------

    def _street_lists(self) -> tuple[list[str], dict[str, list[Address]]]:
        """Street keys in order, and each street's addresses by house number: the one
        :meth:`lookup` answers for that number (the first given, e.g. the entrance)."""
        if self._by_street is None:
            by_street: dict[str, dict[str, Address]] = {}
            for a in self._addresses:
                if "," in a.street:
                    continue  # 'Kaivopiha, Mannerheimintie': a name no typed address can reach
                by_street.setdefault(normalize_street(a.street), {}).setdefault(normalize_number(a.housenumber), a)
            lists = {
                skey: [numbers[n] for n in sorted(numbers, key=lambda n: (_number_value(n) or 0, n))]
                for skey, numbers in by_street.items()
            }
            self._by_street = (sorted(lists), lists)
        return self._by_street

    def suggest(self, text: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        """Addresses matching what was typed so far, best first, at most ``limit``.

        The street is matched by prefix ('manner' finds Mannerheimintie; a street whose
        later word starts so comes after), case- and accent-insensitively; a house number
        after it narrows to that number (exactly first, then numbers starting with it,
        '1' -> 1, 1a, 10, 12...). Without a number, each matching street's first
        address comes before any street's second. Each label geocodes back to its place
        with :meth:`parse_and_lookup`.
        """
        tokens = text.split(",")[0].split()
        split = next((i for i, t in enumerate(tokens) if i > 0 and t[0].isdigit()), len(tokens))
        street = normalize_street(" ".join(tokens[:split]))
        number = normalize_number(" ".join(tokens[split:]))
        if not street or limit <= 0:
            return []
        keys, lists = self._street_lists()
        first = bisect.bisect_left(keys, street)
        prefixed = []
        for key in keys[first:]:
            if not key.startswith(street):
                break
            prefixed.append(key)
        # exact name first, then the other prefixes in order, then streets with a later word matching
        prefixed.sort(key=lambda k: k != street)
        later = [k for k in keys if not k.startswith(street) and any(w.startswith(street) for w in k.split()[1:])]
        streets = prefixed + later
        if number:
            exact = [a for k in streets for a in lists[k] if normalize_number(a.housenumber) == number]
            starting = [
                a
                for k in streets
                for a in lists[k]
                if normalize_number(a.housenumber) != number and normalize_number(a.housenumber).startswith(number)
            ]
            chosen = (exact + starting)[:limit]
        else:
            chosen = []
            for rank in range(limit):
                for k in streets:
                    if rank < len(lists[k]):
                        chosen.append(lists[k][rank])
                        if len(chosen) == limit:
                            break
                if len(chosen) == limit or all(rank >= len(lists[k]) for k in streets):
                    break
        # Without the postcode: with one, lookup() prefers the candidate that carries it
        # (often the building's centre), not this one.
        return [
            Suggestion(label=f"{self._street_names[normalize_street(a.street)]} {a.housenumber}", lat=a.lat, lon=a.lon)
            for a in chosen
        ]
