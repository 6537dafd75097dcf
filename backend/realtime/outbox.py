"""Writing and reading outbox events. Writers call ``emit`` inside the same
transaction as the change it describes; the id is the sequence number every
device sees."""

from __future__ import annotations

from typing import Any

from backend.db.tables import OutboxEvent


async def emit(kind: str, payload: dict[str, Any], *, courier_id: int | None = None,
               hub_id: int | None = None) -> None:
    topic = f"courier:{courier_id}" if courier_id is not None else f"hub:{hub_id}"
    await OutboxEvent.insert(OutboxEvent(topic=topic, kind=kind, courier_id=courier_id, hub_id=hub_id,
                                         payload=payload))


async def latest_seq() -> int:
    row = await OutboxEvent.select(OutboxEvent.id).order_by(OutboxEvent.id, ascending=False).first()
    return row["id"] if row else 0


async def events_after(after: int, *, courier_id: int | None = None, hub_id: int | None = None,
                       limit: int = 1000) -> list[dict[str, Any]]:
    """Events after ``after`` for one courier's or one hub's stream, in order."""
    query = OutboxEvent.select(OutboxEvent.id, OutboxEvent.kind, OutboxEvent.payload,
                               OutboxEvent.courier_id, OutboxEvent.hub_id).where(OutboxEvent.id > after)
    if courier_id is not None:
        query = query.where(OutboxEvent.courier_id == courier_id)
    if hub_id is not None:
        query = query.where(OutboxEvent.hub_id == hub_id)
    return await query.order_by(OutboxEvent.id).limit(limit).output(load_json=True)
