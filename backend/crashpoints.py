"""Named points where a crash test kills the server (SIGKILL), to prove that a
crash between two steps loses nothing. Inert unless LAADBAK_CRASH_AT names the
point: only the crash tests set it."""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("LAADBAK_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
