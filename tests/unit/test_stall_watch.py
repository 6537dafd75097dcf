"""The stall watch names what held the event loop."""

from __future__ import annotations

import asyncio
import logging
import time

from backend.realtime.stall_watch import StallWatch


def hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # a synchronous step on the loop, as a slow handler would be


async def test_a_held_loop_is_logged_with_the_holder_and_counted(caplog) -> None:
    watch = StallWatch(threshold_ms=100, beat_s=0.01)
    with caplog.at_level(logging.WARNING, logger="laadbak.stalls"):
        await watch.start()
        await asyncio.sleep(0.05)
        hold_the_loop(0.4)
        await asyncio.sleep(0.1)  # the heartbeat again: the stall has ended
        await watch.stop()
    held = [r.getMessage() for r in caplog.records if "so far, at:" in r.getMessage()]
    assert held and "hold_the_loop" in held[0]
    assert watch.count == 1 and watch.longest_ms >= 300


async def test_a_free_loop_logs_nothing(caplog) -> None:
    watch = StallWatch(threshold_ms=1000, beat_s=0.01)  # far above any scheduling delay
    with caplog.at_level(logging.WARNING, logger="laadbak.stalls"):
        await watch.start()
        for _ in range(10):
            await asyncio.sleep(0.01)
        await watch.stop()
    assert watch.count == 0 and not caplog.records
