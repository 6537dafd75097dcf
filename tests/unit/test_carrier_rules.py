"""The hub's bike-or-carrier rules: each rule, its reason, and the duties term abroad."""

from __future__ import annotations

import msgspec
import pytest

from backend.dispatch.carrier import BikeSize, CarrierRules, Shipment, biggest_bike, decide

BIKES = [BikeSize(80.0, 300.0), BikeSize(150.0, 600.0)]


def ship(**kw: object) -> Shipment:
    base: dict[str, object] = {"weight_kg": 5.0, "volume_l": 20.0, "longest_side_cm": 40.0, "postcode": "3511 AB"}
    base.update(kw)
    return msgspec.convert(base, Shipment)


def test_a_parcel_a_bike_takes_goes_by_bike() -> None:
    d = decide(CarrierRules(), BIKES, ship())
    assert (d.mode, d.reason, d.duties, d.carrier) == ("bike", "fits", None, None)


def test_limits_default_to_the_biggest_bike() -> None:
    assert biggest_bike(BIKES) == BikeSize(150.0, 600.0)
    assert decide(CarrierRules(), BIKES, ship(weight_kg=150.0)).mode == "bike"
    d = decide(CarrierRules(), BIKES, ship(weight_kg=151.0))
    assert (d.mode, d.reason) == ("carrier:postnl", "weight")
    assert "150 kg" in d.detail
    assert decide(CarrierRules(), BIKES, ship(volume_l=601.0)).reason == "volume"


def test_a_hub_without_bikes_sends_everything_to_the_carrier() -> None:
    assert decide(CarrierRules(), [], ship()).reason == "weight"


def test_the_rules_own_limits_win_over_the_bikes() -> None:
    rules = CarrierRules(carrier="dhl", max_weight_kg=30.0, max_volume_l=100.0, max_side_cm=90.0)
    assert decide(rules, BIKES, ship(weight_kg=31.0)).mode == "carrier:dhl"
    assert decide(rules, BIKES, ship(volume_l=101.0)).reason == "volume"
    d = decide(rules, BIKES, ship(longest_side_cm=95.0))
    assert (d.reason, d.mode) == ("length", "carrier:dhl")
    assert "95 cm" in d.detail


def test_a_postcode_outside_the_bike_area() -> None:
    rules = CarrierRules(postcodes_outside=["3400", "35 2"])
    assert decide(rules, BIKES, ship(postcode="3401 XY")).mode == "bike"
    d = decide(rules, BIKES, ship(postcode="3400AA"))
    assert (d.reason, d.mode) == ("postcode", "carrier:postnl")
    assert decide(rules, BIKES, ship(postcode="3521 AB")).reason == "postcode"


def test_a_service_names_its_carrier() -> None:
    rules = CarrierRules(services={"next_day_abroad": "dhl"}, ddp_countries=["BE"])
    d = decide(rules, BIKES, ship(service="next_day_abroad", country="BE"))
    assert (d.mode, d.reason, d.duties) == ("carrier:dhl", "service", "DDP")
    # A service the rules do not list is the bikes' own.
    assert decide(rules, BIKES, ship(service="same_day")).mode == "bike"


def test_abroad_goes_to_the_abroad_carrier_with_its_duties_term() -> None:
    rules = CarrierRules(abroad_carrier="ups", ddp_countries=["DE"])
    de = decide(rules, BIKES, ship(country="DE"))
    assert (de.mode, de.reason, de.duties) == ("carrier:ups", "abroad", "DDP")
    ch = decide(rules, BIKES, ship(country="ch"))
    assert (ch.mode, ch.duties) == ("carrier:ups", "DAP")
    assert decide(CarrierRules(), BIKES, ship(country="DE")).mode == "carrier:postnl"


def test_bad_rules_are_refused() -> None:
    for bad in ({"maxWeightKg": -1}, {"carrier": "Post NL"}, {"ddpCountries": ["germany"]}, {"colour": "red"}):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, CarrierRules)
