"""A re-plan keeps where its time went (figures.phases), the wait for the hub's lock included."""

from __future__ import annotations

import asyncio
import datetime as dt

from backend.db.tables import PlanRun
from backend.services.day import hub_lock
from backend.services.replanning import replan_hub
from tests.api.helpers import service_ctx, tomorrow
from tests.api.test_replanning import _planned_day


async def test_a_replan_keeps_its_phases_and_how_long_it_waited_for_the_hub(client, geo) -> None:
    _, hub, _ = await _planned_day(client, geo)
    now = dt.datetime.combine(tomorrow(), dt.time(7, 0))
    holding, release = asyncio.Event(), asyncio.Event()

    async def other_replan() -> None:
        async with hub_lock(hub):
            holding.set()
            await release.wait()

    other = asyncio.create_task(other_replan())
    await holding.wait()
    mine = asyncio.create_task(replan_hub(service_ctx(client), hub, tomorrow(), now, reason="check", time_limit_s=1.0))
    await asyncio.sleep(0.3)
    assert not mine.done()  # it waits for the other re-plan of the hub
    release.set()
    await other
    result = await mine

    phases = result["phases"]
    assert phases["lock_wait"] >= 0.3
    assert {"live", "load", "matrices", "solve", "in_worker", "check", "save"} <= phases.keys()
    assert phases["in_worker"] <= phases["solve"]  # the hop to the solver's process and back is the rest
    run = await PlanRun.select(PlanRun.figures).where(PlanRun.id == result["planRunId"]).output(load_json=True).first()
    assert run is not None and run["figures"]["phases"] == phases
