"""The demo city: a hub, couriers, shops, pickup points and a day of orders,
all at real places of the map extract. Deterministic for a given seed."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import msgspec

from backend.db.engine import transaction
from backend.db.locker_tables import LockerCompartment
from backend.db.tables import Bike, Courier, Hub, Parcel, PickupPoint, PointOperator, Product, Shift, Shop, User
from backend.dispatch.calendar import OpeningPeriod, parse_osm_opening_hours, windows_on
from backend.dispatch.network import PointOutsideMap
from backend.security import hash_password
from backend.services import locker_doors, locker_drops, lockers, orders
from backend.services.geo import Geo
from backend.services.returns_demo import seed_returns
from backend.services.warehouse_demo import seed_warehouse

HUB_NAME = "Laadbak Hub Centrum"
DEMO_PASSWORD = "laadbak-demo"
ADMIN_PASSWORD = "laadbak-admin"
SHOP_KINDS = (
    "bakery",
    "books",
    "florist",
    "clothes",
    "deli",
    "gift",
    "chocolate",
    "shoes",
    "wine",
    "cheese",
    "coffee",
    "tea",
    "toys",
    "cosmetics",
    "interior",
    "pastry",
    "butcher",
    "greengrocer",
)
DEFAULT_SHOP_HOURS = [OpeningPeriod(days=["mo", "tu", "we", "th", "fr", "sa"], opens="10:00", closes="19:00")]


class DemoCity(msgspec.Struct, kw_only=True):
    hub_id: int
    day: dt.date
    couriers: int
    shops: int
    pickup_points: int
    orders: int
    logins: dict[str, str]  # username -> password


def _hours(raw: str | None, day: dt.date) -> list[OpeningPeriod] | None:
    """The shop's real hours when we can read them and it opens on ``day`` long enough."""
    periods = parse_osm_opening_hours(raw or "")
    if not periods:
        return None
    windows = windows_on(periods, day) or ()
    return periods if sum(w.end - w.start for w in windows) >= 5 * 3600 else None


def _builtins(periods: list[OpeningPeriod]) -> list[dict[str, Any]]:
    return msgspec.to_builtins(periods)


