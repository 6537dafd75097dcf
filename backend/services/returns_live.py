"""The snapshot of the returns desk's stream (``/ws/returns``): the task lists of the worker's
hub as ``GET /returns-desk/tasks`` answers them, and the seq they are as of."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.engine import reading
from backend.realtime.outbox import latest_seq
from backend.services.returns_tasks import queue
from backend.services.sessions import Principal


async def desk_day(user: Principal, now: dt.datetime) -> dict[str, Any]:
    async with reading():  # one snapshot: nothing in it is newer than seq
        seq = await latest_seq()
        tasks = await queue(user, now)
    return {"seq": seq, "hubId": user.user.hub_id, "tasks": tasks}
