"""A clock for what changes without any request: couriers falling behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from backend.realtime.background import Background
from backend.realtime.feed import Feed
from backend.services.courier import LateRoutes, catch_up_late_routes

log = logging.getLogger("laadbak.ticker")

# hub id, couriers whose stops just turned late
OnBehind = Callable[[int, set[int]], None]


class ProgressTicker(Background):
    """Looks at every started route once per ``every_s``, a slice at a time:
    all 2,000 couriers of a big day at once would hold up their own actions.

    ``on_behind`` hears of couriers whose stops have just turned late (once per
    stop), so the day can be re-planned around them.
    """

    task_name = "progress-ticker"

    def __init__(self, feed: Feed, every_s: float = 60.0, slices: int = 12, on_behind: OnBehind | None = None) -> None:
        self.feed, self.every_s, self.slices, self.on_behind = feed, every_s, slices, on_behind
        self._next = 0

    async def tick(self, part: tuple[int, int] = (0, 1)) -> LateRoutes:
        now = dt.datetime.now()
        result = await catch_up_late_routes(now.date(), now, part=part)
        if result.changed:
            await self.feed.poke()
        if self.on_behind is not None:
            for hub_id, couriers in result.behind.items():
                self.on_behind(hub_id, couriers)
        return result

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s / self.slices)
            try:
                await self.tick((self._next, self.slices))
            except Exception:  # noqa: BLE001 - try again next tick
                log.exception("progress tick failed")
            self._next = (self._next + 1) % self.slices
