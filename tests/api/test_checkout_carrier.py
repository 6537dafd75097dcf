"""The check-out's bike-or-carrier answer is the hub's carrier rules' (backend/dispatch/carrier.py),
the decision order intake makes: what a shop is offered is what the order then gets."""

from __future__ import annotations

from typing import Any

import pytest

from backend.db.carrier_tables import CarrierOrder
from backend.db.tables import Order, Stop
from tests.api.helpers import post_ok, tomorrow
from tests.api.test_checkout import _hub, _option

RULES = {
    "carrier": "postnl",
    "maxWeightKg": 8,
    "postcodesOutside": ["02"],
    "services": {"next_day_abroad": "dhl"},
    "abroadCarrier": "ups",
    "ddpCountries": ["BE"],
}

# (what the shop asks besides the address, the carrier the rules pick or None, the door options' reason)
CASES: list[tuple[dict[str, Any], str | None, str]] = [
    ({"postcode": "0100"}, None, ""),
    ({"weightG": 9000}, "postnl", "too_large_for_bike"),
    ({"longestCm": 130}, "postnl", "too_large_for_bike"),
    ({"postcode": "02 150"}, "postnl", "outside_area"),
    ({"country": "BE"}, "ups", "outside_area"),
    ({"service": "next_day_abroad"}, "dhl", "service_by_carrier"),
]


def _ask(address: str, case: dict[str, Any]) -> dict[str, Any]:
    parcel = {"weightG": case.get("weightG", 3000), "volumeMl": 20000, "longestCm": case.get("longestCm", 50)}
    extra = {k: v for k, v in case.items() if k in ("postcode", "country", "service")}
    return {"address": address, "parcels": [parcel], **extra}


def _order(hub: int, address: str, i: int, case: dict[str, Any]) -> dict[str, Any]:
    """The same order, taken through POST /orders (intake)."""
    ask = _ask(address, case)
    p = ask["parcels"][0]
    return {
        "reference": f"SAME-{i}",
        "hubId": hub,
        "customerName": "Same",
        "date": tomorrow().isoformat(),
        "address": address,
        "window": {"start": "18:00", "end": "22:00"},
        "parcels": [
            {"weightKg": p["weightG"] / 1000, "volumeL": p["volumeMl"] / 1000, "longestSideCm": p["longestCm"]}
        ],
        **{k: v for k, v in ask.items() if k in ("postcode", "country", "service")},
    }


@pytest.mark.parametrize("i", range(len(CASES)))
async def test_the_options_follow_the_hubs_carrier_rules_as_intake_does(client, geo, i: int) -> None:
    case, carrier, reason = CASES[i]
    h, hub, (shop, _other), a = await _hub(client, geo)
    r = await client.put(f"/hubs/{hub}/carrier-rules", json=RULES, headers=h)
    assert r.status_code == 200, r.text
    r = await client.post("/checkout/options", json=_ask(a[300], case), headers=shop)
    assert r.status_code == 200, r.text
    found = r.json()["options"]
    offered = [o for o in found if o["kind"] == "carrier"]
    evening = _option(r.json(), "evening")
    if carrier is None:
        assert offered == [] and evening["available"] and evening["byBike"]
    else:
        assert [(o["carrier"], o["available"], o["byBike"]) for o in offered] == [(carrier, True, False)]
        assert not any(o["available"] for o in found if o["kind"] != "carrier")
        assert {o["reason"] for o in found if o["kind"] == "door"} == {reason}
        assert offered[0]["duties"] == ("DDP" if case.get("country") == "BE" else None)
    # Intake decides the same for the same order.
    made = await post_ok(client, "/orders", _order(hub, a[300], i, case), h)
    row = await CarrierOrder.select(CarrierOrder.carrier).where(CarrierOrder.order == made["id"]).first()
    assert (row["carrier"] if row else None) == carrier


async def test_without_rules_no_carrier_is_offered_as_intake_gives_none(client, geo) -> None:
    """A hub with no rules hands nothing to a carrier at intake; the check-out's own limits still
    answer, and the carrier option says it is not there (unavailable, ``no_carrier``)."""
    h, hub, (shop, _other), a = await _hub(client, geo)
    r = await client.post("/checkout/options", json=_ask(a[300], {"longestCm": 130}), headers=shop)
    found = r.json()["options"]
    assert _option(r.json(), "evening")["reason"] == "too_large_for_bike"
    (carrier,) = [o for o in found if o["kind"] == "carrier"]
    assert (carrier["available"], carrier["reason"], carrier["carrier"]) == (False, "no_carrier", None)
    assert "no parcels to a carrier" in carrier["detail"] and "too large for a bike" in carrier["detail"]
    assert not any(o["available"] for o in found)  # nothing offered that intake would not keep
    # Intake indeed gives the same order to no carrier.
    made = await post_ok(client, "/orders", _order(hub, a[300], 0, {"longestCm": 130}), h)
    assert await CarrierOrder.count().where(CarrierOrder.order == made["id"]) == 0


