"""What happens to a running day, and the re-plan each leads to: a same-day order,
a courier out of service, a failed delivery's next step, a dispatcher's move or
pinned order, couriers falling behind. Each checks and writes its change, then
re-plans the hub (:func:`backend.services.replanning.replan_hub`).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, cast

from backend.db.engine import transaction
from backend.db.tables import DispatchLock, Parcel, PickupPoint, Shift, Stop
from backend.db.tables import Order as OrderRow
from backend.dispatch import failed_stop
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
from backend.dispatch.replan import ReplanResult
from backend.errors import Conflict, Invalid, NotFound
from backend.jobs import queue as jobs
from backend.realtime.outbox import emit
from backend.security import pickup_code
from backend.services import locker_days, lockers, orders, point_room, stop_history
from backend.services.context import Context
from backend.services.courier import shift_of, shift_view
from backend.services.day import ON_BOARD, DayInput, Pending, periods
from backend.services.replanning import announce_if_not_applied, replan_hub, unchanged_answer
from backend.services.route_store import any_in_force, routes_in_force


async def take_same_day_order(
    ctx: Context, data: Any, now: dt.datetime, *, time_limit_s: float | None = None
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
        raise Conflict(
            _too_late(f"its window ends at {prepared.window[1]}", now, day),
            code="same_day_cutoff",
            nextSlot=_next_slot_json(now, day),
        )
    routed = await any_in_force(data.hub_id, day)
    async with transaction():
        order_id = await orders.write(prepared, now)
        key = f"same_day_order:{order_id}"
        if routed:  # a crash before this request answers leaves the order to a job: planned in, or withdrawn
            await jobs.enqueue(
                "same_day_order",
                key,
                {"orderId": order_id, "at": now.isoformat()},
                run_after=now + dt.timedelta(seconds=jobs.LEASE_S),
            )
    if not routed:
        return order_id, None
    planned, result, why = await plan_in_same_day_order(ctx, order_id, now, time_limit_s=time_limit_s, job_key=key)
    if planned:
        return order_id, result
    raise Conflict(_too_late(why, now, day, end_s), code="same_day_full", nextSlot=_next_slot_json(now, day, end_s))


async def plan_in_same_day_order(
    ctx: Context, order_id: int, now: dt.datetime, *, time_limit_s: float | None = None, job_key: str | None = None
) -> tuple[bool, dict[str, Any] | None, str]:
    """Re-plan a same-day order into the running routes, or withdraw it whole when it
    does not fit; its ``same_day_order`` job is done with the withdrawal or after the
    re-plan. Returns (planned, the re-plan, why not)."""
    order = await OrderRow.select(OrderRow.hub, OrderRow.reference).where(OrderRow.id == order_id).first()
    if order is None:
        return False, None, "the order was withdrawn"
    day = now.date()
    result = await replan_hub(
        ctx, order["hub"], day, now, reason=f"new order {order['reference']}", time_limit_s=time_limit_s
    )
    mine = await Stop.select(Stop.id, Stop.status).where(Stop.order == order_id)
    if all(s["status"] == "planned" for s in mine):
        async with transaction():
            await jobs.settle(job_key)
        return True, result, ""
    # It does not fit today's routes: the order is withdrawn, whole.
    why = next(
        (u["detail"] for u in result["unplannedStops"] if u["stopId"] in {s["id"] for s in mine}),
        "no courier can fit it in today",
    )
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
        later = [
            n
            for n in ("morning", "afternoon", "evening")
            if parse_hhmm(SLOTS[n][0]) >= after_s and same_day_open(parse_hhmm(SLOTS[n][1]), now_s)
        ]
        days, name = (0, later[0]) if later else (1, "morning")
    start, end = SLOTS[name]
    return {"date": (day + dt.timedelta(days=days)).isoformat(), "slot": name, "start": start, "end": end}


def _too_late(why: str, now: dt.datetime, day: dt.date, after_s: int | None = None) -> str:
    slot = _next_slot_json(now, day, after_s)
    return (
        f"This order cannot be delivered today: {why}. The next possible slot is {slot['slot']} "
        f"({slot['start']}-{slot['end']}) on {slot['date']}."
    )


async def courier_out_of_service(
    ctx: Context,
    courier_id: int,
    day: dt.date,
    now: dt.datetime,
    *,
    reason: str,
    time_limit_s: float | None = None,
    by_user: int | None = None,
) -> dict[str, Any]:
    """A courier breaks down: their remaining stops go to others; goods on their
    bike become a transfer, collected by another courier where the bike stands. With
    nothing of theirs left to do, the day is not re-planned: the others' routes stand."""
    asked = time.perf_counter()
    shift = await shift_of(courier_id, day)
    if shift is None or shift["status"] != "started":
        status = shift["status"] if shift else "not planned"
        raise Conflict(f"Courier {courier_id} is not on the road (their shift is {status}); nothing to take over.")
    route = next(iter(await routes_in_force(shift["hub"], day, courier_id)), None)
    place = ctx.places().get(courier_id)
    if place is None and shift["last_lat"] is not None:
        place = (shift["last_lat"], shift["last_lon"])
    ids = [s["stop_id"] for s in route["stops"]] if route else []
    left = await Stop.count().where(Stop.id.is_in(ids or [-1]) & Stop.status.not_in(list(DONE)))
    open_deliveries = await Stop.select().where(
        Stop.id.is_in(ids or [-1]) & (Stop.kind == "delivery") & Stop.status.is_in(["planned", "arrived"])
    )
    # what rides on the bike, per order: kilograms and litres (one read serves the hand-over)
    on_board: dict[int, tuple[float, float]] = {}
    for p in await Parcel.select(Parcel.order, Parcel.weight_kg, Parcel.volume_l, Parcel.status).where(
        Parcel.order.is_in([s["order"] for s in open_deliveries] or [-1])
    ):
        if p["status"] in ON_BOARD:
            kg, litres = on_board.get(p["order"], (0.0, 0.0))
            on_board[p["order"]] = (kg + p["weight_kg"], litres + p["volume_l"])
    async with transaction():
        done = (
            await Shift.update({Shift.status: "interrupted", Shift.ended_at: now})
            .where((Shift.id == shift["id"]) & (Shift.status == "started"))
            .returning(Shift.id)
        )
        if not done:
            raise Conflict("The shift changed in the meantime; reload and try again.")
        out = f"Courier {courier_id} out of service ({reason})"
        carried = [stop for stop in open_deliveries if stop["order"] in on_board]
        transfers = await _hand_over(carried, on_board, place, day, now, courier_id, out, by_user)
        abandoned = (
            await Stop.update({Stop.status: "planned"})
            .where(Stop.id.is_in(ids or [-1]) & (Stop.status == "arrived"))
            .returning(Stop.id)
        )  # the visit under way is abandoned
        await stop_history.record(
            [r["id"] for r in abandoned], "planned", by_user=by_user, at=now, detail=f"{out}: the visit was abandoned"
        )
        moved = {**shift, "status": "interrupted", "ended_at": now}
        await emit("shift.updated", {**shift_view(moved), "reason": reason}, courier_id=courier_id, hub_id=shift["hub"])
    if not left:
        detail = "Nothing was left on their route: no other route changes."
        return {**unchanged_answer(reason, time.perf_counter() - asked, detail), "transfers": 0}
    result = await replan_hub(ctx, shift["hub"], day, now, reason=reason, time_limit_s=time_limit_s, by_user=by_user)
    # The shift is already interrupted: a re-plan not applied leaves its stops on a route
    # nobody rides, so the desk keeps an alert, not only this answer.
    await announce_if_not_applied(shift["hub"], day, result, now)
    return {**result, "transfers": transfers}


