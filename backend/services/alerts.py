"""Alerts for a hub's dispatchers: raised by the rules of ``backend/dispatch/alerts.py``,
kept one per (hub, date, kind, key), acknowledged once.

:class:`AlertWatch` checks every hub's day once a minute (started with the other
background tasks in ``backend/app.py``); a re-plan nobody asked for by hand that
is not applied raises ``replan_not_applied`` where it is announced
(:func:`backend.services.replanning.announce_if_not_applied`). Each new alert is
written with an ``alert.raised`` event on the hub stream, in one transaction; a
route's late stops changing (``stop_late``, one per route) with ``alert.updated``;
an acknowledgement with ``alert.acknowledged``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import msgspec
from piccolo.utils.encoding import dump_json

from backend.db.engine import reading, transaction
from backend.db.locks import write_guard
from backend.db.rows import insert_rows
from backend.db.tables import Alert, Hub, PickupPoint, Route, Shift, Stop
from backend.dispatch import alerts as rules
from backend.errors import NotFound
from backend.realtime.background import Background
from backend.realtime.outbox import emit, emit_all
from backend.services import point_room
from backend.services.context import Context
from backend.settings import Settings
from backend.structs import Out

log = logging.getLogger("laadbak.alerts")

CHECK_EVERY_S = 60.0
CHUNK = 200  # alerts written per transaction
LATE_ROUTES: tuple[rules.Kind, ...] = ("stop_late",)  # the minute's check answers every late route
# Written by hand (the inserts by insert_rows): a big hub's late day raises and updates
# thousands of alerts a minute, and Piccolo built each statement from a model instance, most
# of the check's CPU on the loop. The data is encoded as Piccolo encodes a JSON column.
_TABLE = Alert._meta.tablename
_FRESH = (Alert.hub, Alert.plan_date, Alert.kind, Alert.key, Alert.detail, Alert.data, Alert.raised_at)
_UPDATE = f'UPDATE {_TABLE} SET "detail" = {{}}, "data" = {{}} WHERE "id" = {{}}'


class AlertBy(Out):
    id: int
    name: str


class AlertOut(Out):
    id: int
    hub_id: int
    date: dt.date
    kind: str
    key: str
    detail: str
    data: dict[str, Any]
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: AlertBy | None


_COLUMNS = (
    *Alert.all_columns(),
    Alert.acknowledged_by.display_name.as_alias("by_display_name"),
    Alert.acknowledged_by.username.as_alias("by_username"),
)


def _view(row: dict[str, Any]) -> AlertOut:
    by = row["acknowledged_by"]
    return AlertOut(
        id=row["id"],
        hub_id=row["hub"],
        date=row["plan_date"],
        kind=row["kind"],
        key=row["key"],
        detail=row["detail"],
        data=row["data"] or {},
        raised_at=row["raised_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=None if by is None else AlertBy(id=by, name=row["by_display_name"] or row["by_username"] or ""),
    )


def _payload(view: AlertOut) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(view)
    return out


# --- raising ------------------------------------------------------------------------


async def raise_alerts(
    hub_id: int,
    day: dt.date,
    raised: Sequence[rules.Raised],
    now: dt.datetime,
    *,
    complete: Collection[rules.Kind] = (),
    names: Mapping[int, str] | None = None,
) -> list[AlertOut]:
    """Write the alerts not raised before (by hub, day, kind and key) with an ``alert.raised``
    event each, and update those of an updated kind (``rules.UPDATED_BY``) whose set changed
    with an ``alert.updated`` event (the acknowledgement kept). ``complete``: kinds for which
    ``raised`` is everything that holds now, so a known key of theirs not raised is cleared
    (``rules.cleared``). Answers the alerts written. Joins the caller's transaction, if any.

    Written ``CHUNK`` keys to a transaction, each alert with its event: a big hub's minute
    (thousands of late routes) must not hold the one writer, and every courier's action
    behind it, for most of a second."""
    kinds = sorted({a.kind for a in raised} | set(complete))
    if not kinds:
        return []
    first: dict[tuple[str, str], rules.Raised] = {}
    for a in raised:
        first.setdefault((a.kind, a.key), a)
    unique = list(first.values())
    written: list[AlertOut] = []
    for i in range(0, len(unique), CHUNK):
        written += await _write_chunk(hub_id, day, unique[i : i + CHUNK], now)
        await asyncio.sleep(0)
    if complete:
        written += await _clear_gone(hub_id, day, {(a.kind, a.key) for a in unique}, complete, now, names)
    return written


async def _write_chunk(hub_id: int, day: dt.date, chunk: Sequence[rules.Raised], now: dt.datetime) -> list[AlertOut]:
    kinds = sorted({a.kind for a in chunk})
    async with transaction():
        await write_guard("alerts", hub_id)  # two processes checking at once raise each alert once
        known = {
            (r["kind"], r["key"]): r
            for r in await Alert.select(Alert.id, Alert.kind, Alert.key, Alert.data)
            .where(
                (Alert.hub == hub_id)
                & (Alert.plan_date == day)
                & Alert.kind.is_in(kinds)
                & Alert.key.is_in(sorted({a.key for a in chunk}))
            )
            .output(load_json=True)
        }
        fresh, changed = _sort_out(chunk, known)
        return await _write(hub_id, day, fresh, changed, now)


async def _clear_gone(
    hub_id: int,
    day: dt.date,
    seen: set[tuple[str, str]],
    complete: Collection[rules.Kind],
    now: dt.datetime,
    names: Mapping[int, str] | None,
) -> list[AlertOut]:
    """Clear the known keys of the ``complete`` kinds that were not raised, ``CHUNK`` at a time."""
    rows = (
        await Alert.select(Alert.id, Alert.kind, Alert.key, Alert.data)
        .where((Alert.hub == hub_id) & (Alert.plan_date == day) & Alert.kind.is_in(sorted(complete)))
        .output(load_json=True)
    )
    gone = [
        (r["id"], cleared)
        for r in rows
        if (r["kind"], r["key"]) not in seen
        and (cleared := rules.cleared(r["kind"], r["key"], r["data"] or {}, names)) is not None
    ]
    written: list[AlertOut] = []
    for i in range(0, len(gone), CHUNK):
        async with transaction():
            await write_guard("alerts", hub_id)
            written += await _write(hub_id, day, [], gone[i : i + CHUNK], now)
        await asyncio.sleep(0)
    return written


async def _write(
    hub_id: int,
    day: dt.date,
    fresh: Sequence[rules.Raised],
    changed: Sequence[tuple[int, rules.Raised]],
    now: dt.datetime,
) -> list[AlertOut]:
    """Insert ``fresh``, update ``changed`` (id, what it becomes), and emit an event for each
    (in the caller's transaction)."""
    ids = await insert_rows(
        _FRESH, [(hub_id, day, a.kind, a.key, a.detail, a.data, now) for a in fresh], returning=Alert.id
    )
    for alert_id, a in changed:
        await Alert.raw(_UPDATE, a.detail, dump_json(a.data), alert_id)
    written = [*ids, *(alert_id for alert_id, _ in changed)]
    if not written:
        return []
    rows = await Alert.select(*_COLUMNS).where(Alert.id.is_in(written)).order_by(Alert.id).output(load_json=True)
    views = {row["id"]: _view(row) for row in rows}
    await emit_all(
        [
            *(("alert.raised", _payload(views[i])) for i in ids),
            *(("alert.updated", _payload(views[i])) for i, _ in changed),
        ],
        hub_id=hub_id,
    )
    return [views[i] for i in written]


def _sort_out(
    raised: Sequence[rules.Raised], known: Mapping[tuple[str, str], dict[str, Any]]
) -> tuple[list[rules.Raised], list[tuple[int, rules.Raised]]]:
    """The alerts to insert, and the known ones to update (id, what they become)."""
    fresh: list[rules.Raised] = []
    changed: list[tuple[int, rules.Raised]] = []
    for a in raised:
        row = known.get((a.kind, a.key))
        field = rules.UPDATED_BY.get(a.kind)
        if row is None:
            fresh.append(a)
        elif field is not None and (row["data"] or {}).get(field) != a.data.get(field):
            changed.append((row["id"], a))
    return fresh, changed


def _time(value: Any) -> dt.datetime:
    t = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return t if t.tzinfo is None else t.astimezone().replace(tzinfo=None)  # local wall-clock time, as stored


def _trail(points: Sequence[Sequence[Any]]) -> tuple[rules.TrailPoint, ...]:
    return tuple(rules.TrailPoint(float(p[0]), float(p[1]), _time(p[2])) for p in points if len(p) >= 3)


Live = dict[int, tuple[dict[str, Any], list[list[Any]]]]  # shift id -> the live store's last position and trail


LIVE_AT_ONCE = 100  # trails copied between two turns of the loop: a day's 2,000 took it 50 ms


async def _live(ctx: Context, shifts: Sequence[dict[str, Any]]) -> Live:
    """Per started shift, the live store's last position and trail where it knows more than the
    database: copied on the loop (the store changes there), read off it by :func:`_where_now`."""
    out: Live = {}
    if ctx.positions is None:
        return out
    kept = getattr(ctx.positions, "trail", None)  # the store keeps a trail per shift; test fakes may not
    for n, shift in enumerate(shifts, 1):
        if n % LIVE_AT_ONCE == 0:
            await asyncio.sleep(0)
        live = ctx.positions.last(shift["courier"])
        if live is None or not live.get("ts"):
            continue
        last_at = shift["last_position_at"]
        if last_at is None or _time(live["ts"]) > last_at:
            out[shift["id"]] = (live, kept(shift["id"]) if callable(kept) else [])
    return out


def _where_now(shift: dict[str, Any], live: Live) -> tuple[dt.datetime | None, tuple[rules.TrailPoint, ...]]:
    """The courier's last position time and trail: the live store's when it knows more than the database."""
    now = live.get(shift["id"])
    if now is None:
        return shift["last_position_at"], _trail(shift["trail"] or [])
    message, kept = now
    ts = _time(message["ts"])
    # The standing part is all the rules read of a trail (``still_since``), and all the database
    # keeps: a day's trail of 500 points, each made a TrailPoint, was most of the check's CPU.
    live_trail = _trail(rules.standing_part(kept))
    if live_trail:
        return ts, live_trail
    return ts, (*_trail(shift["trail"] or []), rules.TrailPoint(float(message["lat"]), float(message["lon"]), ts))


def _json(value: Any) -> Any:
    """A JSON column as read without ``load_json`` (text), decoded; None stays None."""
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def _decode_routes(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for route in routes:
        route["stops"] = _json(route["stops"]) or []
    return routes


async def _day_inputs(ctx: Context, hub_id: int, day: dt.date) -> dict[str, Any]:
    """Everything the rules read about the hub's day, in one snapshot.

    A big hub's day is thousands of routes, stops and trails: their JSON is read as text
    and decoded in a worker thread (as the rules run, :func:`check_hub_alerts`), and the
    stops are read by hub and day rather than by thousands of ids, so that the minute's
    check does not hold the event loop (and every socket) for most of a second."""
    async with reading():
        hub = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub_id).first()
        routes = await asyncio.to_thread(
            _decode_routes,
            await Route.select(Route.courier, Route.stops)
            .where((Route.hub == hub_id) & (Route.plan_date == day) & (Route.current.eq(True)))
            .order_by(Route.courier),
        )
        columns = (Stop.id, Stop.status, Stop.address, Stop.lat, Stop.lon)
        stops = {r["id"]: r for r in await Stop.select(*columns).where((Stop.hub == hub_id) & (Stop.plan_date == day))}
        missing = [s["stop_id"] for r in routes for s in r["stops"] if s["stop_id"] not in stops]
        for i in range(0, len(missing), 5000):  # a stop of another day on a route: rare
            rows = await Stop.select(*columns).where(Stop.id.is_in(missing[i : i + 5000]))
            stops.update({r["id"]: r for r in rows})
        start = dt.datetime.combine(day, dt.time())
        shifts = await Shift.select(
            Shift.id,
            Shift.courier,
            Shift.courier.name.as_alias("courier_name"),
            Shift.start,
            Shift.started_at,
            Shift.last_position_at,
            Shift.trail,  # text: decoded off the loop
        ).where(
            (Shift.hub == hub_id)
            & (Shift.status == "started")
            & (Shift.start >= start)
            & (Shift.start < start + dt.timedelta(days=1))
        )
        failed = await Stop.select(Stop.id, Stop.address).where(
            (Stop.hub == hub_id) & (Stop.plan_date == day) & (Stop.status == "failed")
        )
        points = await PickupPoint.select(PickupPoint.id, PickupPoint.name, PickupPoint.capacity_parcels).where(
            PickupPoint.hub == hub_id
        )
        rooms = await point_room.rooms([(p["id"], p["capacity_parcels"]) for p in points], day)
    return {
        "hub": hub,
        "routes": routes,
        "stops": stops,
        "shifts": shifts,
        "live": await _live(ctx, shifts),
        "failed": failed,
        "points": points,
        "rooms": rooms,
    }


def _rules_for(settings: Settings, inputs: dict[str, Any], now: dt.datetime) -> list[rules.Raised]:
    """Every rule on the day's inputs: no I/O and nothing the loop changes, so it runs in a
    worker thread (the trails' JSON is decoded here too)."""
    stops, routes = inputs["stops"], inputs["routes"]
    on_route: list[rules.StopNow] = []
    by_courier: dict[int, list[dict[str, Any]]] = {}
    for route in routes:
        for s in route["stops"]:
            row = stops.get(s["stop_id"])
            if row is None:
                continue
            by_courier.setdefault(route["courier"], []).append(row)
            if row["status"] in rules.FINISHED:  # never late (rules.late_stops): its times not parsed
                continue
            on_route.append(
                rules.StopNow(
                    stop_id=row["id"],
                    courier_id=route["courier"],
                    status=row["status"],
                    address=row["address"],
                    window_end=_time(s["window_end"]),
                    eta=_time(s["eta"]),
                    service_start=_time(s["service_start"]) if s.get("service_start") else None,
                )
            )
    hub = inputs["hub"]
    couriers = []
    for shift in inputs["shifts"]:
        shift["trail"] = _json(shift["trail"])
        last_at, trail = _where_now(shift, inputs["live"])
        mine = by_courier.get(shift["courier"], [])
        couriers.append(
            rules.CourierNow(
                courier_id=shift["courier"],
                name=shift["courier_name"] or f"Courier {shift['courier']}",
                started_at=shift["started_at"] or shift["start"],
                last_position_at=last_at,
                trail=trail,
                open_stops=tuple(
                    (r["lat"], r["lon"]) for r in mine if r["status"] not in rules.FINISHED and r["status"] != "arrived"
                ),
                at_stop=any(r["status"] == "arrived" for r in mine),
                hub=(hub["lat"], hub["lon"]) if hub else None,
            )
        )
    return [
        *rules.late_routes(on_route, {c.courier_id: c.name for c in couriers}),
        *rules.no_position(couriers, now, settings.alert_no_position_min),
        *rules.standing_still(couriers, now, settings.alert_still_min, fresh_min=settings.alert_no_position_min),
        *rules.repeated_failures(rules.FailedStop(stop_id=f["id"], address=f["address"]) for f in inputs["failed"]),
        *rules.pickup_points_full(
            rules.PointLoad(
                pickup_point_id=p["id"],
                name=p["name"],
                capacity=p["capacity_parcels"],
                waiting=inputs["rooms"][p["id"]].on_shelves,
                room_left=inputs["rooms"][p["id"]].left,
            )
            for p in inputs["points"]
        ),
    ]


async def check_hub_alerts(ctx: Context, hub_id: int, now: dt.datetime) -> list[AlertOut]:
    """Run every rule on the hub's day (``now``'s date) and raise what is new."""
    inputs = await _day_inputs(ctx, hub_id, now.date())
    names = {s["courier"]: s["courier_name"] for s in inputs["shifts"] if s["courier_name"]}
    raised = await asyncio.to_thread(_rules_for, ctx.settings, inputs, now)
    return await raise_alerts(hub_id, now.date(), raised, now, complete=LATE_ROUTES, names=names)


async def check_alerts(ctx: Context, now: dt.datetime) -> int:
    """Every hub's check, one after another; answers how many alerts were raised or updated."""
    raised = 0
    for hub in await Hub.select(Hub.id).order_by(Hub.id):
        try:
            raised += len(await check_hub_alerts(ctx, hub["id"], now))
        except Exception:  # noqa: BLE001 - one hub's trouble does not keep the others' alerts back
            log.exception("checking hub %s's alerts failed", hub["id"])
        await asyncio.sleep(0)
    return raised


async def alert_replan_not_applied(hub_id: int, day: dt.date, result: dict[str, Any], now: dt.datetime) -> None:
    """A re-plan answered ``applied: false``: raise ``replan_not_applied`` (in the caller's transaction)."""
    raised = rules.replan_not_applied(
        str(result.get("reason", "")), str(result.get("detail", "")), now, int(result.get("unplanned") or 0)
    )
    if result.get("planRunId") is not None:
        raised.data["planRunId"] = result["planRunId"]
    await raise_alerts(hub_id, day, [raised], now)


class AlertWatch(Background):
    """Checks every hub's alerts once per ``every_s``."""

    task_name = "alert-watch"

    def __init__(self, ctx: Context, every_s: float = CHECK_EVERY_S) -> None:
        self.ctx, self.every_s = ctx, every_s

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                if await check_alerts(self.ctx, self.ctx.now()) and self.ctx.feed is not None:
                    await self.ctx.feed.poke()
            except Exception:  # noqa: BLE001 - try again next time
                log.exception("checking alerts failed")


# --- reading and acknowledging ------------------------------------------------------


async def hub_of_alert(alert_id: int) -> int:
    """The alert's hub; NotFound when there is no such alert."""
    row = await Alert.select(Alert.hub).where(Alert.id == alert_id).first()
    if row is None:
        raise NotFound(f"There is no alert with id {alert_id}.")
    return int(row["hub"])


async def list_alerts(hub_id: int, day: dt.date, open_only: bool | None = None) -> list[AlertOut]:
    """The hub's alerts of the day, newest first; ``open_only``: True only those not
    acknowledged, False only those acknowledged, None all. NotFound for an unknown hub."""
    if await Hub.count().where(Hub.id == hub_id) == 0:
        raise NotFound(f"There is no hub with id {hub_id}.")
    where: Any = (Alert.hub == hub_id) & (Alert.plan_date == day)
    if open_only is True:
        where &= Alert.acknowledged_at.is_null()
    elif open_only is False:
        where &= Alert.acknowledged_at.is_not_null()
    rows = (
        await Alert.select(*_COLUMNS)
        .where(where)
        .order_by(Alert.raised_at, Alert.id, ascending=False)
        .output(load_json=True)
    )
    return [_view(r) for r in rows]


async def acknowledge(alert_id: int, user_id: int, now: dt.datetime) -> AlertOut:
    """Mark the alert seen by ``user_id`` at ``now``, with an ``alert.acknowledged`` event.
    Idempotent: an alert acknowledged before is answered as it is (first who and when kept)."""
    async with transaction():
        changed = (
            await Alert.update({Alert.acknowledged_at: now, Alert.acknowledged_by: user_id})
            .where((Alert.id == alert_id) & Alert.acknowledged_at.is_null())
            .returning(Alert.id, Alert.hub)
        )
        row = await Alert.select(*_COLUMNS).where(Alert.id == alert_id).output(load_json=True).first()
        if row is None:
            raise NotFound(f"There is no alert with id {alert_id}.")
        view = _view(row)
        if changed:
            await emit("alert.acknowledged", _payload(view), hub_id=view.hub_id)
    return view
