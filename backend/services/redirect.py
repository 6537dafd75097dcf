"""A customer sends their parcel elsewhere before delivery, from the tracking page.

Three kinds of redirect: another window that day, a pickup point, another
address on the map. Each is checked by rule first (time left, courier
shifts, the pickup point's room, size limits and opening hours); on a day
that already has routes it is then tried in a re-plan of the running day and
taken only when the new destination gets planned in its window. That re-plan
is worked out with the change as if written, and the change, the new routes
and every event are then written in one transaction; when it is not taken,
nothing was written, and the answer offers what the customer can choose
instead.

The old delivery stop becomes ``cancelled`` (a plain varchar, no migration)
and a new one takes its place, so every parcel has one live destination. A
parcel already on a bike stays on that bike: the re-plan's locks see to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec

from backend.crashpoints import crash_point
from backend.db.engine import transaction
from backend.db.tables import DispatchLock, Parcel, PickupPoint, Shift, Stop
from backend.db.tables import Order as OrderRow
from backend.dispatch import failed_stop
from backend.dispatch.calendar import SLOTS, at, format_hhmm, parse_hhmm, same_day_open, seconds_of, windows_on
from backend.dispatch.model import Window
from backend.dispatch.point_limits import limits_text, takes
from backend.dispatch.replan import ReplanResult
from backend.errors import Conflict, Invalid, Stale
from backend.realtime.outbox import emit
from backend.security import pickup_code
from backend.services import locker_days, lockers, point_room, stop_history
from backend.services.context import Context
from backend.services.day import ON_BOARD, DayInput, Pending, hub_lock, periods
from backend.services.geo import Geo
from backend.services.idempotency import Answer, once
from backend.services.replanning import SAVE_ATTEMPTS, WorkedOut, work_out
from backend.services.route_store import routes_in_force
from backend.structs import Body, DbId

# The states a delivery can still be redirected from: not at the door, not done.
REDIRECTABLE = ("open", "planned", "unplanned")
CANCELLED = "cancelled"
MIN_WINDOW_S = 30 * 60  # a courier needs some slack to hit a window, and so does the customer
SLOT_ORDER = ("morning", "afternoon", "evening", "day")
PICKUP_POINTS_SHOWN = 5
NEW_STOP = -1  # the new stop's id in a re-plan worked out before it is written


class RedirectIn(Body):
    """``{"kind": "window", "window": "evening" | "18:00-20:00"}``,
    ``{"kind": "pickup_point", "pickupPointId": 3}`` or
    ``{"kind": "address", "address": "Fredrikinkatu 20"}`` (or ``lat``/``lon``; an
    optional ``window`` too, else the current one is kept)."""

    kind: Literal["window", "pickup_point", "address"]
    window: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    pickup_point_id: DbId | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        allowed = {
            "window": {"window"},
            "pickup_point": {"pickupPointId"},
            "address": {"address", "lat", "lon", "window"},
        }[self.kind]
        given = {
            name
            for name, value in (
                ("window", self.window),
                ("pickupPointId", self.pickup_point_id),
                ("address", self.address),
                ("lat", self.lat),
                ("lon", self.lon),
            )
            if value is not None
        }
        if extra := sorted(given - allowed):
            raise Invalid(f"a {self.kind} redirect takes {', '.join(sorted(allowed))}, not {', '.join(extra)}")
        if self.kind == "window" and not self.window:
            raise Invalid("give the window: a slot (morning, afternoon, evening, day) or HH:MM-HH:MM")
        if self.kind == "pickup_point" and self.pickup_point_id is None:
            raise Invalid("give the pickupPointId of the pickup point")
        if self.kind == "address" and not self.address and self.lat is None:
            raise Invalid("give the new address, or its lat and lon")


class _Day(msgspec.Struct, kw_only=True):
    """What the choices depend on: the order's live delivery and the day around it."""

    order: dict[str, Any]
    stop: dict[str, Any] | None
    day: dt.date
    now_s: int
    parcels: list[dict[str, Any]]
    shifts: list[tuple[int, int]]  # (start s, end s) of the shifts that may still bring it
    routed: bool  # the day has routes: a redirect goes through a re-plan