async def _hand_over(
    carried: list[dict[str, Any]],
    on_board: dict[int, tuple[float, float]],
    place: tuple[float, float] | None,
    day: dt.date,
    now: dt.datetime,
    courier_id: int,
    out: str,
    by_user: int | None,
) -> int:
    """The goods on a bike out of service (``on_board``: kilograms and litres per order) for
    the deliveries ``carried``: a transfer each, collected where the bike stands (``place``);
    with no place known, the deliveries are unplanned and the goods go back to the hub. A
    statement per table, not per stop: the courier's phone waits for this transaction.
    Returns the transfers made."""
    if not carried:
        return 0
    if place is None:
        ids = [stop["id"] for stop in carried]
        await Stop.update({Stop.status: "unplanned"}).where(Stop.id.is_in(ids))
        await stop_history.record(
            ids, "unplanned", by_user=by_user, at=now, detail=f"{out}: the goods go back to the hub"
        )
        return 0
    loads = dict(on_board)
    # an order's goods ride with its first transfer (as they are counted once)
    weighed = [loads.pop(stop["order"], (0.0, 0.0)) for stop in carried]
    written = await Stop.insert(
        *(
            Stop(
                order=stop["order"],
                hub=stop["hub"],
                kind="pickup",
                shop=None,
                pickup_point=None,
                address=f"Transfer from courier {courier_id}",
                lat=place[0],
                lon=place[1],
                plan_date=day,
                window_start=now,
                window_end=stop["window_end"],
                service_s=180,
                weight_kg=kg,
                volume_l=litres,
                status="open",
            )
            for stop, (kg, litres) in zip(carried, weighed, strict=True)
        )
    )
    ids = [row["id"] for row in written]
    details = {
        tid: f"{out}: transfer of the goods for stop {stop['id']} from their bike"
        for tid, stop in zip(ids, carried, strict=True)
    }
    await stop_history.record(ids, "created", by_user=by_user, at=now, details=details)
    carried_orders = list(dict.fromkeys(stop["order"] for stop in carried))
    await Parcel.update({Parcel.status: "transfer"}).where(
        Parcel.order.is_in(carried_orders) & Parcel.status.is_in(list(ON_BOARD))
    )
    return len(ids)


