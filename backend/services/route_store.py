"""Where routes are kept: plan runs, route versions and the states of their stops.

A plan (:mod:`backend.services.planning`) and a re-plan
(:mod:`backend.services.replanning`) both write through here: a new plan run,
the stops' new states, then one new version of each route they change, the
version before it no longer current. Callers hold the transaction (with their
outbox events in it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from piccolo.columns import JSON, JSONB

from backend.db.locks import write_guard
from backend.db.tables import PlanRun, Route, Stop
from backend.dispatch.calendar import at, seconds_of
from backend.dispatch.model import PlannedStop
from backend.dispatch.model import Route as PlanRoute
from backend.errors import Stale
from backend.services import stop_history


def _in_force(hub_id: int, day: dt.date) -> Any:
    return (Route.hub == hub_id) & (Route.plan_date == day) & (Route.current.eq(True))


async def any_in_force(hub_id: int, day: dt.date) -> bool:
    """Whether the hub's day has routes: asked where reading them all (thousands of routes'
    stops on a big hub) would be the whole cost."""
    return bool(await Route.exists().where(_in_force(hub_id, day)))


async def routes_in_force(hub_id: int, day: dt.date, courier_id: int | None = None) -> list[dict[str, Any]]:
    """The hub's current route versions of the day, by courier (``courier_id``: theirs only)."""
    where = _in_force(hub_id, day)
    if courier_id is not None:
        where &= Route.courier == courier_id
    rows = await Route.select().where(where).order_by(Route.courier)
    # decoded by msgspec, not Piccolo's json.loads: every re-plan reads the whole day's stops
    # (a fifth of its reading time at 2,000 stops)
    for row in rows:
        for name in _ROUTE_JSON:
            if isinstance(row[name], str | bytes):
                row[name] = msgspec.json.decode(row[name])
    return rows


_ROUTE_JSON = tuple(c._meta.name for c in Route._meta.columns if isinstance(c, JSON | JSONB))


async def read_route(route_id: int) -> dict[str, Any] | None:
    return await Route.select().where(Route.id == route_id).output(load_json=True).first()


