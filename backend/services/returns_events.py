"""The returns desk's live events: written by the returns services in the transaction of their
change, to the outbox topic ``returns:<hub>``. The hub's returns workers' streams
(``/ws/returns``) follow that topic; the hub's stream (the dispatcher's desk) gets them too, as
every event of the hub."""

from __future__ import annotations

from typing import Any

from backend.realtime.outbox import emit


def returns_topic(hub_id: int) -> str:
    return f"returns:{hub_id}"


async def emit_returns(kind: str, payload: dict[str, Any], hub_id: int) -> None:
    """One event of the hub's returns (call inside the change's transaction)."""
    await emit(kind, payload, hub_id=hub_id, topic=returns_topic(hub_id))
