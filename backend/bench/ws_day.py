"""The synthetic day of ``laadbak bench ws``, written straight into the database (no solver).

One hub at a real address, N courier users (one password hash for all: scrypt
is slow), couriers, bikes, planned shifts, and per courier a small route of
delivery stops at real addresses: orders, parcels, stops, and a ``Route`` whose
stops JSON is :func:`backend.services.route_store.stop_record`'s.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from typing import Any

from backend.bench.harness.geometry import metres, on_network
from backend.dispatch.model import PlannedStop

PASSWORD = "bench-courier"
DISPATCHER_PASSWORD = "bench-dispatcher"


def _places(geo: Any) -> tuple[list[Any], Any]:
    """The addresses on the street network (sorted), and the one nearest their middle: the hub."""
    addresses = [a for a in geo.geocoder.addresses() if on_network(geo, a.lat, a.lon)]
    addresses.sort(key=lambda a: (a.street, a.housenumber))
    lat_c = statistics.median(a.lat for a in addresses)
    lon_c = statistics.median(a.lon for a in addresses)
    hub_addr = min(addresses, key=lambda a: (a.lat - lat_c) ** 2 + ((a.lon - lon_c) * 0.5) ** 2)
    return addresses, hub_addr


async def seed_synthetic_day(
    geo: Any, couriers: int, stops_per_courier: int, day: dt.date, rng: random.Random
) -> dict[str, Any]:
    """Write the day into the bound database; returns the hub id and the logins."""
    from backend.db.engine import migrate, transaction
    from backend.db.tables import Hub, User
    from backend.security import hash_password

    await migrate()
    addresses, hub_addr = _places(geo)
    password_hash = hash_password(PASSWORD)  # once: scrypt is slow, and every courier shares it

    async with transaction():
        hub_id = (
            await Hub.insert(
                Hub(
                    name="Bench Hub",
                    address=f"{hub_addr.street} {hub_addr.housenumber}",
                    lat=hub_addr.lat,
                    lon=hub_addr.lon,
                    opening_hours=[],
                )
            )
        )[0]["id"]
        await User.insert(
            User(
                username="dispatcher",
                password_hash=hash_password(DISPATCHER_PASSWORD),
                role="dispatcher",
                display_name="Dispatcher",
                hub_id=hub_id,
            )
        )
        names = [f"bench{i:05d}" for i in range(1, couriers + 1)]
        await write_riders(
            hub_id, (hub_addr.lat, hub_addr.lon), names, password_hash, addresses, stops_per_courier, day, rng
        )
    return {"hub_id": hub_id, "usernames": names, "hub": (hub_addr.lat, hub_addr.lon)}


async def write_riders(
    hub_id: int,
    hub: tuple[float, float],
    names: list[str],
    password_hash: str,
    addresses: list[Any],
    stops_per_courier: int,
    day: dt.date,
    rng: random.Random,
) -> tuple[dict[str, int], dict[int, int]]:
    """Per name a courier with a planned shift and a route through ``stops_per_courier`` orders
    at ``addresses`` (in the caller's transaction); their courier and shift ids."""
    courier_ids, shift_ids = await write_couriers(hub_id, names, password_hash, day)
    rows_of = await _write_orders(hub_id, names, stops_per_courier, addresses, day, rng)
    await _write_routes(hub_id, hub, day, rows_of, {n: courier_ids[n] for n in names}, shift_ids)
    return courier_ids, shift_ids


async def write_couriers(
    hub_id: int, names: list[str], password_hash: str, day: dt.date
) -> tuple[dict[str, int], dict[int, int]]:
    """A courier user, bike, courier and planned shift per name; their courier and shift ids."""
    from backend.db.tables import Bike, Courier, Shift, User
    from backend.dispatch.calendar import at

    start_day, end_day = at(day, 6 * 3600), at(day, 23 * 3600)
    await _insert_all(
        User,
        [
            User(
                username=n,
                password_hash=password_hash,
                role="courier",
                display_name=n,
                hub_id=hub_id,
            )
            for n in names
        ],
    )
    await _insert_all(
        Bike,
        [
            Bike(
                name=f"Bench bike {n}",
                payload_kg=200,
                volume_l=900,
                battery_range_km=50,
                speed_factor=1.0,
            )
            for n in names
        ],
    )
    users = {r["username"]: r["id"] for r in await User.select(User.id, User.username).where(User.role == "courier")}
    bikes = {r["name"]: r["id"] for r in await Bike.select(Bike.id, Bike.name)}
    await _insert_all(
        Courier,
        [Courier(name=n, user=users[n], bike=bikes[f"Bench bike {n}"], hub=hub_id) for n in names],
    )
    courier_ids = {r["name"]: r["id"] for r in await Courier.select(Courier.id, Courier.name)}
    await _insert_all(
        Shift,
        [
            Shift(
                courier=courier_ids[n],
                hub=hub_id,
                bike=bikes[f"Bench bike {n}"],
                start=start_day,
                end=end_day,
            )
            for n in names
        ],
    )
    shift_ids = {r["courier"]: r["id"] for r in await Shift.select(Shift.id, Shift.courier)}
    return courier_ids, shift_ids


async def _write_orders(
    hub_id: int,
    names: list[str],
    stops_per_courier: int,
    addresses: list[Any],
    day: dt.date,
    rng: random.Random,
) -> dict[str, list[Any]]:
    """Per courier its orders (a parcel each) and their delivery stops; the stop rows by name."""
    from backend.db.tables import Order, Parcel, Stop
    from backend.dispatch.calendar import at

    window = (at(day, 7 * 3600), at(day, 22 * 3600 + 1800))
    orders, parcels = [], []
    for n in names:
        for k in range(stops_per_courier):
            a = rng.choice(addresses)
            ref = f"WSB-{n}-{k}"
            orders.append(
                Order(
                    reference=ref,
                    hub=hub_id,
                    customer_name=f"Customer {n}/{k}",
                    address=f"{a.street} {a.housenumber}",
                    lat=a.lat,
                    lon=a.lon,
                    delivery_date=day,
                    window_start=window[0],
                    window_end=window[1],
                    slot="day",
                    service_s=120,
                    status="planned",
                )
            )
    await _insert_all(Order, orders)
    order_ids = {r["reference"]: r["id"] for r in await Order.select(Order.id, Order.reference)}
    stops = []
    for o in orders:
        oid = order_ids[o.reference]
        barcode = "WSB" + o.reference.removeprefix("WSB-").replace("-", "").upper()
        parcels.append(Parcel(order=oid, barcode=barcode, weight_kg=2.0, volume_l=6.0))
        stops.append(
            Stop(
                order=oid,
                hub=hub_id,
                kind="delivery",
                address=o.address,
                lat=o.lat,
                lon=o.lon,
                plan_date=day,
                window_start=window[0],
                window_end=window[1],
                service_s=120,
                weight_kg=2.0,
                volume_l=6.0,
                status="planned",
            )
        )
    await _insert_all(Parcel, parcels)
    await _insert_all(Stop, stops)
    stop_rows = {
        r["order"]: r
        for r in await Stop.select(
            Stop.id,
            Stop.order,
            Stop.kind,
            Stop.address,
            Stop.lat,
            Stop.lon,
            Stop.window_start,
            Stop.window_end,
        )
    }
    rows_of = {n: [stop_rows[order_ids[f"WSB-{n}-{k}"]] for k in range(stops_per_courier)] for n in names}
    return rows_of


async def _insert_all(table: Any, rows: list[Any], chunk: int = 250) -> None:
    for i in range(0, len(rows), chunk):
        await table.insert(*rows[i : i + chunk])


async def _write_routes(
    hub_id: int,
    hub: tuple[float, float],
    day: dt.date,
    rows_of: dict[str, list[Any]],
    courier_ids: dict[str, int],
    shift_ids: dict[int, int],
) -> None:
    """One route per courier through its stops in order, at a bike's speed, from now on."""
    from backend.db.tables import PlanRun, Route
    from backend.dispatch.calendar import at
    from backend.services.route_store import stop_record

    run_id = (
        await PlanRun.insert(
            PlanRun(
                hub=hub_id,
                plan_date=day,
                status="done",
                time_limit_s=0,
                finished_at=dt.datetime.now(),
                figures={"synthetic": True},
            )
        )
    )[0]["id"]
    routes = []
    speed_mps = 15 / 3.6
    # A live day: routes start now, so couriers are on schedule rather than hours behind.
    now_s = int((dt.datetime.now() - dt.datetime.combine(day, dt.time())).total_seconds())
    first_s = min(max(8 * 3600, now_s + 300), 20 * 3600)
    for n, rows in rows_of.items():
        t = first_s
        here = hub
        stops_json, total_m, load = [], 0, 2.0 * len(rows)
        for row in rows:
            dist = int(1.3 * metres(here, (row["lat"], row["lon"])))
            departure_before = t
            arrival = t + int(dist / speed_mps)
            ps = PlannedStop(
                stop_id=str(row["id"]),
                load_l=0.0,
                arrival_s=arrival,
                start_s=arrival,
                departure_s=arrival + 120,
                load_kg=load,
                distance_m=dist,
            )
            stops_json.append(stop_record(ps, row, day, departure_before))
            t, here, total_m, load = (
                arrival + 120,
                (row["lat"], row["lon"]),
                total_m + dist,
                load - 2.0,
            )
        back = int(1.3 * metres(here, hub))
        cid = courier_ids[n]
        routes.append(
            Route(
                plan_run=run_id,
                hub=hub_id,
                courier=cid,
                shift=shift_ids[cid],
                plan_date=day,
                version=1,
                current=True,
                start=at(day, 8 * 3600),
                end=at(day, t + int(back / speed_mps)),
                distance_m=total_m + back,
                duration_s=t + int(back / speed_mps) - 8 * 3600,
                stops=stops_json,
            )
        )
    await _insert_all(Route, routes)
