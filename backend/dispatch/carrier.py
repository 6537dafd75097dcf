"""Bike or carrier: the hub's rules, as data, decide per order whether its own bikes
deliver it or an external carrier does, and say why.

The rules are checked in a fixed order, the first that applies wins: a service the
bikes do not ride (``next_day_abroad``), an address abroad, a postcode outside the bike
area, then size and weight beyond what the hub's biggest bike takes. A parcel for
another country carries its duties term: DDP (the sender pays duties) for the
countries the hub lists, DAP (the receiver pays) for every other.

Pure: the service reads the rules and the hub's bikes and stores the decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

import msgspec

Duties = Literal["DDP", "DAP"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]
Limit = Annotated[float, msgspec.Meta(gt=0, le=10_000)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
Prefix = Annotated[str, msgspec.Meta(min_length=1, max_length=10)]


class CarrierRules(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """A hub's rules. A limit left out (None) is the hub's biggest bike's."""

    carrier: Name = "postnl"  # the carrier that takes what no rule below names another for
    max_weight_kg: Limit | None = None
    max_volume_l: Limit | None = None
    max_side_cm: Limit | None = 120.0  # the longest side a bike's box takes
    # Postcodes (prefixes, spaces ignored) outside the bike area.
    postcodes_outside: Annotated[list[Prefix], msgspec.Meta(max_length=500)] = []
    home_country: Country = "NL"
    # Services no bike rides and the carrier that takes each, e.g. {"next_day_abroad": "dhl"}.
    services: Annotated[dict[Name, Name], msgspec.Meta(max_length=20)] = {}
    abroad_carrier: Name | None = None  # None: ``carrier``
    ddp_countries: Annotated[list[Country], msgspec.Meta(max_length=60)] = []


class Shipment(msgspec.Struct, frozen=True, kw_only=True):
    """What the rules look at of one order (all its parcels together)."""

    weight_kg: float
    volume_l: float
    longest_side_cm: float = 0.0  # 0: unknown, not checked
    postcode: str = ""
    country: str = ""  # "": the hub's own country
    service: str = ""  # "": the standard same-day or next-day delivery


class BikeSize(msgspec.Struct, frozen=True):
    payload_kg: float
    volume_l: float


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """``mode``: "bike" or "carrier:<name>"; ``reason`` a code, ``detail`` a sentence."""

    mode: str
    reason: str
    detail: str
    duties: Duties | None = None  # set for a parcel to another country

    @property
    def carrier(self) -> str | None:
        return self.mode.removeprefix("carrier:") if self.mode.startswith("carrier:") else None


def biggest_bike(bikes: Iterable[BikeSize]) -> BikeSize:
    """The most any one of the hub's bikes takes (0 and 0 when the hub has none)."""
    sizes = list(bikes)
    return BikeSize(max((b.payload_kg for b in sizes), default=0.0), max((b.volume_l for b in sizes), default=0.0))


def _norm(postcode: str) -> str:
    return postcode.replace(" ", "").upper()


def decide(rules: CarrierRules, bikes: Iterable[BikeSize], s: Shipment) -> Decision:
    """Bike or carrier for one shipment, with the first rule that sends it to a carrier."""
    abroad = bool(s.country) and s.country.upper() != rules.home_country
    duties: Duties | None = None
    if abroad:
        duties = "DDP" if s.country.upper() in rules.ddp_countries else "DAP"

    def to(carrier: str, reason: str, detail: str) -> Decision:
        return Decision(mode=f"carrier:{carrier}", reason=reason, detail=detail, duties=duties)

    if s.service and s.service in rules.services:
        return to(rules.services[s.service], "service", f"The service {s.service} is not ridden by bike.")
    if abroad:
        return to(rules.abroad_carrier or rules.carrier, "abroad", f"The address is abroad ({s.country.upper()}).")
    code = _norm(s.postcode)
    for prefix in rules.postcodes_outside:
        if code and code.startswith(_norm(prefix)):
            return to(rules.carrier, "postcode", f"Postcode {s.postcode} is outside the bike area.")
    big = biggest_bike(bikes)
    max_kg = rules.max_weight_kg if rules.max_weight_kg is not None else big.payload_kg
    max_l = rules.max_volume_l if rules.max_volume_l is not None else big.volume_l
    if s.weight_kg > max_kg:
        return to(rules.carrier, "weight", f"{s.weight_kg:g} kg is more than a bike takes ({max_kg:g} kg).")
    if s.volume_l > max_l:
        return to(rules.carrier, "volume", f"{s.volume_l:g} l is more than a bike takes ({max_l:g} l).")
    if rules.max_side_cm is not None and s.longest_side_cm > rules.max_side_cm:
        return to(
            rules.carrier,
            "length",
            f"The longest side, {s.longest_side_cm:g} cm, is more than a bike takes ({rules.max_side_cm:g} cm).",
        )
    return Decision(mode="bike", reason="fits", detail="A bike of the hub takes it.")
