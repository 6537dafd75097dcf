"""Bike or carrier at a hub: the rules send an order no bike takes to a carrier; it is not
planned but listed for handover (JSON, CSV, PDF) and scanned when the carrier takes it."""

from __future__ import annotations

import csv
import io
import uuid

from pypdf import PdfReader

from backend.db.carrier_tables import HandoverScan
from backend.db.tables import Parcel, Route, Stop
from tests.api.code128_reader import read_code128
from tests.api.helpers import admin, login, make_user, post_ok, problem, tomorrow


def _addresses(geo) -> list[str]:
    return [
        f"{a.street} {a.housenumber}" for a in sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))
    ]


async def _hub(client, geo) -> tuple[dict, int, list[str]]:
    h = await admin(client)
    a = _addresses(geo)
    day = tomorrow().isoformat()
    hub = (await post_ok(client, "/hubs", {"name": "Hub", "address": a[100]}, h))["id"]
    bike = (
        await post_ok(
            client, "/bikes", {"name": "B0", "hubId": hub, "payloadKg": 150, "volumeL": 600, "batteryRangeKm": 40}, h
        )
    )["id"]
    uid = await make_user("courier0", "courier", hub_id=hub)
    c = (await post_ok(client, "/couriers", {"name": "C0", "bikeId": bike, "hubId": hub, "userId": uid}, h))["id"]
    await post_ok(
        client, "/shifts", {"courierId": c, "hubId": hub, "start": f"{day}T08:00:00", "end": f"{day}T20:00:00"}, h
    )
    return h, hub, a


def _order(hub: int, a: list[str], i: int, weight: float, **extra: object) -> dict:
    return {
        "reference": f"O-{i}",
        "hubId": hub,
        "customerName": f"Customer {i}",
        "date": tomorrow().isoformat(),
        "address": a[300 + 7 * i],
        "postcode": "3511 AB",
        "slot": "afternoon",
        "parcels": [{"weightKg": weight, "volumeL": 20, "barcode": f"PCL-{i}"}],
        **extra,
    }


