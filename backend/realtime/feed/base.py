"""The live feed's interface: what streams, writers and workers may ask of it.

Events are written to the outbox in the transaction of their change (see
``backend.realtime.outbox.emit``); the feed delivers them, in order, to the
streams open in this process. ``poke`` publishes: it says that events were
committed, so they go out now rather than at the next poll. ``history`` and
``latest_seq`` are the resume half: a stream that reconnects, or fell
behind, re-reads from them and then takes live messages again, skipping any
sequence number it has already sent.

Positions are state, not events: they go to the hub streams only, batched,
and are not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from backend.realtime.feed.subscriber import Subscriber


class Feed(Protocol):
    async def start(self) -> None:
        """Begin following the outbox from its newest event."""
        ...

    async def stop(self) -> None: ...

    def subscribe(
        self, *, courier_id: int | None = None, hub_id: int | None = None, topic: str | None = None
    ) -> Subscriber:
        """A courier's, a hub's or a topic's live events (and, for a hub, its couriers' positions)."""
        ...

    def unsubscribe(self, sub: Subscriber) -> None: ...

    async def poke(self) -> None:
        """Events were committed: deliver them now, in every process that shares the feed."""
        ...

    async def publish_position(self, hub_id: int, message: dict[str, Any]) -> None:
        """A courier's position, for the hub's streams in every process."""
        ...

    def watch_positions(self, listener: Callable[[int, dict[str, Any]], None]) -> None:
        """Call ``listener(hub_id, message)`` with every position heard, from any process
        (a solver worker's picture of where the couriers are)."""
        ...

    async def history(
        self,
        after: int,
        *,
        courier_id: int | None = None,
        hub_id: int | None = None,
        topic: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Events after ``after`` of one courier's, one hub's or one topic's stream, in order."""
        ...

    async def latest_seq(self) -> int:
        """The newest event's sequence number (0 when there is none)."""
        ...

    @property
    def connections(self) -> int:
        """How many subscribers are open in this process."""
        ...
