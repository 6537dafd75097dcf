"""The warehouse's live events: written by the warehouse services in the transaction of
their change, to the outbox topic ``warehouse:<hub>``. The hub's pickers' streams
(``/ws/pick``) follow that topic; the hub's stream (``/ws/hub/{id}``, the dispatcher's
desk and its Picking panel) gets them too, as every event of the hub.

Every ``pick.batch.*`` event carries ``batch``: the batch as ``GET /pick/batches/{id}``
answers it, at its new ``version``, so a device applies it without asking again.
"""

from __future__ import annotations

from typing import Any

from backend.realtime.outbox import emit


def warehouse_topic(hub_id: int) -> str:
    return f"warehouse:{hub_id}"


async def emit_warehouse(kind: str, payload: dict[str, Any], hub_id: int) -> None:
    """One event of the hub's warehouse (call inside the change's transaction)."""
    await emit(kind, payload, hub_id=hub_id, topic=warehouse_topic(hub_id))