async def after_failed_stop(
    ctx: Context,
    stop_id: int,
    now: dt.datetime,
    *,
    policy: str | None = None,
    time_limit_s: float | None = None,
    replan_later: bool = False,
) -> dict[str, Any] | None:
    """A delivery failed: by ``policy`` (the settings' ``fail_policy`` unless given), the parcel
    goes to a pickup point, gets a later try today, or goes back to the hub; the customer is told, and the day
    re-planned. None when there is nothing to do (not a failed delivery).

    Run as the ``failed_stop`` job: the next step commits with the job's done
    mark (carried out once), and with ``replan_later`` the re-plan is a job of
    its own written in that same transaction (``"replan": None`` in the answer).
    """
    stop = await Stop.select().where(Stop.id == stop_id).first()
    if stop is None or stop["kind"] != "delivery" or stop["status"] != "failed":
        return None
    day = stop["plan_date"]
    policy = cast(failed_stop.Policy, policy or ctx.settings.fail_policy)
    parcels = await Parcel.select(*locker_days.BOX_COLUMNS).where(Parcel.order == stop["order"])
    points = (
        await PickupPoint.select()
        .where((PickupPoint.hub == stop["hub"]) | PickupPoint.hub.is_null())
        .output(load_json=True)
    )
    candidates = await _policy_points(points, parcels, day, stop["pickup_point"])
    shifts = await Shift.select(Shift.end).where(
        (Shift.hub == stop["hub"])
        & Shift.status.is_in(["planned", "started"])
        & (Shift.start >= dt.datetime.combine(day, dt.time()))
        & (Shift.start < dt.datetime.combine(day, dt.time.max))
    )
    day_end = max((seconds_of(s["end"], day) for s in shifts), default=20 * 3600)
    step = failed_stop.next_step(
        policy,
        (stop["lat"], stop["lon"]),  # type: ignore[arg-type]
        [
            failed_stop.Parcel(weight_kg=p["weight_kg"], volume_l=p["volume_l"], longest_cm=p["longest_side_cm"])
            for p in parcels
        ],
        candidates,
        seconds_of(now, day),
        day_end,
    )
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
                "order": stop["order"],
                "hub": stop["hub"],
                "kind": "delivery",
                "shop": None,
                "pickup_point": point["id"] if point else None,
                "address": f"{point['name']}, {point['address']}" if point else stop["address"],
                "lat": point["lat"] if point else stop["lat"],
                "lon": point["lon"] if point else stop["lon"],
                "plan_date": day,
                "window_start": at(day, step.window.start),
                "window_end": at(day, step.window.end),
                "service_s": stop["service_s"],
                "weight_kg": stop["weight_kg"],
                "volume_l": stop["volume_l"],
                "status": "open",
            }
            notice["newStopId"] = (await Stop.insert(Stop(**new_stop)))[0]["id"]
            await _record_next_try(notice["newStopId"], stop_id, point, now)
            notice.update(
                windowStart=new_stop["window_start"].isoformat(), windowEnd=new_stop["window_end"].isoformat()
            )
            changes: dict[Any, Any] = {OrderRow.status: "redirected" if point else "retry"}
            if point:
                changes[OrderRow.pickup_point] = point["id"]
                notice.update(
                    pickupPoint={"id": point["id"], "name": point["name"], "address": point["address"]},
                    pickupCode=pickup_code(ctx.settings.secret_key, stop["order"]),
                )
            await OrderRow.update(changes).where(OrderRow.id == stop["order"])
            if point:  # at a locker bank: a compartment for each parcel
                await lockers.follow_order(stop["order"], point["id"], now)
        await emit("order.next_step", notice, hub_id=stop["hub"])
        if replan_later and step.kind != "hub":
            await jobs.enqueue(
                "replan",
                f"replan:failed_stop:{stop_id}",
                {"hubId": stop["hub"], "date": day.isoformat(), "reason": f"stop {stop_id} failed: {step.kind}"},
            )
    if step.kind == "hub" or replan_later:
        return {"next": notice, "replan": None}
    result = await replan_hub(
        ctx, stop["hub"], day, now, reason=f"stop {stop_id} failed: {step.kind}", time_limit_s=time_limit_s
    )
    await announce_if_not_applied(stop["hub"], day, result, now)
    return {"next": notice, "replan": result}


