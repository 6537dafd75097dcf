"""Saving a worked-out re-plan: a new version of each changed route, its plan run and events.

Split from :mod:`backend.services.replanning` (which works the re-plan out): one transaction
writes the run, the stops' states and history, the changed routes (with ``route.updated``
for each courier) and ``plan.replanned``; a quick answer also queues its search for a
better plan (``replan_better``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from backend.crashpoints import crash_point
from backend.db.engine import transaction
from backend.dispatch import alerts as alert_rules
from backend.dispatch.calendar import at
from backend.dispatch.model import Unplanned
from backend.dispatch.progress import DONE
from backend.dispatch.replan import ReplanResult
from backend.jobs import queue as jobs
from backend.realtime.outbox import emit
from backend.services import route_store
from backend.services.alerts import raise_alerts
from backend.services.courier import route_view
from backend.services.day import DayInput

# a quick answer's better plan: looked for this long after it (a burst of changes makes one search)
BETTER_AFTER_S = 1.5


def _shift_of_route(route: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"id": route["shift"], "courier": route["courier"]} if route else None


async def save_replan(
    hub_id: int,
    day: dt.date,
    reason: str,
    time_limit_s: float,
    day_input: DayInput,
    result: ReplanResult,
    routes: list[dict[str, Any]],
    violations: int,
    total_s: float,
    *,
    by_user: int | None = None,
    by_hand: frozenset[int] = frozenset(),
    now: dt.datetime | None = None,
    phases: dict[str, float] | None = None,
    search_after: bool = False,
) -> dict[str, Any]:
    saving = time.perf_counter()
    plan = result.plan
    by_vehicle = {r.vehicle_id: r for r in plan.routes}
    old_by_vehicle = {f"shift-{r['shift']}": r for r in routes}
    changed = set(result.changed)
    unplanned = [*day_input.pre_unplanned, *plan.unplanned]
    changed_couriers: list[int] = []
    figures = _figures(reason, result, len(unplanned), violations, total_s, changed_couriers)
    # Couriers taken off the road keep their history; their open stops are gone from them.
    on_duty = {v.id for v in day_input.problem.vehicles}
    for vid, old in old_by_vehicle.items():
        if vid not in on_duty and any(
            str(s["stop_id"]) in day_input.stops and day_input.stops[str(s["stop_id"])]["status"] not in DONE
            for s in old["stops"]
        ):
            changed.add(vid)
    async with transaction():
        await route_store.check_in_force(hub_id, day, routes)
        run_id = await route_store.add_run(
            hub_id,
            day,
            violations=violations,
            time_limit_s=time_limit_s,
            inputs={
                "replan": True,
                "reason": reason,
                "stops": len(day_input.problem.stops),
                "vehicles": len(day_input.problem.vehicles),
            },
            figures=figures,
            # what the desk shows as the reason a stop is not on a route (backend/services/desk.py)
            unplanned=[{"stopId": int(u.stop_id), "reason": u.reason, "detail": u.detail} for u in unplanned],
        )
        await route_store.mark_stops(
            [int(ps.stop_id) for r in plan.routes for ps in r.stops],
            [int(u.stop_id) for u in unplanned],
            only_open=True,
            detail=f"Re-plan ({reason})",
            details=route_store.whose_routes(plan, day_input.shifts) | {int(u.stop_id): u.detail for u in unplanned},
            by_user=by_user,
            at=now,
        )
        await route_store.record_moves(
            routes, plan, day_input.shifts, f"Re-plan ({reason})", by_user=by_user, by_hand=by_hand, at=now
        )
        if by_user is None:  # a person who changed the day sees what their answer left out
            await _alert_left_off(hub_id, day, run_id, reason, day_input, unplanned, now)
        for vid in sorted(changed):
            shift = day_input.shifts.get(vid) or _shift_of_route(old_by_vehicle.get(vid))
            if shift is None:
                continue
            old_route = old_by_vehicle.get(vid)
            kept = [
                s
                for s in (old_route["stops"] if old_route else [])
                if str(s["stop_id"]) not in day_input.stops or day_input.stops[str(s["stop_id"])]["status"] in DONE
            ]  # history stays on the route
            new_route = by_vehicle.get(vid)
            offset = _loop_offset(old_route, new_route, kept)
            planned = route_store.stop_records(new_route, day_input.stops, day, offset) if new_route else []
            before = {s["stop_id"] for s in (old_route["stops"] if old_route else [])}
            after = {s["stop_id"] for s in planned} | {s["stop_id"] for s in kept}
            if old_route is not None:
                await route_store.retire(old_route["id"])
            written = await route_store.add_version(
                {
                    "plan_run": run_id,
                    "hub": hub_id,
                    "courier": shift["courier"],
                    "shift": shift["id"],
                    "plan_date": day,
                    "version": (old_route["version"] if old_route else 0) + 1,
                    "current": True,
                    "start": old_route["start"] if old_route else at(day, new_route.start_s if new_route else 0),
                    "end": at(day, new_route.end_s) if new_route else (old_route["end"] if old_route else at(day, 0)),
                    "distance_m": new_route.distance_m if new_route else 0,
                    "duration_s": new_route.duration_s if new_route else 0,
                    "stops": kept + planned,
                    "reloads": route_store.reload_records(new_route, day, offset) if new_route else [],
                }
            )
            crash_point("replan.mid")  # tests: a route of the re-plan written, none of it committed
            view = await route_view(written)
            view["change"] = {"reason": reason, "added": sorted(after - before), "removed": sorted(before - after)}
            await emit("route.updated", view, courier_id=shift["courier"], hub_id=hub_id)
            changed_couriers.append(shift["courier"])
        # where the time went (docs/performance.md, "Re-planning"): the save up to here included
        figures["phases"] = {
            k: round(v, 3) for k, v in {**(phases or {}), "save": time.perf_counter() - saving}.items()
        }
        await route_store.set_run_figures(run_id, figures)
        await emit("plan.replanned", {"planRunId": run_id, "date": day.isoformat(), "figures": figures}, hub_id=hub_id)
        if plan.status == "quick" or search_after:  # the solver may find better after the answer
            await _search_after(hub_id, day, reason, run_id)
    return {
        "planRunId": run_id,
        "applied": True,
        **figures,
        "unplannedStops": [{"stopId": int(u.stop_id), "reason": u.reason, "detail": u.detail} for u in unplanned],
    }


async def _alert_left_off(
    hub_id: int,
    day: dt.date,
    run_id: int,
    reason: str,
    day_input: DayInput,
    unplanned: list[Unplanned],
    now: dt.datetime | None,
) -> None:
    """A ``stops_unplanned`` alert for the stops this re-plan took off every route (those that
    were not unplanned before it), in its transaction: the desk lists them, but nobody is
    told otherwise, and a customer's parcel would wait for a dispatcher who happened to look."""
    left = [
        (int(u.stop_id), u.reason)
        for u in unplanned
        if (day_input.stops.get(u.stop_id) or {}).get("status", "unplanned") != "unplanned"
    ]
    if left:
        raised_at = now or dt.datetime.now()
        await raise_alerts(hub_id, day, [alert_rules.stops_unplanned(run_id, reason, left)], raised_at)


