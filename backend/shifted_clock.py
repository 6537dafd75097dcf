"""A process (and the Python processes it starts) on a clock moved by a fixed offset.

The server plans on wall-clock time: windows must lie ahead of "now" and a day
must not cross midnight. The replan bench and the test suite therefore run on a
clock shifted to a chosen time of day (``time-machine``, ticking at real speed
from there). The server's code is unchanged: a ``sitecustomize`` first on the
PYTHONPATH of every child process starts the same shift before anything else is
imported, in servers and their solver processes alike.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

CLOCK_ENV = "LAADBAK_CLOCK_OFFSET_S"
SITECUSTOMIZE = f"""\
# Written by Laadbak's shifted clock (backend/shifted_clock.py): this process runs on a moved clock.
import os as _os

_offset = _os.environ.get("{CLOCK_ENV}")
if _offset:
    import time as _time

    import time_machine as _time_machine

    _time_machine.travel(_time.time() + float(_offset), tick=True).start()
"""


def clock_env(offset_s: float, directory: Path) -> dict[str, str]:
    """Environment for child processes on a clock ``offset_s`` away from this process's: a
    ``sitecustomize`` written into ``directory``, first on their PYTHONPATH. Nothing when
    ``offset_s`` is 0 (they inherit this process's clock). A process that runs shifted itself
    (``CLOCK_ENV`` set: a test suite's, or a bench's server) adds its own offset, since the
    children's shift is taken from the real clock."""
    if not offset_s:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, CLOCK_ENV: str(offset_s + float(os.environ.get(CLOCK_ENV) or 0))}


def start_shift(offset_s: float) -> object | None:
    """This process on the moved clock from now on; the traveller (``.stop()`` ends it)."""
    if not offset_s:
        return None
    import time_machine

    traveller = time_machine.travel(time.time() + offset_s, tick=True)
    traveller.start()
    return traveller


@contextlib.contextmanager
def shifted_clock(offset_s: float) -> Iterator[None]:
    """This process on the moved clock for the block."""
    traveller = start_shift(offset_s)
    try:
        yield
    finally:
        if traveller is not None:
            traveller.stop()  # type: ignore[attr-defined]
