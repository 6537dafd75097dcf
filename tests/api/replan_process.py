"""A second server process, as far as the database is concerned: takes a
same-day order and re-plans its hub, started by tests/api/test_consistency.py.

    python -m tests.api.replan_process DATABASE_URL HUB DAY REFERENCE ADDRESS GO_FILE
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
from pathlib import Path

import msgspec

from backend.db.engine import make_engine, use_database
from backend.services.context import Context
from backend.services.disruptions import take_same_day_order
from backend.services.geo import Geo
from backend.services.orders import OrderIn
from backend.settings import DEFAULT_MAP, REPO_ROOT, load_settings


async def main(url: str, hub: int, day: dt.date, reference: str, address: str, go: Path) -> None:
    geo = Geo.load(DEFAULT_MAP, REPO_ROOT / "var" / "cache")
    engine = make_engine(url)
    use_database(engine)
    data = msgspec.convert(
        {
            "reference": reference,
            "hubId": hub,
            "customerName": "Same Day",
            "date": day.isoformat(),
            "address": address,
            "window": {"start": "13:00", "end": "18:00"},
            "parcels": [{"weightKg": 2, "volumeL": 5}],
        },
        OrderIn,
    )
    go.with_name(go.name + f".{reference}.ready").touch()
    while not go.exists():  # both processes start their re-plans at the same moment
        time.sleep(0.005)
    ctx = Context(geo=geo, settings=load_settings({"DATABASE_URL": url, "LAADBAK_SECRET_KEY": "replan-process"}))
    await take_same_day_order(ctx, data, dt.datetime.combine(day, dt.time(10, 0)), time_limit_s=1.0)
    await engine.close_connection_pool()


if __name__ == "__main__":
    url, hub, day, reference, address, go = sys.argv[1:]
    asyncio.run(main(url, int(hub), dt.date.fromisoformat(day), reference, address, Path(go)))
