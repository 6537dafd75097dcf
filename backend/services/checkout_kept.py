"""A hub's check-out days kept between options calls: the lanes with their pending stops and
holds inserted (the core's :class:`DayRoom`), read and simulated once, not per call.

Reading a running day of thousands of stops and simulating its lanes is most of an options
call; every shop's call between two changes of the day would redo the same. What is kept
is used while nothing it was made from changed in a way that could take room, as far as cheap
reads tell: the hub's newest stop (a new order), route (a plan or re-plan writes new
versions) and shift, and the live holds (their ids: a new hold, an order from one, an
expiry each change them). A courier's stop events are not looked at: a stop delivered,
arrived at or failed only frees room until the re-plan it may cause writes new routes,
so a kept day that still counts it offers less, never more. The day is made from "now" rounded up to the next minute (a
lane may start up to a minute later than it could: never more room than there is), and
is made again after :data:`KEPT_S` seconds at most, for changes that write no event.

Only the options answer reads it. A hold asks the core again with the day read fresh
under the hub's check-out lock, so an option offered from a kept day is held only if
there is room now.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from backend.db.tables import Route, Shift, Stop
from backend.dispatch.checkout import DayRoom, DayState
from backend.services.checkout_day import day_lanes, live_holds

KEPT_S = 2.0  # the longest a kept day is used (changes that write no outbox event)
KEPT_MAX = 32  # hubs x day ranges kept


@dataclass
class _Kept:
    key: tuple[Any, ...]
    made: float
    states: list[DayState]
    rooms: dict[dt.date, DayRoom]


_kept: dict[tuple[int, int, tuple[dt.date, ...]], _Kept] = {}
_making: dict[tuple[int, int, tuple[dt.date, ...]], asyncio.Future[_Kept]] = {}


def _ceil_minute(now: dt.datetime) -> dt.datetime:
    floor = now.replace(second=0, microsecond=0)
    return floor if floor == now else floor + dt.timedelta(minutes=1)


async def _newest(hub_id: int) -> tuple[Any, ...]:
    """The hub's newest stop, route and shift (ids)."""
    reads = await asyncio.gather(
        Stop.select(Stop.id).where(Stop.hub == hub_id).order_by(Stop.id, ascending=False).first(),
        Route.select(Route.id).where(Route.hub == hub_id).order_by(Route.id, ascending=False).first(),
        Shift.select(Shift.id).where(Shift.hub == hub_id).order_by(Shift.id, ascending=False).first(),
    )
    return tuple(r["id"] if r else None for r in reads)


async def kept_days(
    hub: dict[str, Any], days: list[dt.date], now: dt.datetime
) -> tuple[list[DayState], dict[dt.date, DayRoom], list[dict[str, Any]]]:
    """The days' lanes and pending stops (no points), their rooms, and the live holds."""
    holds = await live_holds(hub["id"], days, now)
    at = _ceil_minute(now)
    key = (await _newest(hub["id"]), tuple(h["id"] for h in holds), at)
    # Per event loop: the tests run apps on several loops in one process.
    where = (id(asyncio.get_running_loop()), hub["id"], tuple(days))
    kept = _kept.get(where)
    if kept is not None and kept.key == key and time.monotonic() - kept.made < KEPT_S:
        return kept.states, kept.rooms, holds
    making = _making.get(where)
    if making is not None and not making.done():  # another call is making it: wait for that one
        kept = await asyncio.shield(making)
        if kept.key == key:
            return kept.states, kept.rooms, holds
    future: asyncio.Future[_Kept] = asyncio.get_running_loop().create_future()
    _making[where] = future
    try:
        states = await day_lanes(hub, days, at, holds)
        kept = _Kept(key, time.monotonic(), states, {d.day: DayRoom(d) for d in states})
        future.set_result(kept)
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: no "never retrieved" warning when nobody waited
        raise
    finally:
        if _making.get(where) is future:
            del _making[where]
    _kept[where] = kept
    while len(_kept) > KEPT_MAX:
        del _kept[min(_kept, key=lambda w: _kept[w].made)]
    return kept.states, kept.rooms, holds
