"""The demo city's day: seeded from the extract, planned, and judged by the checker."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from backend.db.engine import make_engine, migrate, use_database
from backend.db.locker_tables import LockerCompartment
from backend.db.tables import Order, Parcel, PickupPoint, Shift, Shop, Stop
from backend.dispatch import feasibility
from backend.dispatch.solver import solve_async
from backend.services.day import load_day
from backend.services.demo import seed


@pytest.mark.slow
async def test_demo_day_is_realistic_and_its_plan_passes_the_checker(tmp_path, geo) -> None:
    use_database(make_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}"))
    await migrate()
    day = dt.date.today() + dt.timedelta(days=1)
    city = await seed(geo, day)
    assert city.orders == 250 and city.couriers == 8
    assert await Shop.count() == 6 and await PickupPoint.count() == 5 and await Shift.count() == 8
    assert await Order.count().where(Order.slot == "evening") > 30
    assert await Order.count().where(Order.pickup_point.is_not_null()) > 5
    assert await Stop.count().where(Stop.kind == "pickup") > 10  # baskets from local shops
    # The demo's locker banks have their doors, and each parcel planned to one has a compartment.
    lockers = [p["id"] for p in await PickupPoint.select(PickupPoint.id).where(PickupPoint.kind == "locker")]
    assert lockers and await LockerCompartment.count().where(LockerCompartment.point.is_in(lockers)) == 30 * len(
        lockers
    )
    to_lockers = await Parcel.count().where(Parcel.order.pickup_point.is_in(lockers))
    kept = await LockerCompartment.select(LockerCompartment.purpose, LockerCompartment.filled).where(
        LockerCompartment.parcel.is_not_null()
    )
    assert sum(k["purpose"] == "delivery" for k in kept) == to_lockers
    assert [k["filled"] for k in kept if k["purpose"] == "shop_drop"] == [True]  # the shop's drop, in its door
    drop = await Stop.select(Stop.kind).where(Stop.pickup_point.is_in(lockers) & (Stop.kind == "pickup"))
    assert len(drop) == 1  # collected in the evening round

    day_input = await load_day(geo, city.hub_id, day)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        plan = await solve_async(day_input.problem, 8.0, executor=pool)
    assert feasibility.check(day_input.problem, plan) == []
    planned = sum(len(r.stops) for r in plan.routes)
    # Nearly everything fits; whatever does not is reported with a reason, never lost.
    assert planned >= 0.9 * len(day_input.problem.stops), plan.unplanned[:5]
    assert planned + len(plan.unplanned) == len(day_input.problem.stops)
