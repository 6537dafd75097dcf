"""The check-out's pickup points as the shop shows them (kind, opening hours, room left), the
room that today's parcels still take tomorrow, and an order time before now."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Order
from backend.services.point_room import room_left
from tests.api.helpers import post_ok, problem, tomorrow
from tests.api.test_checkout import _hub, _option

EVERY_DAY = ["mo", "tu", "we", "th", "fr", "sa", "su"]


def _points(answer: dict, day: dt.date) -> dict[str, dict]:
    return {o["pointName"]: o for o in answer["options"] if o["kind"] == "point" and o["date"] == day.isoformat()}


async def _ask(client, key: dict, address: str, order_time: dt.datetime | None = None) -> dict:
    body = {"address": address, "parcels": [{"weightG": 1000, "volumeMl": 5000, "longestCm": 30}]}
    if order_time is not None:
        body["orderTime"] = order_time.isoformat()
    r = await client.post("/checkout/options", json=body, headers=key)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_point_option_says_its_kind_hours_and_room_left(client, geo) -> None:
    h, hub, (shop, _other), a = await _hub(client, geo, payload_kg=100)
    late = {"days": EVERY_DAY, "opens": "07:00", "closes": "21:00"}
    common = {"hubId": hub, "maxWeightKg": 20, "maxVolumeL": 100}
    await post_ok(
        client,
        "/pickup-points",
        {**common, "name": "Late Shop", "kind": "parcel_shop", "address": a[305], "capacityParcels": 5}
        | {"openingHours": [late]},
        h,
    )
    await post_ok(
        client,
        "/pickup-points",
        {**common, "name": "Bank", "kind": "locker", "address": a[306], "capacityParcels": 8},
        h,
    )
    points = _points(await _ask(client, shop, a[300]), tomorrow())
    assert set(points) == {"Kiosk", "Late Shop", "Bank"}
    shop_open = points["Late Shop"]
    assert (shop_open["pointKind"], shop_open["hours"], shop_open["roomLeft"]) == ("parcel_shop", ["07:00-21:00"], 5)
    # The delivery window (when a bike brings it) stays within the points' 08-18; the hours are the customer's.
    assert (shop_open["start"], shop_open["end"]) == ("08:00", "18:00")
    assert (points["Bank"]["pointKind"], points["Bank"]["hours"], points["Bank"]["roomLeft"]) == (
        "locker",
        ["00:00-24:00"],
        8,
    )
    assert points["Kiosk"]["roomLeft"] == 1 and points["Kiosk"]["available"]
    # The kiosk's one place held: no room left, and said so.
    held = await client.post("/checkout/holds", json={"optionId": points["Kiosk"]["id"]}, headers=shop)
    assert held.status_code == 201, held.text
    kiosk = _points(await _ask(client, shop, a[300]), tomorrow())["Kiosk"]
    assert (kiosk["roomLeft"], kiosk["available"], kiosk["reason"]) == (0, False, "point_full")
    # Door and carrier options carry none of it.
    door = _option(await _ask(client, shop, a[300]), "evening")
    assert (door["pointKind"], door["hours"], door["roomLeft"]) == (None, None, None)


async def test_parcels_announced_for_an_earlier_day_still_take_room_within_the_holding_time(client, geo) -> None:
    """A parcel delivered tomorrow and not collected waits on the shelf up to the point's holding
    days: the day after, the point's one place is still taken (and not offered)."""
    h, hub, (shop, _other), a = await _hub(client, geo, payload_kg=100)
    kiosk = _points(await _ask(client, shop, a[300]), tomorrow())["Kiosk"]
    order = {
        "reference": "AT-KIOSK",
        "hubId": hub,
        "customerName": "Noor",
        "date": tomorrow().isoformat(),
        "pickupPointId": kiosk["pointId"],
        "slot": "day",
        "parcels": [{"weightKg": 1, "volumeL": 5}],
    }
    await post_ok(client, "/orders", order, h)
    later = tomorrow() + dt.timedelta(days=1)
    after = _points(await _ask(client, shop, a[300]), later)["Kiosk"]
    assert (after["roomLeft"], after["available"], after["reason"]) == (0, False, "point_full"), after
    # Kept 7 days after the day it comes (holdingDays' default), free again the day after that.
    assert await room_left(kiosk["pointId"], tomorrow() + dt.timedelta(days=7)) == 0
    assert await room_left(kiosk["pointId"], tomorrow() + dt.timedelta(days=8)) == 1
    assert await room_left(kiosk["pointId"], dt.date.today()) == 1  # not there before it comes


async def test_an_order_time_before_now_is_answered_as_of_now(client, geo) -> None:
    """A shop's clock behind, or an old time sent again: slots whose cut-off has passed are not
    offered (a hold would refuse them); a later order time still shapes the answer."""
    _h, _hub_id, (shop, _other), a = await _hub(client, geo, payload_kg=100)
    now = client.app.state.context.now()
    early = dt.datetime.combine(now.date(), dt.time(4, 0))  # before today's 05:00 cut-off of the morning
    today = dt.date.today()
    past = await _ask(client, shop, a[300], early)
    assert _option(past, "morning", today)["reason"] == "past_cutoff"
    assert _option(past, "evening", tomorrow())["available"]
    later = await _ask(client, shop, a[300], dt.datetime.combine(tomorrow(), dt.time(7, 0)))
    assert _option(later, "morning", tomorrow())["reason"] == "past_cutoff"


async def test_a_point_takes_no_parcel_longer_than_its_side_limit(client, geo) -> None:
    """``maxSideCm``: the check-out does not offer the point, and intake refuses it, for a longer parcel."""
    h, hub, (shop, _other), a = await _hub(client, geo, payload_kg=100)
    # Set before the first options call (the check-out's kept view sees a point changed by hand within 2 s).
    (kiosk_id,) = [p["id"] for p in (await client.get("/pickup-points", headers=h)).json() if p["name"] == "Kiosk"]
    r = await client.patch(f"/pickup-points/{kiosk_id}", json={"maxSideCm": 40}, headers=h)
    assert r.status_code == 200 and r.json()["maxSideCm"] == 40, r.text
    body = {"address": a[300], "parcels": [{"weightG": 1000, "volumeMl": 5000, "longestCm": 50}]}
    answer = (await client.post("/checkout/options", json=body, headers=shop)).json()
    long = _points(answer, tomorrow())["Kiosk"]
    assert (long["available"], long["reason"]) == (False, "too_large_for_point")
    assert "20 kg, 100 L and 40 cm long" in long["detail"]
    assert _points(await _ask(client, shop, a[300]), tomorrow())["Kiosk"]["available"]  # 30 cm: taken
    order = {
        "reference": "LONG-K",
        "hubId": hub,
        "customerName": "Noor",
        "date": tomorrow().isoformat(),
        "pickupPointId": kiosk_id,
        "slot": "day",
        "parcels": [{"weightKg": 1, "volumeL": 5, "longestSideCm": 50}],
    }
    refused = problem(await client.post("/orders", json=order, headers=h), 422)
    assert "1 kg / 5 L / 50 cm does not fit Kiosk" in refused["detail"] and "40 cm long" in refused["detail"]
    assert await Order.count().where(Order.reference == "LONG-K") == 0