async def test_an_order_from_a_held_option_gets_what_was_offered(client, geo) -> None:
    """The hold carries the postcode, country, service and longest side to the order: intake
    sends it to the bikes as the options did, and a parcel the rules send away is not held."""
    h, hub, (shop, _other), a = await _hub(client, geo)
    await client.put(f"/hubs/{hub}/carrier-rules", json={**RULES, "maxSideCm": 100}, headers=h)
    case = {"postcode": "0100", "longestCm": 95}
    r = await client.post("/checkout/options", json=_ask(a[300], case), headers=shop)
    evening = _option(r.json(), "evening")
    assert evening["available"], evening
    hold = await client.post("/checkout/holds", json={"optionId": evening["id"]}, headers=shop)
    assert hold.status_code == 201, hold.text
    made = await client.post(
        f"/checkout/holds/{hold.json()['id']}/order", json={"reference": "W-1", "customerName": "Mia"}, headers=shop
    )
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    assert await CarrierOrder.count().where(CarrierOrder.order == order_id) == 0
    assert {s["status"] for s in await Stop.select(Stop.status).where(Stop.order == order_id)} == {"open"}
    assert (await Order.select(Order.postcode).where(Order.id == order_id).first())["postcode"] == "0100"
    # 105 cm: over the hub's 100 cm, so by carrier; the bike slots are not offered to hold.
    r = await client.post("/checkout/options", json=_ask(a[300], {"longestCm": 105}), headers=shop)
    evening = _option(r.json(), "evening")
    assert evening["reason"] == "too_large_for_bike" and "100 cm" in evening["detail"]
    refused = await client.post("/checkout/holds", json={"optionId": evening["id"]}, headers=shop)
    assert refused.status_code == 409, refused.text


async def test_the_carrier_option_is_held_and_ordered_onto_the_handover_list(client, geo) -> None:
    """The carrier option is booked as the others are: a hold, then one order from it, which
    intake hands to the rules' carrier (a carrier_order row, on that day's handover list)."""
    h, hub, (shop, other), a = await _hub(client, geo)
    await client.put(f"/hubs/{hub}/carrier-rules", json=RULES, headers=h)
    r = await client.post("/checkout/options", json=_ask(a[300], {"weightG": 9000}), headers=shop)
    (offered,) = [o for o in r.json()["options"] if o["kind"] == "carrier"]
    assert offered["available"] and offered["carrier"] == "postnl"
    held = await client.post("/checkout/holds", json={"optionId": offered["id"]}, headers=shop)
    assert held.status_code == 201, held.text
    hold = held.json()
    assert (hold["date"], hold["start"], hold["end"]) == (tomorrow().isoformat(), "08:00", "18:00")
    # A carrier's hold takes no bike's room: the heaviest load a bike may still take is offered.
    light = await client.post("/checkout/options", json=_ask(a[305], {"weightG": 8000}), headers=other)
    assert _option(light.json(), "evening")["available"]

    path = f"/checkout/holds/{hold['id']}/order"
    body = {"reference": "W-CARRIER", "customerName": "Mia"}
    made = await client.post(path, json=body, headers={**shop, "Idempotency-Key": "c-1"})
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    assert made.json()["date"] == tomorrow().isoformat()
    row = await CarrierOrder.select().where(CarrierOrder.order == order_id).first()
    assert (row["carrier"], row["reason"], row["plan_date"]) == ("postnl", "weight", tomorrow())
    assert {s["status"] for s in await Stop.select(Stop.status).where(Stop.order == order_id)} == {"carrier"}
    manifest = await client.get(
        f"/hubs/{hub}/handover", params={"date": tomorrow().isoformat(), "carrier": "postnl"}, headers=h
    )
    assert manifest.status_code == 200, manifest.text
    assert [p["reference"] for p in manifest.json()["parcels"]] == ["W-CARRIER"]
    # Replayed (same key) or called again (no key): the same order, nothing written twice.
    again = await client.post(path, json=body, headers={**shop, "Idempotency-Key": "c-1"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == order_id
    twice = await client.post(path, json=body, headers=shop)
    assert twice.status_code == 201 and twice.json()["id"] == order_id
    assert await CarrierOrder.count().where(CarrierOrder.order == order_id) == 1
    assert await Order.count().where(Order.reference == "W-CARRIER") == 1
    # Held again, then the rules let a bike take 9 kg: no bike's room was checked, so no order.
    r = await client.post("/checkout/options", json=_ask(a[300], {"weightG": 9000}), headers=shop)
    (offered,) = [o for o in r.json()["options"] if o["kind"] == "carrier"]
    second = await post_ok(client, "/checkout/holds", {"optionId": offered["id"]}, shop)
    await client.put(f"/hubs/{hub}/carrier-rules", json={**RULES, "maxWeightKg": 20}, headers=h)
    refused = await client.post(
        f"/checkout/holds/{second['id']}/order", json={**body, "reference": "W-CARRIER-2"}, headers=shop
    )
    assert refused.status_code == 409 and refused.json()["code"] == "carrier_rules_changed", refused.text
    assert await Order.count().where(Order.reference == "W-CARRIER-2") == 0


async def test_a_hub_without_carrier_rules_holds_no_carrier_option(client, geo) -> None:
    _h, _hub_id, (shop, _other), a = await _hub(client, geo)
    r = await client.post("/checkout/options", json=_ask(a[300], {"longestCm": 130}), headers=shop)
    (carrier,) = [o for o in r.json()["options"] if o["kind"] == "carrier"]
    refused = await client.post("/checkout/holds", json={"optionId": carrier["id"]}, headers=shop)
    assert refused.status_code == 409 and refused.json()["reason"] == "no_carrier", refused.text
    assert "no parcels to a carrier" in refused.json()["detail"]
