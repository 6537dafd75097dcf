"""Re-planning the running day around a change that is not a stop's own (a street closed
or reopened, a zone drawn or removed).

The change commits first and the request then re-plans, so that its answer can carry the
re-plan. A request that dies between the two must not leave the day planned as if the
change had not happened: the change writes, in its own transaction, a ``replan`` job
(backend/jobs) due a lease later; the request settles it after its re-plan, and a
worker runs it only when the request did not live to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np

from backend.db.engine import transaction
from backend.jobs import queue as jobs
from backend.services.context import Context
from backend.services.replanning import replan_hub
from backend.services.route_store import any_in_force


async def promise_replan(hub_id: int, now: dt.datetime, reason: str, key: str) -> None:
    """Inside the change's transaction: the re-plan it owes, kept durable under ``key``."""
    if not await any_in_force(hub_id, now.date()):
        return  # nothing on the road yet: the day's planning will see the change
    await jobs.enqueue(
        "replan",
        key,
        {"hubId": hub_id, "date": now.date().isoformat(), "reason": reason},
        run_after=now + dt.timedelta(seconds=jobs.LEASE_S),
    )


async def replan_running(
    ctx: Context,
    hub_id: int,
    now: dt.datetime,
    reason: str,
    time_limit_s: float | None,
    keys: Iterable[str] = (),
    baseline_closed: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """Re-plan the hub's running day and settle the promises ``keys``; None when today
    has no routes yet (nothing to re-plan). ``baseline_closed``: the edges closed before
    the change (a street closed or reopened: the routes it re-times are the quick answer)."""
    result = None
    if await any_in_force(hub_id, now.date()):
        result = await replan_hub(
            ctx,
            hub_id,
            now.date(),
            now,
            reason=reason,
            time_limit_s=time_limit_s,
            baseline_closed=baseline_closed,
        )
    for key in keys:
        async with transaction():
            await jobs.settle(key)
    return result
