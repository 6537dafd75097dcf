"""The suite's clock (tests/conftest.py): one moved clock for the test process and its children."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from backend.shifted_clock import CLOCK_ENV
from tests.conftest import suite_clock_offset


def test_the_offset_lands_on_this_weeks_wednesday_at_the_chosen_time() -> None:
    saturday_night = dt.datetime(2026, 12, 5, 0, 49, 10)
    offset = suite_clock_offset("09:30", saturday_night)
    assert saturday_night + dt.timedelta(seconds=offset) == dt.datetime(2026, 12, 2, 9, 30)
    monday = dt.datetime(2026, 11, 30, 23, 55)
    assert monday + dt.timedelta(seconds=suite_clock_offset("07:15", monday)) == dt.datetime(2026, 12, 2, 7, 15)
    assert suite_clock_offset("real", monday) == 0.0
    with pytest.raises(pytest.UsageError, match="real or HH:MM"):
        suite_clock_offset("half past nine", monday)


def test_a_child_process_reads_the_same_clock_as_the_suite() -> None:
    if CLOCK_ENV not in os.environ:
        pytest.skip("the suite runs on the real clock (LAADBAK_TEST_CLOCK=real)")
    here = dt.datetime.now()
    there = _child_now()
    assert abs((there - here).total_seconds()) < 30, (here, there)
    assert here.weekday() == 2  # the suite's Wednesday, whatever day it really is


def test_the_service_contexts_default_clock_follows_a_moved_process_clock() -> None:
    """``Context.clock`` defaults to ``datetime.now`` bound at import; time-machine moves that
    bound function too, so a server on the suite's (or a live test's) moved clock has its
    context, and every action timed by ``ctx.now()``, on the same clock."""
    import time_machine

    from backend.services.context import Context

    ctx = Context(geo=None, settings=None)  # type: ignore[arg-type]  # only the clock is read
    moved = dt.datetime(2026, 12, 2, 11, 45)
    with time_machine.travel(moved, tick=False):
        assert ctx.now() == moved == dt.datetime.now()
    assert ctx.now() != moved


def test_a_child_moved_further_reads_this_process_clock_plus_the_offset(tmp_path) -> None:
    """A bench's server on a clock of its own (``clock_env``), started from a process that
    itself runs moved (the suite): its shift is taken from the real clock, so both add up."""
    from backend.shifted_clock import clock_env

    offset = 3 * 3600.0
    here = dt.datetime.now()
    there = _child_now({**os.environ, **clock_env(offset, tmp_path / "clock")})
    assert abs((there - here).total_seconds() - offset) < 30, (here, there)
    assert clock_env(0.0, tmp_path / "same") == {}  # no offset: the children inherit this clock


def _child_now(env: dict[str, str] | None = None) -> dt.datetime:
    """What ``datetime.now()`` reads in a child Python process (with ``env``, else ours)."""
    out = subprocess.run(
        [sys.executable, "-c", "import datetime; print(datetime.datetime.now().isoformat())"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return dt.datetime.fromisoformat(out.stdout.strip())
