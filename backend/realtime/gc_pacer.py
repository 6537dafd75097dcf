"""Young garbage collections on a clock, so that each pause walks only a moment's objects.

In Python 3.11 the young generation's count goes down whenever any tracked object is freed,
old ones included. A server of 2,000 sockets replaces each socket's wait for its next message
(coroutines, futures, timer handles) every few seconds: the new wait is allocated young, the
old one freed from the old generation, and the count hardly moves while the young generation
grows. Collections triggered by the count then came seconds apart and walked every socket's
wait at once: 40-56 ms of CPU for a middle collection of 45,000 objects under ``bench ws``,
the longest pause on the serving loop. Collecting the young generation every ``every_s`` and
the middle one every ``middle_every`` of those walks the same objects in pauses a few
milliseconds long.
"""

from __future__ import annotations

import asyncio
import gc

from backend.realtime.background import Background


class GcPacer(Background):
    task_name = "gc-pacer"

    def __init__(self, *, every_s: float = 0.1, middle_every: int = 5) -> None:
        if every_s <= 0 or middle_every < 1:
            raise ValueError("a pace needs a positive interval and a middle collection every 1 or more")
        self.every_s, self.middle_every = every_s, middle_every
        self.collections = 0

    def collect(self) -> int:
        """One paced collection: the middle generation every ``middle_every``-th time."""
        self.collections += 1
        return gc.collect(1 if self.collections % self.middle_every == 0 else 0)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            if gc.isenabled():  # a solve that paused collection (dispatch.windows.without_gc) is left alone
                self.collect()
