"""Re-planning a hub's running day: from the routes in force, with locks, and
publishing only the routes that changed.

Reads the day as it stands (stop states, parcels on bikes, where the bikes
are), turns it into a Problem with locks (:class:`planning.LiveDay`), lets the
pure core re-plan it (:func:`backend.dispatch.replan.replan`, in the solver
pool), checks the result and writes, in one transaction, a new version of
each changed route with a ``route.updated`` event that says why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from concurrent.futures import Executor
from typing import Any

from backend.db.engine import transaction
from backend.db.tables import Order as OrderRow
from backend.db.tables import Parcel, PlanRun, Route, Shift, Stop
from backend.dispatch import feasibility
from backend.dispatch.calendar import SLOTS, at, next_slot, parse_hhmm, same_day_open, seconds_of
from backend.dispatch.progress import DONE
from backend.dispatch.replan import DEFAULT_MIN_GAIN_S, ReplanResult, replan
from backend.errors import Conflict, Invalid
from backend.realtime.outbox import emit
from backend.services.courier import route_view
from backend.services.geo import Geo
from backend.services.planning import DayInput, LiveDay, _stop_json, load_day, route_of_hub

ON_BOARD = ("loaded", "collected")


async def live_day(hub_id: int, day: dt.date, now: dt.datetime,
                   positions: dict[int, tuple[float, float]] | None = None) -> tuple[LiveDay, list[dict[str, Any]]]:
    """Locks and bike positions of the running day; ``positions``: courier id -> last known place."""
    routes = await route_of_hub(hub_id, day)
    ids = [s["stopId"] for r in routes for s in r["stops"]]
    stops = {r["id"]: r for r in await Stop.select(Stop.id, Stop.status, Stop.order, Stop.lat, Stop.lon).where(
        Stop.id.is_in(ids or [-1]))}
    orders = list({s["order"] for s in stops.values()})
    on_board = {p["order"] for p in await Parcel.select(Parcel.order, Parcel.status).where(
        Parcel.order.is_in(orders or [-1])) if p["status"] in ON_BOARD}
    shifts = {s["id"]: s for s in await Shift.select(Shift.id, Shift.status, Shift.last_lat, Shift.last_lon).where(
        Shift.id.is_in([r["shift"] for r in routes] or [-1]))}
    locks: dict[int, int] = {}
    where: dict[int, tuple[float, float]] = {}
    for route in routes:
        shift = shifts.get(route["shift"])
        if shift is None or shift["status"] != "started":
            continue  # nothing is on that bike yet: all its stops are free to move
        for planned in route["stops"]:
            row = stops.get(planned["stopId"])
            if row is None or row["status"] in DONE:
                continue
            if row["status"] == "arrived":  # under way: the courier stands there
                locks[row["id"]] = route["shift"]
                where[route["shift"]] = (row["lat"], row["lon"])
            elif row["order"] in on_board:  # the goods ride on this bike
                locks[row["id"]] = route["shift"]
        if route["shift"] not in where:
            known = (positions or {}).get(route["courier"])
            if known is None and shift["last_lat"] is not None:
                known = (shift["last_lat"], shift["last_lon"])
            if known is not None:
                where[route["shift"]] = known
    return LiveDay(now_s=seconds_of(now, day), positions=where, locks=locks), routes


async def replan_hub(geo: Geo, executor: Executor | None, hub_id: int, day: dt.date, now: dt.datetime, *,
                     reason: str, time_limit_s: float, min_gain_s: int = DEFAULT_MIN_GAIN_S,
                     positions: dict[int, tuple[float, float]] | None = None) -> dict[str, Any]:
    """Re-plan what is left of the hub's day; returns what changed."""
    t0 = time.perf_counter()
    live, routes = await live_day(hub_id, day, now, positions)
    if not routes:
        raise Invalid(f"Hub {hub_id} has no routes on {day} to re-plan; plan the day first.")
    day_input = await load_day(geo, hub_id, day, live)
    in_problem = {s.id for s in day_input.problem.stops}
    in_force = {f"shift-{r['shift']}": [str(s["stopId"]) for s in r["stops"] if str(s["stopId"]) in in_problem]
                for r in routes}
    job = functools.partial(replan, day_input.problem, in_force, time_limit_s=time_limit_s, min_gain_s=min_gain_s)
    if executor is None:
        result = await asyncio.to_thread(job)
    else:
        result = await asyncio.get_running_loop().run_in_executor(executor, job)
    violations = feasibility.check(day_input.problem, result.plan)
    return await _save(hub_id, day, reason, time_limit_s, day_input, result, routes, len(violations),
                       time.perf_counter() - t0)


