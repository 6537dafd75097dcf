"""What the use cases need from the running process, as one argument.

The street map, the solver pool, the settings, the couriers' last known places,
the live feed and the clock: built once at start-up (backend/app.py) and handed
to every controller by Litestar's dependency injection (``ctx``), to jobs and
to the background tasks. Tests build one with only what they need.

This is the one module of ``backend/services`` that knows Litestar (the
application's ``State``, where start-up keeps the context).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

from litestar.datastructures import State

from backend.realtime.feed import Feed
from backend.realtime.push import PushSender
from backend.realtime.push_endpoint import PushEndpoints
from backend.services.geo import Geo
from backend.settings import Settings

Places = dict[int, tuple[float, float]]  # courier id -> last known (lat, lon)


class Positions(Protocol):
    """Where the couriers are (backend/realtime/positions.py's store)."""

    def places(self) -> Places: ...

    def last(self, courier_id: int) -> dict[str, Any] | None: ...


# Litestar (through msgspec) resolves this class's annotations at run time, so every
# name in them is imported for real.
@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    geo: Geo
    settings: Settings
    pool: Executor | None = None  # None: solves run in a thread (tests, small tools)
    positions: Positions | None = None  # where the couriers are now; None: nobody known
    feed: Feed | None = None  # the live feed (backend/realtime/feed), when the process has one
    push: PushSender | None = None  # the web push sender (backend/realtime/push.py): its endpoint checks
    push_key: str = ""  # the VAPID public key browsers subscribe with
    clock: Callable[[], dt.datetime] = dt.datetime.now

    def now(self) -> dt.datetime:
        return self.clock()

    def places(self) -> Places:
        """Courier id -> last known place, as of now."""
        return self.positions.places() if self.positions is not None else {}

    def push_endpoints(self) -> PushEndpoints:
        """The check every push endpoint passes before it is kept or sent to."""
        if self.push is None:
            raise RuntimeError("This process was started without a push sender.")
        return self.push.endpoints

    @property
    def replan_time_limit_s(self) -> float:
        return self.settings.replan_time_limit_s

    @property
    def plan_time_limit_s(self) -> float:
        return self.settings.plan_time_limit_s


def context_of(state: State) -> Context:
    """The context start-up kept on the application's state (a job's or a task's way in)."""
    ctx = state.get("context")
    if not isinstance(ctx, Context):
        raise RuntimeError("The service context is made at start-up; the app has not started.")
    return ctx


async def provide_context(state: State) -> Context:
    """Litestar dependency ``ctx``."""
    return context_of(state)
