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
from backend.dispatch.alerts import wave_not_released
from backend.errors import Invalid
from backend.jobs import queue as jobs
from backend.realtime.background import Background
from backend.services.alerts import raise_alerts
from backend.services.warehouse_settings import leads_of
from backend.services.warehouse_waves import release_wave_on_time, slot_of
from backend.warehouse.waves import release_time

log = logging.getLogger("laadbak.waves")

KIND = "wave_release"


class DueWave(msgspec.Struct, frozen=True):
    hub_id: int
    day: dt.date
    cutoff: str  # "HH:MM"
    newest_line: int

    @property
    def key(self) -> str:
        return f"wave:{self.hub_id}:{self.day.isoformat()}:{self.cutoff}:{self.newest_line}"


async def due_waves(now: dt.datetime) -> list[DueWave]:
    """Today's waves, of every hub, whose release time has come and that still have open lines."""
    day = now.date()
    rows = await OrderLine.select(
        OrderLine.id,
        OrderLine.order.hub,
        OrderLine.order.slot,
        OrderLine.order.window_start,
        OrderLine.order.window_end,
    ).where(
        (OrderLine.status == "open") & (OrderLine.order.delivery_date == day) & (OrderLine.order.status != "cancelled")
    )
    newest: dict[tuple[int, dt.time], int] = {}
    for r in rows:
        order = {"slot": r["order.slot"], "window_start": r["order.window_start"], "window_end": r["order.window_end"]}
        _, cut = slot_of(order)
        at = (r["order.hub"], cut.cutoff)
        newest[at] = max(newest.get(at, 0), r["id"])
    leads = await leads_of(hub for hub, _ in newest)
    return [
        DueWave(hub, day, cutoff.strftime("%H:%M"), line)
        for (hub, cutoff), line in sorted(newest.items())
        if now.time() >= release_time(cutoff, leads[hub])
    ]


async def enqueue_due(now: dt.datetime) -> list[str]:
    """A ``wave_release`` job for each wave due (one per key, whoever else looks); the keys written."""
    written = []
    for wave in await due_waves(now):
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
        written = await enqueue_due(self.clock())
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
