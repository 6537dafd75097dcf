"""The stall watch names what held the event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from backend.db.engine import WriterFigures
from backend.realtime.stall_watch import GcTimer, StallWatch


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


async def test_the_longest_delay_of_any_size_is_kept_and_logged_as_figures_on_stop(caplog) -> None:
    watch = StallWatch(threshold_ms=1000, beat_s=0.01)  # this hold stays below the threshold
    with caplog.at_level(logging.INFO, logger="laadbak.stalls"):
        await watch.start()
        await asyncio.sleep(0.03)
        hold_the_loop(0.15)
        await asyncio.sleep(0.05)
        await watch.stop()
    assert watch.count == 0  # no stall over the threshold ...
    assert watch.figures()["longest_lag_ms"] >= 100  # ... but the delay is kept
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("loop figures: longest_lag_ms=") for line in lines)


def test_garbage_collections_are_timed_and_a_long_one_is_logged_with_its_generation(caplog) -> None:
    timer = GcTimer(threshold_ms=0)  # every collection is "long"
    timer.start()
    try:
        gc.collect(1)
    finally:
        timer.stop()
    assert timer.collections >= 1 and timer.over >= 1
    assert timer.longest_ms > 0 and timer.longest_generation in (0, 1, 2)
    # Each pause is added to its generation's total (gc.collect(1) is a middle one).
    assert timer.ms_by_generation[1] > 0 and sum(timer.ms_by_generation) >= timer.longest_ms
    with caplog.at_level(logging.WARNING, logger="laadbak.stalls"):
        timer.log_pending()
    assert any("garbage collection of generation 1 held the loop" in r.getMessage() for r in caplog.records)
    before = timer.collections
    gc.collect(0)  # stopped: no longer called
    assert timer.collections == before


def test_the_writer_figures_keep_the_longest_hold_and_who_held_it() -> None:
    figures = WriterFigures()
    figures.record(0.02, 0.0, lambda: "short (a.py:1)")
    figures.record(0.25, 0.01, lambda: "long (b.py:2)")
    figures.record(0.05, 0.3, lambda: "middle (c.py:3)")
    assert (figures.holds, figures.slow) == (3, 1)  # one over SLOW_WRITE_S (0.1 s)
    assert figures.longest_ms == 250 and figures.longest_in == "long (b.py:2)"
    assert round(figures.longest_wait_ms) == 300
    assert "longest_hold_ms=250.0" in figures.text() and figures.text().endswith("longest_in=long (b.py:2)")
