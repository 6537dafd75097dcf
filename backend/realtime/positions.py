"""Where the couriers are: last position and a bounded trail per shift.

Positions arrive every few seconds from every phone; they are kept in memory
and written to the shift rows in batches, not one database write each. The
full ridden trail goes to ``trail_point`` in the same batches, thinned
(``backend/dispatch/day_figures.py``, ``keep_point``); the shift row keeps the
last position and the trail's standing part (``backend/dispatch/alerts.py``,
``standing_part``), which is what another process's alert check reads.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from typing import Any

import msgspec

from backend.db.engine import transaction
from backend.db.rows import insert_rows
from backend.db.tables import Shift, TrailPoint
from backend.dispatch.alerts import standing_part
from backend.dispatch.day_figures import Point, keep_point
from backend.realtime.background import Background

log = logging.getLogger("laadbak.positions")
FLUSH_CHUNK = 10
# Written by hand (the points too, by insert_rows): a flush writes thousands of rows every
# 15 s, and building each statement through Piccolo was most of its CPU.
_SHIFT = Shift._meta.tablename
_SET_LAST = (
    f'UPDATE {_SHIFT} SET "last_lat" = {{}}, "last_lon" = {{}}, "last_position_at" = {{}}, "trail" = {{}}'
    ' WHERE "id" = {}'
)
_SET_TRAIL = f'UPDATE {_SHIFT} SET "trail" = {{}} WHERE "id" = {{}}'
_POINTS = (TrailPoint.shift, TrailPoint.at, TrailPoint.lat, TrailPoint.lon, TrailPoint.accuracy)


class PositionStore(Background):
    task_name = "position-flush"

    def __init__(self, *, trail_max: int = 500, flush_every_s: float = 15.0) -> None:
        self.trail_max = trail_max
        self.flush_every_s = flush_every_s
        self._last: dict[int, dict[str, Any]] = {}  # courier id -> last position message
        self._trails: dict[int, collections.deque[list[Any]]] = {}  # shift id -> trail
        self._dirty: set[int] = set()
        self._shift_of: dict[int, int] = {}
        self._kept: dict[int, Point] = {}  # shift id -> the last point kept for trail_point
        self._points: dict[int, list[tuple[Point, float | None]]] = {}  # shift id -> points not written yet

    def record(
        self,
        *,
        courier_id: int,
        shift_id: int,
        hub_id: int,
        lat: float,
        lon: float,
        ts: dt.datetime,
        accuracy: float | None = None,
    ) -> dict[str, Any]:
        message = {
            "type": "position",
            "courierId": courier_id,
            "hubId": hub_id,
            "lat": lat,
            "lon": lon,
            "accuracy": accuracy,
            "ts": ts.isoformat(),
        }
        self._last[courier_id] = message
        self._shift_of[courier_id] = shift_id
        trail = self._trails.setdefault(shift_id, collections.deque(maxlen=self.trail_max))
        trail.append([round(lat, 6), round(lon, 6), ts.isoformat()])
        point = (round(lat, 6), round(lon, 6), ts)
        if keep_point(self._kept.get(shift_id), point):
            self._kept[shift_id] = point
            self._points.setdefault(shift_id, []).append((point, accuracy))
        self._dirty.add(shift_id)
        return message

    def hear(self, hub_id: int, message: dict[str, Any]) -> None:
        """A position as the feed hands it on, from any process (``Feed.watch_positions``): where
        the courier is, for this process's re-plans and desks when the phone is connected to
        another process. Its trail and its flush stay with the process that recorded it."""
        courier = message.get("courierId")
        if isinstance(courier, int):
            self._last[courier] = message

    def last(self, courier_id: int) -> dict[str, Any] | None:
        return self._last.get(courier_id)

    def places(self) -> dict[int, tuple[float, float]]:
        """Courier id -> last known (lat, lon)."""
        return {cid: (m["lat"], m["lon"]) for cid, m in self._last.items()}

    def last_for_hub(self, hub_id: int) -> list[dict[str, Any]]:
        return [m for m in self._last.values() if m["hubId"] == hub_id]

    def trail(self, shift_id: int) -> list[list[Any]]:
        return list(self._trails.get(shift_id, ()))

    async def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        last_by_shift = {self._shift_of[c]: m for c, m in self._last.items() if self._shift_of.get(c) in dirty}
        points = {sid: self._points.pop(sid) for sid in dirty if sid in self._points}
        pending = sorted(dirty)
        try:
            # In small transactions: a courier's action waits for one chunk, not for all.
            while pending:
                chunk = set(pending[:FLUSH_CHUNK])
                async with transaction():
                    await self._write(chunk, last_by_shift)
                    await _append_trail({sid: points[sid] for sid in chunk if sid in points})
                del pending[:FLUSH_CHUNK]
        except BaseException:
            self._dirty |= set(pending)  # written next time
            for sid in pending:  # before what came in meanwhile
                if sid in points:
                    self._points[sid] = points[sid] + self._points.get(sid, [])
            raise

    async def _write(self, dirty: set[int], last_by_shift: dict[int, dict[str, Any]]) -> None:
        for shift_id in dirty:
            last = last_by_shift.get(shift_id)
            # Only the standing part: the whole trail is in memory and in trail_point.
            standing = msgspec.json.encode(standing_part(self._trails[shift_id])).decode()
            if last:
                at = dt.datetime.fromisoformat(last["ts"])
                await Shift.raw(_SET_LAST, last["lat"], last["lon"], at, standing, shift_id)
            else:
                await Shift.raw(_SET_TRAIL, standing, shift_id)

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(Exception):  # the last positions, on the way out
            await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every_s)
            try:
                await self.flush()
            except Exception:  # noqa: BLE001
                log.exception("could not store positions; will retry")


async def _append_trail(points: dict[int, list[tuple[Point, float | None]]]) -> None:
    """Append the kept points to ``trail_point`` (of shifts that still exist)."""
    if not points:
        return
    alive = {r["id"] for r in await Shift.select(Shift.id).where(Shift.id.is_in(list(points)))}
    rows = [(sid, p[2], p[0], p[1], accuracy) for sid, kept in points.items() if sid in alive for p, accuracy in kept]
    await insert_rows(_POINTS, rows)
