"""Orders by JSON and by CSV: every bad row reported, nothing half-imported."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Order, Parcel, Stop
from tests.api.helpers import admin, post_ok, problem, tomorrow


def _addresses(geo) -> list[str]:
    return [
        f"{a.street} {a.housenumber}" for a in sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))
    ]


async def _setup(client, geo) -> tuple[dict, int, int]:
    h = await admin(client)
    addr = _addresses(geo)
    hub = await post_ok(client, "/hubs", {"name": "Hub", "address": addr[0]}, h)
    shop = await post_ok(client, "/shops", {"name": "Bakery", "address": addr[10], "hubId": hub["id"]}, h)
    return h, hub["id"], shop["id"]


def _order(hub: int, ref: str, address: str, **extra) -> dict:
    return {
        "reference": ref,
        "hubId": hub,
        "customerName": "Mia",
        "date": tomorrow().isoformat(),
        "address": address,
        "slot": "evening",
        "parcels": [{"weightKg": 2.5, "volumeL": 10}],
        **extra,
    }


async def test_order_with_shop_goods_makes_pickup_and_delivery_stops(client, geo) -> None:
    h, hub, shop = await _setup(client, geo)
    body = _order(
        hub,
        "A-1",
        _addresses(geo)[20],
        parcels=[{"weightKg": 2, "volumeL": 10}, {"weightKg": 1, "volumeL": 4, "shopId": shop}],
    )
    order = await post_ok(client, "/orders", body, h)
    assert order["window"] == {"start": "18:00", "end": "22:00"}
    assert len(order["parcels"]) == 2 and all(p["barcode"] for p in order["parcels"])
    stops = await Stop.select().where(Stop.order == order["id"]).order_by(Stop.id)
    assert [s["kind"] for s in stops] == ["delivery", "pickup"]
    assert stops[0]["weight_kg"] == 3 and stops[1]["weight_kg"] == 1 and stops[1]["shop"] == shop
    r = await client.get(f"/orders?hubId={hub}&date={tomorrow()}", headers=h)
    assert [o["reference"] for o in r.json()] == ["A-1"]


async def test_bad_orders_get_clear_errors_and_write_nothing(client, geo) -> None:
    h, hub, shop = await _setup(client, geo)
    addr = _addresses(geo)[20]
    cases = [
        (_order(hub, "B-1", addr, slot=None, window={"start": "20:00", "end": "18:00"}), 422, "before it starts"),
        (_order(hub, "B-2", addr, slot=None), 422, "window"),
        (_order(hub, "B-3", "Nowherestreet 12345"), 422, "not on the map"),
        (_order(hub, "B-4", "", lat=52.37, lon=4.89), 422, "outside the map"),
        (_order(hub, "B-5", addr, parcels=[{"weightKg": 1, "volumeL": 1, "shopId": 999}]), 422, "shopId 999"),
        (_order(hub, "B-6", addr, date=(dt.date.today() - dt.timedelta(days=1)).isoformat()), 422, "past"),
        (_order(hub, "B-7", addr, parcels=[]), 400, "parcels"),
        (_order(999, "B-8", addr), 422, "hubId 999"),
    ]
    for body, status, words in cases:
        detail = problem(await client.post("/orders", json=body, headers=h), status)["detail"]
        assert words in detail, (body["reference"], detail)
    assert await Order.count() == 0 and await Parcel.count() == 0 and await Stop.count() == 0


async def test_duplicate_reference_is_a_conflict(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)
    body = _order(hub, "C-1", _addresses(geo)[30])
    await post_ok(client, "/orders", body, h)
    problem(await client.post("/orders", json=body, headers=h), 409)
    assert await Order.count() == 1


async def test_pickup_point_capacity_and_size_limits(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)
    pp = await post_ok(
        client,
        "/pickup-points",
        {
            "name": "Kiosk",
            "kind": "parcel_shop",
            "address": _addresses(geo)[40],
            "capacityParcels": 2,
            "maxWeightKg": 10,
            "maxVolumeL": 30,
        },
        h,
    )
    body = _order(hub, "P-1", "", pickupPointId=pp["id"], parcels=[{"weightKg": 2, "volumeL": 5}] * 2)
    order = await post_ok(client, "/orders", body, h)
    assert order["pickupPointId"] == pp["id"] and order["address"].startswith("Kiosk")
    detail = problem(await client.post("/orders", json={**body, "reference": "P-2"}, headers=h), 409)["detail"]
    assert "room for 0" in detail
    too_heavy = {**body, "reference": "P-3", "parcels": [{"weightKg": 15, "volumeL": 5}]}
    assert "does not fit" in problem(await client.post("/orders", json=too_heavy, headers=h), 422)["detail"]


def _csv(rows: list[str]) -> bytes:
    return (
        "reference,hub_id,customer_name,address,date,slot,window_start,window_end,parcels,weight_kg,volume_l,shop_ids\n"
        + "\n".join(rows)
        + "\n"
    ).encode()


async def test_csv_import_all_rows(client, geo) -> None:
    h, hub, shop = await _setup(client, geo)
    a = _addresses(geo)
    day = tomorrow()
    data = _csv(
        [f"R-1,{hub},Ann,{a[50]},{day},morning,,,2,1.5,6,", f"R-2,{hub},Ben,{a[51]},{day},,14:00,16:00,1,3,12,{shop}"]
    )
    r = await client.post("/orders/import", files={"file": ("orders.csv", data, "text/csv")}, headers=h)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["imported"] == 2 and all(row["ok"] and row["orderId"] for row in report["rows"])
    assert await Parcel.count() == 3
    assert await Stop.count().where(Stop.kind == "pickup") == 1


async def test_csv_with_a_bad_row_imports_nothing_and_reports_each_row(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)
    a = _addresses(geo)
    day = tomorrow()
    data = _csv(
        [
            f"R-1,{hub},Ann,{a[50]},{day},morning,,,1,1,5,",
            f"R-2,{hub},Ben,Imaginary Road 7,{day},morning,,,1,1,5,",
            f"R-3,{hub},Cy,{a[52]},{day},,19:00,17:00,1,1,5,",
            f"R-1,{hub},Dee,{a[53]},{day},evening,,,1,1,5,",
            f"R-5,{hub},Eli,{a[54]},{day},evening,,,one,1,5,",
        ]
    )
    r = await client.post("/orders/import", files={"file": ("orders.csv", data, "text/csv")}, headers=h)
    body = problem(r, 422)
    assert "nothing was imported" in body["detail"]
    rows = {row["row"]: row for row in body["rows"]}
    assert rows[2]["ok"] is True
    assert "not on the map" in rows[3]["errors"][0]
    assert "before it starts" in rows[4]["errors"][0]
    assert "appears again" in rows[5]["errors"][0]
    assert not rows[6]["ok"]
    assert await Order.count() == 0 and await Stop.count() == 0


async def test_csv_bad_header_and_too_large_upload(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)
    r = await client.post("/orders/import", files={"file": ("o.csv", b"ref,who\nx,y\n", "text/csv")}, headers=h)
    assert "lacks the column" in problem(r, 422)["detail"]
    big = b"reference,hub_id,customer_name,date\n" + b"x" * 2_100_000
    r = await client.post("/orders/import", files={"file": ("o.csv", big, "text/csv")}, headers=h)
    assert r.status_code in (413, 422), r.text
    assert r.json()["detail"]
    assert await Order.count() == 0