def _shift_of_route(route: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"id": route["shift"], "courier": route["courier"]} if route else None


async def _save(hub_id: int, day: dt.date, reason: str, time_limit_s: float, day_input: DayInput,
                result: ReplanResult, routes: list[dict[str, Any]], violations: int, total_s: float
                ) -> dict[str, Any]:
    plan = result.plan
    by_vehicle = {r.vehicle_id: r for r in plan.routes}
    old_by_vehicle = {f"shift-{r['shift']}": r for r in routes}
    # A vehicle whose route lost stops the problem no longer has (done ones are history, not changes)
    changed = set(result.changed)
    unplanned = [*day_input.pre_unplanned, *plan.unplanned]
    figures = {"reason": reason, "changedCouriers": [], "unplanned": len(unplanned), "violations": violations,
               "solveS": round(plan.solve_s, 3), "totalS": round(total_s, 3), "keptOrder": len(result.kept_order)}
    # Couriers taken off the road keep their history; their open stops are gone from them.
    on_duty = {v.id for v in day_input.problem.vehicles}
    for vid, old in old_by_vehicle.items():
        if vid not in on_duty and any(str(s["stopId"]) in day_input.stops
                                      and day_input.stops[str(s["stopId"])]["status"] not in DONE
                                      for s in old["stops"]):
            changed.add(vid)
    async with transaction():
        run_id = (await PlanRun.insert(PlanRun(
            hub=hub_id, plan_date=day, status="done" if violations == 0 else "infeasible",
            finished_at=dt.datetime.now(), time_limit_s=time_limit_s,
            inputs={"replan": True, "reason": reason, "stops": len(day_input.problem.stops),
                    "vehicles": len(day_input.problem.vehicles)},
            figures=figures, unplanned=[],
        )))[0]["id"]
        for vid in sorted(changed):
            shift = day_input.shifts.get(vid) or _shift_of_route(old_by_vehicle.get(vid))
            if shift is None:
                continue
            old = old_by_vehicle.get(vid)
            kept = [s for s in (old["stops"] if old else []) if str(s["stopId"]) not in day_input.stops
                    or day_input.stops[str(s["stopId"])]["status"] in DONE]  # history stays on the route
            new_route = by_vehicle.get(vid)
            planned = []
            if new_route is not None:
                departures = [new_route.start_s, *(ps.departure_s for ps in new_route.stops)]
                planned = [_stop_json(ps, day_input.stops[ps.stop_id], day, departures[i])
                           for i, ps in enumerate(new_route.stops)]
            before = {s["stopId"] for s in (old["stops"] if old else [])}
            after = {s["stopId"] for s in planned} | {s["stopId"] for s in kept}
            if old is not None:
                await Route.update({Route.current: False}).where(Route.id == old["id"])
            row = {
                "plan_run": run_id, "hub": hub_id, "courier": shift["courier"], "shift": shift["id"],
                "plan_date": day, "version": (old["version"] if old else 0) + 1, "current": True,
                "start": old["start"] if old else at(day, new_route.start_s if new_route else 0),
                "end": at(day, new_route.end_s) if new_route else (old["end"] if old else at(day, 0)),
                "distance_m": new_route.distance_m if new_route else 0,
                "duration_s": new_route.duration_s if new_route else 0,
                "stops": kept + planned,
            }
            route_id = (await Route.insert(Route(**row)))[0]["id"]
            view = await route_view({**row, "id": route_id})
            view["change"] = {"reason": reason, "added": sorted(after - before), "removed": sorted(before - after)}
            await emit("route.updated", view, courier_id=shift["courier"], hub_id=hub_id)
            figures["changedCouriers"].append(shift["courier"])
        planned_ids = [int(ps.stop_id) for r in plan.routes for ps in r.stops]
        await Stop.update({Stop.status: "planned"}).where(
            Stop.id.is_in(planned_ids or [-1]) & Stop.status.is_in(["open", "unplanned"]))
        unplanned_ids = [int(u.stop_id) for u in unplanned]
        await Stop.update({Stop.status: "unplanned"}).where(
            Stop.id.is_in(unplanned_ids or [-1]) & Stop.status.is_in(["open", "planned"]))
        await PlanRun.update({PlanRun.figures: figures}).where(PlanRun.id == run_id)
        await emit("plan.replanned", {"planRunId": run_id, "date": day.isoformat(), "figures": figures},
                   hub_id=hub_id)
    return {"planRunId": run_id, **figures,
            "unplannedStops": [{"stopId": int(u.stop_id), "reason": u.reason, "detail": u.detail}
                               for u in unplanned]}


