"""The clock of ``laadbak bench replan``'s day, and how its times read.

The server plans on wall-clock time: a day's windows must lie ahead of "now",
and the day must not cross midnight during the run. The bench day starts at
the current time when that leaves enough of the day (``--clock auto``, between
07:00 and ``23:00 - day_hours``); otherwise the server process (and this one)
run on a clock shifted to 09:00 of today with ``time-machine`` (the clock then
ticks at real speed from there). The server's code is unchanged: a
``sitecustomize`` on its PYTHONPATH (:mod:`backend.shifted_clock`) starts the shift before
anything else is imported, in the server and in its solver processes alike.
``--clock real`` or ``--clock HH:MM`` choose by hand.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import time

HUB_CLOSES_S = 23 * 3600  # the demo hub's hours: 06:00-23:00
QUARTER = 15 * 60


class BenchError(Exception):
    """The bench cannot run as asked; the message says why and what to do."""


def log(message: str) -> None:
    print(f"[bench replan {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def quarter(seconds: float) -> int:
    """``seconds`` rounded up to a quarter of an hour."""
    return int(math.ceil(seconds / QUARTER) * QUARTER)


def plan_clock(mode: str, day_hours: float, now: dt.datetime) -> tuple[float, str]:
    """Seconds to add to the real clock for the bench day, and how the report says it."""
    now_s = now.hour * 3600 + now.minute * 60 + now.second
    need_s = int(day_hours * 3600) + 1800
    if mode == "real":
        return 0.0, f"real ({now:%H:%M})"
    if mode == "auto":
        if now_s >= 7 * 3600 and now_s + need_s <= HUB_CLOSES_S:
            return 0.0, f"real ({now:%H:%M})"
        target = dt.time(9, 0)
    else:
        try:
            target = dt.datetime.strptime(mode, "%H:%M").time()
        except ValueError as exc:
            raise BenchError(f"--clock takes auto, real or HH:MM, not {mode!r}") from exc
        if target.hour * 3600 + target.minute * 60 + need_s > HUB_CLOSES_S:
            raise BenchError(f"--clock {mode}: a {day_hours:g} h day from then runs past 23:00, when the hub closes")
    destination = dt.datetime.combine(now.date(), target)
    return (destination - now).total_seconds(), f"shifted to {target:%H:%M} (real {now:%H:%M})"


def check_time_machine(offset_s: float, now: dt.datetime, day_hours: float) -> None:
    if not offset_s:
        return
    try:
        import time_machine  # noqa: F401
    except ImportError as exc:
        raise BenchError(
            f"It is {now:%H:%M}: too little of today is left for a {day_hours:g} h bench day, "
            "so the bench runs the server on a clock shifted to the morning, which needs the "
            "time-machine package (.venv/bin/pip install time-machine). Or pass --clock real "
            "to try on the real clock."
        ) from exc