class _Target(msgspec.Struct, kw_only=True):
    kind: str
    address: str
    lat: float
    lon: float
    pickup_point: dict[str, Any] | None
    window: tuple[int, int]
    slot: str


async def current_delivery(order_id: int) -> dict[str, Any] | None:
    """The order's live delivery stop: the newest that was not withdrawn."""
    return (
        await Stop.select()
        .where((Stop.order == order_id) & (Stop.kind == "delivery") & (Stop.status != CANCELLED))
        .order_by(Stop.id, ascending=False)
        .first()
    )


async def _load(order: dict[str, Any], now: dt.datetime) -> _Day:
    day = order["delivery_date"]
    stop = await current_delivery(order["id"])
    parcels = await Parcel.select(*locker_days.BOX_COLUMNS, Parcel.status).where(Parcel.order == order["id"])
    routes = await routes_in_force(order["hub"], day)
    day_start = dt.datetime.combine(day, dt.time())
    shifts = await Shift.select(Shift.id, Shift.start, Shift.end, Shift.status).where(
        (Shift.hub == order["hub"])
        & (Shift.start >= day_start)
        & (Shift.start < day_start + dt.timedelta(days=1))
        & Shift.status.is_in(["planned", "started"])
    )
    on_board = any(p["status"] in ON_BOARD for p in parcels)
    holder = next((r["shift"] for r in routes if stop and any(s["stop_id"] == stop["id"] for s in r["stops"])), None)
    if on_board and holder is not None:  # the goods ride on that bike: only its courier can bring them
        shifts = [s for s in shifts if s["id"] == holder] or shifts
    return _Day(
        order=order,
        stop=stop,
        day=day,
        now_s=seconds_of(now, day),
        parcels=parcels,
        shifts=[(seconds_of(s["start"], day), seconds_of(s["end"], day)) for s in shifts],
        routed=bool(routes),
    )


def _not_redirectable(d: _Day) -> str | None:
    """Why this delivery cannot be redirected now, in words for the customer; None if it can."""
    stop = d.stop
    if stop is None:
        return "This order has no delivery to redirect."
    status = stop["status"]
    if status == "delivered":
        when = f" at {stop['completed_at']:%H:%M}" if stop["completed_at"] else ""
        return f"Your parcel was delivered{when}; it can no longer be redirected."
    if status == "arrived":
        return "The courier is at your door right now; the delivery can no longer be redirected. Talk to the courier."
    if status == "failed":
        return (
            "This delivery did not succeed and the parcel goes back to our hub; we will contact you "
            "about a new delivery."
        )
    if status not in REDIRECTABLE:
        return f"This delivery is {status}; it can no longer be redirected."
    if d.now_s >= 24 * 3600:
        return f"The delivery day {d.day} has passed."
    if d.routed and status == "open":
        # On a day with routes an open stop is being planned in right now (a redirect, a retry).
        return (
            "Your delivery is being changed right now (another change arrived at the same moment); "
            "reload the page in a moment and choose again."
        )
    return None


def _window_problem(start: int, end: int, d: _Day) -> str | None:
    """Why a window cannot be offered or taken; None when it can."""
    if not same_day_open(end, d.now_s):
        return f"a window ending at {format_hhmm(end)} is too soon: a courier needs at least an hour"
    if end - max(start, d.now_s) < MIN_WINDOW_S:
        return f"too little of the window {format_hhmm(start)}-{format_hhmm(end)} is left"
    if d.shifts and not any(min(end, b) - max(start, a) >= MIN_WINDOW_S for a, b in d.shifts):
        last = max(b for _, b in d.shifts)
        first = min(a for a, _ in d.shifts)
        return f"no courier rides then on {d.day:%A %d %B} (couriers ride {format_hhmm(first)}-{format_hhmm(last)})"
    return None


def _current_window(d: _Day) -> tuple[int, int]:
    return seconds_of(d.order["window_start"], d.day), seconds_of(d.order["window_end"], d.day)


def _window_options(d: _Day) -> list[dict[str, Any]]:
    if d.order["pickup_point"]:
        return []  # a pickup point keeps the parcel until it closes: the window is its opening hours
    current = _current_window(d)
    out = []
    for name in SLOT_ORDER:
        start, end = (parse_hhmm(t) for t in SLOTS[name])
        if (start, end) != current and _window_problem(start, end, d) is None:
            out.append({"kind": "window", "window": name, "slot": name, "start": SLOTS[name][0], "end": SLOTS[name][1]})
    return out


