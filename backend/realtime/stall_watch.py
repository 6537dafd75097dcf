"""A watchdog that names what holds the event loop: every socket waits while it is held.

A thread checks a heartbeat that a task on the loop renews every ``beat_s``. When the
heartbeat is older than the threshold, the loop is held (a long synchronous step, or
another thread keeping the GIL); the watchdog logs, once per stall, the loop thread's
stack and the stacks of other busy threads at that moment, and when the stall ends how
long it lasted. Off unless LAADBAK_STALL_LOG_MS is set (the benches set it).

A stall the collector causes shows the loop at whatever line happened to allocate: so
the watch also times every garbage collection (``gc.callbacks``) and logs those over
the threshold with their generation, and it keeps the longest heartbeat delay of any
size. On stop it logs one line of figures (``loop figures: ...``) that the benches read:
the longest delay, the stalls over the threshold, the longest collection.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import sys
import threading
import time
import traceback
from types import FrameType

log = logging.getLogger("laadbak.stalls")

# Frames of these files are how a thread waits, not what it does.
_WAITING = ("threading.py", "selectors.py", "queue.py", "thread.py", "_connection_worker_thread")


def _where(frame: FrameType, depth: int = 3) -> str:
    """A stack in one line, innermost first: its ``depth`` innermost frames, then the
    innermost ``depth`` of the project's own (where the time was asked for)."""
    frames = traceback.extract_stack(frame)
    inner = frames[-depth:]
    ours = [f for f in frames[:-depth] if "/backend/" in f.filename][-depth:]
    return " < ".join(f"{f.name} ({f.filename.rsplit('/', 2)[-1]}:{f.lineno})" for f in reversed(ours + inner))


class StallWatch:
    """Start on the loop with :meth:`start`; :meth:`stop` logs the longest stall seen."""

    def __init__(self, threshold_ms: float, beat_s: float = 0.02) -> None:
        self.threshold_s = threshold_ms / 1000
        self.beat_s = beat_s
        self.longest_ms = 0.0
        self.count = 0
        self.longest_lag_ms = 0.0  # the heartbeat's longest delay, whatever its size
        self.gc = GcTimer(threshold_ms)
        self._beat = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop_thread = threading.get_ident()

    async def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._task = asyncio.create_task(self._heart(), name="stall-watch heartbeat")
        self._thread = threading.Thread(target=self._watch, name="stall-watch", daemon=True)
        self._thread.start()
        self.gc.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
        if self._thread is not None:
            self._thread.join(timeout=1)
        self.gc.stop()
        self.gc.log_pending()
        if self.count:
            log.warning(
                "event loop stalls over %.0f ms: %d, longest %.0f ms",
                self.threshold_s * 1000,
                self.count,
                self.longest_ms,
            )
        log.info("loop figures: %s", self.figures_text())

    def figures(self) -> dict[str, float | int]:
        """What the watch saw: the longest heartbeat delay, the stalls over the threshold,
        the collector's longest pause and how many were over the threshold."""
        return {
            "longest_lag_ms": round(self.longest_lag_ms, 1),
            "stalls": self.count,
            "longest_stall_ms": round(self.longest_ms, 1),
            "longest_gc_ms": round(self.gc.longest_ms, 1),
            "longest_gc_generation": self.gc.longest_generation,
            "gc_over_threshold": self.gc.over,
            "gc_collections": self.gc.collections,
            "gc_over_20_ms": self.gc.over_20,
            "gc_young_ms": round(self.gc.ms_by_generation[0]),
            "gc_middle_ms": round(self.gc.ms_by_generation[1]),
            "gc_full_ms": round(self.gc.ms_by_generation[2]),
        }

    def figures_text(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.figures().items())

    async def _heart(self) -> None:
        while True:
            now = time.monotonic()
            self.longest_lag_ms = max(self.longest_lag_ms, (now - self._beat - self.beat_s) * 1000)
            self._beat = now
            await asyncio.sleep(self.beat_s)

    def _watch(self) -> None:
        stalled_since: float | None = None
        while not self._stop.wait(self.beat_s):
            self.gc.log_pending()
            beat = self._beat
            held = time.monotonic() - beat
            if held > self.threshold_s and stalled_since != beat:
                stalled_since = beat
                self._report_start(held)
            elif stalled_since is not None and beat != stalled_since:
                ms = (beat - stalled_since) * 1000 + self.beat_s * 1000
                self.count += 1
                self.longest_ms = max(self.longest_ms, ms)
                log.warning("event loop stall ended after about %.0f ms", ms)
                stalled_since = None

    def _report_start(self, held_s: float) -> None:
        frames = sys._current_frames()
        loop_frame = frames.get(self._loop_thread)
        others = []
        for ident, frame in frames.items():
            if ident in (self._loop_thread, threading.get_ident()):
                continue
            where = _where(frame, 4)
            if not any(w in where.split(" < ")[0] for w in _WAITING):
                others.append(where)
        log.warning(
            "event loop held %.0f ms so far, at: %s; other busy threads: %s",
            held_s * 1000,
            _where(loop_frame) if loop_frame is not None else "?",
            " | ".join(others) or "none",
        )


class GcTimer:
    """Times every garbage collection through ``gc.callbacks``: the longest pause (and its
    generation), how many; a pause over ``threshold_ms`` is queued and logged by
    :meth:`log_pending` (not from inside the collector)."""

    def __init__(self, threshold_ms: float) -> None:
        self.threshold_ms = threshold_ms
        self.longest_ms = 0.0
        self.longest_generation = -1
        self.collections = 0
        self.over = 0
        self.over_20 = 0
        self.ms_by_generation = [0.0, 0.0, 0.0]  # young, middle, full: every pause added up
        self._t0 = self._cpu0 = 0.0
        self._pending: collections.deque[tuple[int, float, float, int, tuple[int, int]]] = collections.deque(maxlen=100)

    def start(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def stop(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0, self._cpu0 = time.perf_counter(), time.thread_time()
            return
        ms = (time.perf_counter() - self._t0) * 1000
        self.collections += 1
        generation = info.get("generation", -1)
        if 0 <= generation <= 2:
            self.ms_by_generation[generation] += ms
        self.over_20 += ms > 20
        if ms > self.longest_ms:
            self.longest_ms, self.longest_generation = ms, info.get("generation", -1)
        if ms > self.threshold_ms:
            self.over += 1
            cpu_ms = (time.thread_time() - self._cpu0) * 1000  # the rest of the pause: waiting for a core
            # What the collector will walk next time (young, middle): a large middle
            # generation of live objects is what makes young collections long.
            sizes = (len(gc.get_objects(generation=0)), len(gc.get_objects(generation=1)))
            self._pending.append((info.get("generation", -1), ms, cpu_ms, info.get("collected", 0), sizes))

    def log_pending(self) -> None:
        while self._pending:
            generation, ms, cpu_ms, collected, (young, middle) = self._pending.popleft()
            log.warning(
                "garbage collection of generation %d held the loop %.0f ms (%.0f ms of CPU; %d objects freed; "
                "%d young and %d middle-generation objects after it)",
                generation,
                ms,
                cpu_ms,
                collected,
                young,
                middle,
            )
