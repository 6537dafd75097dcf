"""A small planned day in a SQLite file, for the browser tests (and for trying the app by hand).

    .venv/bin/python -m tests.browser.seed_day /tmp/lb/db.sqlite     # prints the courier's login as JSON

The demo seed (real addresses of the map extract) with a few orders, planned
with a short time limit. The courier with the most delivery stops is the one
the test logs in as.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from backend.settings import DEFAULT_MAP, REPO_ROOT

# The street network is cached per map hash; the repo's cache is shared with the other tests.
SHARED_CACHE = REPO_ROOT / "var" / "cache"


async def seed_small_day(
    db_path: Path, day: dt.date, *, orders: int = 16, couriers: int = 2, open_now: bool = False
) -> dict[str, Any]:
    """The demo day, planned; with ``open_now`` every window and shift runs from now to the
    evening (so moves between couriers fit at any hour of the working day)."""
    from backend.db.engine import make_engine, migrate, use_database
    from backend.db.tables import Courier, Hub, Route, Stop, User
    from backend.services.context import Context
    from backend.services.demo import DEMO_PASSWORD, seed
    from backend.services.geo import Geo
    from backend.services.planning import plan_day
    from backend.settings import load_settings

    use_database(make_engine(f"sqlite:///{db_path}"))
    await migrate()
    geo = await asyncio.to_thread(Geo.load, DEFAULT_MAP, SHARED_CACHE)
    city = await seed(geo, day, orders_count=orders, couriers=couriers)
    if open_now:
        await _open_from_now(city.hub_id, day)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        ctx = Context(geo=geo, settings=load_settings({"LAADBAK_SECRET_KEY": "browser"}), pool=pool)
        await plan_day(ctx, city.hub_id, day, 2.0)
    best: tuple[int, int] | None = None  # (delivery stops, courier id)
    for route in (
        await Route.select(Route.courier, Route.stops)
        .where((Route.plan_date == day) & (Route.current.eq(True)))
        .output(load_json=True)
    ):
        ids = [s["stop_id"] for s in route["stops"]]  # as the route keeps them
        deliveries = await Stop.count().where(Stop.id.is_in(ids) & (Stop.kind == "delivery")) if ids else 0
        if best is None or deliveries > best[0]:
            best = (deliveries, route["courier"])
    if best is None or best[0] < 4:
        raise RuntimeError(f"the seeded day has no courier with 4 delivery stops: {best}")
    courier = await Courier.select(Courier.id, Courier.user).where(Courier.id == best[1]).first()
    user = await User.select(User.username).where(User.id == courier["user"]).first()
    hub = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == city.hub_id).first()
    return {
        "hubId": city.hub_id,
        "hub": {"lat": hub["lat"], "lon": hub["lon"]},
        "date": day.isoformat(),
        "courierId": courier["id"],
        "username": user["username"],
        "password": DEMO_PASSWORD,
        "dispatcher": "dispatcher",
        "dispatcherPassword": DEMO_PASSWORD,
        "deliveries": best[0],
    }


async def _open_from_now(hub_id: int, day: dt.date) -> None:
    """Windows from half an hour ago, shifts from a quarter ago, both to the evening, and at
    least two hours on in the late evening (the hub then open until 23:59): the day cannot
    cross midnight, so from about 23:00 the windows get short and moves may not fit."""
    from backend.db.tables import Hub, Order, Shift, Stop
    from backend.dispatch.calendar import at

    now_s = int((dt.datetime.now() - dt.datetime.combine(day, dt.time())).total_seconds())
    last = 23 * 3600 + 59 * 60
    start = max(6 * 3600, now_s - 1800)
    end = min(last, max(22 * 3600 + 1800, now_s + 2 * 3600))
    shift_end = min(last, max(23 * 3600, now_s + 2 * 3600 + 1800))
    await Order.update({Order.window_start: at(day, start), Order.window_end: at(day, end)}).where(Order.hub == hub_id)
    await Stop.update({Stop.window_start: at(day, start), Stop.window_end: at(day, end)}).where(Stop.hub == hub_id)
    shift_start = at(day, max(6 * 3600, now_s - 900))
    await Shift.update({Shift.start: shift_start, Shift.end: at(day, shift_end)}).where(Shift.hub == hub_id)
    if shift_end > 23 * 3600:
        every_day = ["mo", "tu", "we", "th", "fr", "sa", "su"]
        hours = [{"days": every_day, "opens": "06:00", "closes": "23:59"}]
        await Hub.update({Hub.opening_hours: hours}).where(Hub.id == hub_id)


def copy_network_cache(var_dir: Path) -> None:
    """Give a server with its own var dir the already built street network and extract (saves a rebuild)."""
    target = var_dir / "cache"
    target.mkdir(parents=True, exist_ok=True)
    for f in [*SHARED_CACHE.glob("street-network-*"), *SHARED_CACHE.glob("extract-*.msgpack")]:
        shutil.copy2(f, target / f.name)


def main(argv: list[str]) -> int:
    db_path = Path(argv[1]).resolve()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    info = asyncio.run(seed_small_day(db_path, dt.date.today()))
    copy_network_cache(db_path.parent / "var")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
