"""Setting up the demo: database, map, seed, and today's plan."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from backend.db.engine import close_pool, make_engine, migrate, use_database
from backend.db.tables import Hub, Order, User
from backend.dispatch.pool import new_pool
from backend.services.context import Context
from backend.services.demo import HUB_NAME, DemoCity, seed
from backend.services.geo import Geo
from backend.services.planning import plan_day, read_plan_run
from backend.services.warehouse_waves import ReleaseIn, release_waves, wave_progress
from backend.settings import Settings


async def release_first_wave(city: DemoCity) -> list[int]:
    """The demo's picker has work at once: the day's first wave is released as its dispatcher
    would (POST /hubs/{id}/waves/release), before the plan, so its shop pickups are planned.
    Answers the batches made."""
    now = dt.datetime.now()
    waves = await wave_progress(city.hub_id, city.day, now)
    dispatcher = await User.select(User.id).where(User.username == "dispatcher").first()
    if not waves or dispatcher is None:
        return []
    data = ReleaseIn(date=city.day, cutoff=waves[0]["cutoff"])
    answer = await release_waves(city.hub_id, data, dispatcher["id"], now)
    return [b for wave in answer["released"] for b in wave["batchIds"]]


async def prepare_demo(
    settings: Settings, fresh: bool = True, day: dt.date | None = None, time_limit_s: float | None = None
) -> tuple[Geo, DemoCity, dict[str, Any]]:
    day = day or dt.date.today()
    if fresh and settings.database_url.startswith("sqlite:///"):
        # The embedded demo database starts each demo afresh; a configured server database is never wiped.
        Path(settings.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine = make_engine(settings.database_url)
    use_database(engine)
    if settings.is_postgres:
        await engine.start_connection_pool()
    try:
        await migrate()
        geo = await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
        hub = await Hub.select(Hub.id).where(Hub.name == HUB_NAME).first()
        if hub is None:
            city = await seed(geo, day)
            await release_first_wave(city)
        else:
            city = DemoCity(
                hub_id=hub["id"],
                day=day,
                couriers=8,
                shops=6,
                pickup_points=4,
                orders=await Order.count().where(Order.hub == hub["id"]),
                logins={"admin": "laadbak-admin", "dispatcher": "laadbak-demo", "courier1": "laadbak-demo"},
            )
        with new_pool(settings.solver_workers) as pool:  # the portfolio's runs at once, as the server's
            run_id = await plan_day(Context(geo=geo, settings=settings, pool=pool), city.hub_id, city.day, time_limit_s)
        run = await read_plan_run(run_id)
    finally:
        if settings.is_postgres:
            await close_pool(engine)
    return geo, city, {"id": run.id, "figures": run.figures, "unplanned": run.unplanned}
