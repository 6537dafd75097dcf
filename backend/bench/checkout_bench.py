"""`laadbak bench checkout`: the check-out options call on the demo day, against a full plan.

The demo day is seeded and planned in a throw-away database. Then, the day before
at 15:00 (every slot of the demo day still before its cut-off), options calls for
random addresses and parcels run one after the other for ``seconds``: calls per
second and latency. The peer, measured in the same run, is what answering the
same question by planning would cost: the demo day's own plan (matrices and
solve). Last, ``take`` options offered for the demo day are held and ordered, the
day is planned again, and every taken order must be planned (a promise broken
otherwise), without a stop that was planned before falling out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from backend.db.tables import Hub, Shop, Stop
from backend.dispatch.checkout import distance_m
from backend.dispatch.pool import new_pool
from backend.services import checkout
from backend.services.context import Context
from backend.services.demo_run import prepare_demo
from backend.services.planning import plan_day
from backend.settings import Settings


def _asks(ctx: Context, hub: tuple[float, float], n: int, rng: random.Random) -> list[checkout.OptionsIn]:
    """``n`` questions: an address of the map within the bikes' area, one to three parcels."""
    area = ctx.settings.checkout_area_km * 1000
    places = [a for a in ctx.geo.geocoder.addresses() if distance_m(hub[0], hub[1], a.lat, a.lon) <= area]
    out = []
    for _ in range(n):
        a = rng.choice(places)
        parcels = [
            checkout.ParcelQ(
                weight_g=rng.randint(300, 8000), volume_ml=rng.randint(1000, 40_000), longest_cm=rng.randint(15, 90)
            )
            for _ in range(rng.randint(1, 3))
        ]
        out.append(checkout.OptionsIn(parcels=parcels, lat=a.lat, lon=a.lon))
    return out


async def run_checkout_bench(
    settings: Settings, *, seconds: float = 10.0, take: int = 15, time_limit_s: float = 5.0, seed: int = 7
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="laadbak-bench-") as tmp:
        bench_settings = msgspec.structs.replace(settings, database_url=f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        geo, city, run = await prepare_demo(bench_settings, fresh=True, time_limit_s=time_limit_s)
        order_time = dt.datetime.combine(city.day - dt.timedelta(days=1), dt.time(15, 0))
        ctx = Context(geo=geo, settings=bench_settings, clock=lambda: order_time)
        shop = await Shop.select(Shop.id).where(Shop.hub == city.hub_id).first()
        hub = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == city.hub_id).first()
        assert shop is not None and hub is not None, "the demo seeds its hub with shops"
        rng = random.Random(seed)
        hub_place = (hub["lat"], hub["lon"])
        asks = _asks(ctx, hub_place, 400, rng)
        latencies: list[float] = []
        offered: list[tuple[checkout.OptionsIn, checkout.OptionOut]] = []
        available = total = 0
        t_end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < t_end:
            ask = msgspec.structs.replace(asks[i % len(asks)], order_time=order_time)
            t0 = time.perf_counter()
            answer = await checkout.checkout_options(ctx, shop["id"], ask)
            latencies.append(time.perf_counter() - t0)
            day_options = [o for o in answer.options if o.date == city.day and o.kind != "carrier"]
            total += len(day_options)
            available += sum(o.available for o in day_options)
            offered += [(ask, o) for o in day_options if o.available]
            i += 1
        promises = await _take(ctx, city.hub_id, city.day, shop["id"], offered, take, rng, time_limit_s)
    mean_s = statistics.fmean(latencies)
    plan_s = float(run["figures"]["totalS"])
    return {
        "instance": "demo",
        "stops": run["figures"]["stops"],
        "couriers": run["figures"]["couriers"],
        "calls": len(latencies),
        "calls_per_s": round(len(latencies) / sum(latencies), 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * sorted(latencies)[int(0.95 * (len(latencies) - 1))], 1),
        "options_per_call_on_the_day": round(total / max(1, len(latencies)), 1),
        "available_share": round(available / max(1, total), 3),
        # the peer: the same question answered by planning the day (the demo's own plan)
        "peer_plan_s": plan_s,
        "options_call_vs_plan": round(mean_s / plan_s, 5) if plan_s else None,
        **promises,
    }


async def _take(
    ctx: Context,
    hub_id: int,
    day: dt.date,
    shop_id: int,
    offered: list[tuple[checkout.OptionsIn, checkout.OptionOut]],
    take: int,
    rng: random.Random,
    time_limit_s: float,
) -> dict[str, Any]:
    """Hold and order ``take`` offered options, plan the day again: promises broken, stops lost."""
    before = {s["id"] for s in await Stop.select(Stop.id).where((Stop.hub == hub_id) & (Stop.status == "planned"))}
    ordered: list[int] = []
    refused = 0
    for n, (_ask, option) in enumerate(rng.sample(offered, min(take, len(offered)))):
        try:  # an option offered earlier may be gone by now (taken by one before it): refused, not broken
            hold = await checkout.hold_option(ctx, shop_id, checkout.HoldIn(option_id=option.id))
        except Exception:  # noqa: BLE001 - counted
            refused += 1
            continue
        made = await checkout.order_from_hold(
            ctx, shop_id, hold.id, checkout.HoldOrderIn(reference=f"BENCH-{n}", customer_name="Bench")
        )
        ordered += made.stop_ids
    with new_pool(1) as pool:
        await plan_day(dataclasses.replace(ctx, pool=pool), hub_id, day, time_limit_s)
    after = {s["id"] for s in await Stop.select(Stop.id).where((Stop.hub == hub_id) & (Stop.status == "planned"))}
    return {
        "taken": len(ordered),
        "refused_at_hold": refused,
        "promises_broken": sum(1 for s in ordered if s not in after),
        "planned_stops_lost": len(before - after),
    }
