"""One way to run a service's loop in the background and stop it cleanly."""

from __future__ import annotations

import asyncio

from backend.aio import cancel_and_wait


class Background:
    """Subclasses implement ``_run``; ``start`` and ``stop`` manage its task."""

    task_name = "background"
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        self._task = None