async def take_same_day_order(geo: Geo, executor: Executor | None, data: Any, now: dt.datetime, *,
                              time_limit_s: float, positions: dict[int, tuple[float, float]] | None = None
                              ) -> tuple[int, dict[str, Any] | None]:
    """An order for a day already on the road: checked against its cut-off, written,
    and planned into the running routes, or refused with the next possible slot.

    Returns the order id and the re-plan (None when the day has no routes yet:
    the order waits for the day's planning like any other).
    """
    from backend.services import orders

    day = now.date()
    prepared = await orders.prepare(data, geo, day)
    end_s = parse_hhmm(prepared.window[1])
    if not same_day_open(end_s, seconds_of(now, day)):
        raise Conflict(_too_late(f"its window ends at {prepared.window[1]}", now, day), code="same_day_cutoff",
                       nextSlot=_next_slot_json(now, day))
    async with transaction():
        order_id = await orders.write(prepared)
    if not await route_of_hub(data.hub_id, day):
        return order_id, None
    result = await replan_hub(geo, executor, data.hub_id, day, now, reason=f"new order {data.reference}",
                              time_limit_s=time_limit_s, positions=positions)
    mine = await Stop.select(Stop.id, Stop.status).where(Stop.order == order_id)
    if all(s["status"] == "planned" for s in mine):
        return order_id, result
    # It does not fit today's routes: the order is withdrawn, whole.
    why = next((u["detail"] for u in result["unplannedStops"] if u["stopId"] in {s["id"] for s in mine}),
               "no courier can fit it in today")
    async with transaction():
        await OrderRow.delete().where(OrderRow.id == order_id)
    raise Conflict(_too_late(why, now, day), code="same_day_full", nextSlot=_next_slot_json(now, day))


def _next_slot_json(now: dt.datetime, day: dt.date) -> dict[str, Any]:
    days, name = next_slot(seconds_of(now, day))
    start, end = SLOTS[name]
    return {"date": (day + dt.timedelta(days=days)).isoformat(), "slot": name, "start": start, "end": end}


def _too_late(why: str, now: dt.datetime, day: dt.date) -> str:
    slot = _next_slot_json(now, day)
    return (f"This order cannot be delivered today: {why}. The next possible slot is {slot['slot']} "
            f"({slot['start']}-{slot['end']}) on {slot['date']}.")


async def courier_out_of_service(geo: Geo, executor: Executor | None, courier_id: int, day: dt.date,
                                 now: dt.datetime, *, reason: str, time_limit_s: float,
                                 positions: dict[int, tuple[float, float]] | None = None) -> dict[str, Any]:
    """A courier breaks down: their remaining stops go to others; goods on their
    bike become a transfer, collected by another courier where the bike stands."""
    from backend.services.courier import shift_of

    shift = await shift_of(courier_id, day)
    if shift is None or shift["status"] != "started":
        status = shift["status"] if shift else "not planned"
        raise Conflict(f"Courier {courier_id} is not on the road (their shift is {status}); nothing to take over.")
    route = next((r for r in await route_of_hub(shift["hub"], day) if r["courier"] == courier_id), None)
    place = (positions or {}).get(courier_id)
    if place is None and shift["last_lat"] is not None:
        place = (shift["last_lat"], shift["last_lon"])
    ids = [s["stopId"] for s in route["stops"]] if route else []
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
        from backend.services.courier import shift_view

        await emit("shift.updated", {**shift_view(moved), "reason": reason}, courier_id=courier_id,
                   hub_id=shift["hub"])
    result = await replan_hub(geo, executor, shift["hub"], day, now, reason=reason, time_limit_s=time_limit_s,
                              positions=positions)
    return {**result, "transfers": transfers}


async def _on_board(order_id: int) -> tuple[float, float]:
    rows = await Parcel.select(Parcel.weight_kg, Parcel.volume_l, Parcel.status).where(Parcel.order == order_id)
    mine = [r for r in rows if r["status"] in ON_BOARD]
    return sum(r["weight_kg"] for r in mine), sum(r["volume_l"] for r in mine)
