"""What the picker's live stream (``/ws/pick``) starts from: the hub's batches as the
picker's list shows them, and the picker's own taken batches in full, as of one sequence
number. Everything after it arrives as an event of the ``warehouse:<hub>`` topic
(``warehouse_events.py``)."""

from __future__ import annotations

from typing import Any

from backend.db.engine import reading
from backend.db.tables import PickBatch
from backend.realtime.outbox import latest_seq
from backend.services.warehouse_picking import full_view, list_batches


async def picker_day(hub_id: int, user_id: int) -> dict[str, Any]:
    """The snapshot of the picker stream: ``batches`` (GET /pick/batches) and ``mine``
    (GET /pick/batches/{id} of each batch the picker has taken)."""
    async with reading():  # one snapshot: nothing in it is newer than seq
        seq = await latest_seq()
        batches = await list_batches(hub_id, user_id, None)
        rows = (
            await PickBatch.select()
            .where((PickBatch.hub == hub_id) & (PickBatch.status == "taken") & (PickBatch.picker == user_id))
            .order_by(PickBatch.id)
            .output(load_json=True)
        )
        mine = [await full_view(r) for r in rows]
    return {"seq": seq, "hubId": hub_id, "batches": batches, "mine": mine}
