"""asyncio helpers for the long-running loops (outbox tail, job worker, background tasks).

On Python 3.11 ``asyncio.wait_for`` can swallow a cancel that arrives as the awaited
thing completes (fixed in 3.12): a loop of ``wait_for(event.wait(), t)`` then runs on
after ``task.cancel()``, and whoever awaits the task to stop it waits forever (seen: a
test's teardown hung on a feed's tail). ``asyncio.timeout`` does not lose the cancel,
and stopping cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


async def wait_set(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` has passed; True when it was set."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object] | None], again_every_s: float = 1.0) -> None:
    """Cancel ``tasks`` and return once every one has ended, cancelling again each
    ``again_every_s`` a task that is still running (a cancel lost in library code).
    What the tasks raised is retrieved and dropped: they are being stopped."""
    pending = {t for t in tasks if t is not None}
    ended = set(pending)
    for task in pending:
        task.cancel()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=again_every_s)
        for task in pending:
            task.cancel()
    for task in ended:
        if not task.cancelled():
            with contextlib.suppress(Exception):
                task.exception()