async def _search_after(hub_id: int, day: dt.date, reason: str, run_id: int) -> None:
    """Inside the quick answer's save: the ``replan_better`` job (:func:`improve_hub`)."""
    await jobs.enqueue(
        "replan_better",
        f"replan_better:{run_id}",
        {"hubId": hub_id, "date": day.isoformat(), "reason": reason, "planRunId": run_id},
        run_after=dt.datetime.now() + dt.timedelta(seconds=BETTER_AFTER_S),
    )


def _figures(
    reason: str, result: ReplanResult, unplanned: int, violations: int, total_s: float, changed_couriers: list[int]
) -> dict[str, Any]:
    """The plan run's figures of a re-plan (``changed_couriers`` filled in as the routes are written)."""
    return {
        "reason": reason,
        "changedCouriers": changed_couriers,
        "unplanned": unplanned,
        "violations": violations,
        "solveS": round(result.plan.solve_s, 3),
        "totalS": round(total_s, 3),
        "keptOrder": len(result.kept_order),
        "quick": result.plan.status == "quick",
    }


def _loop_offset(old_route: dict[str, Any] | None, new_route: Any, kept: list[dict[str, Any]]) -> int:
    """Loops the courier rode before the new route's first. A stop the courier had keeps its
    loop (goods on the bike stay on their loop): the first such stop sets the offset. A route
    of new stops only goes on with the loop being ridden; its own reloads, if any, count from
    there. (It used to start the loop after the last one ridden, so a day of one loop showed
    "loop 2" with no reload behind it.)"""
    if old_route is None or new_route is None or not new_route.stops:
        return 0
    before = {str(s["stop_id"]): int(s.get("loop", 1)) for s in old_route["stops"]}
    for stop in new_route.stops:
        if stop.stop_id in before:
            return max(0, before[stop.stop_id] - stop.loop)
    ridden = max((int(s.get("loop", 1)) for s in kept), default=1)
    return max(0, ridden - 1)