async def _policy_points(
    points: list[dict[str, Any]], parcels: list[dict[str, Any]], day: dt.date, current: int | None
) -> list[failed_stop.Point]:
    """The pickup points as the failed-stop policy sees them that day (the current one left out)."""
    rooms = await point_room.rooms_left([(p["id"], p["capacity_parcels"]) for p in points], day)
    # A locker bank with no door for these parcels that day is full for them (the policy passes it by).
    boxes = [locker_days.parcel_box(p) for p in parcels]
    no_door = await locker_days.refusals(points, boxes, day)

    def hours(p: dict[str, Any]) -> tuple[Window, ...]:
        spans = windows_on(periods(p["opening_hours"]), day)
        return (Window(0, 86400),) if spans is None else tuple(spans)  # no hours given: always open

    return [
        failed_stop.Point(
            id=p["id"],
            lat=p["lat"],
            lon=p["lon"],
            room=0 if p["id"] in no_door else rooms[p["id"]],
            open_today=hours(p),
            max_weight_kg=p["max_weight_kg"],
            max_volume_l=p["max_volume_l"],
            max_side_cm=p["max_side_cm"],
        )
        for p in points
        if p["id"] != current
    ]


async def _record_next_try(new_id: int, failed_id: int, point: dict[str, Any] | None, now: dt.datetime) -> None:
    where = f"to pickup point {point['name']}" if point else "another try today"
    await stop_history.record([new_id], "created", at=now, detail=f"Stop {failed_id} failed: {where}")


