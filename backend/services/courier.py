"""The courier's day: views of route and stops, and the actions on them.

Every action runs in one transaction: state check, change, ETA update, outbox
event. The views are also the payloads of the events, so a device that resumes
from the database sees exactly what a live device saw.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from piccolo.query import WhereRaw

from backend.db.engine import reading, transaction
from backend.db.prepared import Prepared
from backend.db.tables import Courier, Hub, Order, Parcel, ReturnEvent, ReturnRequest, Route, Shift, Stop
from backend.dispatch.calendar import seconds_of
from backend.dispatch.progress import DONE, IllegalTransition, Leg, next_state, reschedule
from backend.errors import Conflict, Invalid, NotFound
from backend.jobs import queue as jobs
from backend.realtime.notifications import customer_notices
from backend.realtime.outbox import emit, latest_seq
from backend.services import locker_doors, stop_history
from backend.services.warehouse_packing import unpacked_orders

FAIL_REASONS = ("not_home", "refused", "address_not_found", "no_access", "damaged", "other")
# An ETA change smaller than this is not worth a message to the phone.
ETA_NOTICE_S = 120


# --- reading ----------------------------------------------------------------

# Asked on every connect and every action: built once (see backend/db/prepared.py).
_COURIER = Prepared(lambda courier_id: Courier.select().where(Courier.id == courier_id).first(), 1)
_HUB = Prepared(lambda hub_id: Hub.select(Hub.id, Hub.name, Hub.lat, Hub.lon).where(Hub.id == hub_id).first(), 1)
_SHIFT = Prepared(
    lambda courier_id, start, end: (
        Shift.select()
        .where((Shift.courier == courier_id) & (Shift.start >= start) & (Shift.start < end))
        .order_by(Shift.start)
        .output(load_json=True)
        .first()
    ),
    3,
)
_ROUTE = Prepared(
    lambda courier_id, day: (
        Route.select()
        .where((Route.courier == courier_id) & (Route.plan_date == day) & (Route.current.eq(True)))
        .output(load_json=True)
        .first()
    ),
    2,
)
# A stop row as its view needs it (with its order's customer, reference and status, and its shop).
_STOP_COLUMNS = (*Stop.all_columns(), Stop.order.customer_name, Stop.order.reference, Stop.order.status, Stop.shop.name)
_STOPS = Prepared(
    lambda ids: Stop.select(*_STOP_COLUMNS).where(Stop.id.is_in(ids)).output(load_json=True),
    1,
)
_RETURNS = Prepared(
    lambda ids: ReturnRequest.select(ReturnRequest.stop, ReturnRequest.code).where(ReturnRequest.stop.is_in(ids)), 1
)
_PARCELS = Prepared(
    lambda orders: (
        Parcel.select(Parcel.barcode, Parcel.status, Parcel.order, Parcel.shop)
        .where(Parcel.order.is_in(orders))
        .order_by(Parcel.id)
    ),
    1,
)


async def courier_row(courier_id: int) -> dict[str, Any]:
    row = await _COURIER(courier_id)
    if row is None:
        raise NotFound("Your courier profile is gone; ask your dispatcher.")
    return row


async def shift_of(courier_id: int, day: dt.date) -> dict[str, Any] | None:
    start = dt.datetime.combine(day, dt.time())
    return await _SHIFT(courier_id, start, start + dt.timedelta(days=1))


async def route_of(courier_id: int, day: dt.date) -> dict[str, Any] | None:
    return await _ROUTE(courier_id, day)


def shift_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "start": row["start"].isoformat(),
        "end": row["end"].isoformat(),
        "status": row["status"],
        "startedAt": _iso(row["started_at"]),
        "endedAt": _iso(row["ended_at"]),
    }


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


async def stop_views(route: dict[str, Any]) -> list[dict[str, Any]]:
    """The route's stops in riding order, with live status and parcels."""
    ids = [s["stop_id"] for s in route["stops"]]
    if not ids:
        return []
    rows = {r["id"]: r for r in await _STOPS(ids)}
    parcels = await _PARCELS(sorted({r["order"] for r in rows.values()}))
    # A customer's return collected at the door: its one parcel is the return, labelled with its code.
    # A pickup point's returns cart: one stop, the returns in it are its parcels.
    returns: dict[int, list[str]] = {}
    for r in await _RETURNS(ids):
        returns.setdefault(r["stop"], []).append(r["code"])
    at_lockers = await locker_doors.stop_compartments(list(rows.values()))
    views = []
    for planned in route["stops"]:
        row = rows.get(planned["stop_id"])
        if row is None:
            continue  # the order was cancelled after planning
        codes = returns.get(row["id"])
        if codes is None:
            views.append(_stop_view(planned, row, _parcels_of(row, parcels)))
            if row["id"] in at_lockers:  # which compartment, and the code that opens it
                views[-1]["compartments"] = at_lockers[row["id"]]
        else:
            status = "collected" if row["status"] == "collected" else "expected"
            boxes = [{"barcode": c, "status": status} for c in sorted(codes)]
            view = {**_stop_view(planned, row, boxes), "returnCode": ", ".join(sorted(codes))}
            if row["pickup_point"] is not None:
                view["customerName"] = None  # a point's cart: many customers' returns, named by the address
            views.append(view)
    return views


