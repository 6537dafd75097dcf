"""Re-planning a hub's running day: from the routes in force, with locks, and
publishing only the routes that changed.

Reads the day as it stands (stop states, parcels on bikes, where the bikes
are), turns it into a Problem with locks (:class:`backend.services.day.LiveDay`), lets the
pure core re-plan it (:func:`backend.dispatch.replan.replan`, in the solver
pool), checks the result and writes, in one transaction, a new version of
each changed route with a ``route.updated`` event that says why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from backend.crashpoints import crash_point
from backend.db.engine import transaction
from backend.db.tables import DispatchLock, Parcel, PickupPoint, Shift, Stop
from backend.db.tables import Order as OrderRow
from backend.dispatch import failed_stop, feasibility
from backend.dispatch.calendar import (
    SLOTS,
    at,
    next_slot,
    parse_hhmm,
    same_day_open,
    seconds_of,
    windows_on,
)
from backend.dispatch.model import Window
from backend.dispatch.progress import DONE
from backend.dispatch.replan import DEFAULT_MIN_GAIN_S, ReplanResult, replan
from backend.errors import Conflict, Invalid, NotFound, Stale
from backend.jobs import queue as jobs
from backend.realtime.outbox import emit
from backend.security import pickup_code
from backend.services import orders, route_store
from backend.services.context import Context
from backend.services.courier import route_view, shift_of, shift_view
from backend.services.day import ON_BOARD, DayInput, Pending, hub_lock, live_day, load_day, periods
from backend.services.route_store import routes_in_force

log = logging.getLogger("laadbak.replan")
# A live re-plan builds the matrices of every stop left: 4,000 places are about
# 250 MB and a second of searching; a bigger hub's day is re-planned by hand.
MAX_LIVE_STOPS = 4000
# The time limit covers the whole re-plan, reading to saving: the solve gets what
# the reading left, less this for handing the result back, checking and saving it,
# and at least MIN_SOLVE_S (a warm start of the focused couriers needs that).
SAVE_RESERVE_S = 0.12
MIN_SOLVE_S = 0.25
SAVE_ATTEMPTS = 3  # a save refused as stale is worked out again from a fresh read, this often at most


async def replan_hub(ctx: Context, hub_id: int, day: dt.date, now: dt.datetime, *,
                     reason: str, time_limit_s: float | None = None, min_gain_s: int = DEFAULT_MIN_GAIN_S,
                     prepare: Callable[[], Awaitable[None]] | None = None,
                     accept: Callable[[DayInput, ReplanResult, list[Any]], Awaitable[str | None]] | None = None,
                     undo: Callable[[], Awaitable[None]] | None = None, pending: Pending | None = None,
                     write_pending: Callable[[], Awaitable[None]] | None = None) -> dict[str, Any]:
    """Re-plan what is left of the hub's day; returns what changed.

    A change that stands only with its re-plan (a dispatcher's move) comes as
    ``pending``, planned as if written, and ``write_pending`` writes it in the
    transaction that saves the routes: both or neither, whatever crashes.

    For a change that stands only if the re-plan can take it (a customer's
    redirect): ``prepare`` writes it inside the hub's lock, so no other re-plan
    sees it half-done; ``accept(day_input, result, violations)`` sees the
    checked result before anything is saved and answers None to save it, or a
    sentence that vetoes it (the answer then has ``applied: False``,
    ``vetoed: True`` and that sentence as ``detail``). When the re-plan is not
    applied for any reason, or fails, ``undo`` runs, still inside the lock.
    """
    async with hub_lock(hub_id):
        if prepare is not None:
            await prepare()  # its own refusal (e.g. a lost race) leaves nothing to undo
        try:
            for attempt in range(1, SAVE_ATTEMPTS + 1):
                try:
                    result = await _replan_hub(ctx, hub_id, day, now, reason=reason,
                                               time_limit_s=time_limit_s, min_gain_s=min_gain_s,
                                               accept=accept, pending=pending,
                                               write_pending=write_pending)
                    break
                except Stale:
                    # Someone saved routes of this hub without its lock (a plan of the day):
                    # work it out again from what is in force now.
                    log.warning("hub %s re-plan (%s): routes changed while solving (try %d of %d)", hub_id,
                                reason, attempt, SAVE_ATTEMPTS)
                    if attempt == SAVE_ATTEMPTS:
                        raise
        except BaseException:
            if undo is not None:
                await undo()
            raise
        if not result["applied"] and undo is not None:
            await undo()
        return result


async def _replan_hub(ctx: Context, hub_id: int, day: dt.date, now: dt.datetime, *,
                      reason: str, time_limit_s: float | None, min_gain_s: int,
                      accept: Callable[[DayInput, ReplanResult, list[Any]], Awaitable[str | None]] | None = None,
                      pending: Pending | None = None, write_pending: Callable[[], Awaitable[None]] | None = None
                      ) -> dict[str, Any]:
    worked = await work_out(ctx, hub_id, day, now, reason=reason, time_limit_s=time_limit_s,
                            min_gain_s=min_gain_s, accept=accept, pending=pending)
    if isinstance(worked, dict):
        return worked
    async with transaction():
        if write_pending is not None:
            await write_pending()
        return await worked.save()


class WorkedOut(msgspec.Struct, kw_only=True):
    """A re-plan solved and checked, not saved yet (see :func:`work_out`)."""

    hub_id: int
    day: dt.date
    reason: str
    time_limit_s: float
    day_input: DayInput
    result: ReplanResult
    routes: list[dict[str, Any]]  # the routes in force it was worked out from
    violations: int
    started: float  # perf_counter at the start

    def renamed(self, ids: dict[int, int]) -> WorkedOut:
        """With the pending stops' placeholder ids (below zero) replaced by the ids they were written with."""
        names = {str(old): str(new) for old, new in ids.items()}

        def name(sid: str) -> str:
            return names.get(sid, sid)

        plan = self.result.plan
        plan = msgspec.structs.replace(
            plan, routes=tuple(msgspec.structs.replace(r, stops=tuple(
                msgspec.structs.replace(ps, stop_id=name(ps.stop_id)) for ps in r.stops)) for r in plan.routes),
            unplanned=tuple(msgspec.structs.replace(u, stop_id=name(u.stop_id)) for u in plan.unplanned))
        stops = {name(sid): ({**row, "id": ids[row["id"]]} if row["id"] in ids else row)
                 for sid, row in self.day_input.stops.items()}
        pre = [msgspec.structs.replace(u, stop_id=name(u.stop_id)) for u in self.day_input.pre_unplanned]
        return msgspec.structs.replace(
            self, result=msgspec.structs.replace(self.result, plan=plan),
            day_input=msgspec.structs.replace(self.day_input, stops=stops, pre_unplanned=pre))

    async def save(self) -> dict[str, Any]:
        """Write it (in the caller's transaction, if any); Stale when the routes in force changed."""
        return await _save(self.hub_id, self.day, self.reason, self.time_limit_s, self.day_input, self.result,
                           self.routes, self.violations, time.perf_counter() - self.started)


async def work_out(ctx: Context, hub_id: int, day: dt.date, now: dt.datetime, *,
                   reason: str, time_limit_s: float | None = None, min_gain_s: int = DEFAULT_MIN_GAIN_S,
                   accept: Callable[[DayInput, ReplanResult, list[Any]], Awaitable[str | None]] | None = None,
                   pending: Pending | None = None) -> WorkedOut | dict[str, Any]:
    """Read the day (with ``pending`` as if written), solve it in the pool and check
    it; nothing is written. Answers the re-plan to save, or (a dict with ``applied:
    False``) why it is not to be applied. Run it holding :func:`hub_lock`."""
    t0 = time.perf_counter()
    time_limit_s = time_limit_s or ctx.replan_time_limit_s
    # Counted before anything is read: reading a day that big is itself the cost.
    size = await Stop.count().where((Stop.hub == hub_id) & (Stop.plan_date == day))
    if size > MAX_LIVE_STOPS:
        raise Invalid(f"Hub {hub_id}'s day has {size} stops; live re-planning takes days of up to "
                      f"{MAX_LIVE_STOPS} (its matrices would not fit a second). Split the hub's couriers over "
                      f"more hubs, or move stops by hand.")
    phases: dict[str, float] = {}
    live, routes = await live_day(hub_id, day, now, ctx.places(), pending)
    if not routes:
        raise Invalid(f"Hub {hub_id} has no routes on {day} to re-plan; plan the day first.")
    phases["live"] = time.perf_counter() - t0
    day_input = await load_day(ctx.geo, hub_id, day, live, pending)
    phases["load"] = time.perf_counter() - t0 - phases["live"]
    phases["matrices"] = day_input.matrix_s
    # A stop withdrawn since its route was made (a redirect cancels the old
    # destination) is not history: its route is rewritten without it. Known to
    # the save as a row, it is neither kept on the route nor planned again.
    off_plan = {s["stop_id"] for r in routes for s in r["stops"] if str(s["stop_id"]) not in day_input.stops}
    withdrawn = await Stop.select().where(Stop.id.is_in(sorted(off_plan) or [-1]) & (Stop.status == "cancelled"))
    if pending is not None:
        withdrawn += [row for sid, row in pending.withdrawn.items() if sid in off_plan]
    for row in withdrawn:
        day_input.stops[str(row["id"])] = row
    withdrawn_ids = {row["id"] for row in withdrawn}
    withdrawn_from = {f"shift-{r['shift']}" for r in routes if any(s["stop_id"] in withdrawn_ids for s in r["stops"])}
    in_problem = {s.id for s in day_input.problem.stops}
    in_force = {f"shift-{r['shift']}": [str(s["stop_id"]) for s in r["stops"] if str(s["stop_id"]) in in_problem]
                for r in routes}
    solve_limit = max(MIN_SOLVE_S, time_limit_s - (time.perf_counter() - t0) - SAVE_RESERVE_S)
    job = functools.partial(_timed_replan, day_input.problem, in_force, time_limit_s=solve_limit,
                            min_gain_s=min_gain_s)
    t1 = time.perf_counter()
    if ctx.pool is None:
        result, solve_phases = await asyncio.to_thread(job)
    else:
        result, solve_phases = await asyncio.get_running_loop().run_in_executor(ctx.pool, job)
    phases["solve"] = time.perf_counter() - t1
    phases.update(solve_phases)
    if withdrawn_from:
        result = msgspec.structs.replace(result, changed=result.changed | withdrawn_from)
    t1 = time.perf_counter()
    violations = feasibility.check(day_input.problem, result.plan)
    phases["check"] = time.perf_counter() - t1
    log.info("hub %s re-plan (%s): %d stops, %d couriers changed; %s", hub_id, reason,
             len(day_input.problem.stops), len(result.changed),
             ", ".join(f"{k.removeprefix('n.')} {v:.0f}" if k.startswith("n.") or k.endswith("unperformed")
                       else f"{k} {v * 1000:.0f} ms" for k, v in phases.items()))
    on_duty = {v.id for v in day_input.problem.vehicles}
    dropped = {u.stop_id for u in result.plan.unplanned}
    lost = sorted(int(sid) for vid, ids in in_force.items() if vid in on_duty for sid in ids if sid in dropped)
    if lost:
        # A re-plan within a second can do worse than the routes in force (when
        # the warm start is refused, it starts cold). Stops that were on a
        # working courier's route are never taken off by it: the routes stay.
        return {"planRunId": None, "reason": reason, "applied": False, "changedCouriers": [], "keptOrder": 0,
                "unplanned": len(dropped), "violations": len(violations), "solveS": round(result.plan.solve_s, 3),
                "totalS": round(time.perf_counter() - t0, 3),
                "detail": f"The re-plan would take {len(lost)} planned stop(s) off their routes; routes kept.",
                "unplannedStops": [{"stopId": int(u.stop_id), "reason": u.reason, "detail": u.detail}
                                   for u in result.plan.unplanned]}
    veto = await accept(day_input, result, violations) if accept is not None else None
    if veto is not None:
        return {"planRunId": None, "reason": reason, "applied": False, "vetoed": True, "changedCouriers": [],
                "keptOrder": 0, "unplanned": len(result.plan.unplanned), "violations": len(violations),
                "solveS": round(result.plan.solve_s, 3), "totalS": round(time.perf_counter() - t0, 3),
                "detail": veto,
                "unplannedStops": [{"stopId": int(u.stop_id), "reason": u.reason, "detail": u.detail}
                                   for u in (*day_input.pre_unplanned, *result.plan.unplanned)]}
    return WorkedOut(hub_id=hub_id, day=day, reason=reason, time_limit_s=time_limit_s, day_input=day_input,
                     result=result, routes=routes, violations=len(violations), started=t0)


def _timed_replan(problem: Any, in_force: dict[str, list[str]], *, time_limit_s: float,
                  min_gain_s: int) -> tuple[ReplanResult, dict[str, float]]:
    # runs in the solver pool: its phase timings travel back with the result
    timings: dict[str, float] = {}
    result = replan(problem, in_force, time_limit_s=time_limit_s, min_gain_s=min_gain_s, timings=timings)
    return result, timings


def _shift_of_route(route: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"id": route["shift"], "courier": route["courier"]} if route else None


async def _save(hub_id: int, day: dt.date, reason: str, time_limit_s: float, day_input: DayInput,
                result: ReplanResult, routes: list[dict[str, Any]], violations: int, total_s: float
                ) -> dict[str, Any]:
    plan = result.plan
    by_vehicle = {r.vehicle_id: r for r in plan.routes}
    old_by_vehicle = {f"shift-{r['shift']}": r for r in routes}
    changed = set(result.changed)
    unplanned = [*day_input.pre_unplanned, *plan.unplanned]
    figures = {"reason": reason, "changedCouriers": [], "unplanned": len(unplanned), "violations": violations,
               "solveS": round(plan.solve_s, 3), "totalS": round(total_s, 3), "keptOrder": len(result.kept_order)}
    # Couriers taken off the road keep their history; their open stops are gone from them.
    on_duty = {v.id for v in day_input.problem.vehicles}
    for vid, old in old_by_vehicle.items():
        if vid not in on_duty and any(str(s["stop_id"]) in day_input.stops
                                      and day_input.stops[str(s["stop_id"])]["status"] not in DONE
                                      for s in old["stops"]):
            changed.add(vid)
    async with transaction():
        await route_store.check_in_force(hub_id, day, routes)
        run_id = await route_store.add_run(
            hub_id, day, violations=violations, time_limit_s=time_limit_s,
            inputs={"replan": True, "reason": reason, "stops": len(day_input.problem.stops),
                    "vehicles": len(day_input.problem.vehicles)},
            figures=figures, unplanned=[])
        await route_store.mark_stops([int(ps.stop_id) for r in plan.routes for ps in r.stops],
                                     [int(u.stop_id) for u in unplanned], only_open=True)
        for vid in sorted(changed):
            shift = day_input.shifts.get(vid) or _shift_of_route(old_by_vehicle.get(vid))
            if shift is None:
                continue
            old = old_by_vehicle.get(vid)
            kept = [s for s in (old["stops"] if old else []) if str(s["stop_id"]) not in day_input.stops
                    or day_input.stops[str(s["stop_id"])]["status"] in DONE]  # history stays on the route
            new_route = by_vehicle.get(vid)
            planned = route_store.stop_records(new_route, day_input.stops, day) if new_route is not None else []
            before = {s["stop_id"] for s in (old["stops"] if old else [])}
            after = {s["stop_id"] for s in planned} | {s["stop_id"] for s in kept}
            if old is not None:
                await route_store.retire(old["id"])
            written = await route_store.add_version({
                "plan_run": run_id, "hub": hub_id, "courier": shift["courier"], "shift": shift["id"],
                "plan_date": day, "version": (old["version"] if old else 0) + 1, "current": True,
                "start": old["start"] if old else at(day, new_route.start_s if new_route else 0),
                "end": at(day, new_route.end_s) if new_route else (old["end"] if old else at(day, 0)),
                "distance_m": new_route.distance_m if new_route else 0,
                "duration_s": new_route.duration_s if new_route else 0,
                "stops": kept + planned,
            })
            crash_point("replan.mid")  # tests: a route of the re-plan written, none of it committed
            view = await route_view(written)
            view["change"] = {"reason": reason, "added": sorted(after - before), "removed": sorted(before - after)}
            await emit("route.updated", view, courier_id=shift["courier"], hub_id=hub_id)
            figures["changedCouriers"].append(shift["courier"])
        await route_store.set_run_figures(run_id, figures)
        await emit("plan.replanned", {"planRunId": run_id, "date": day.isoformat(), "figures": figures},
                   hub_id=hub_id)
    return {"planRunId": run_id, "applied": True, **figures,
            "unplannedStops": [{"stopId": int(u.stop_id), "reason": u.reason, "detail": u.detail}
                               for u in unplanned]}


async def take_same_day_order(ctx: Context, data: Any, now: dt.datetime, *,
                              time_limit_s: float | None = None
                              ) -> tuple[int, dict[str, Any] | None]:
    """An order for a day already on the road: checked against its cut-off, written,
    and planned into the running routes, or refused with the next possible slot.

    Returns the order id and the re-plan (None when the day has no routes yet:
    the order waits for the day's planning like any other).
    """
    day = now.date()
    prepared = await orders.prepare(data, ctx.geo, day)
    end_s = parse_hhmm(prepared.window[1])
    if not same_day_open(end_s, seconds_of(now, day)):
        raise Conflict(_too_late(f"its window ends at {prepared.window[1]}", now, day), code="same_day_cutoff",
                       nextSlot=_next_slot_json(now, day))
    routed = bool(await routes_in_force(data.hub_id, day))
    async with transaction():
        order_id = await orders.write(prepared)
        key = f"same_day_order:{order_id}"
        if routed:  # a crash before this request answers leaves the order to a job: planned in, or withdrawn
            await jobs.enqueue("same_day_order", key, {"orderId": order_id, "at": now.isoformat()},
                               run_after=now + dt.timedelta(seconds=jobs.LEASE_S))
    if not routed:
        return order_id, None
    planned, result, why = await plan_in_same_day_order(ctx, order_id, now, time_limit_s=time_limit_s, job_key=key)
    if planned:
        return order_id, result
    raise Conflict(_too_late(why, now, day, end_s), code="same_day_full", nextSlot=_next_slot_json(now, day, end_s))


async def plan_in_same_day_order(ctx: Context, order_id: int, now: dt.datetime, *,
                                 time_limit_s: float | None = None,
                                 job_key: str | None = None) -> tuple[bool, dict[str, Any] | None, str]:
    """Re-plan a same-day order into the running routes, or withdraw it whole when it
    does not fit; its ``same_day_order`` job is done with the withdrawal or after the
    re-plan. Returns (planned, the re-plan, why not)."""
    order = await OrderRow.select(OrderRow.hub, OrderRow.reference).where(OrderRow.id == order_id).first()
    if order is None:
        return False, None, "the order was withdrawn"
    day = now.date()
    result = await replan_hub(ctx, order["hub"], day, now, reason=f"new order {order['reference']}",
                              time_limit_s=time_limit_s)
    mine = await Stop.select(Stop.id, Stop.status).where(Stop.order == order_id)
    if all(s["status"] == "planned" for s in mine):
        async with transaction():
            await jobs.settle(job_key)
        return True, result, ""
    # It does not fit today's routes: the order is withdrawn, whole.
    why = next((u["detail"] for u in result["unplannedStops"] if u["stopId"] in {s["id"] for s in mine}),
               "no courier can fit it in today")
    async with transaction():
        await jobs.settle(job_key)
        await OrderRow.delete().where(OrderRow.id == order_id)
    return False, result, why


def _next_slot_json(now: dt.datetime, day: dt.date, after_s: int | None = None) -> dict[str, Any]:
    """The first named slot still open for a new order; with ``after_s``, one that starts
    no earlier (a day with no room until then offers a later slot, not the same hours)."""
    now_s = seconds_of(now, day)
    days, name = next_slot(now_s)
    if after_s is not None and days == 0:
        later = [n for n in ("morning", "afternoon", "evening")
                 if parse_hhmm(SLOTS[n][0]) >= after_s and same_day_open(parse_hhmm(SLOTS[n][1]), now_s)]
        days, name = (0, later[0]) if later else (1, "morning")
    start, end = SLOTS[name]
    return {"date": (day + dt.timedelta(days=days)).isoformat(), "slot": name, "start": start, "end": end}


def _too_late(why: str, now: dt.datetime, day: dt.date, after_s: int | None = None) -> str:
    slot = _next_slot_json(now, day, after_s)
    return (f"This order cannot be delivered today: {why}. The next possible slot is {slot['slot']} "
            f"({slot['start']}-{slot['end']}) on {slot['date']}.")


async def courier_out_of_service(ctx: Context, courier_id: int, day: dt.date,
                                 now: dt.datetime, *, reason: str, time_limit_s: float | None = None) -> dict[str, Any]:
    """A courier breaks down: their remaining stops go to others; goods on their
    bike become a transfer, collected by another courier where the bike stands."""
    shift = await shift_of(courier_id, day)
    if shift is None or shift["status"] != "started":
        status = shift["status"] if shift else "not planned"
        raise Conflict(f"Courier {courier_id} is not on the road (their shift is {status}); nothing to take over.")
    route = next((r for r in await routes_in_force(shift["hub"], day) if r["courier"] == courier_id), None)
    place = ctx.places().get(courier_id)
    if place is None and shift["last_lat"] is not None:
        place = (shift["last_lat"], shift["last_lon"])
    ids = [s["stop_id"] for s in route["stops"]] if route else []
    open_deliveries = await Stop.select().where(
        Stop.id.is_in(ids or [-1]) & (Stop.kind == "delivery") & Stop.status.is_in(["planned", "arrived"]))
    on_board = {p["order"]: p for p in await Parcel.select(Parcel.order, Parcel.status).where(
        Parcel.order.is_in([s["order"] for s in open_deliveries] or [-1])) if p["status"] in ON_BOARD}
    async with transaction():
        done = await Shift.update({Shift.status: "interrupted", Shift.ended_at: now}).where(
            (Shift.id == shift["id"]) & (Shift.status == "started")).returning(Shift.id)
        if not done:
            raise Conflict("The shift changed in the meantime; reload and try again.")
        transfers = 0
        for stop in open_deliveries:
            if stop["order"] not in on_board:
                continue
            if place is None:  # nowhere to collect from: the goods go back to the hub with the bike
                await Stop.update({Stop.status: "unplanned"}).where(Stop.id == stop["id"])
                continue
            weight = await _on_board(stop["order"])
            await Stop.insert(Stop(
                order=stop["order"], hub=stop["hub"], kind="pickup", shop=None, pickup_point=None,
                address=f"Transfer from courier {courier_id}", lat=place[0], lon=place[1], plan_date=day,
                window_start=now, window_end=stop["window_end"], service_s=180,
                weight_kg=weight[0], volume_l=weight[1], status="open"))
            await Parcel.update({Parcel.status: "transfer"}).where(
                (Parcel.order == stop["order"]) & Parcel.status.is_in(list(ON_BOARD)))
            transfers += 1
        await Stop.update({Stop.status: "planned"}).where(
            Stop.id.is_in(ids or [-1]) & (Stop.status == "arrived"))  # the visit under way is abandoned
        moved = {**shift, "status": "interrupted", "ended_at": now}
        await emit("shift.updated", {**shift_view(moved), "reason": reason}, courier_id=courier_id,
                   hub_id=shift["hub"])
    result = await replan_hub(ctx, shift["hub"], day, now, reason=reason, time_limit_s=time_limit_s)
    return {**result, "transfers": transfers}


async def _on_board(order_id: int) -> tuple[float, float]:
    rows = await Parcel.select(Parcel.weight_kg, Parcel.volume_l, Parcel.status).where(Parcel.order == order_id)
    mine = [r for r in rows if r["status"] in ON_BOARD]
    return sum(r["weight_kg"] for r in mine), sum(r["volume_l"] for r in mine)


async def after_failed_stop(ctx: Context, stop_id: int, now: dt.datetime, *,
                            policy: str | None = None, time_limit_s: float | None = None,
                            replan_later: bool = False) -> dict[str, Any] | None:
    """A delivery failed: by ``policy`` (the settings' ``fail_policy`` unless given), the parcel goes to a pickup point, gets a
    later try today, or goes back to the hub; the customer is told, and the day
    re-planned. None when there is nothing to do (not a failed delivery).

    Run as the ``failed_stop`` job: the next step commits with the job's done
    mark (carried out once), and with ``replan_later`` the re-plan is a job of
    its own written in that same transaction (``"replan": None`` in the answer).
    """
    stop = await Stop.select().where(Stop.id == stop_id).first()
    if stop is None or stop["kind"] != "delivery" or stop["status"] != "failed":
        return None
    day = stop["plan_date"]
    policy = policy or ctx.settings.fail_policy
    parcels = await Parcel.select(Parcel.weight_kg, Parcel.volume_l).where(Parcel.order == stop["order"])
    points = await PickupPoint.select().where(
        (PickupPoint.hub == stop["hub"]) | PickupPoint.hub.is_null()).output(load_json=True)
    booked: dict[int, int] = {}
    for p in await Parcel.select(Parcel.order.pickup_point).where(
            Parcel.order.pickup_point.is_in([p["id"] for p in points] or [-1]) & (Parcel.order.delivery_date == day)):
        booked[p["order.pickup_point"]] = booked.get(p["order.pickup_point"], 0) + 1
    def hours(p: dict[str, Any]) -> tuple[Window, ...]:
        spans = windows_on(periods(p["opening_hours"]), day)
        return (Window(0, 86400),) if spans is None else tuple(spans)  # no hours given: always open

    candidates = [failed_stop.Point(
        id=p["id"], lat=p["lat"], lon=p["lon"], room=p["capacity_parcels"] - booked.get(p["id"], 0),
        open_today=hours(p), max_weight_kg=p["max_weight_kg"], max_volume_l=p["max_volume_l"]) for p in points
        if p["id"] != stop["pickup_point"]]
    shifts = await Shift.select(Shift.end).where((Shift.hub == stop["hub"]) & Shift.status.is_in(["planned", "started"])
                                                  & (Shift.start >= dt.datetime.combine(day, dt.time()))
                                                  & (Shift.start < dt.datetime.combine(day, dt.time.max)))
    day_end = max((seconds_of(s["end"], day) for s in shifts), default=20 * 3600)
    step = failed_stop.next_step(
        policy, (stop["lat"], stop["lon"]),  # type: ignore[arg-type]
        [failed_stop.Parcel(weight_kg=p["weight_kg"], volume_l=p["volume_l"]) for p in parcels], candidates,
        seconds_of(now, day), day_end)
    notice: dict[str, Any] = {"orderId": stop["order"], "stopId": stop_id, "next": step.kind}
    async with transaction():
        if not await jobs.settle():
            raise jobs.AlreadyDone(f"failed_stop:{stop_id}")
        if step.kind == "hub":
            await OrderRow.update({OrderRow.status: "returning"}).where(OrderRow.id == stop["order"])
        else:
            assert step.window is not None
            point = next((p for p in points if p["id"] == step.point_id), None)
            new_stop = {
                "order": stop["order"], "hub": stop["hub"], "kind": "delivery", "shop": None,
                "pickup_point": point["id"] if point else None,
                "address": f"{point['name']}, {point['address']}" if point else stop["address"],
                "lat": point["lat"] if point else stop["lat"], "lon": point["lon"] if point else stop["lon"],
                "plan_date": day, "window_start": at(day, step.window.start), "window_end": at(day, step.window.end),
                "service_s": stop["service_s"], "weight_kg": stop["weight_kg"], "volume_l": stop["volume_l"],
                "status": "open"}
            notice["newStopId"] = (await Stop.insert(Stop(**new_stop)))[0]["id"]
            notice.update(windowStart=new_stop["window_start"].isoformat(),
                          windowEnd=new_stop["window_end"].isoformat())
            changes: dict[Any, Any] = {OrderRow.status: "redirected" if point else "retry"}
            if point:
                changes[OrderRow.pickup_point] = point["id"]
                notice.update(pickupPoint={"id": point["id"], "name": point["name"], "address": point["address"]},
                              pickupCode=pickup_code(ctx.settings.secret_key, stop["order"]))
            await OrderRow.update(changes).where(OrderRow.id == stop["order"])
        await emit("order.next_step", notice, hub_id=stop["hub"])
        if replan_later and step.kind != "hub":
            await jobs.enqueue("replan", f"replan:failed_stop:{stop_id}", {
                "hubId": stop["hub"], "date": day.isoformat(), "reason": f"stop {stop_id} failed: {step.kind}"})
    if step.kind == "hub" or replan_later:
        return {"next": notice, "replan": None}
    result = await replan_hub(ctx, stop["hub"], day, now, reason=f"stop {stop_id} failed: {step.kind}",
                              time_limit_s=time_limit_s)
    await announce_if_not_applied(stop["hub"], day, result)
    return {"next": notice, "replan": result}


async def assign_stop(ctx: Context, stop_id: int, courier_id: int, now: dt.datetime, *,
                      time_limit_s: float | None = None
                      ) -> dict[str, Any]:
    """A dispatcher moves a stop to a courier: kept there in every later re-plan."""
    stop = await Stop.select(Stop.id, Stop.hub, Stop.status, Stop.plan_date).where(Stop.id == stop_id).first()
    if stop is None:
        raise NotFound(f"There is no stop with id {stop_id}.")
    if stop["status"] in DONE:
        raise Conflict(f"Stop {stop_id} is {stop['status']} already; there is nothing left to move.")
    shift = await shift_of(courier_id, stop["plan_date"])
    if shift is None or shift["hub"] != stop["hub"] or shift["status"] in ("ended", "interrupted"):
        raise Conflict(f"Courier {courier_id} has no shift at this stop's hub on {stop['plan_date']} that is "
                       f"still on; choose a courier who works that day.")

    async def write_lock() -> None:  # with the routes it needs, or not at all: a move that does not fit is not kept
        await DispatchLock.delete().where(DispatchLock.stop == stop_id)
        await DispatchLock.insert(DispatchLock(stop=stop_id, shift=shift["id"]))

    result = await replan_hub(ctx, stop["hub"], stop["plan_date"], now,
                              reason=f"dispatch moved stop {stop_id} to courier {courier_id}",
                              time_limit_s=time_limit_s,
                              pending=Pending(locks={stop_id: shift["id"]}), write_pending=write_lock)
    if not result["applied"]:
        raise Conflict(f"Stop {stop_id} does not fit courier {courier_id}'s route: {_why_not(stop_id, result)} "
                       f"The move was not kept.", code="move_refused")
    return result


def _why_not(stop_id: int, result: dict[str, Any]) -> str:
    """The re-plan's reason for leaving the moved stop out, in words a dispatcher can act on."""
    mine = next((u for u in result.get("unplannedStops", ()) if u["stopId"] == stop_id), None)
    if mine is None:
        return str(result.get("detail", "the re-plan would not keep it."))
    if mine["reason"] == "no_vehicle":
        return ("its goods are collected at a shop by the courier who has it now; move the order's shop "
                "pickups to the same courier first.")
    if mine["reason"] == "no_capacity":
        return ("no order of their stops serves it without leaving another stop out (the bike counts it as "
                "loaded now, on top of what it carries; or their windows are too tight). Choose a courier with "
                "more room.")
    return f"{mine['detail']}."


async def release_stop(stop_id: int) -> bool:
    """Take the dispatcher's hand off a stop; later re-plans may move it again."""
    async with transaction():
        gone = await DispatchLock.delete().where(DispatchLock.stop == stop_id).returning(DispatchLock.id)
    return bool(gone)


async def courier_behind(ctx: Context, hub_id: int, couriers: set[int], now: dt.datetime, *,
                         time_limit_s: float | None = None
                         ) -> dict[str, Any] | None:
    """Couriers whose stops have turned late: the day is re-planned around them.

    Their late stops whose goods are not on their bike yet are free to move to
    a courier who can still make the window (see :func:`live_day`); the rest of
    their route is re-ordered. None when the day has no routes any more.
    """
    day = now.date()
    if not await routes_in_force(hub_id, day):
        return None
    names = ", ".join(str(c) for c in sorted(couriers))
    result = await replan_hub(ctx, hub_id, day, now, reason=f"courier {names} behind schedule",
                              time_limit_s=time_limit_s)
    await announce_if_not_applied(hub_id, day, result)
    return result


async def announce_if_not_applied(hub_id: int, day: dt.date, result: dict[str, Any]) -> None:
    """A re-plan nobody asked for by hand (after a failed stop, a courier behind, a
    closure ending) that was not applied is told on the hub stream: the dispatcher
    sees that the routes stayed as they were, and why."""
    if result.get("applied", True):
        return
    async with transaction():
        await emit("plan.not_applied", {
            "date": day.isoformat(), "reason": result["reason"], "detail": result.get("detail", ""),
            "unplannedStops": result.get("unplannedStops", [])[:50]}, hub_id=hub_id)


async def pin_order(ctx: Context, courier_id: int, stop_ids: list[int], now: dt.datetime, *,
                    time_limit_s: float | None = None) -> dict[str, Any]:
    """A dispatcher pins an order of stops on a courier: those stops stay with
    them, in that order (others may come between), in every later re-plan.
    Replaces the courier's earlier pin; an empty list removes it."""
    if len(set(stop_ids)) != len(stop_ids):
        raise Invalid("A stop appears twice in the pinned order; give each stop once.")
    day = now.date()
    shift = await shift_of(courier_id, day)
    if shift is None or shift["status"] in ("ended", "interrupted"):
        raise Conflict(f"Courier {courier_id} has no shift today that is still on; pin stops on a courier who works.")
    rows = {r["id"]: r for r in await Stop.select(Stop.id, Stop.hub, Stop.status, Stop.plan_date, Stop.kind,
                                                  Stop.order).where(Stop.id.is_in(stop_ids or [-1]))}
    unknown = [s for s in stop_ids if s not in rows]
    if unknown:
        raise NotFound(f"There is no stop with id {', '.join(map(str, unknown))}.")
    elsewhere = [s for s in stop_ids if rows[s]["hub"] != shift["hub"] or rows[s]["plan_date"] != day]
    if elsewhere:
        raise Conflict(f"Stop {', '.join(map(str, elsewhere))} is not on today's plan of this courier's hub; "
                       f"pin only stops of hub {shift['hub']} for {day}.")
    done = [s for s in stop_ids if rows[s]["status"] in DONE]
    if done:
        raise Conflict(f"Stop {', '.join(map(str, done))} is {rows[done[0]]['status']} already; leave it out of "
                       f"the pinned order.")
    for i, sid in enumerate(stop_ids):
        early = [p for p in stop_ids[i + 1:] if rows[p]["order"] == rows[sid]["order"] and rows[p]["kind"] == "pickup"]
        if rows[sid]["kind"] == "delivery" and early:
            raise Invalid(f"Stop {sid} delivers goods collected at stop {early[0]}, which is pinned after it; "
                          f"pin the collection first.")
    mine = (DispatchLock.shift == shift["id"]) & DispatchLock.position.is_not_null()
    touched = mine | DispatchLock.stop.is_in(stop_ids or [-1])
    before: list[dict[str, Any]] = []

    async def prepare() -> None:
        async with transaction():
            before.extend(await DispatchLock.select(DispatchLock.stop, DispatchLock.shift, DispatchLock.position)
                          .where(touched))
            await DispatchLock.delete().where(touched)
            if stop_ids:
                await DispatchLock.insert(*[DispatchLock(stop=s, shift=shift["id"], position=i)
                                            for i, s in enumerate(stop_ids)])

    async def accept(day_input: DayInput, result: ReplanResult, violations: list[Any]) -> str | None:
        pinned = {str(s) for s in stop_ids}
        missed = [u for u in result.plan.unplanned if u.stop_id in pinned]
        if missed:
            return f"Stop {missed[0].stop_id} cannot be served in the pinned order: {missed[0].detail}."
        for route in result.plan.routes:
            for ps in route.stops:
                end = seconds_of(day_input.stops[ps.stop_id]["window_end"], day) if ps.stop_id in pinned else None
                if end is not None and ps.start_s > end:
                    return (f"In the pinned order stop {ps.stop_id} would be {(ps.start_s - end + 59) // 60} "
                            f"min late (its window ends {at(day, end):%H:%M}).")
        return None

    async def undo() -> None:  # the courier's earlier pin and locks come back
        async with transaction():
            await DispatchLock.delete().where(touched)
            if before:
                await DispatchLock.insert(*[DispatchLock(**row) for row in before])

    what = f"dispatch pinned the order of {len(stop_ids)} stop(s)" if stop_ids else "dispatch removed the pinned order"
    result = await replan_hub(ctx, shift["hub"], day, now, reason=f"{what} of courier {courier_id}",
                              time_limit_s=time_limit_s, prepare=prepare, accept=accept,
                              undo=undo)
    if not result["applied"]:
        raise Conflict(f"{result['detail']} The pin was not kept; the routes stay as they are.", code="pin_refused")
    return result
