"""Waves released on their own: at its release time (the slot's cut-off less the hub's lead
time, kept in its picking settings) a wave with open lines is released as if its
dispatcher had pressed the button.

Durable and once, across crashes and serving processes:
- every process's ``WaveReleaser`` looks each ``every_s`` for waves due on the clock whose
  lines are still open, and writes a ``wave_release`` job for each (backend/jobs), keyed by
  hub, day, cut-off and the wave's newest open line. The key is unique and written under the
  hub's write guard, so two processes write one job; a process that dies after writing it
  leaves the job to the next worker; one that dies before leaves the lines open for the next
  look. A line added to the wave after its release makes a new key, so it is released too.
- the job releases under the hub's warehouse lock, reading the open lines afresh, and
  settles in the same transaction: a wave released meanwhile (by the button, or the job's
  run by another process) leaves nothing to release twice.
- a release refused (``Invalid``: an SKU not in the catalogue, ...) fails its job, and the
  hub's dispatchers get a ``wave_not_released`` alert with the refusal's sentence, one per
  wave and day (the releaser's next looks find the failed job's key and write nothing).
- only the day's own waves are released on their own. A wave of an earlier day still open
  (the releaser was off at its time, a line came after the day) is not: its orders' day has
  passed, and picked now nothing would take them out. The releaser raises a
  ``wave_not_released`` alert for it on today's desk instead, once a day, and the dispatcher
  decides (docs/warehouse.md "Waves on time").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import OrderLine
from backend.dispatch.alerts import Raised, wave_not_released
from backend.errors import Invalid
from backend.jobs import queue as jobs
from backend.realtime.background import Background
from backend.services.alerts import raise_alerts
from backend.services.warehouse_settings import leads_of
from backend.services.warehouse_waves import release_wave_on_time, slot_of
from backend.warehouse.waves import release_time

log = logging.getLogger("laadbak.waves")

KIND = "wave_release"
ENDED_ORDERS = frozenset({"delivered", "returning", "returned"})
OpenWaves = dict[tuple[int, dt.date, dt.time], list[int]]  # (hub, day, cut-off) -> its open line ids


class DueWave(msgspec.Struct, frozen=True):
    hub_id: int
    day: dt.date
    cutoff: str  # "HH:MM"
    newest_line: int

    @property
    def key(self) -> str:
        return f"wave:{self.hub_id}:{self.day.isoformat()}:{self.cutoff}:{self.newest_line}"


async def open_waves(now: dt.datetime) -> OpenWaves:
    """The waves, of every hub, of today and earlier days that still have open lines:
    (hub, day, cut-off) -> their open line ids. An earlier day's order that ended without
    them (delivered, returned) leaves nothing to pick."""
    rows = await OrderLine.select(
        OrderLine.id,
        OrderLine.order.hub,
        OrderLine.order.delivery_date,
        OrderLine.order.status,
        OrderLine.order.slot,
        OrderLine.order.window_start,
        OrderLine.order.window_end,
    ).where(
        (OrderLine.status == "open")
        & (OrderLine.order.delivery_date <= now.date())
        & (OrderLine.order.status != "cancelled")
    )
    lines: OpenWaves = {}
    for r in rows:
        if r["order.delivery_date"] < now.date() and r["order.status"] in ENDED_ORDERS:
            continue
        order = {"slot": r["order.slot"], "window_start": r["order.window_start"], "window_end": r["order.window_end"]}
        _, cut = slot_of(order)
        lines.setdefault((r["order.hub"], r["order.delivery_date"], cut.cutoff), []).append(r["id"])
    return lines


async def due_waves(now: dt.datetime, waves: OpenWaves | None = None) -> list[DueWave]:
    """Today's waves, of every hub, whose release time has come and that still have open lines
    (``waves``: :func:`open_waves`, when the caller read them already)."""
    day = now.date()
    today = {at: ids for at, ids in (await open_waves(now) if waves is None else waves).items() if at[1] == day}
    leads = await leads_of(hub for hub, _, _ in today)
    return [
        DueWave(hub, day, cutoff.strftime("%H:%M"), max(ids))
        for (hub, _, cutoff), ids in sorted(today.items())
        if now.time() >= release_time(cutoff, leads[hub])
    ]


async def alert_earlier_waves(now: dt.datetime, waves: OpenWaves) -> int:
    """The waves of earlier days still open are not released on their own (their orders'
    day has passed: picked now, nothing would take them out): the hub's dispatchers get a
    ``wave_not_released`` alert on today's desk for each, once a day, and decide (release
    it by hand, move the orders to another day, or cancel them). Answers the waves found."""
    by_hub: dict[int, list[Raised]] = {}
    for (hub, day, cutoff), ids in sorted(waves.items()):
        if day < now.date():
            why = (
                f"its day has passed with {len(ids)} line(s) still open; move its orders to another day "
                f"or cancel them, or release it from the desk's Picking panel of {day.isoformat()}."
            )
            by_hub.setdefault(hub, []).append(wave_not_released(cutoff.strftime("%H:%M"), why, day))
    for hub, raised in by_hub.items():
        await raise_alerts(hub, now.date(), raised, now)  # raised once per wave and day (its key)
    return sum(len(r) for r in by_hub.values())


async def enqueue_due(now: dt.datetime, waves: OpenWaves | None = None) -> list[str]:
    """A ``wave_release`` job for each wave due (one per key, whoever else looks); the keys written."""
    written = []
    for wave in await due_waves(now, waves):
        async with transaction():
            await write_guard(KIND, wave.hub_id)  # two processes looking at once write one job
            payload = {"hubId": wave.hub_id, "date": wave.day.isoformat(), "cutoff": wave.cutoff}
            # Due at once by the job table's own clock (the worker's), whatever the hub's says.
            if await jobs.enqueue(KIND, wave.key, payload):
                written.append(wave.key)
    return written


async def release_job(hub_id: int, day: dt.date, cutoff: str, now: dt.datetime) -> dict[str, Any]:
    """The job's work: the wave released and the job settled in one transaction. Refused: the
    dispatchers are told (in a transaction of its own, the release's rolled back) and the
    refusal goes on to fail the job."""
    try:
        async with transaction():
            out = await release_wave_on_time(hub_id, day, cutoff, now)
            if not await jobs.settle():
                raise jobs.AlreadyDone  # another process's run committed first: roll this one back
    except Invalid as refused:
        await raise_alerts(hub_id, day, [wave_not_released(cutoff, refused.detail)], now)
        raise
    return out


class WaveReleaser(Background):
    """Every ``every_s``: jobs for the waves that have come due (``wake`` runs them now)."""

    task_name = "wave-releaser"

    def __init__(self, clock: Callable[[], dt.datetime], wake: Callable[[], None], every_s: float = 30.0) -> None:
        self.clock, self.wake, self.every_s = clock, wake, every_s

    async def tick(self) -> list[str]:
        now = self.clock()
        waves = await open_waves(now)
        written = await enqueue_due(now, waves)
        await alert_earlier_waves(now, waves)
        if written:
            log.info("waves due: %s", ", ".join(written))
            self.wake()
        return written

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - try again next time; the lines stay open until then
                log.exception("releasing due waves failed")