def stop_record(ps: PlannedStop, row: dict[str, Any], day: dt.date, previous_departure: int) -> dict[str, Any]:
    """A planned stop as a route keeps it: where, when, and what the ETAs are recomputed from.
    The database keeps its own names (snake_case, as its columns); the API's views of a
    route (backend/services/courier.py, ``stop_views``) carry them in camelCase."""
    return {
        "stop_id": row["id"],
        "order_id": row["order"],
        "kind": row["kind"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        "eta": at(day, ps.arrival_s).isoformat(),
        "planned_eta": at(day, ps.arrival_s).isoformat(),
        "service_start": at(day, ps.start_s).isoformat(),
        "planned_service_start": at(day, ps.start_s).isoformat(),
        "departure": at(day, ps.departure_s).isoformat(),
        "window_start": row["window_start"].isoformat(),
        "window_end": row["window_end"].isoformat(),
        # Kept so ETAs can be recomputed from real progress without the matrices.
        "travel_s": ps.arrival_s - previous_departure,
        "service_s": ps.departure_s - ps.start_s,
        "late": ps.start_s > seconds_of(row["window_end"], day),  # kept late rather than dropped (re-plans)
        "load_kg": round(ps.load_kg, 2),
        "distance_m": ps.distance_m,
        "loop": ps.loop,
    }


def stop_records(
    route: PlanRoute, rows: dict[str, dict[str, Any]], day: dt.date, loop_offset: int = 0
) -> list[dict[str, Any]]:
    """The stops of a solved route as the route keeps them (``rows``: stop rows by id).
    ``loop_offset``: loops the courier rode before this route's first (a re-plan)."""
    departures = [route.start_s, *(ps.departure_s for ps in route.stops)]
    out = [stop_record(ps, rows[ps.stop_id], day, departures[i]) for i, ps in enumerate(route.stops)]
    for record in out:
        record["loop"] += loop_offset
    return out


def reload_records(route: PlanRoute, day: dt.date, loop_offset: int = 0) -> list[dict[str, Any]]:
    """The visits of the hub between a solved route's loops, as the route keeps them."""
    return [
        {
            "loop": rl.loop + loop_offset,
            "arrival": at(day, rl.arrival_s).isoformat(),
            "departure": at(day, rl.departure_s).isoformat(),
            "load_kg": round(rl.load_kg, 2),
            "load_l": round(rl.load_l, 2),
            "distance_m": rl.distance_m,
        }
        for rl in route.reloads
    ]


async def guard_routes(hub_id: int) -> None:
    """Inside the writer's transaction: a re-plan's check of the routes in force sees all of it or none."""
    await write_guard("routes", hub_id)


async def check_in_force(hub_id: int, day: dt.date, routes: list[dict[str, Any]]) -> None:
    """Inside the save's transaction: the routes in force are still the versions
    ``routes`` were read as, else the save is refused (Stale) before it writes."""
    await guard_routes(hub_id)
    now_in_force = {
        r["id"]
        for r in await Route.select(Route.id).where(
            (Route.hub == hub_id) & (Route.plan_date == day) & (Route.current.eq(True))
        )
    }
    if now_in_force != {r["id"] for r in routes}:
        raise Stale(
            f"The routes of hub {hub_id} on {day} changed while this re-plan was worked out; "
            f"it is worked out again from the routes in force."
        )


async def add_run(
    hub_id: int,
    day: dt.date,
    *,
    violations: int,
    time_limit_s: float,
    inputs: dict[str, Any],
    figures: dict[str, Any],
    unplanned: list[dict[str, Any]],
) -> int:
    """A plan run's record; returns its id."""
    return (
        await PlanRun.insert(
            PlanRun(
                hub=hub_id,
                plan_date=day,
                status="done" if violations == 0 else "infeasible",
                finished_at=dt.datetime.now(),
                time_limit_s=time_limit_s,
                inputs=inputs,
                figures=figures,
                unplanned=unplanned,
            )
        )
    )[0]["id"]


async def set_run_figures(run_id: int, figures: dict[str, Any]) -> None:
    await PlanRun.update({PlanRun.figures: figures}).where(PlanRun.id == run_id)


async def mark_stops(
    planned: list[int],
    unplanned: list[int],
    *,
    only_open: bool = False,
    detail: str = "",
    details: dict[int, str] | None = None,
    by_user: int | None = None,
    at: dt.datetime | None = None,
) -> None:
    """The stops take their states from the plan before any route event is written
    (the events carry the route view as read then: a phone must never see a stop
    still "open"). ``only_open``: leave stops under way or done as they are.

    Each stop whose state changes gets its history entry: ``detail`` says which plan,
    ``details`` adds a sentence per stop (the courier it went to, why it was left off)."""
    planned_where: Any = Stop.id.is_in(planned or [-1])
    unplanned_where: Any = Stop.id.is_in(unplanned or [-1])
    if only_open:
        planned_where &= Stop.status.is_in(["open", "unplanned"])
        unplanned_where &= Stop.status.is_in(["open", "planned"])
    to_plan = await _ids(planned_where & (Stop.status != "planned"))
    to_unplan = await _ids(unplanned_where & (Stop.status != "unplanned"))
    await Stop.update({Stop.status: "planned"}).where(planned_where)
    await Stop.update({Stop.status: "unplanned"}).where(unplanned_where)
    texts = {sid: f"{detail}: {more}" if detail else more for sid, more in (details or {}).items()}
    await stop_history.record(to_plan, "planned", by_user=by_user, detail=detail, details=texts, at=at)
    await stop_history.record(to_unplan, "unplanned", by_user=by_user, detail=detail, details=texts, at=at)


async def _ids(where: Any) -> list[int]:
    return [r["id"] for r in await Stop.select(Stop.id).where(where).order_by(Stop.id)]


async def current_versions(hub_id: int, day: dt.date) -> dict[int, int]:
    """Courier id -> version of their route in force."""
    rows = await Route.select(Route.courier, Route.version).where(
        (Route.hub == hub_id) & (Route.plan_date == day) & (Route.current.eq(True))
    )
    return {r["courier"]: r["version"] for r in rows}


async def retire_all(hub_id: int, day: dt.date) -> None:
    """No route of the hub's day is in force any more (a new plan replaces them all)."""
    await Route.update({Route.current: False}).where((Route.hub == hub_id) & (Route.plan_date == day))


async def retire(route_id: int) -> None:
    await Route.update({Route.current: False}).where(Route.id == route_id)


async def add_version(row: dict[str, Any]) -> dict[str, Any]:
    """Write a route version (``row``: its columns, ``current`` true); returns the row with its id."""
    route_id = (await Route.insert(Route(**row)))[0]["id"]
    return {**row, "id": route_id}


def courier_name(shift: dict[str, Any]) -> str:
    """A shift row's courier, by name where the row has it."""
    return str(shift.get("courier.name") or f"courier {shift['courier']}")


def whose_routes(plan: Any, shifts: dict[str, dict[str, Any]]) -> dict[int, str]:
    """Stop id -> "on <courier>'s route", for every stop ``plan`` puts on a route (``shifts``: by vehicle id)."""
    return {
        int(ps.stop_id): f"on {courier_name(shifts[r.vehicle_id])}'s route"
        for r in plan.routes
        if r.vehicle_id in shifts
        for ps in r.stops
    }


async def record_moves(
    before: list[dict[str, Any]],
    plan: Any,
    shifts: dict[str, dict[str, Any]],
    why: str,
    *,
    by_user: int | None = None,
    by_hand: frozenset[int] = frozenset(),
    at: dt.datetime | None = None,
) -> None:
    """History for the stops ``plan`` hands to another courier than the routes ``before``
    had them with ("moved"), and for those a dispatcher moved by hand ("assigned"),
    wherever they end up. Inside the transaction that saves the plan."""
    holder = {s["stop_id"]: r["courier"] for r in before for s in r["stops"]}
    moved: dict[int, str] = {}
    assigned: dict[int, str] = {}
    for r in plan.routes:
        shift = shifts.get(r.vehicle_id)
        if shift is None:
            continue
        where = f"to {courier_name(shift)}'s route"
        for ps in r.stops:
            sid = int(ps.stop_id)
            if sid in by_hand:
                assigned[sid] = f"Moved by hand {where} ({why})"
            elif sid in holder and holder[sid] != shift["courier"]:
                moved[sid] = f"{why}: {where}"
    await stop_history.record(moved, "moved", by_user=by_user, details=moved, at=at)
    await stop_history.record(assigned, "assigned", by_user=by_user, details=assigned, at=at)
