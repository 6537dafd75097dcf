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
    """Looks at every started route once per ``every_s``, a slice at a time:
    all 2,000 couriers of a big day at once would hold up their own actions."""

    task_name = "progress-ticker"

    def __init__(self, feed: Feed, every_s: float = 60.0, slices: int = 12) -> None:
        self.feed, self.every_s, self.slices = feed, every_s, slices
        self._next = 0

    async def tick(self, part: tuple[int, int] = (0, 1)) -> int:
        now = dt.datetime.now()
        changed = await catch_up_late_routes(now.date(), now, part=part)
        if changed:
            await self.feed.poke()
        return changed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s / self.slices)
            try:
                await self.tick((self._next, self.slices))
            except Exception:  # noqa: BLE001 - try again next tick
                log.exception("progress tick failed")
            self._next = (self._next + 1) % self.slices
