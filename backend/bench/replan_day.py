"""The day of ``laadbak bench replan``: the demo city, shifts from now, and about ``stops`` stops.

Written into the bench's throw-away SQLite file before the server starts (see
:mod:`backend.bench.replan_bench`, step 2).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import msgspec

from backend.bench.harness.geometry import on_network
from backend.bench.replan_clock import HUB_CLOSES_S, QUARTER, hhmm, quarter
from backend.db.engine import migrate, transaction
from backend.db.tables import Bike, Hub, PickupPoint, Shift, Shop
from backend.dispatch.calendar import at, windows_on
from backend.services import demo, orders
from backend.services.day import periods

# A multi-trip bike: an e-bike with a crate, too small to carry its share of the day in one
# loop, so the planner sends it back to the hub to reload (the hub's reloadMin).
SMALL_BIKE = {"payload_kg": 30.0, "volume_l": 80.0, "kind": "e_bike"}  # columns of Bike
RELOAD_MIN = 6.0
# On a multi-trip day every bike's box holds one fair share of the day's goods (the day over
# the couriers), a small one SMALL_SHARE of it, unless it is smaller already: the fleet cannot
# carry the day in one loop each, so loops must be planned (with room to spare, as the demo
# bikes have, no bike needed a second loop and the bench measured days without loops: issue #15).
SMALL_SHARE = 1 / 3


async def seed_bench_day(
    geo: Any,
    day: dt.date,
    start_s: int,
    *,
    couriers: int,
    stops: int,
    day_hours: float,
    seed: int,
    multi_trip: float = 0.0,
) -> dict[str, Any]:
    """The demo city with N couriers whose shifts start now, and orders for about ``stops`` stops;
    a ``multi_trip`` share of the bikes small (:data:`SMALL_BIKE`), reloading at the hub."""
    rng = random.Random(seed)
    await migrate()
    city = await demo.seed(geo, day, orders_count=0, couriers=couriers, seed=seed)
    small = await _small_bikes(city.hub_id, round(couriers * multi_trip))
    end_s = min(int(start_s + day_hours * 3600), HUB_CLOSES_S)
    # Everybody rides from now on: a day on the road, not one that starts in the afternoon.
    await Shift.update({Shift.start: at(day, start_s - QUARTER), Shift.end: at(day, end_s)}).where(
        Shift.hub == city.hub_id
    )
    shops = await Shop.select().where(Shop.hub == city.hub_id).output(load_json=True)
    shop_open: dict[int, tuple[int, int]] = {}
    for s in shops:
        spans = windows_on(periods(s["opening_hours"]), day)
        if spans is None:
            shop_open[s["id"]] = (0, 24 * 3600)
        elif spans:
            shop_open[s["id"]] = (spans[0].start, spans[-1].end)
    room = {
        p["id"]: p["capacity_parcels"] // 2 for p in await PickupPoint.select().where(PickupPoint.hub == city.hub_id)
    }  # half: failed deliveries go there during the run
    addresses = [a for a in geo.geocoder.addresses() if on_network(geo, a.lat, a.lon)]
    net = geo.network
    first = quarter(start_s + QUARTER)
    prepared, total, n, every_parcel = [], 0, 0, []
    mix = {"two_hours": 0, "four_hours": 0, "whole_day": 0, "basket": 0, "pickup_point": 0}
    while total < stops:
        n += 1
        body: dict[str, Any] = {
            "reference": f"RB-{day:%Y%m%d}-{n:05d}",
            "hubId": city.hub_id,
            "customerName": f"Customer {n}",
            "date": day.isoformat(),
        }
        if rng.random() < 0.5:  # a door at an address (by its point: some names do not parse), or a street
            a = rng.choice(addresses)
            body.update(lat=a.lat, lon=a.lon, address=f"{a.street} {a.housenumber}")
        else:
            i = rng.randrange(net.node_count)
            body.update(lat=float(net.lat[i]), lon=float(net.lon[i]), address=f"Street door {n}")
        parcels = [
            {"weightKg": round(rng.uniform(0.3, 5.0), 1), "volumeL": round(rng.uniform(1, 12), 1)}
            for _ in range(rng.choice((1, 1, 1, 2)))
        ]
        roll = rng.random()
        kind = (
            "basket"
            if roll < 0.15 and shop_open
            else "pickup_point"
            if roll < 0.17 and room
            else "two_hours"
            if roll < 0.60
            else "four_hours"
            if roll < 0.85
            else "whole_day"
        )
        window: tuple[int, int] | None = None
        if kind == "basket":
            chosen = rng.sample(sorted(shop_open), k=min(len(shop_open), rng.choice((1, 1, 2))))
            opens = max(shop_open[s][0] for s in chosen)
            closes = min(shop_open[s][1] for s in chosen)
            lo, hi = max(first + 3600, quarter(opens + 1800)), min(end_s, closes + 3600) - 3 * 3600
            if lo <= hi:  # the goods can be collected before the door's window closes
                w0 = lo + rng.randrange(0, hi - lo + 1, QUARTER) if hi > lo else lo
                window = (w0, w0 + 3 * 3600)
                parcels += [
                    {"weightKg": round(rng.uniform(0.3, 3.0), 1), "volumeL": round(rng.uniform(1, 8), 1), "shopId": s}
                    for s in chosen
                ]
            else:
                kind = "two_hours"
        if kind == "pickup_point":
            point = rng.choice(sorted(room))
            room[point] -= len(parcels)
            if room[point] <= 0:
                del room[point]
            body.pop("lat", None), body.pop("lon", None), body.pop("address", None)
            body["pickupPointId"] = point
            window = (first, end_s)
        if kind == "whole_day":
            window = (first, end_s)
        elif kind in ("two_hours", "four_hours"):
            length = 2 * 3600 if kind == "two_hours" else 4 * 3600
            latest = max(first, end_s - length)
            w0 = first + rng.randrange(0, latest - first + 1, QUARTER) if latest > first else first
            window = (w0, min(end_s, w0 + length))
        assert window is not None
        body["window"] = {"start": hhmm(window[0]), "end": hhmm(window[1])}
        body["parcels"] = parcels
        every_parcel += parcels
        prepared.append(await orders.prepare(msgspec.convert(body, orders.OrderIn), geo, day))
        mix[kind] += 1
        total += 1 + len({p.get("shopId") for p in parcels if p.get("shopId")})
    async with transaction():
        for p in prepared:
            await orders.write(p, dt.datetime.now())
    await _loads_per_loop(city.hub_id, small, every_parcel, couriers)
    return {
        "hub_id": city.hub_id,
        "couriers": couriers,
        "orders": len(prepared),
        "stops": total,
        "mix": mix,
        "start": hhmm(start_s),
        "end": hhmm(end_s),
        "addresses": len(addresses),
        "multi_trip_bikes": len(small),
    }


async def _small_bikes(hub_id: int, n: int) -> list[int]:
    """``n`` of the hub's bikes (every other one first) are small, and the hub reloads in RELOAD_MIN minutes."""
    if not n:
        return []
    await Hub.update({Hub.reload_min: RELOAD_MIN}).where(Hub.id == hub_id)
    bikes = [b["id"] for b in await Bike.select(Bike.id).where(Bike.hub == hub_id).order_by(Bike.id)]
    chosen = (bikes[::2] + bikes[1::2])[:n]
    if chosen:
        await Bike.update({getattr(Bike, k): v for k, v in SMALL_BIKE.items()}).where(Bike.id.is_in(chosen))
    return chosen


async def _loads_per_loop(hub_id: int, small: list[int], parcels: list[dict[str, Any]], couriers: int) -> None:
    """Every bike of the hub carries at most one fair share of the day per loop (every parcel of
    the day over the couriers), a small one :data:`SMALL_SHARE` of it
    (never under 5 kg and 15 L: the largest parcel fits)."""
    if not small:
        return  # no multi-trip bikes: the bikes as they are
    share_kg = sum(p["weightKg"] for p in parcels) / couriers
    share_l = sum(p["volumeL"] for p in parcels) / couriers
    for b in await Bike.select().where(Bike.hub == hub_id).order_by(Bike.id):
        part = SMALL_SHARE if b["id"] in small else 1.0
        await Bike.update(
            {
                Bike.payload_kg: round(min(b["payload_kg"], max(share_kg * part, 5.0)), 1),
                Bike.volume_l: round(min(b["volume_l"], max(share_l * part, 15.0)), 1),
            }
        ).where(Bike.id == b["id"])
