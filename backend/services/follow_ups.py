"""The kinds of durable follow-up jobs and what each does (see backend/jobs).

- ``failed_stop`` {stopId, at}: a failed delivery's next step (pickup point,
  later try, back to the hub); written with the failed stop's own state change.
- ``replan`` {hubId, date, reason}: re-plan a hub's running day (after a failed
  stop's next step); a re-plan not applied is told on the hub stream.
- ``same_day_order`` {orderId}: a same-day order whose request died before it
  answered: planned into the running routes, or withdrawn (the request itself
  does this and settles the job; the job waits a lease long for it).
- ``replan_better`` {hubId, date, reason, planRunId}: after a quick re-plan's answer, the
  solver's re-plan, published only when it gains enough and nothing changed meanwhile.
- ``courier_behind`` {hubId, couriers}: re-plan a hub whose couriers fell behind.
- ``return_pickup`` {hubId, date}: a return's pickup stop at the customer's door; the
  day is re-planned when it has routes (else the day's plan takes the stop).
- ``locker_drop_retry`` {stopId}: a shop drop's pickup stop at a locker failed: the drop is
  collected and delivered the next evening (services/locker_retry.py).
- ``wave_release`` {hubId, date, cutoff}: a wave whose release time has come, released
  by nobody (written by services/wave_release.py's WaveReleaser); nothing when it was
  released meanwhile.
- ``checkout_holds_expired`` {hubId}: remove the hub's check-out holds that expired
  without an order (they stopped counting when they expired; this only tidies).
"""

from __future__ import annotations

import datetime as dt

from backend.crashpoints import crash_point
from backend.jobs import JobContext, handler
from backend.services.checkout import drop_expired_holds
from backend.services.context import context_of
from backend.services.disruptions import after_failed_stop, courier_behind, plan_in_same_day_order
from backend.services.locker_retry import retry_next_evening
from backend.services.replanning import announce_if_not_applied, improve_hub, replan_hub
from backend.services.returns_portal import plan_in_return_pickup
from backend.services.wave_release import release_job


def _now(job: JobContext) -> dt.datetime:
    """The app's clock (the context's), as the requests that wrote the job read it."""
    return context_of(job.state).now()


@handler("failed_stop")
async def failed_stop(job: JobContext) -> None:
    crash_point("fail.answered")  # tests: the answer went out, the next step had not started
    # Planned from now, not from when it failed: resumed after a restart, the earlier hours are gone.
    now = max(_now(job), dt.datetime.fromisoformat(job.payload["at"]))
    await after_failed_stop(context_of(job.state), job.payload["stopId"], now, replan_later=True)


@handler("replan")
async def replan(job: JobContext) -> None:
    p = job.payload
    day = dt.date.fromisoformat(p["date"])
    now = max(_now(job), dt.datetime.combine(day, dt.time()))
    result = await replan_hub(context_of(job.state), p["hubId"], day, now, reason=p["reason"])
    await announce_if_not_applied(p["hubId"], day, result, now)


@handler("replan_better")
async def replan_better(job: JobContext) -> None:
    p = job.payload
    day = dt.date.fromisoformat(p["date"])
    now = max(_now(job), dt.datetime.combine(day, dt.time()))
    await improve_hub(context_of(job.state), p["hubId"], day, now, reason=p["reason"], after_run=p["planRunId"])


@handler("courier_behind")
async def behind(job: JobContext) -> None:
    p = job.payload
    await courier_behind(context_of(job.state), p["hubId"], set(p["couriers"]), _now(job))


@handler("same_day_order")
async def same_day_order(job: JobContext) -> None:
    now = max(_now(job), dt.datetime.fromisoformat(job.payload["at"]))
    await plan_in_same_day_order(context_of(job.state), job.payload["orderId"], now)


@handler("return_pickup")
async def return_pickup(job: JobContext) -> None:
    p = job.payload
    await plan_in_return_pickup(context_of(job.state), p["hubId"], dt.date.fromisoformat(p["date"]), _now(job))


@handler("checkout_holds_expired")
async def checkout_holds_expired(job: JobContext) -> None:
    await drop_expired_holds(job.payload["hubId"], _now(job))


@handler("locker_drop_retry")
async def locker_drop_retry(job: JobContext) -> None:
    await retry_next_evening(job.payload["stopId"], _now(job))


@handler("wave_release")
async def wave_release(job: JobContext) -> None:
    p = job.payload
    # The hub's clock (the context's): the wave's batches and movements are stamped with it.
    await release_job(p["hubId"], dt.date.fromisoformat(p["date"]), p["cutoff"], _now(job))
