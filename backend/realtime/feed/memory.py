"""The feed of a single process: no Redis configured.

A poke wakes this process's tail only; events written by another process
(a second worker on the same database) are still found, by the tail's poll.
Positions reach this process's hub streams only.
"""

from __future__ import annotations

from typing import Any

from backend.realtime.feed.tail import OutboxFeed


class MemoryFeed(OutboxFeed):
    async def _open(self) -> None:
        pass  # nothing to connect: word stays in this process

    async def _close(self) -> None:
        pass

    async def _announce(self) -> None:
        pass  # no other process to tell: ``poke`` has woken the tail

    async def _broadcast_position(self, hub_id: int, message: dict[str, Any]) -> None:
        self._deliver_position(hub_id, message)