def _parcels_of(stop: dict[str, Any], parcels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    mine = [p for p in parcels if p["order"] == stop["order"]]
    if stop["kind"] == "pickup":
        mine = [p for p in mine if p["shop"] == stop["shop"]]
    return [{"barcode": p["barcode"], "status": p["status"]} for p in mine]


def _stop_view(planned: dict[str, Any], row: dict[str, Any], parcels: list[dict[str, Any]]) -> dict[str, Any]:
    proof = row["proof"] or None
    return {
        "stopId": row["id"],
        "orderId": row["order"],
        "reference": row["order.reference"],
        "orderStatus": row["order.status"],
        "kind": row["kind"],
        "status": row["status"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        "customerName": row["order.customer_name"],
        "shopName": row["shop.name"],
        "pickupPointId": row["pickup_point"],
        "eta": planned["eta"],
        "plannedEta": planned.get("planned_eta", planned["eta"]),
        "serviceStart": planned["service_start"],
        "departure": planned["departure"],
        "windowStart": planned["window_start"],
        "windowEnd": planned["window_end"],
        "late": planned.get("late", False),
        "parcels": parcels,
        "failReason": row["fail_reason"] or None,
        "failNote": row["fail_note"] or None,
        "proof": proof,
        "plannedServiceStart": planned.get("planned_service_start"),
        "loop": planned.get("loop", 1),
        **_actual_times(planned, row),
    }


def _actual_times(planned: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """When it really happened, beside the plan: ``arrivedAt`` and ``completedAt``
    (delivered, collected or failed). A done stop's ``eta`` is its actual arrival,
    ``serviceStart`` when service began (on arrival, or when the window opened if the
    courier came early), ``departure`` when it was done; it was late if service began
    after its window. The planned times stay in ``plannedEta``/``plannedServiceStart``."""
    arrived, completed = row["arrived_at"], row["completed_at"] if row["status"] in DONE else None
    out: dict[str, Any] = {"arrivedAt": _iso(arrived), "completedAt": _iso(completed)}
    if completed is not None:
        began = _began(arrived, completed, dt.datetime.fromisoformat(planned["window_start"]))
        out.update(
            eta=(arrived or began).isoformat(),
            serviceStart=began.isoformat(),
            departure=completed.isoformat(),
            late=began > dt.datetime.fromisoformat(planned["window_end"]),
        )
    elif row["status"] == "arrived" and arrived is not None:
        out["eta"] = arrived.isoformat()
    return out


def _began(arrived: dt.datetime | None, completed: dt.datetime, window_start: dt.datetime) -> dt.datetime:
    """When service began, as far as the phone knows: on arrival, or when the window opened
    if the courier came early and waited; never after it was done."""
    if arrived is None:
        return completed
    return min(max(arrived, window_start), completed)


def mark_actual(route: dict[str, Any], stop_id: int, action: str, now: dt.datetime) -> None:
    """The route's record of ``stop_id`` takes what the courier just did, at ``now``: on
    arriving its arrival, on finishing its actual service (from arrival) and departure."""
    record = next(s for s in route["stops"] if s["stop_id"] == stop_id)
    record.setdefault("planned_service_start", record["service_start"])
    if action == "arrive":
        record.update(arrived_at=now.isoformat(), eta=now.isoformat())
        return
    arrived = dt.datetime.fromisoformat(record["arrived_at"]) if record.get("arrived_at") else None
    began = _began(arrived, now, dt.datetime.fromisoformat(record["window_start"]))
    record.update(
        completed_at=now.isoformat(),
        eta=(arrived or began).isoformat(),
        service_start=began.isoformat(),
        departure=now.isoformat(),
        late=began > dt.datetime.fromisoformat(record["window_end"]),
    )


async def route_view(route: dict[str, Any]) -> dict[str, Any]:
    return _route_view(route, await stop_views(route))


# Many routes at once (the dispatcher's desk): ids per query, under every engine's limit of values.
_CHUNK = 500


def _parcel_rows(condition: Any) -> Any:
    """The parcels the views show, where ``condition``."""
    return Parcel.select(Parcel.barcode, Parcel.status, Parcel.order, Parcel.shop).where(condition).order_by(Parcel.id)


_VIEWS_TURN = 100  # route views made between turns of the loop


async def route_views(
    routes: list[dict[str, Any]], *, hub_id: int | None = None, day: dt.date | None = None
) -> list[dict[str, Any]]:
    """``route_view`` of each route, the same views, read with a few queries for all of them.
    With ``hub_id`` and ``day`` (the routes' own), the stops and parcels are read as the hub's
    of that day (no long lists of ids to send), and only what that misses by ids."""
    ids = {s["stop_id"] for r in routes for s in r["stops"]}
    rows: dict[int, dict[str, Any]] = {}
    parcels_of: dict[int, list[dict[str, Any]]] = {}
    if hub_id is not None and day is not None and ids:
        query = Stop.select(*_STOP_COLUMNS).where((Stop.hub == hub_id) & (Stop.plan_date == day))
        rows = {r["id"]: r for r in await query.output(load_json=True) if r["id"] in ids}
        for p in await _parcel_rows((Parcel.order.hub == hub_id) & (Parcel.order.delivery_date == day)):
            parcels_of.setdefault(p["order"], []).append(p)
    missing = sorted(ids - set(rows))
    for i in range(0, len(missing), _CHUNK):
        for row in (
            await Stop.select(*_STOP_COLUMNS).where(Stop.id.is_in(missing[i : i + _CHUNK])).output(load_json=True)
        ):
            rows[row["id"]] = row
    orders = sorted({r["order"] for r in rows.values()} - set(parcels_of))
    for i in range(0, len(orders), _CHUNK):
        for p in await _parcel_rows(Parcel.order.is_in(orders[i : i + _CHUNK])):
            parcels_of.setdefault(p["order"], []).append(p)
    views = []
    for n, route in enumerate(routes):
        if n and n % _VIEWS_TURN == 0:
            await asyncio.sleep(0)  # a desk's 2,000 routes held every socket 120 ms in one piece
        stops = []
        for planned in route["stops"]:
            stop = rows.get(planned["stop_id"])
            if stop is not None:  # else the order was cancelled after planning
                stops.append(_stop_view(planned, stop, _parcels_of(stop, parcels_of.get(stop["order"], []))))
        views.append(_route_view(route, stops))
    return views


def _route_view(route: dict[str, Any], stops: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": route["id"],
        "version": route["version"],
        "date": route["plan_date"].isoformat(),
        "courierId": route["courier"],
        "distanceM": route["distance_m"],
        "durationS": route["duration_s"],
        "start": route["start"].isoformat(),
        "end": route["end"].isoformat(),
        "stops": stops,
        "reloads": reload_views(route),
    }


def reload_views(route: dict[str, Any]) -> list[dict[str, Any]]:
    """The route's visits of the hub between loops: back, reload, out on loop ``loop``."""
    return [
        {
            "loop": r["loop"],
            "arrival": r["arrival"],
            "departure": r["departure"],
            "loadKg": r["load_kg"],
            "loadL": r["load_l"],
            "distanceM": r["distance_m"],
        }
        for r in route.get("reloads") or []
    ]


def loading_list(stops: list[dict[str, Any]], unpacked: set[int] | None = None) -> list[dict[str, Any]]:
    """Hub parcels to load, per loop (``loop``, from 1), and in a loop its last delivery
    first (it goes in deepest): ``loadOrder`` counts from 1 in each loop. ``ready`` is
    false while the order's goods wait to be packed (``unpacked``: those orders)."""
    out = []
    shop_goods = {p["barcode"] for s in stops if s["kind"] == "pickup" for p in s["parcels"]}
    loops = sorted({s.get("loop", 1) for s in stops})
    for loop in loops:
        deliveries = [s for s in stops if s["kind"] == "delivery" and s.get("loop", 1) == loop]
        for n, stop in enumerate(reversed(deliveries), start=1):
            for p in stop["parcels"]:
                if p["barcode"] in shop_goods:
                    continue
                out.append(
                    {
                        "barcode": p["barcode"],
                        "stopId": stop["stopId"],
                        "orderId": stop["orderId"],
                        "loop": loop,
                        "loadOrder": n,
                        "loaded": p["status"] != "expected",
                        "ready": stop["orderId"] not in (unpacked or set()),
                    }
                )
    return out


async def day_view(courier_id: int, day: dt.date) -> dict[str, Any]:
    async with reading():  # one connection for the handful of reads
        return await _day_view(courier_id, day)


async def _day_view(courier_id: int, day: dt.date) -> dict[str, Any]:
    seq = await latest_seq()  # read first: anything later arrives as an event
    courier = await courier_row(courier_id)
    hub = await _HUB(courier["hub"])
    shift = await shift_of(courier_id, day)
    route = await route_of(courier_id, day)
    view = await route_view(route) if route else None
    return {
        "seq": seq,
        "date": day.isoformat(),
        "courier": {"id": courier["id"], "name": courier["name"], "hubId": courier["hub"]},
        "hub": hub,
        "shift": shift_view(shift) if shift else None,
        "route": view,
        "loading": loading_list(view["stops"], await unpacked_orders([s["orderId"] for s in view["stops"]]))
        if view
        else [],
    }


# --- acting -------------------------------------------------------------------


async def _locked_route(courier_id: int, day: dt.date) -> dict[str, Any]:
    route = await route_of(courier_id, day)
    if route is None:
        raise NotFound(f"You have no route on {day}.")
    return route


async def _prepare_shift_move(
    courier_id: int, day: dt.date, now: dt.datetime, expected: str, target: str
) -> tuple[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]]]:
    """planned -> started -> ended: checked now, written (conditionally) by the returned step."""
    shift = await shift_of(courier_id, day)
    if shift is None:
        raise NotFound(f"You have no shift on {day}.")
    if shift["status"] != expected:
        raise Conflict(f"Your shift is {shift['status']}; it cannot be {target} now.")
    stamp = "started_at" if target == "started" else "ended_at"
    moved = {**shift, "status": target, stamp: now}

    async def write() -> dict[str, Any]:
        done = (
            await Shift.update({Shift.status: target, getattr(Shift, stamp): now})
            .where((Shift.id == shift["id"]) & (Shift.status == expected))
            .returning(Shift.id)
        )
        if not done:
            raise Conflict("Your shift changed in the meantime; reload and try again.")
        await emit("shift.updated", shift_view(moved), courier_id=courier_id, hub_id=shift["hub"])
        return shift_view(moved)

    return moved, write


async def prepare_start_shift(courier_id: int, day: dt.date, now: dt.datetime) -> Callable[[], Awaitable[Any]]:
    _, move = await _prepare_shift_move(courier_id, day, now, "planned", "started")
    route = await route_of(courier_id, day)
    stops = await stop_views(route) if route else []

    async def write() -> dict[str, Any]:
        shift = await move()
        if route is not None:  # the customers: out for delivery, with a window
            await _tell_customers(route, customer_notices(stops, started=True))
        return shift

    return write


async def _tell_customers(route: dict[str, Any], notices: list[tuple[str, dict[str, Any]]]) -> None:
    # On the hub's stream (dispatchers see them too); the push relay turns them
    # into messages to the browsers following those orders.
    for kind, payload in notices:
        await emit(kind, payload, hub_id=route["hub"])


async def prepare_end_shift(courier_id: int, day: dt.date, now: dt.datetime) -> Callable[[], Awaitable[Any]]:
    _, move = await _prepare_shift_move(courier_id, day, now, "started", "ended")
    route = await route_of(courier_id, day)
    stops = await stop_views(route) if route else []
    count = lambda st: sum(1 for s in stops if s["status"] == st)  # noqa: E731
    summary = {
        "delivered": count("delivered"),
        "failed": count("failed"),
        "collected": count("collected"),
        "remaining": sum(1 for s in stops if s["status"] not in DONE),
        "distanceM": route["distance_m"] if route else 0,
    }

    async def write() -> dict[str, Any]:
        return {"shift": await move(), "summary": summary}

    return write


async def scan_for_loading(courier_id: int, day: dt.date, barcode: str) -> dict[str, Any]:
    async with transaction():
        route = await _locked_route(courier_id, day)
        stops = await stop_views(route)
        item = next((p for p in loading_list(stops) if p["barcode"] == barcode), None)
        if item is None:
            raise Conflict(
                f"Parcel {barcode} is not on your route; put it aside and tell the hub.", code="not_on_route"
            )
        if item["loaded"]:
            return {
                "barcode": barcode,
                "stopId": item["stopId"],
                "loaded": True,
                "warning": f"Parcel {barcode} is already loaded.",
            }
        await Parcel.update({Parcel.status: "loaded"}).where(Parcel.barcode == barcode)
        await emit(
            "parcel.loaded", {"barcode": barcode, "stopId": item["stopId"]}, courier_id=courier_id, hub_id=route["hub"]
        )
        return {"barcode": barcode, "stopId": item["stopId"], "loaded": True, "warning": None}


ProofBuilder = Callable[[], Awaitable[dict[str, Any]]]


async def prepare_stop_action(
    courier_id: int,
    day: dt.date,
    stop_id: int,
    action: str,
    now: dt.datetime,
    *,
    barcodes: list[str] | None = None,
    proof: ProofBuilder | None = None,
    reason: str | None = None,
    note: str = "",
    by_user: int | None = None,
    secret: str = "",
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """Read and check an action on a stop; returns its short write step.
    ``by_user``: the courier's user, named in the stop's history; ``secret``: the service's
    key, for the customer's pickup code when a drop at a locker tells them.

    The reads happen outside the writer; the write repeats the state check as
    a conditional update, so a change in between is refused, never overwritten.
    """
    async with reading():
        route = await _locked_route(courier_id, day)
        if stop_id not in {s["stop_id"] for s in route["stops"]}:
            raise NotFound(f"Stop {stop_id} is not on your route.")
        views = {v["stopId"]: v for v in await stop_views(route)}
    view = views[stop_id]
    try:
        status = next_state(view["kind"], view["status"], action)  # type: ignore[arg-type]
    except IllegalTransition as exc:
        raise Conflict(str(exc), stopStatus=view["status"]) from exc
    parcels = [p["barcode"] for p in view["parcels"]]
    if action in ("deliver", "collect"):
        _check_barcodes(barcodes or [], parcels)
    if action == "fail":
        if reason not in FAIL_REASONS:
            raise Invalid(f"reason must be one of {', '.join(FAIL_REASONS)}.")
        if reason == "other" and not note.strip():
            raise Invalid("Say what happened in note when the reason is other.")
    changes: dict[Any, Any] = {Stop.status: status}
    changes[Stop.arrived_at if action == "arrive" else Stop.completed_at] = now
    fresh = {**view, "status": status}
    if action == "fail":
        changes[Stop.fail_reason] = reason
        changes[Stop.fail_note] = note.strip()
        fresh.update(failReason=reason, failNote=note.strip() or None)
    if action in ("deliver", "collect"):
        parcel_status = "delivered" if action == "deliver" else "collected"
        fresh["parcels"] = [{**p, "status": parcel_status} for p in view["parcels"]]

    async def write() -> dict[str, Any]:
        if action == "deliver":
            fresh["proof"] = changes[Stop.proof] = await proof() if proof else {}
        done = (
            await Stop.update(changes).where((Stop.id == stop_id) & (Stop.status == view["status"])).returning(Stop.id)
        )
        if not done:
            raise Conflict("This stop changed in the meantime; reload your route and try again.")
        await stop_history.record(
            [stop_id], status, by_user=by_user, at=now, detail=_history_detail(action, fresh, len(parcels))
        )
        if action in ("deliver", "collect"):
            await Parcel.update({Parcel.status: fresh["parcels"][0]["status"]}).where(Parcel.barcode.is_in(parcels))
        if action == "deliver":
            await Order.update({Order.status: "delivered"}).where(Order.id == view["orderId"])
        await locker_doors.after_courier_scan(view, action, parcels, by_user, secret, now)
        if action == "collect" and view.get("returnCode"):
            await _return_collected(stop_id, by_user, now)
        mark_actual(route, stop_id, action, now)
        moved = await _refresh_etas(route, views, stop_id, action, day, now)
        fresh.update(
            _actual_times(next(s for s in route["stops"] if s["stop_id"] == stop_id), _row_times(fresh, now, action))
        )
        views[stop_id] = fresh
        _apply_etas(route, views)
        await emit("stop.updated", fresh, courier_id=courier_id, hub_id=route["hub"])
        if action == "fail" and view["kind"] == "delivery":
            # The parcel's next step, durable: committed with this change and its stored answer.
            await jobs.enqueue("failed_stop", f"failed_stop:{stop_id}", {"stopId": stop_id, "at": now.isoformat()})
        elif action == "fail" and view.get("compartments") and view["kind"] == "pickup":
            # A shop drop not collected from its locker: the next evening, durable (services/locker_retry.py).
            await jobs.enqueue("locker_drop_retry", f"locker_drop_retry:{stop_id}", {"stopId": stop_id})
        if moved:
            await emit("route.updated", _route_view_of(route, views), courier_id=courier_id, hub_id=route["hub"])
        if status in DONE:  # the next customer: arriving soon
            await _tell_customers(
                route, customer_notices(_route_view_of(route, views)["stops"], started=False, done_stop=stop_id)
            )
        return fresh

    return write


async def _return_collected(stop_id: int, by_user: int | None, now: dt.datetime) -> None:
    """A customer's return picked up at the door or a point's returns cart: each return's
    history says so (received at the hub later); a cart's returns leave the point."""
    await ReturnRequest.update({ReturnRequest.status: "collected"}).where(
        (ReturnRequest.stop == stop_id) & (ReturnRequest.status == "at_point")
    )
    for r in await ReturnRequest.select(ReturnRequest.id).where(ReturnRequest.stop == stop_id):
        await ReturnEvent.insert(
            ReturnEvent(
                request=r["id"], at=now, state="collected", by_user=by_user, detail="by the courier, to the hub"
            )
        )


def _row_times(view: dict[str, Any], now: dt.datetime, action: str) -> dict[str, Any]:
    """The stop row's times just written by ``action`` (for its view without reading it again)."""
    arrived = dt.datetime.fromisoformat(view["arrivedAt"]) if view.get("arrivedAt") else None
    if action == "arrive":
        arrived = now
    return {"status": view["status"], "arrived_at": arrived, "completed_at": None if action == "arrive" else now}


def _history_detail(action: str, stop: dict[str, Any], parcels: int) -> str:
    """What the stop's history says about a courier's action."""
    if action == "fail":
        return f"{stop['failReason']}: {stop['failNote']}" if stop.get("failNote") else str(stop["failReason"])
    if action == "collect":
        return f"{parcels} parcel(s) collected"
    if action != "deliver":
        return ""
    proof = stop.get("proof") or {}
    kind, name = proof.get("kind"), proof.get("recipientName")
    if kind == "photo":
        return "proof: photo"
    if kind == "signature":
        return f"proof: signature of {name}" if name else "proof: signature"
    if kind == "recipient":
        return f"handed to {name}"
    return "left at the pickup point" if kind == "pickup_point" else ""


def _apply_etas(route: dict[str, Any], views: dict[int, dict[str, Any]]) -> None:
    """Stop views take the ETAs just recomputed on the route."""
    by_id = {s["stop_id"]: s for s in route["stops"]}
    for sid, v in views.items():
        planned = by_id[sid]
        v.update(
            eta=planned["eta"],
            serviceStart=planned["service_start"],
            departure=planned["departure"],
            late=planned.get("late", False),
        )


def _route_view_of(route: dict[str, Any], views: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """route_view without reading again: from the stop views at hand."""
    return {
        "id": route["id"],
        "version": route["version"],
        "date": route["plan_date"].isoformat(),
        "courierId": route["courier"],
        "distanceM": route["distance_m"],
        "durationS": route["duration_s"],
        "start": route["start"].isoformat(),
        "end": route["end"].isoformat(),
        "stops": [views[s["stop_id"]] for s in route["stops"] if s["stop_id"] in views],
    }


def _check_barcodes(given: list[str], expected: list[str]) -> None:
    foreign = [b for b in given if b not in expected]
    if foreign:
        raise Invalid(f"Parcel {foreign[0]} does not belong to this stop.", barcode=foreign[0])
    missing = [b for b in expected if b not in given]
    if missing:
        raise Invalid(f"Scan every parcel of this stop; missing {', '.join(missing)}.", missing=missing)


async def _refresh_etas(
    route: dict[str, Any], views: dict[int, dict[str, Any]], acted: int, action: str, day: dt.date, now: dt.datetime
) -> bool:
    status = {sid: v["status"] for sid, v in views.items()}
    status[acted] = "arrived" if action == "arrive" else "done"
    return await reschedule_route(route, status, day, now, at_stop=acted if action == "arrive" else None)


async def reschedule_route(
    route: dict[str, Any], status: dict[int, str], day: dt.date, now: dt.datetime, at_stop: int | None = None
) -> bool:
    """Recompute the remaining stops' ETAs from now and save them.

    True when a phone should hear of it (an ETA moved by minutes or a stop
    turned late or on time again).
    """
    remaining = [s for s in route["stops"] if status.get(s["stop_id"]) not in (*DONE, "done")]
    if at_stop is not None:  # the courier stands there now, whatever the planned order
        remaining.sort(key=lambda s: s["stop_id"] != at_stop)
    legs = [
        Leg(
            travel_s=s.get("travel_s", 0),
            window_start=seconds_of(dt.datetime.fromisoformat(s["window_start"]), day),
            window_end=seconds_of(dt.datetime.fromisoformat(s["window_end"]), day),
            service_s=s.get("service_s", 0),
        )
        for s in remaining
    ]
    etas = reschedule(seconds_of(now, day), legs, at_stop=at_stop is not None)
    base = dt.datetime.combine(day, dt.time())
    notable = False
    for s, eta in zip(remaining, etas, strict=True):
        old = dt.datetime.fromisoformat(s["eta"])
        new = base + dt.timedelta(seconds=eta.arrival)
        notable |= abs((new - old).total_seconds()) >= ETA_NOTICE_S or eta.late != s.get("late", False)
        s.update(
            eta=new.isoformat(),
            service_start=(base + dt.timedelta(seconds=eta.service_start)).isoformat(),
            departure=(base + dt.timedelta(seconds=eta.departure)).isoformat(),
            late=eta.late,
        )
    await Route.update({Route.stops: route["stops"]}).where(Route.id == route["id"])
    return notable


class LateRoutes(msgspec.Struct, kw_only=True):
    changed: int = 0  # routes whose ETAs were moved on and published
    # hub id -> couriers with a stop that has just turned late: worth a re-plan
    behind: dict[int, set[int]] = msgspec.field(default_factory=dict)


async def catch_up_late_routes(
    day: dt.date, now: dt.datetime, chunk: int = 25, part: tuple[int, int] = (0, 1)
) -> LateRoutes:
    """Couriers on the road who are behind their next ETA: move their remaining
    ETAs on from now and flag stops that will be late.

    ``part=(k, n)`` looks only at the routes whose id is k modulo n, so a clock
    can spread the work over its period. Reads in one go; writes in small
    transactions, so couriers' own actions get the writer in between.
    """
    k, n = part
    routes = (
        await Route.select(*Route.all_columns())
        .where((Route.plan_date == day) & (Route.current.eq(True)) & (Route.shift.status == "started"))
        .where(WhereRaw(f'"{Route._meta.tablename}"."id" % {{}} = {{}}', n, k))
        .output(load_json=True)
    )
    ids = [s["stop_id"] for r in routes for s in r["stops"]]
    status: dict[int, str] = {}
    for i in range(0, len(ids), 5000):
        rows = await Stop.select(Stop.id, Stop.status).where(Stop.id.is_in(ids[i : i + 5000]))
        status.update({r["id"]: r["status"] for r in rows})
    behind = []
    for route in routes:
        nxt = next((s for s in route["stops"] if status.get(s["stop_id"]) not in DONE), None)
        if nxt is None or status.get(nxt["stop_id"]) == "arrived":
            continue
        if dt.datetime.fromisoformat(nxt["eta"]) < now - dt.timedelta(seconds=ETA_NOTICE_S):
            behind.append((route, nxt["stop_id"]))
    result = LateRoutes()
    for i in range(0, len(behind), chunk):
        batch = behind[i : i + chunk]
        views = {route["id"]: {v["stopId"]: v for v in await stop_views(route)} for route, _ in batch}
        async with transaction():  # the writer is held for one read and the writes
            ids = [sid for mine in views.values() for sid in mine]
            current = {
                r["id"]: r["status"] for r in await Stop.select(Stop.id, Stop.status).where(Stop.id.is_in(ids or [-1]))
            }
            for route, next_stop in batch:
                mine = views[route["id"]]
                if any(current.get(sid) != v["status"] for sid, v in mine.items()):
                    continue  # the courier acted meanwhile, and that action re-timed the route
                late_before = {s["stop_id"] for s in route["stops"] if s.get("late")}
                # somewhere before the next stop: assume they are about to arrive there
                if await reschedule_route(route, status, day, now, at_stop=next_stop):
                    _apply_etas(route, mine)
                    await emit(
                        "route.updated", _route_view_of(route, mine), courier_id=route["courier"], hub_id=route["hub"]
                    )
                    result.changed += 1
                if any(s.get("late") and s["stop_id"] not in late_before for s in route["stops"]):
                    result.behind.setdefault(route["hub"], set()).add(route["courier"])
        await asyncio.sleep(0)
    return result