async def assign_stop(
    ctx: Context,
    stop_id: int,
    courier_id: int,
    now: dt.datetime,
    *,
    time_limit_s: float | None = None,
    by_user: int | None = None,
) -> dict[str, Any]:
    """A dispatcher moves a stop to a courier: kept there in every later re-plan."""
    stop = await Stop.select(Stop.id, Stop.hub, Stop.status, Stop.plan_date).where(Stop.id == stop_id).first()
    if stop is None:
        raise NotFound(f"There is no stop with id {stop_id}.")
    if stop["status"] in DONE:
        raise Conflict(f"Stop {stop_id} is {stop['status']} already; there is nothing left to move.")
    shift = await shift_of(courier_id, stop["plan_date"])
    if shift is None or shift["hub"] != stop["hub"] or shift["status"] in ("ended", "interrupted"):
        raise Conflict(
            f"Courier {courier_id} has no shift at this stop's hub on {stop['plan_date']} that is "
            f"still on; choose a courier who works that day."
        )

    async def write_lock() -> None:  # with the routes it needs, or not at all: a move that does not fit is not kept
        await DispatchLock.delete().where(DispatchLock.stop == stop_id)
        await DispatchLock.insert(DispatchLock(stop=stop_id, shift=shift["id"]))

    result = await replan_hub(
        ctx,
        stop["hub"],
        stop["plan_date"],
        now,
        reason=f"dispatch moved stop {stop_id} to courier {courier_id}",
        time_limit_s=time_limit_s,
        pending=Pending(locks={stop_id: shift["id"]}),
        write_pending=write_lock,
        by_user=by_user,
    )
    if not result["applied"]:
        raise Conflict(
            f"Stop {stop_id} does not fit courier {courier_id}'s route: {_why_not(stop_id, result)} "
            f"The move was not kept.",
            code="move_refused",
        )
    return result


def _why_not(stop_id: int, result: dict[str, Any]) -> str:
    """The re-plan's reason for leaving the moved stop out, in words a dispatcher can act on."""
    mine = next((u for u in result.get("unplannedStops", ()) if u["stopId"] == stop_id), None)
    if mine is None:
        return str(result.get("detail", "the re-plan would not keep it."))
    if mine["reason"] == "no_vehicle":
        return (
            "its goods are collected at a shop by the courier who has it now; move the order's shop "
            "pickups to the same courier first."
        )
    if mine["reason"] == "no_capacity":
        return (
            "no order of their stops serves it without leaving another stop out (the bike counts it as "
            "loaded now, on top of what it carries; or their windows are too tight). Choose a courier with "
            "more room."
        )
    return f"{mine['detail']}."


async def release_stop(stop_id: int) -> bool:
    """Take the dispatcher's hand off a stop; later re-plans may move it again."""
    async with transaction():
        gone = await DispatchLock.delete().where(DispatchLock.stop == stop_id).returning(DispatchLock.id)
    return bool(gone)


async def courier_behind(
    ctx: Context, hub_id: int, couriers: set[int], now: dt.datetime, *, time_limit_s: float | None = None
) -> dict[str, Any] | None:
    """Couriers whose stops have turned late: the day is re-planned around them.

    Their late stops whose goods are not on their bike yet are free to move to
    a courier who can still make the window (see :func:`live_day`); the rest of
    their route is re-ordered. None when the day has no routes any more.
    """
    day = now.date()
    if not await any_in_force(hub_id, day):
        return None
    names = ", ".join(str(c) for c in sorted(couriers))
    result = await replan_hub(
        ctx, hub_id, day, now, reason=f"courier {names} behind schedule", time_limit_s=time_limit_s
    )
    await announce_if_not_applied(hub_id, day, result, now)
    return result


