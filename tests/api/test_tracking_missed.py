"""The tracking page after a missed delivery: when, why, where the parcel is now, until when, the code."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Order, Parcel, PickupPoint, PointParcel, Stop
from backend.security import pickup_code
from backend.services.disruptions import after_failed_stop
from tests.api.helpers import post_ok, service_ctx, tomorrow
from tests.api.test_planning import _addresses
from tests.api.test_replanning import _planned_day, _started_with_loaded_delivery

ELEVEN = dt.time(11, 0)
EVERY_DAY = ["mo", "tu", "we", "th", "fr", "sa", "su"]


async def _view(client, order_id: int) -> dict:
    token = (await Order.select(Order.tracking_token).where(Order.id == order_id).first())["tracking_token"]
    r = await client.get(f"/track/{token}/status")
    assert r.status_code == 200
    return r.json()


async def _fail(client, geo, *, point: bool) -> tuple[dict, int, dict, dict]:
    h, hub, routes = await _planned_day(client, geo)
    kiosk = None
    if point:
        kiosk = await post_ok(
            client,
            "/pickup-points",
            {
                "name": "Kiosk Rautatientori",
                "kind": "parcel_shop",
                "address": _addresses(geo)[150],
                "hubId": hub,
                "capacityParcels": 10,
                "maxWeightKg": 20,
                "maxVolumeL": 60,
                "holdingDays": 5,
                "openingHours": [
                    {"days": ["mo", "tu", "we", "th", "fr", "sa", "su"], "opens": "08:00", "closes": "21:00"}
                ],
            },
            h,
        )
    _, failed = await _started_with_loaded_delivery(hub, routes)
    at = dt.datetime.combine(tomorrow(), dt.time(10, 40))
    await Stop.update({Stop.completed_at: at}).where(Stop.id == failed["stopId"])
    return h, hub, failed, kiosk


async def test_a_missed_delivery_that_goes_to_a_pickup_point_says_where_until_when_and_the_code(client, geo) -> None:
    _, _, failed, kiosk = await _fail(client, geo, point=True)
    # before the next step is decided: missed, nothing to say yet about where
    view = await _view(client, failed["orderId"])
    assert view["status"] == "failed" and view["missed"] == {
        "at": f"{tomorrow()}T10:40:00",
        "reason": "not_home",
        "now": None,
    }
    now = dt.datetime.combine(tomorrow(), ELEVEN)
    done = await after_failed_stop(service_ctx(client), failed["stopId"], now, policy="pickup_point", time_limit_s=1.0)
    assert done["next"]["next"] == "pickup_point"
    view = await _view(client, failed["orderId"])
    code = pickup_code(service_ctx(client).settings.secret_key, failed["orderId"])
    until = dt.datetime.combine(tomorrow() + dt.timedelta(days=5), dt.time(23, 59)).isoformat()
    assert view["missed"]["reason"] == "not_home" and view["missed"]["now"] == {
        "kind": "pickup_point",
        "pointName": "Kiosk Rautatientori",
        "address": kiosk["address"],
        "hours": [{"opens": "08:00", "closes": "21:00"}],
        "window": None,
        "until": until,
        "code": code,
    }
    # scanned in at the point: the date the point's desk set counts
    first = await Parcel.select(Parcel.id).where(Parcel.order == failed["orderId"]).first()
    shelf = dt.datetime.combine(tomorrow() + dt.timedelta(days=6), dt.time(23, 59))
    await PointParcel.insert(
        PointParcel(parcel=first["id"], point=kiosk["id"], order=failed["orderId"], scanned_in_at=now, hold_until=shelf)
    )
    assert (await _view(client, failed["orderId"]))["missed"]["now"]["until"] == shelf.isoformat()
    # delivered in the end: nothing missed to show any more
    await Stop.update({Stop.status: "delivered"}).where(Stop.id == done["next"]["newStopId"])
    view = await _view(client, failed["orderId"])
    assert view["status"] == "delivered" and view["missed"] is None
    assert await PickupPoint.count() == 1


async def test_a_missed_delivery_tried_again_today_keeps_the_choices(client, geo) -> None:
    _, _, failed, _ = await _fail(client, geo, point=False)
    now = dt.datetime.combine(tomorrow(), ELEVEN)
    done = await after_failed_stop(service_ctx(client), failed["stopId"], now, policy="retry", time_limit_s=1.0)
    assert done["next"]["next"] == "retry"
    view = await _view(client, failed["orderId"])
    assert view["missed"]["now"] == {
        "kind": "retry",
        "pointName": None,
        "address": failed["address"],
        "hours": None,
        "window": {"start": done["next"]["windowStart"][11:16], "end": done["next"]["windowEnd"][11:16]},
        "until": None,
        "code": None,
    }
    assert view["missed"]["now"]["window"]["start"] == "12:00"  # the next try, not the missed one
    assert view["status"] != "failed" and {o["kind"] for o in view["redirectOptions"]} & {"window", "pickup_point"}


async def test_a_missed_delivery_going_back_to_the_hub_says_so_without_a_code(client, geo) -> None:
    _, hub, failed, _ = await _fail(client, geo, point=False)
    now = dt.datetime.combine(tomorrow(), ELEVEN)
    done = await after_failed_stop(service_ctx(client), failed["stopId"], now, policy="hub", time_limit_s=1.0)
    assert done["next"]["next"] == "hub"
    view = await _view(client, failed["orderId"])
    now_ = view["missed"]["now"]
    assert now_["kind"] == "hub" and now_["code"] is None and now_["until"] is None and now_["pointName"]
    assert view["missed"]["reason"] == "not_home" and view["redirectOptions"] == []  # nothing left to choose
    other = await Order.select(Order.id).where(Order.id != failed["orderId"]).first()
    assert (await _view(client, other["id"]))["missed"] is None  # never missed: nothing said
