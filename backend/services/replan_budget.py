"""How long a live re-plan's solver may run.

The re-plan limit (``LAADBAK_REPLAN_TIME_LIMIT``) covers the whole re-plan, reading to
saving: the phone waits for all of it. The solver gets what is left of it when it
starts (after the reading and a quick answer that did not do), less a reserve for
what comes after it: handing the result back, the schedule from now, the checker and
the save. That reserve is learnt from the last re-plans of this process (it grows on a
busy machine), never below SAVE_RESERVE_S nor above MAX_RESERVE_S; the solver always
gets MIN_SOLVE_S (a warm start of the focused couriers needs that).
"""

from __future__ import annotations

import threading
import time

SAVE_RESERVE_S = 0.12
MAX_RESERVE_S = 0.4
MIN_SOLVE_S = 0.25
MARGIN = 1.25  # the reserve: this much more than the recent time after a solve
WEIGHT = 0.3  # of the newest re-plan in the running estimate


class Budget:
    """The running estimate of the seconds from a solver's answer to the saved re-plan."""

    def __init__(self) -> None:
        self._after_s = SAVE_RESERVE_S / MARGIN  # the floor until re-plans say otherwise
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            return min(MAX_RESERVE_S, max(SAVE_RESERVE_S, MARGIN * self._after_s))

    def solve_limit(self, started: float, time_limit_s: float) -> float:
        """Seconds for a solver starting now, in a re-plan ``started`` (perf_counter) with this limit."""
        left = time_limit_s - (time.perf_counter() - started) - self.reserve()
        return max(MIN_SOLVE_S, left)

    def learn(self, after_s: float) -> None:
        """A re-plan took ``after_s`` from its solver's answer to its save's commit."""
        with self._lock:
            self._after_s += WEIGHT * (max(0.0, after_s) - self._after_s)


BUDGET = Budget()  # per process: the machine it runs on is what the estimate learns
