"""A hub's check-out view kept between options calls: everything an options call reads,
read and simulated once, so that a call is arithmetic and a nearest-point lookup.

Kept per hub and day range: the hub, its slots, bike limits and carrier rules; each day's
lanes with their pending stops and live holds inserted (the core's :class:`DayRoom`); every
pickup point of the hub with its hours and room left per day, and its locker banks' doors left
once their waiting parcels and live holds took theirs (the asked parcels are fitted per call). Reading a running day of
thousands of stops and simulating its lanes is most of the work; every shop's call between
two changes of the day would redo it, and even asking the database whether anything
changed (a dozen small queries) cost more than the answer.

So no query is made while a view is used. It is made again when:

- this process wrote a change that may take room (``checkout_changes.py``: an order, a
  plan, a hold, the hub's slots or carrier rules);
- the first live hold in it expires (its room comes back), or the minute turns (the day
  is made from "now" rounded up to the next minute: a lane may start up to a minute later
  than it could, never more room than there is);
- it is :data:`KEPT_S` seconds old: what another process wrote, or what writes no event
  (a courier's stop events only free room until the re-plan they may cause; a shift or a
  point's shelves changed by hand), is seen within that.

A view can therefore offer what was taken a moment ago, never promise it: a hold asks the
core again with the day read fresh under the hub's check-out lock, so an option offered
from a kept view is held only if there is room now.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from backend.db.engine import current_engine
from backend.dispatch.carrier import BikeSize, CarrierRules
from backend.dispatch.checkout import DayRoom, DayState, PointState, SlotRule
from backend.dispatch.lockers import Compartment
from backend.services import carrier, checkout_changes
from backend.services.checkout_day import (
    bike_limits,
    day_lanes,
    hub_points,
    hub_row,
    live_holds,
    nearest,
    slot_rules,
    with_doors,
)

KEPT_S = 2.0  # the longest a view is used (what another process wrote, changes that write no event)
KEPT_MAX = 32  # hubs x day ranges kept


@dataclass
class HubView:
    """What an options call of one hub needs, for its days."""

    hub: dict[str, Any]
    states: list[DayState]  # lanes and pending stops, without points
    rooms: dict[dt.date, DayRoom]
    holds: list[dict[str, Any]]
    points: dict[dt.date, tuple[PointState, ...]]  # every point of the hub, per day
    doors: dict[dt.date, dict[int, list[Compartment]]]  # its locker banks' doors left, per day
    slots: tuple[SlotRule, ...]
    bike_limits: tuple[float, float, int]
    carrier: tuple[CarrierRules, list[BikeSize]] | None  # None: the hub has no carrier rules

    def near(
        self, place: tuple[float, float], parcels: list[tuple[int, int, int]]
    ) -> dict[dt.date, tuple[PointState, ...]]:
        """Per day, the points nearest to ``place`` (the same points every day), a locker
        bank without a door for ``parcels`` that day saying why."""
        if not self.points:
            return {}
        first = next(iter(self.points.values()))
        ids = [p.id for p in nearest(list(first), place)]
        out = {}
        for day, points in self.points.items():
            near = tuple(p for i in ids for p in points if p.id == i)
            out[day] = with_doors(near, self.doors[day], parcels) if self.doors.get(day) else near
        return out


@dataclass
class _Kept:
    engine: Any  # the database it was read from (tests start apps on fresh databases)
    count: tuple[int, int]  # the hub's change count when it was read
    at: dt.datetime
    until: dt.datetime | None  # the first live hold's expiry
    made: float
    view: HubView

    def usable(self, engine: Any, count: tuple[int, int], at: dt.datetime, now: dt.datetime) -> bool:
        """Nothing that may take room changed since, and no hold expired in it."""
        return self.engine is engine and self.count == count and (self.until is None or now < self.until)

    def fresh(self, at: dt.datetime) -> bool:
        """Of this minute, and younger than :data:`KEPT_S`; a usable view that is not is used
        while it is made again (by one call, in the background), up to twice that long."""
        return self.at == at and time.monotonic() - self.made < KEPT_S

    def stale_ok(self, at: dt.datetime) -> bool:
        return dt.timedelta() <= at - self.at <= dt.timedelta(minutes=1) and time.monotonic() - self.made < 2 * KEPT_S


Where = tuple[int, int, tuple[dt.date, ...]]
_kept: dict[Where, _Kept] = {}
_making: dict[Where, asyncio.Future[_Kept]] = {}


def forget() -> None:
    """Keep nothing (a new app in this process)."""
    _kept.clear()


def _ceil_minute(now: dt.datetime) -> dt.datetime:
    floor = now.replace(second=0, microsecond=0)
    return floor if floor == now else floor + dt.timedelta(minutes=1)


async def hub_view(hub_id: int, days: list[dt.date], now: dt.datetime) -> HubView | None:
    """The hub's view for ``days`` as of ``now``; None when there is no such hub."""
    engine, at = current_engine(), _ceil_minute(now)
    # Per event loop: the tests run apps on several loops in one process.
    where = (id(asyncio.get_running_loop()), hub_id, tuple(days))
    while True:
        count = checkout_changes.count(hub_id)
        kept = _kept.get(where)
        making = _making.get(where)
        if kept is not None and kept.usable(engine, count, at, now):
            if kept.fresh(at):
                return kept.view
            if kept.stale_ok(at):
                if making is None:
                    _start(where, hub_id, days, now, at, engine, count)
                return kept.view
        if making is None:
            making = _start(where, hub_id, days, now, at, engine, count)
        # One call makes it, the others wait for that one. One begun before a change this call
        # knows of is not enough: then look again (and make it, at most once more).
        made = await asyncio.shield(making)
        if made.engine is engine and made.count == count and made.at == at:
            return made.view if made.view.hub else None


