"""One ticker that nudges idle streams to send their heartbeat.

A stream used to wait for its next message with ``asyncio.wait`` on a fresh
``queue.get()`` task and a per-socket timeout: some twenty objects (a task, its
coroutine and context, futures, a timer) per socket per wait, alive for up to
the heartbeat interval. With 2,000 sockets that churn kept the young
generation full of objects that were still alive, so each young collection
walked 100,000+ of them (120-250 ms of CPU, measured with ``bench ws``). Now a
stream waits on its queue alone, and this one task per loop puts a nudge in the
queues of the streams that have sent nothing for ``every_s``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Idle(Protocol):
    last_sent: float

    def nudge(self) -> None: ...


class Heartbeats:
    """The streams of one event loop; :meth:`add` starts the ticker when it is not running."""

    def __init__(self, every_s: float, tick_s: float | None = None) -> None:
        self.every_s = every_s
        self.tick_s = tick_s if tick_s is not None else every_s / 3
        self.streams: set[Idle] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, stream: Idle) -> None:
        self.streams.add(stream)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop = loop
            self._task = loop.create_task(self._run(), name="stream heartbeats")

    def remove(self, stream: Idle) -> None:
        self.streams.discard(stream)

    def nudge_idle(self, now: float) -> int:
        """Nudge every stream that has sent nothing since ``now - every_s``; how many."""
        idle = [s for s in self.streams if now - s.last_sent >= self.every_s]
        for stream in idle:
            stream.nudge()
        return len(idle)

    async def _run(self) -> None:
        while self.streams:
            await asyncio.sleep(self.tick_s)
            self.nudge_idle(time.monotonic())
