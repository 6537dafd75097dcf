"""A stop's history: one ``stop_event`` row for every change of its state, written
by the writer of that change, in its transaction (so the history never says
more, or less, than happened).

Shared underneath the use cases, as ``route_store`` is: it imports no other
service. ``by_user`` is who did it (a courier's or a dispatcher's user id); None
for the system: the planner, a re-plan, a job, a customer on the tracking page.

The states recorded (``state``):

- ``created``: the order's stop is taken (or made by the system: a transfer, a new try)
- ``planned``: put on a route by a plan or a re-plan
- ``unplanned``: left off every route (``detail``: why)
- ``moved``: a re-plan moved it to another courier's route
- ``assigned``: a dispatcher moved it to a courier by hand
- ``arrived``, ``delivered``, ``collected``, ``failed``: the courier's actions
- ``redirected``: the customer sent the parcel elsewhere (this stop is withdrawn; ``detail`` names the new one)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from backend.db.tables import StopEvent


async def record(
    stop_ids: Iterable[int],
    state: str,
    *,
    by_user: int | None = None,
    detail: str = "",
    details: dict[int, str] | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Record ``state`` for each stop (``details``: a sentence per stop, else ``detail``).
    Call it inside the transaction that makes the change. Returns how many were written."""
    when = at or dt.datetime.now()
    rows = [
        StopEvent(stop=sid, at=when, state=state, by_user=by_user, detail=(details or {}).get(sid, detail))
        for sid in dict.fromkeys(stop_ids)
    ]
    for i in range(0, len(rows), 1000):  # one insert per thousand: a day's plan is a handful of statements
        await StopEvent.insert(*rows[i : i + 1000])
    return len(rows)
