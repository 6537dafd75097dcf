"""The one heartbeat ticker: it nudges the streams that have been quiet, only those."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from backend.realtime.feed.subscriber import NUDGE, Subscriber
from backend.realtime.heartbeats import Heartbeats


class _Stream:
    def __init__(self, last_sent: float) -> None:
        self.last_sent = last_sent
        self.nudged = 0

    def nudge(self) -> None:
        self.nudged += 1


def test_only_streams_quiet_for_the_interval_are_nudged() -> None:
    beats = Heartbeats(every_s=15.0)
    quiet, busy = _Stream(last_sent=100.0), _Stream(last_sent=110.0)
    beats.streams |= {quiet, busy}
    assert beats.nudge_idle(now=115.0) == 1
    assert (quiet.nudged, busy.nudged) == (1, 0)
    beats.remove(quiet)
    assert beats.nudge_idle(now=130.0) == 1
    assert (quiet.nudged, busy.nudged) == (1, 1)


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(500):  # up to 5 s on a busy machine
        if check():
            return
        await asyncio.sleep(0.01)


def test_the_ticker_runs_while_there_are_streams_and_starts_again_after() -> None:
    async def run() -> tuple[int, int, bool]:
        beats = Heartbeats(every_s=0.0, tick_s=0.01)
        first = _Stream(last_sent=0.0)
        beats.add(first)
        await _until(lambda: first.nudged >= 2)
        beats.remove(first)
        await _until(lambda: beats._task is not None and beats._task.done())
        stopped = beats._task is not None and beats._task.done()
        second = _Stream(last_sent=0.0)
        beats.add(second)
        await _until(lambda: second.nudged >= 2)
        beats.remove(second)
        return first.nudged, second.nudged, stopped

    first, second, stopped = asyncio.run(run())
    assert first >= 2 and second >= 2
    assert stopped  # no streams, no task


def test_a_nudge_wakes_an_empty_queue_once_and_never_pushes_out_a_message() -> None:
    async def run() -> list[dict[str, object]]:
        sub = Subscriber(courier_id=1, maxsize=2)
        sub.nudge()
        sub.nudge()  # already awake: not queued twice
        got = [await sub.queue.get()]
        sub.offer({"type": "event", "seq": 1})
        sub.offer({"type": "event", "seq": 2})
        sub.nudge()  # full queue: nothing lost, no error
        got += [sub.queue.get_nowait(), sub.queue.get_nowait()]
        assert sub.queue.empty() and not sub.overflowed
        return got

    got = asyncio.run(run())
    assert got[0] is NUDGE
    assert [m["seq"] for m in got[1:]] == [1, 2]