async def _points(d: _Day) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The hub's pickup points and the room each has left that day."""
    points = (
        await PickupPoint.select()
        .where((PickupPoint.hub == d.order["hub"]) | PickupPoint.hub.is_null())
        .output(load_json=True)
    )
    boxes = [locker_days.parcel_box(p) for p in d.parcels]
    for point_id, placed in (await locker_days.refusals(points, boxes, d.day)).items():
        # A locker bank with no door for these parcels that day: refused, as a full or small point is.
        next(p for p in points if p["id"] == point_id)["no_door"] = placed
    return points, await point_room.rooms_left([(p["id"], p["capacity_parcels"]) for p in points], d.day)


def _point_window(point: dict[str, Any], d: _Day) -> tuple[int, int] | None:
    """When a courier may bring the parcel to ``point`` that day: the rest of an opening span,
    within the hours couriers ride."""
    spans = windows_on(periods(point["opening_hours"]), d.day)
    riding = (min(a for a, _ in d.shifts), max(b for _, b in d.shifts)) if d.shifts else (0, 24 * 3600)
    for w in (Window(0, 24 * 3600),) if spans is None else spans:  # no hours given: always open
        start, end = max(w.start, d.now_s, riding[0]), min(w.end, riding[1])
        if end - start >= failed_stop.MIN_OPEN_S and _window_problem(start, end, d) is None:
            return start, end
    return None


def _closes(point: dict[str, Any], d: _Day, after: int) -> int:
    """When ``point`` closes after ``after`` that day: until then the customer can collect."""
    spans = windows_on(periods(point["opening_hours"]), d.day)
    return next((w.end for w in spans if w.end >= after), after) if spans is not None else 24 * 3600


def _point_problem(point: dict[str, Any], rooms: dict[int, int], d: _Day) -> tuple[str, str] | None:
    """(code, reason) why the parcel cannot go to ``point``; None when it can."""
    n = len(d.parcels)
    limits = (point["max_weight_kg"], point["max_volume_l"], point["max_side_cm"])
    too_big = next(
        (p for p in d.parcels if not takes(*limits, p["weight_kg"], p["volume_l"], p["longest_side_cm"])), None
    )
    if too_big is not None:
        side = f" / {too_big['longest_side_cm']:g} cm" if too_big["longest_side_cm"] is not None else ""
        return "pickup_point_too_small", (
            f"{point['name']} takes parcels of at most {limits_text(*limits)}; "
            f"yours is {too_big['weight_kg']:g} kg / {too_big['volume_l']:g} L{side}"
        )
    if (placed := point.get("no_door")) is not None:
        code = "pickup_point_too_small" if placed.refusal == "too_large" else "pickup_point_full"
        return code, locker_days.lower_first(placed.detail).rstrip(".")
    room = rooms.get(point["id"], 0)
    if room < n:
        return "pickup_point_full", (
            f"{point['name']} is full on {d.day:%A %d %B} (room for {max(room, 0)} more parcel(s); your order has {n})"
        )
    if _point_window(point, d) is None:
        return "pickup_point_closed", f"{point['name']} is not open long enough after a courier can get there today"
    return None


def _point_json(point: dict[str, Any]) -> dict[str, Any]:
    return {"id": point["id"], "name": point["name"], "address": point["address"]}


async def _point_options(d: _Day) -> list[dict[str, Any]]:
    points, rooms = await _points(d)
    here = (d.stop["lat"], d.stop["lon"]) if d.stop else (d.order["lat"], d.order["lon"])
    fitting = [p for p in points if p["id"] != d.order["pickup_point"] and _point_problem(p, rooms, d) is None]
    fitting.sort(key=lambda p: failed_stop.metres(here, (p["lat"], p["lon"])))
    out = []
    for p in fitting[:PICKUP_POINTS_SHOWN]:
        start, end = _point_window(p, d)  # type: ignore[misc]  # fitting: it has one
        out.append(
            {
                "kind": "pickup_point",
                "pickupPointId": p["id"],
                "name": p["name"],
                "address": p["address"],
                "distanceM": round(failed_stop.metres(here, (p["lat"], p["lon"]))),
                "start": format_hhmm(start),
                "end": format_hhmm(end),
                "closes": format_hhmm(_closes(p, d, end)),
            }
        )
    return out