async def seed(geo: Geo, day: dt.date, *, orders_count: int = 250, couriers: int = 8, seed: int = 7) -> DemoCity:
    rng = random.Random(seed)
    addresses = sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))
    addresses = [a for a in addresses if on_network(geo, a.lat, a.lon)]
    lat0, lon0, lat1, lon1 = (
        min(a.lat for a in addresses),
        min(a.lon for a in addresses),
        max(a.lat for a in addresses),
        max(a.lon for a in addresses),
    )
    # The hub sits towards the south-west edge of the centre, as micro-hubs do.
    target = (lat0 + 0.25 * (lat1 - lat0), lon0 + 0.2 * (lon1 - lon0))
    hub_addr = min(addresses, key=lambda a: (a.lat - target[0]) ** 2 + ((a.lon - target[1]) * 0.5) ** 2)

    async with transaction():
        hub_id = (
            await Hub.insert(
                Hub(
                    name=HUB_NAME,
                    address=f"{hub_addr.street} {hub_addr.housenumber}",
                    lat=hub_addr.lat,
                    lon=hub_addr.lon,
                    opening_hours=_builtins(
                        [OpeningPeriod(days=["mo", "tu", "we", "th", "fr", "sa", "su"], opens="06:00", closes="23:00")]
                    ),
                )
            )
        )[0]["id"]
        logins = {"admin": ADMIN_PASSWORD, "dispatcher": DEMO_PASSWORD}
        await User.insert(
            User(
                username="admin",
                password_hash=hash_password(ADMIN_PASSWORD),
                role="admin",
                display_name="Administrator",
            ),
            User(
                username="dispatcher",
                password_hash=hash_password(DEMO_PASSWORD),
                role="dispatcher",
                display_name="Dispatcher",
                hub_id=hub_id,
            ),
        )
        shop_ids = await _seed_shops(geo, hub_id, day, rng)
        point_ids = await _seed_pickup_points(geo, hub_id, rng, shop_pois={s for s in shop_ids.values()})
        password = hash_password(DEMO_PASSWORD)  # one hash for all demo couriers: seeding stays quick
        for i in range(1, couriers + 1):
            big = i % 2 == 0
            bike_id = (
                await Bike.insert(
                    Bike(
                        name=f"Bakfiets {i:02d}",
                        hub=hub_id,
                        payload_kg=250 if big else 180,
                        volume_l=1200 if big else 700,
                        battery_range_km=40 if big else 55,
                        speed_factor=0.9 if big else 1.0,
                    )
                )
            )[0]["id"]
            user_id = (
                await User.insert(
                    User(
                        username=f"courier{i}",
                        password_hash=password,
                        role="courier",
                        display_name=f"Courier {i}",
                        hub_id=hub_id,
                    )
                )
            )[0]["id"]
            logins[f"courier{i}"] = DEMO_PASSWORD
            courier_id = (
                await Courier.insert(
                    Courier(
                        name=f"Courier {i}",
                        phone=f"+358 40 000 {i:04d}",
                        user=user_id,
                        bike=bike_id,
                        hub=hub_id,
                    )
                )
            )[0]["id"]
            # Half the team rides the morning, half covers afternoon and the evening slot.
            start, end = (dt.time(7, 30), dt.time(15, 30)) if i <= couriers // 2 else (dt.time(13, 30), dt.time(22, 0))
            await Shift.insert(
                Shift(
                    courier=courier_id,
                    hub=hub_id,
                    bike=bike_id,
                    start=dt.datetime.combine(day, start),
                    end=dt.datetime.combine(day, end),
                )
            )

    count = await _seed_orders(geo, hub_id, day, rng, addresses, list(shop_ids), point_ids, orders_count)
    await _seed_locker_bank(geo, hub_id, day, min(shop_ids), addresses[len(addresses) // 2])
    async with transaction():  # the warehouse: bins, products, stock, order lines, the picker
        await seed_warehouse(hub_id, day, list(shop_ids), rng, password, dt.datetime.combine(day, dt.time(6)))
    logins["picker"] = DEMO_PASSWORD
    async with transaction():  # orders delivered earlier, returns waiting at the hub, the returns login
        places = [(a.lat, a.lon, f"{a.street} {a.housenumber}") for a in addresses[5:9]]
        vase = await Product.select(Product.shop).where(Product.sku == "VASE-HAND").first()
        shop = None if vase is None else vase["shop"]
        await seed_returns(hub_id, day, places, shop, point_ids[0] if point_ids else None, password)
    logins["returns"] = DEMO_PASSWORD
    async with transaction():
        await _seed_point_operator(point_ids, password)
    logins["point"] = DEMO_PASSWORD
    return DemoCity(
        hub_id=hub_id,
        day=day,
        couriers=couriers,
        shops=len(shop_ids),
        pickup_points=len(point_ids) + 1,
        orders=count,
        logins=logins,
    )


def on_network(geo: Geo, lat: float, lon: float) -> bool:
    """Whether a bike can reach the place: it snaps to a street within 60 m."""
    try:
        return geo.network.snap(lat, lon).distance_m < 60
    except PointOutsideMap:
        return False


async def _seed_shops(geo: Geo, hub_id: int, day: dt.date, rng: random.Random) -> dict[int, str]:
    candidates = [
        p for p in geo.pois if p.kind == "shop" and p.value in SHOP_KINDS and p.street and on_network(geo, p.lat, p.lon)
    ]
    rng.shuffle(candidates)
    chosen, kinds = [], set()
    for poi in sorted(candidates, key=lambda p: _hours(p.opening_hours, day) is None):
        if poi.value in kinds:
            continue
        chosen.append(poi)
        kinds.add(poi.value)
        if len(chosen) == 6:
            break
    ids: dict[int, str] = {}
    for poi in chosen:
        hours = _hours(poi.opening_hours, day) or DEFAULT_SHOP_HOURS
        row = await Shop.insert(
            Shop(
                name=poi.name,
                address=f"{poi.street} {poi.housenumber or ''}".strip(),
                lat=poi.lat,
                lon=poi.lon,
                opening_hours=_builtins(hours),
                hub=hub_id,
            )
        )
        ids[row[0]["id"]] = poi.source
    return ids


async def _seed_pickup_points(geo: Geo, hub_id: int, rng: random.Random, shop_pois: set[str]) -> list[int]:
    lockers = [p for p in geo.pois if p.value == "parcel_locker" and on_network(geo, p.lat, p.lon)]
    shops = [
        p
        for p in geo.pois
        if p.value in ("kiosk", "convenience", "supermarket")
        and p.source not in shop_pois
        and on_network(geo, p.lat, p.lon)
    ]
    rng.shuffle(lockers)
    rng.shuffle(shops)
    everyday = _builtins(
        [OpeningPeriod(days=["mo", "tu", "we", "th", "fr", "sa", "su"], opens="07:00", closes="23:00")]
    )
    ids = []
    for poi in (lockers[:2] + shops)[:4]:
        is_locker = poi.value == "parcel_locker"
        row = await PickupPoint.insert(
            PickupPoint(
                name=poi.name if not is_locker else f"Pakettiautomaatti {poi.name}",
                kind="locker" if is_locker else "parcel_shop",
                address=f"{poi.street or ''} {poi.housenumber or ''}".strip(),
                lat=poi.lat,
                lon=poi.lon,
                opening_hours=[] if is_locker else everyday,
                capacity_parcels=30 if is_locker else 60,
                max_weight_kg=20 if is_locker else 30,
                max_volume_l=60 if is_locker else 120,
                hub=hub_id,
            )
        )
        ids.append(row[0]["id"])
        if is_locker:  # a locker bank's doors: 12 small, 10 medium, 8 large (docs/lockers.md)
            await LockerCompartment.insert(*_demo_compartments(row[0]["id"]))
    return ids


async def _seed_locker_bank(geo: Geo, hub_id: int, day: dt.date, shop_id: int, customer: Any) -> int:
    """A locker bank at the door of the first demo shop (30 doors), with one shop drop waiting
    in it for the evening round: sold at 10:30, delivered that evening (docs/lockers.md)."""
    shop = await Shop.select().where(Shop.id == shop_id).first()
    assert shop is not None
    async with transaction():
        point_id = (
            await PickupPoint.insert(
                PickupPoint(
                    name=f"Lockers {shop['name']}",
                    kind="locker",
                    address=shop["address"],
                    lat=shop["lat"],
                    lon=shop["lon"],
                    opening_hours=[],
                    capacity_parcels=30,
                    max_weight_kg=20,
                    max_volume_l=96,
                    hub=hub_id,
                )
            )
        )[0]["id"]
        await LockerCompartment.insert(*_demo_compartments(point_id))
    sold = dt.datetime.combine(day, dt.time(10, 30))
    drop = locker_drops.DropIn(
        reference=f"DEMO-{day:%Y%m%d}-DROP1",
        customer_name="Customer of the shop",
        parcels=[locker_drops.DropParcelIn(weight_kg=1.2, volume_l=6.0, barcode=f"DROP{day:%Y%m%d}1")],
        address=f"{customer.street} {customer.housenumber}",
    )
    made = await locker_drops.register(geo, point_id, shop_id, drop, sold)
    async with transaction():
        point = await lockers.locker_row(point_id)
        await locker_doors.fill_by_shop(point, drop.parcels[0].barcode or "", None, shop_id, None, sold)
    assert made["compartments"]
    return point_id


def _demo_compartments(point_id: int) -> list[LockerCompartment]:
    sizes = (("A", 12, 10.0, 10.0), ("B", 10, 20.0, 15.0), ("C", 8, 40.0, 20.0))  # row, doors, height cm, kg
    return [
        LockerCompartment(
            point=point_id, label=f"{row}{n}", width_cm=40.0, height_cm=h, depth_cm=60.0, max_weight_kg=kg
        )
        for row, doors, h, kg in sizes
        for n in range(1, doors + 1)
    ]


async def _seed_point_operator(point_ids: list[int], password: str) -> None:
    """The demo login ``point`` works at the demo point with the most parcels announced today."""
    if not point_ids:
        return
    counts = {p: 0 for p in point_ids}
    for row in await Parcel.select(Parcel.order.pickup_point).where(Parcel.order.pickup_point.is_in(point_ids)):
        counts[row["order.pickup_point"]] += 1
    point_id = max(point_ids, key=lambda p: (counts[p], -p))
    user_id = (
        await User.insert(User(username="point", password_hash=password, role="point", display_name="Pickup point"))
    )[0]["id"]
    await PointOperator.insert(PointOperator(user=user_id, point=point_id))


async def _seed_orders(
    geo: Geo,
    hub_id: int,
    day: dt.date,
    rng: random.Random,
    addresses: list[Any],
    shop_ids: list[int],
    point_ids: list[int],
    count: int,
) -> int:
    """Orders through the same checks as the API, written in one transaction."""
    prepared = []
    for n in range(1, count + 1):
        addr = rng.choice(addresses)
        roll = rng.random()
        body: dict[str, Any] = {
            "reference": f"DEMO-{day:%Y%m%d}-{n:04d}",
            "hubId": hub_id,
            "customerName": f"Customer {n}",
            "date": day.isoformat(),
            "address": f"{addr.street} {addr.housenumber}",
        }
        if roll < 0.30:
            body["slot"] = "morning"
        elif roll < 0.55:
            body["slot"] = "afternoon"
        elif roll < 0.80:
            body["slot"] = "evening"
        else:  # a two-hour window chosen at checkout
            start = rng.randint(9, 19)
            body["window"] = {"start": f"{start:02d}:00", "end": f"{start + 2:02d}:00"}
        parcels = [
            {"weightKg": round(rng.uniform(0.3, 5.0), 1), "volumeL": round(rng.uniform(1, 12), 1)}
            for _ in range(rng.choice((1, 1, 1, 2)))
        ]
        if shop_ids and rng.random() < 0.15:
            # The collective basket: goods from one or two local shops to one door.
            for shop in rng.sample(shop_ids, k=rng.choice((1, 1, 2))):
                parcels.append(
                    {
                        "weightKg": round(rng.uniform(0.3, 3.0), 1),
                        "volumeL": round(rng.uniform(1, 8), 1),
                        "shopId": shop,
                    }
                )
            # Shops open at ten: a basket goes out in the afternoon or evening slot.
            body.pop("window", None)
            body["slot"] = "evening" if body.get("slot") == "evening" else "afternoon"
        elif point_ids and rng.random() < 0.10:
            body["pickupPointId"] = rng.choice(point_ids)
            body.pop("address")
        body["parcels"] = parcels
        prepared.append(await orders.prepare(msgspec.convert(body, orders.OrderIn), geo, day))
    async with transaction():
        for p in prepared:
            await orders.write(p, dt.datetime.now())  # the demo seeds on the process's clock
    return len(prepared)
