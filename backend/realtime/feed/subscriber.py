"""One open stream's inbox: a bounded queue of messages, and the positions
it is due, batched."""

from __future__ import annotations

import asyncio
from typing import Any

# A hub stream gets the couriers' positions as one message per this interval,
# with each courier's latest: 2,000 phones sending every 5 s would otherwise be
# 400 messages a second to every dispatcher; batched, it is 10 a second, each
# drawn in one go. The wait in the batch is part of the time from a phone to
# the desk's marker (`laadbak bench map`, target p95 500 ms): a tenth of a second
# leaves the rest of that budget to the server and the page.
POSITION_BATCH_S = 0.1

# Put in the queue to wake the stream's writer (an end, a heartbeat due); never sent.
NUDGE: dict[str, Any] = {"type": "_nudge"}


class Subscriber:
    """What a feed hands a stream: read ``queue``; when ``overflowed`` is set
    the stream fell behind and re-reads from the feed's history."""

    def __init__(
        self,
        *,
        courier_id: int | None = None,
        hub_id: int | None = None,
        topic: str | None = None,
        maxsize: int = 2000,
    ) -> None:
        self.courier_id = courier_id
        self.hub_id = hub_id
        self.topic = topic
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.overflowed = False
        self._positions: dict[Any, dict[str, Any]] = {}

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True  # the stream re-reads from the database

    def nudge(self) -> None:
        """Wake the reader of ``queue`` (a queue with messages wakes it anyway)."""
        if self.queue.empty():
            self.queue.put_nowait(NUDGE)

    def offer_position(self, message: dict[str, Any]) -> None:
        if not self._positions:
            asyncio.get_running_loop().call_later(POSITION_BATCH_S, self._send_positions)
        self._positions[message.get("courierId")] = message

    def _send_positions(self) -> None:
        batch, self._positions = list(self._positions.values()), {}
        if batch:
            self.offer({"type": "positions", "positions": batch})