def _address_option(d: _Day, windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start, end = _current_window(d)
    if _window_problem(start, end, d) is None:
        return [{"kind": "address", "start": format_hhmm(start), "end": format_hhmm(end)}]
    if windows:  # the current window is gone: the new address comes with the next one
        return [{"kind": "address", "start": windows[0]["start"], "end": windows[0]["end"]}]
    return []


async def _options(d: _Day, exclude: tuple[str, Any] | None = None) -> list[dict[str, Any]]:
    if _not_redirectable(d) is not None:
        return []
    windows = _window_options(d)
    out = [*windows, *await _point_options(d), *_address_option(d, windows)]
    if exclude is not None:  # the choice just refused is not offered again
        key = {"window": "window", "pickup_point": "pickupPointId"}.get(exclude[0])
        out = [o for o in out if not (o["kind"] == exclude[0] and key and o.get(key) == exclude[1])]
    return out


async def redirect_options(order: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """What the customer can choose now: each entry is a valid ``RedirectIn`` plus what to show."""
    return await _options(await _load(order, now), None)


_WINDOW_TEXT = re.compile(r"^\s*(\d{1,2}:\d\d)\s*[-–]\s*(\d{1,2}:\d\d)\s*$")


def _parse_window(text: str) -> tuple[int, int, str]:
    """(start s, end s, slot name or "") from a slot name or ``HH:MM-HH:MM``."""
    name = text.strip().lower()
    if name in SLOTS:
        return parse_hhmm(SLOTS[name][0]), parse_hhmm(SLOTS[name][1]), name
    m = _WINDOW_TEXT.match(text)
    try:
        if m is None:
            raise ValueError(text)
        start, end = parse_hhmm(m.group(1).zfill(5)), parse_hhmm(m.group(2).zfill(5))
    except ValueError as exc:
        raise Invalid(
            f"The window {text!r} is not one we know: give a slot (morning 08:00-12:00, afternoon "
            f"12:00-17:00, evening 18:00-22:00, day 08:00-18:00) or HH:MM-HH:MM, e.g. 18:00-20:00."
        ) from exc
    if end - start < MIN_WINDOW_S:
        raise Invalid(f"The window {text!r} must end at least {MIN_WINDOW_S // 60} minutes after it starts.")
    return start, end, ""


async def _target(d: _Day, data: RedirectIn, geo: Geo) -> _Target:
    """The new destination, checked by rule; refusals offer the other choices."""
    order = d.order

    async def refuse(why: str, code: str, exclude: tuple[str, Any] | None = None, **extra: Any) -> Conflict:
        return Conflict(why, code=code, redirectOptions=await _options(d, exclude), **extra)

    if data.kind == "window":
        assert data.window is not None
        start, end, slot = _parse_window(data.window)
        if order["pickup_point"]:
            raise await refuse(
                "Your parcel goes to a pickup point, which keeps it until it closes; to have it "
                "brought to a door at a time you choose, redirect it to an address.",
                "window_at_pickup_point",
            )
        if (start, end) == _current_window(d):
            raise Invalid(f"Your delivery window is {format_hhmm(start)}-{format_hhmm(end)} already.")
        if why := _window_problem(start, end, d):
            options = await _options(d, ("window", data.window))
            nxt = next((o for o in options if o["kind"] == "window"), None)
            tail = (
                f" The next possible window is {nxt['start']}-{nxt['end']} ({nxt['slot']})."
                if nxt
                else " There is no other window left that day; choose a pickup point or contact the shop."
            )
            raise Conflict(
                f"We cannot deliver in {format_hhmm(start)}-{format_hhmm(end)}: {why}.{tail}",
                code="window_unavailable",
                nextWindow=nxt,
                redirectOptions=options,
            )
        return _Target(
            kind="window",
            address=d.stop["address"] if d.stop else order["address"],
            lat=d.stop["lat"] if d.stop else order["lat"],
            lon=d.stop["lon"] if d.stop else order["lon"],
            pickup_point=None,
            window=(start, end),
            slot=slot,
        )
    if data.kind == "pickup_point":
        points, rooms = await _points(d)
        point = next((p for p in points if p["id"] == data.pickup_point_id), None)
        if point is None:
            raise Invalid(
                f"pickupPointId {data.pickup_point_id} is not a pickup point we deliver to from your "
                f"parcel's hub; choose one of redirectOptions.",
                redirectOptions=await _options(d),
            )
        if point["id"] == order["pickup_point"]:
            raise Invalid(f"Your parcel goes to {point['name']} already.")
        if problem := _point_problem(point, rooms, d):
            code, why = problem
            raise await refuse(
                f"Your parcel cannot go to {point['name']}: {why}. Choose another option.",
                code,
                ("pickup_point", point["id"]),
            )
        window = _point_window(point, d)
        assert window is not None  # checked just above
        return _Target(
            kind="pickup_point",
            address=f"{point['name']}, {point['address']}".strip(", "),
            lat=point["lat"],
            lon=point["lon"],
            pickup_point=point,
            window=window,
            slot="",
        )
    lat, lon, address = geo.locate(data.lat, data.lon, data.address, what="new delivery address")
    if data.window is not None:
        start, end, slot = _parse_window(data.window)
    else:
        start, end = _current_window(d)
        slot = order["slot"] if not order["pickup_point"] else ""
    if why := _window_problem(start, end, d):
        raise await refuse(
            f"We cannot deliver to {address or 'that place'} in {format_hhmm(start)}-"
            f"{format_hhmm(end)}: {why}. Give another window with the address, or choose another "
            f"option.",
            "window_unavailable",
        )
    if (
        d.stop
        and not order["pickup_point"]
        and (lat, lon) == (d.stop["lat"], d.stop["lon"])
        and (start, end) == _current_window(d)
    ):
        raise Invalid("Your parcel goes to that address in that window already.")
    return _Target(kind="address", address=address, lat=lat, lon=lon, pickup_point=None, window=(start, end), slot=slot)


def _describe(t: _Target) -> str:
    window = f"{format_hhmm(t.window[0])}-{format_hhmm(t.window[1])}"
    if t.kind == "pickup_point":
        assert t.pickup_point is not None
        return f"to {t.pickup_point['name']}"
    if t.kind == "window":
        return f"in {window}"
    return f"to {t.address or 'that place'} in {window}"


async def redirect(
    ctx: Context, order: dict[str, Any], data: RedirectIn, now: dt.datetime, *, time_limit_s: float | None = None
) -> dict[str, Any]:
    """Redirect the order's delivery; answers what it became, or raises with the alternatives.

    Refusals: Invalid (422) for a choice that makes no sense (unknown pickup
    point, malformed window, an address not on the map), Conflict (409) for a
    state that does not allow it (delivered, at the door, a race lost, a window
    too soon, a full pickup point, no courier can fit it in), with
    ``redirectOptions``.

    The change is worked out first (rules, then a re-plan of the running day
    with the change as if written, holding the hub's re-plan lock), and then
    written whole in one transaction: old stop cancelled, new stop, order,
    routes and their events, ``order.redirected``. A crash before that commit
    leaves nothing of it.
    """
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        async with contextlib.AsyncExitStack() as held:
            write = await _prepare(held, ctx, order, data, now, time_limit_s=time_limit_s)
            try:
                async with transaction():
                    done = await write()
                    # At a locker bank: a compartment for each parcel; doors kept elsewhere are freed.
                    await lockers.follow_order(order["id"], (done["pickupPoint"] or {}).get("id"), now)
                    return done
            except Stale:
                if attempt == SAVE_ATTEMPTS:
                    raise await _not_now(order, now) from None
    raise AssertionError("unreachable")


async def redirect_once(
    ctx: Context,
    order: dict[str, Any],
    data: RedirectIn,
    now: dt.datetime,
    *,
    scoped_key: str,
    print_: str,
    time_limit_s: float | None = None,
) -> Answer:
    """:func:`redirect` applied once per key: its answer is stored in the same
    transaction as the change (a refusal is stored too), so a replay after a
    crash gets the answer that is true."""
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        async with contextlib.AsyncExitStack() as held:  # the hub's lock, held until the answer is stored

            async def prepare() -> Any:
                return await _prepare(held, ctx, order, data, now, time_limit_s=time_limit_s)

            try:
                return await once(0, scoped_key, print_, 200, prepare=prepare)
            except Stale:
                if attempt == SAVE_ATTEMPTS:
                    raise await _not_now(order, now) from None
    raise AssertionError("unreachable")


async def _not_now(order: dict[str, Any], now: dt.datetime) -> Conflict:
    return Conflict(
        "We could not re-plan the day with this change just now; nothing changed. Try again in a moment.",
        code="not_now",
        redirectOptions=await _options(await _load(order, now)),
    )


def _changed(d: _Day, seen: str | None) -> Conflict | None:
    """Why the redirect cannot be taken now that the old stop reads ``seen``; None if it is as it was."""
    assert d.stop is not None
    if seen == d.stop["status"]:
        return None
    if seen in ("delivered", "arrived", "failed"):
        return Conflict(
            _not_redirectable(msgspec.structs.replace(d, stop={**d.stop, "status": seen}))
            or "This delivery can no longer be redirected.",
            code="not_redirectable",
            redirectOptions=[],
        )
    return Conflict(
        "Your delivery changed in the meantime (another change arrived at the same moment); reload "
        "the page and choose again.",
        code="changed",
        redirectOptions=[],
    )


def _new_stop(order_id: int, old: dict[str, Any], target: Any, day: dt.date) -> dict[str, Any]:
    """The delivery stop the redirect puts in place of ``old``."""
    point = target.pickup_point
    return {
        "order": order_id,
        "hub": old["hub"],
        "kind": "delivery",
        "shop": None,
        "pickup_point": point["id"] if point else None,
        "address": target.address,
        "lat": target.lat,
        "lon": target.lon,
        "plan_date": day,
        "window_start": at(day, target.window[0]),
        "window_end": at(day, target.window[1]),
        "service_s": old["service_s"],
        "weight_kg": old["weight_kg"],
        "volume_l": old["volume_l"],
        "status": "open",
    }


def _acceptor(target: Any) -> Callable[[DayInput, ReplanResult, list[Any]], Awaitable[str | None]]:
    """The re-plan's veto: why the customer's choice cannot be kept, or None."""

    async def accept(day_input: DayInput, result: ReplanResult, violations: list[Any]) -> str | None:
        sid = str(NEW_STOP)
        planned = next((ps for r in result.plan.routes for ps in r.stops if ps.stop_id == sid), None)
        if planned is None:
            why = next(
                (u.detail for u in (*day_input.pre_unplanned, *result.plan.unplanned) if u.stop_id == sid),
                "no courier can fit it into today's routes",
            )
            return f"We cannot bring your parcel {_describe(target)}: {why.rstrip('.')}."
        # A parcel on a bike is kept there even when late: the customer's new window must still hold.
        if planned.start_s > target.window[1]:
            return (
                f"We cannot bring your parcel {_describe(target)}: the courier who carries it would get "
                f"there only at {format_hhmm(planned.start_s)}."
            )
        if violations:
            return f"We cannot bring your parcel {_describe(target)} without breaking other deliveries."
        return None

    return accept


async def _record_redirect(old_id: int, new_id: int, target: _Target, now: dt.datetime) -> None:
    """The history of both stops: the old one withdrawn, the new one taking its place (by the customer)."""
    where = _describe(target)
    await stop_history.record([old_id], "redirected", at=now, detail=f"The customer sent it {where}; now stop {new_id}")
    await stop_history.record([new_id], "created", at=now, detail=f"The customer redirected stop {old_id} here")


async def _prepare(
    held: contextlib.AsyncExitStack,
    ctx: Context,
    order: dict[str, Any],
    data: RedirectIn,
    now: dt.datetime,
    *,
    time_limit_s: float | None,
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """Check the redirect and work out its re-plan (nothing written); answers the
    write step, to run in one transaction while ``held`` still holds the hub's lock."""
    d = await _load(order, now)
    if why := _not_redirectable(d):
        code = "changed" if d.stop is not None and d.stop["status"] == "open" else "not_redirectable"
        raise Conflict(why, code=code, redirectOptions=[])
    old = d.stop
    assert old is not None
    target = await _target(d, data, ctx.geo)
    day = d.day
    point = target.pickup_point
    new_stop = _new_stop(order["id"], old, target, day)
    point_code = pickup_code(ctx.settings.secret_key, order["id"]) if point else None
    notice = {
        "orderId": order["id"],
        "stopId": old["id"],
        "kind": target.kind,
        "address": target.address,
        "windowStart": new_stop["window_start"].isoformat(),
        "windowEnd": new_stop["window_end"].isoformat(),
        "pickupPoint": _point_json(point) if point else None,
        "pickupCode": point_code,
    }

    await held.enter_async_context(hub_lock(old["hub"]))
    # One winner among racing redirects: the old stop is taken only in the state
    # this request saw it in (checked here to spare a re-plan, and again on write).
    row = await Stop.select(Stop.status).where(Stop.id == old["id"]).first()
    if refused := _changed(d, row["status"] if row else None):
        raise refused
    # A dispatcher's hand on the delivery stays on it at its new destination.
    pin = await DispatchLock.select(DispatchLock.shift).where(DispatchLock.stop == old["id"]).first()

    accept = _acceptor(target)
    worked: WorkedOut | None = None
    if d.routed:
        pending = Pending(
            added=[{**new_stop, "id": NEW_STOP}],
            withdrawn={old["id"]: {**old, "status": CANCELLED}},
            locks={NEW_STOP: pin["shift"]} if pin else {},
        )
        outcome = await work_out(
            ctx,
            old["hub"],
            day,
            now,
            reason=f"customer redirect of order {order['reference']}",
            time_limit_s=time_limit_s,
            accept=accept,
            pending=pending,
            quick=True,  # the new stop inserted where it adds least; the solver's better plan follows
        )
        if isinstance(outcome, dict):
            exclude = (target.kind, data.window if target.kind == "window" else data.pickup_point_id)
            options = await _options(d, exclude)
            if outcome.get("vetoed"):
                raise Conflict(
                    f"{outcome['detail']} Nothing changed; choose another option.",
                    code="infeasible",
                    redirectOptions=options,
                )
            raise Conflict(
                "We could not re-plan the day with this change just now; nothing changed. Try again in a moment.",
                code="not_now",
                redirectOptions=options,
            )
        worked = outcome

    async def write() -> dict[str, Any]:
        async with transaction():
            taken = (
                await Stop.update({Stop.status: CANCELLED})
                .where((Stop.id == old["id"]) & (Stop.status == old["status"]))
                .returning(Stop.id)
            )
            if not taken:
                row = await Stop.select(Stop.status).where(Stop.id == old["id"]).first()
                raise _changed(d, row["status"] if row else None) or Stale("The delivery changed while writing.")
            new_id = (await Stop.insert(Stop(**new_stop)))[0]["id"]
            await _record_redirect(old["id"], new_id, target, now)
            if pin is not None:
                await DispatchLock.insert(DispatchLock(stop=new_id, shift=pin["shift"]))
            await OrderRow.update(
                {
                    OrderRow.address: target.address,
                    OrderRow.lat: target.lat,
                    OrderRow.lon: target.lon,
                    OrderRow.pickup_point: point["id"] if point else None,
                    OrderRow.window_start: new_stop["window_start"],
                    OrderRow.window_end: new_stop["window_end"],
                    OrderRow.slot: target.slot,
                    OrderRow.status: "redirected",
                }
            ).where(OrderRow.id == order["id"])
            crash_point("redirect.mid")  # tests: half of it written, none of it committed
            if worked is not None:  # refused (Stale) if the routes in force changed since they were read
                await worked.renamed({NEW_STOP: new_id}).save()
            await emit("order.redirected", {**notice, "newStopId": new_id}, hub_id=old["hub"])
        return {
            "orderId": order["id"],
            "kind": target.kind,
            "stopId": new_id,
            "previousStopId": old["id"],
            "address": target.address,
            "window": {"start": format_hhmm(target.window[0]), "end": format_hhmm(target.window[1])},
            "pickupPoint": _point_json(point) if point else None,
            "pickupCode": point_code,
            "replanned": d.routed,
        }

    return write