def _start(
    where: Where, hub_id: int, days: list[dt.date], now: dt.datetime, at: dt.datetime, engine: Any, count: Any
) -> asyncio.Future[_Kept]:
    """Make the view in a task of its own (kept once made); the future answers it."""
    future: asyncio.Future[_Kept] = asyncio.get_running_loop().create_future()
    _making[where] = future

    async def make() -> None:
        try:
            kept = await _make(hub_id, days, now, at, engine, count)
            if kept.view.hub:
                _kept[where] = kept
                while len(_kept) > KEPT_MAX:
                    del _kept[min(_kept, key=lambda w: _kept[w].made)]
            future.set_result(kept)
        except BaseException as exc:  # noqa: BLE001 - handed to the callers that wait
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
        finally:
            if _making.get(where) is future:
                del _making[where]

    _tasks.add(task := asyncio.get_running_loop().create_task(make()))
    task.add_done_callback(_tasks.discard)
    return future


_tasks: set[asyncio.Task[None]] = set()  # the makings under way (a task needs a reference)


async def _make(
    hub_id: int, days: list[dt.date], now: dt.datetime, at: dt.datetime, engine: Any, count: tuple[int, int]
) -> _Kept:
    made = time.monotonic()  # before the reads: its age counts from what it saw
    hub = await hub_row(hub_id)
    if hub is None:
        return _Kept(engine, count, at, None, made, HubView({}, [], {}, [], {}, {}, (), (0.0, 0.0, 0), None))
    holds = await live_holds(hub_id, days, now)
    states = await day_lanes(hub, days, at, holds)
    rooms = {}
    for d in states:  # a day's simulation at a time: the calls answered meanwhile wait for one day, not three
        rooms[d.day] = DayRoom(d)
        await asyncio.sleep(0)
    points, doors = await hub_points(hub_id, days, holds)
    view = HubView(
        hub=hub,
        states=states,
        rooms=rooms,
        holds=holds,
        points=points,
        doors=doors,
        slots=await slot_rules(hub_id),
        bike_limits=await bike_limits(hub_id),
        carrier=await carrier.decision_inputs(hub_id),
    )
    until = min((h["expires_at"] for h in holds), default=None)
    # A change heard while reading may be missing from it: kept under the count before, so the next call reads again.
    return _Kept(engine, count, at, until, made, view)


async def kept_days(
    hub: dict[str, Any], days: list[dt.date], now: dt.datetime
) -> tuple[list[DayState], dict[dt.date, DayRoom], list[dict[str, Any]]]:
    """The days' lanes and pending stops (no points), their rooms, and the live holds."""
    view = await hub_view(hub["id"], days, now)
    if view is None:
        raise LookupError(f"no hub {hub['id']}")
    return view.states, view.rooms, view.holds