async def pin_order(
    ctx: Context,
    courier_id: int,
    stop_ids: list[int],
    now: dt.datetime,
    *,
    time_limit_s: float | None = None,
    by_user: int | None = None,
) -> dict[str, Any]:
    """A dispatcher pins an order of stops on a courier: those stops stay with
    them, in that order (others may come between), in every later re-plan.
    Replaces the courier's earlier pin; an empty list removes it."""
    if len(set(stop_ids)) != len(stop_ids):
        raise Invalid("A stop appears twice in the pinned order; give each stop once.")
    day = now.date()
    shift = await shift_of(courier_id, day)
    if shift is None or shift["status"] in ("ended", "interrupted"):
        raise Conflict(f"Courier {courier_id} has no shift today that is still on; pin stops on a courier who works.")
    rows = {
        r["id"]: r
        for r in await Stop.select(Stop.id, Stop.hub, Stop.status, Stop.plan_date, Stop.kind, Stop.order).where(
            Stop.id.is_in(stop_ids or [-1])
        )
    }
    unknown = [s for s in stop_ids if s not in rows]
    if unknown:
        raise NotFound(f"There is no stop with id {', '.join(map(str, unknown))}.")
    elsewhere = [s for s in stop_ids if rows[s]["hub"] != shift["hub"] or rows[s]["plan_date"] != day]
    if elsewhere:
        raise Conflict(
            f"Stop {', '.join(map(str, elsewhere))} is not on today's plan of this courier's hub; "
            f"pin only stops of hub {shift['hub']} for {day}."
        )
    done = [s for s in stop_ids if rows[s]["status"] in DONE]
    if done:
        raise Conflict(
            f"Stop {', '.join(map(str, done))} is {rows[done[0]]['status']} already; leave it out of the pinned order."
        )
    for i, sid in enumerate(stop_ids):
        early = [p for p in stop_ids[i + 1 :] if rows[p]["order"] == rows[sid]["order"] and rows[p]["kind"] == "pickup"]
        if rows[sid]["kind"] == "delivery" and early:
            raise Invalid(
                f"Stop {sid} delivers goods collected at stop {early[0]}, which is pinned after it; "
                f"pin the collection first."
            )
    mine = (DispatchLock.shift == shift["id"]) & DispatchLock.position.is_not_null()
    touched = mine | DispatchLock.stop.is_in(stop_ids or [-1])
    before: list[dict[str, Any]] = []

    async def prepare() -> None:
        async with transaction():
            before.extend(
                await DispatchLock.select(DispatchLock.stop, DispatchLock.shift, DispatchLock.position).where(touched)
            )
            await DispatchLock.delete().where(touched)
            if stop_ids:
                await DispatchLock.insert(
                    *[DispatchLock(stop=s, shift=shift["id"], position=i) for i, s in enumerate(stop_ids)]
                )

    async def accept(day_input: DayInput, result: ReplanResult, violations: list[Any]) -> str | None:
        pinned = {str(s) for s in stop_ids}
        missed = [u for u in result.plan.unplanned if u.stop_id in pinned]
        if missed:
            return f"Stop {missed[0].stop_id} cannot be served in the pinned order: {missed[0].detail}."
        for route in result.plan.routes:
            for ps in route.stops:
                end = seconds_of(day_input.stops[ps.stop_id]["window_end"], day) if ps.stop_id in pinned else None
                if end is not None and ps.start_s > end:
                    return (
                        f"In the pinned order stop {ps.stop_id} would be {(ps.start_s - end + 59) // 60} "
                        f"min late (its window ends {at(day, end):%H:%M})."
                    )
        return None

    async def undo() -> None:  # the courier's earlier pin and locks come back
        async with transaction():
            await DispatchLock.delete().where(touched)
            if before:
                await DispatchLock.insert(*[DispatchLock(**row) for row in before])

    what = f"dispatch pinned the order of {len(stop_ids)} stop(s)" if stop_ids else "dispatch removed the pinned order"
    result = await replan_hub(
        ctx,
        shift["hub"],
        day,
        now,
        reason=f"{what} of courier {courier_id}",
        time_limit_s=time_limit_s,
        prepare=prepare,
        accept=accept,
        undo=undo,
        by_user=by_user,
    )
    if not result["applied"]:
        raise Conflict(f"{result['detail']} The pin was not kept; the routes stay as they are.", code="pin_refused")
    return result
