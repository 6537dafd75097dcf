"""Young collections on a clock: the middle generation every so many, none while a solve has
paused the collector."""

from __future__ import annotations

import asyncio
import gc

import pytest

from backend.realtime import gc_pacer
from backend.realtime.gc_pacer import GcPacer


def test_every_nth_paced_collection_is_of_the_middle_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    monkeypatch.setattr(gc_pacer.gc, "collect", lambda generation=2: asked.append(generation) or 0)
    pacer = GcPacer(every_s=1.0, middle_every=3)
    for _ in range(7):
        pacer.collect()
    assert asked == [0, 0, 1, 0, 0, 1, 0]


async def test_the_pacer_collects_on_its_clock_and_leaves_a_paused_collector_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[int] = []
    monkeypatch.setattr(gc_pacer.gc, "collect", lambda generation=2: asked.append(generation) or 0)
    pacer = GcPacer(every_s=0.01, middle_every=2)
    await pacer.start()
    try:
        await asyncio.sleep(0.2)
        assert len(asked) >= 5 and 1 in asked and 0 in asked
        gc.disable()
        try:
            seen = len(asked)
            await asyncio.sleep(0.1)
            assert len(asked) == seen  # a solve's pause (dispatch.windows.without_gc) is kept
        finally:
            gc.enable()
    finally:
        await pacer.stop()


def test_a_pace_without_a_positive_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="positive interval"):
        GcPacer(every_s=0)
    with pytest.raises(ValueError, match="middle collection every 1 or more"):
        GcPacer(middle_every=0)
