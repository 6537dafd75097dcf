"""A clock for what changes without any request: couriers falling behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from backend.realtime.background import Background
from backend.realtime.feed import Feed
from backend.services.courier import catch_up_late_routes

log = logging.getLogger("laadbak.ticker")


class ProgressTicker(Background):
    task_name = "progress-ticker"

    def __init__(self, feed: Feed, every_s: float = 60.0) -> None:
        self.feed, self.every_s = feed, every_s

    async def tick(self) -> int:
        now = dt.datetime.now()
        changed = await catch_up_late_routes(now.date(), now)
        if changed:
            await self.feed.poke()
        return changed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - try again next tick
                log.exception("progress tick failed")