async def test_the_rules_are_the_hubs_and_checked(client, geo) -> None:
    h, hub, a = await _hub(client, geo)
    r = await client.get(f"/hubs/{hub}/carrier-rules", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["rules"]["carrier"] == "postnl" and r.json()["biggestBike"] == {"payloadKg": 150, "volumeL": 600}
    body = {"carrier": "postnl", "maxWeightKg": 60, "services": {"next_day_abroad": "dhl"}, "ddpCountries": ["BE"]}
    r = await client.put(f"/hubs/{hub}/carrier-rules", json=body, headers=h)
    assert r.status_code == 200 and r.json()["rules"]["maxWeightKg"] == 60, r.text
    assert (await client.get(f"/hubs/{hub}/carrier-rules", headers=h)).json()["rules"]["ddpCountries"] == ["BE"]
    problem(await client.put(f"/hubs/{hub}/carrier-rules", json={"maxWeightKg": -3}, headers=h), 400)
    problem(await client.get("/hubs/999/carrier-rules", headers=h), 404)
    other = (await post_ok(client, "/hubs", {"name": "Other", "address": a[110]}, h))["id"]
    await make_user("disp", "dispatcher", hub_id=other)
    d = await login(client, "disp")
    problem(await client.get(f"/hubs/{hub}/carrier-rules", headers=d), 403)


async def test_an_order_no_bike_takes_goes_to_the_carrier_and_is_handed_over(client, geo) -> None:
    h, hub, a = await _hub(client, geo)
    day = tomorrow().isoformat()
    await client.put(
        f"/hubs/{hub}/carrier-rules",
        json={"services": {"next_day_abroad": "dhl"}, "ddpCountries": ["BE"]},
        headers=h,
    )
    for i in range(3):
        await post_ok(client, "/orders", _order(hub, a, i, 4), h)
    heavy = await post_ok(client, "/orders", _order(hub, a, 3, 180), h)  # more than the 150 kg bike
    await post_ok(client, "/orders", _order(hub, a, 4, 2, country="BE", service="next_day_abroad"), h)
    stops = await Stop.select(Stop.order, Stop.status).where(Stop.hub == hub)
    assert sorted(s["status"] for s in stops) == ["carrier", "carrier", "open", "open", "open"]

    r = await client.post(f"/hubs/{hub}/plans", json={"date": day, "timeLimitS": 1}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["figures"]["stops"] == 3 and r.json()["figures"]["planned"] == 3, r.json()
    routes = await Route.select(Route.stops).where(Route.hub == hub).output(load_json=True)
    routed = {s["stop_id"] for rt in routes for s in rt["stops"]}
    heavy_stops = {s["id"] for s in await Stop.select(Stop.id).where(Stop.order == heavy["id"])}
    assert len(routed) == 3 and not routed & heavy_stops

    m = (await client.get(f"/hubs/{hub}/handover", params={"date": day, "carrier": "postnl"}, headers=h)).json()
    assert [(p["barcode"], p["reason"], p["duties"], p["weightKg"]) for p in m["parcels"]] == [
        ("PCL-3", "weight", None, 180)
    ]
    dhl = (await client.get(f"/hubs/{hub}/handover", params={"date": day, "carrier": "dhl"}, headers=h)).json()
    assert [(p["barcode"], p["country"], p["duties"]) for p in dhl["parcels"]] == [("PCL-4", "BE", "DDP")]

    r = await client.get(f"/hubs/{hub}/handover.csv", params={"date": day, "carrier": "dhl"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["barcode"], x["reference"], x["country"], x["weightKg"], x["duties"]) for x in rows] == [
        ("PCL-4", "O-4", "BE", "2.00", "DDP")
    ]
    r = await client.get(f"/hubs/{hub}/handover.pdf", params={"date": day, "carrier": "postnl"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    page = PdfReader(io.BytesIO(r.content)).pages[0]
    assert read_code128(page.get_contents().get_data()) == "PCL-3"
    text = page.extract_text()
    assert "Handover to postnl" in text and "Customer 3" in text and "180.00 kg" in text

    # The scan: once, a replay and a second scan answer the first; a parcel not on the list is refused.
    path = f"/hubs/{hub}/handover/scan"
    key = {**h, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(path, json={"carrier": "postnl", "code": "PCL-3"}, headers=key)
    assert first.status_code == 200 and first.json()["already"] is False, first.text
    assert (await client.post(path, json={"carrier": "postnl", "code": "PCL-3"}, headers=key)).json() == first.json()
    again = await client.post(path, json={"carrier": "postnl", "code": "PCL-3"}, headers={**h, "Idempotency-Key": "k2"})
    assert again.json()["already"] is True and again.json()["scannedAt"] == first.json()["scannedAt"]
    assert await HandoverScan.count() == 1
    assert (await Parcel.select(Parcel.status).where(Parcel.barcode == "PCL-3").first())["status"] == "handed_over"
    for code, carrier, words in (
        ("PCL-4", "postnl", "on dhl's list"),
        ("PCL-0", "postnl", "not on postnl's handover list"),
        ("NOPE-1", "postnl", "not on postnl's handover list"),
    ):
        body = problem(
            await client.post(path, json={"carrier": carrier, "code": code}, headers={**h, "Idempotency-Key": code}),
            422,
        )
        assert words in body["detail"], body
    problem(await client.post(path, json={"carrier": "postnl", "code": "PCL-3"}, headers=h), 422)  # no key
    problem(
        await client.post(path, json={"carrier": "Post NL", "code": "x"}, headers={**h, "Idempotency-Key": "k3"}), 400
    )
    assert await HandoverScan.count() == 1
    m = (await client.get(f"/hubs/{hub}/handover", params={"date": day, "carrier": "postnl"}, headers=h)).json()
    assert m["scanned"] == 1 and m["parcels"][0]["scannedAt"] == first.json()["scannedAt"]
