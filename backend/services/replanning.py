"""Re-planning a hub's running day: from the routes in force, with locks, and
publishing only the routes that changed.

Reads the day as it stands (stop states, parcels on bikes, where the bikes
are), turns it into a Problem with locks (:class:`backend.services.day.LiveDay`), lets the
pure core re-plan it (:func:`backend.dispatch.replan.replan`, in the solver
pool), checks the result and writes, in one transaction, a new version of
each changed route with a ``route.updated`` event that says why. What leads
to a re-plan (a failed stop, a new order, a breakdown...) is in
:mod:`backend.services.disruptions`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec
import numpy as np

from backend.crashpoints import crash_point
from backend.db.engine import transaction
from backend.db.tables import Job, PlanRun, Stop
from backend.dispatch import feasibility
from backend.dispatch.live_replan import timed_replan
from backend.dispatch.model import Unplanned
from backend.dispatch.progress import DONE
from backend.dispatch.quick import check_published, legs_changed, orders_cost, quick_replan
from backend.dispatch.replan import DEFAULT_MIN_GAIN_S, ReplanResult
from backend.dispatch.scheduling import earliest_plan
from backend.errors import Invalid, Stale
from backend.realtime.outbox import emit
from backend.services.alerts import alert_replan_not_applied
from backend.services.context import Context
from backend.services.day import DayInput, LiveDay, Pending, hub_lock, live_day, load_day
from backend.services.legs_first import complete_later
from backend.services.replan_budget import BUDGET, MIN_SOLVE_S
from backend.services.replan_save import save_replan

log = logging.getLogger("laadbak.replan")
# A live re-plan builds the matrices of every stop left: 4,000 places are about
# 250 MB and a second of searching; a bigger hub's day is re-planned by hand.
MAX_LIVE_STOPS = 4000
# The time limit covers the whole re-plan, reading to saving: the solver gets what is
# left when it starts, less a reserve learnt from recent re-plans (backend/services/replan_budget.py).
# a quick answer's better plan (looked for BETTER_AFTER_S after it, backend/services/replan_save.py)
# is published when it saves this many seconds of riding (or metres) in all
BETTER_MIN_GAIN = 120
SAVE_ATTEMPTS = 3  # a save refused as stale is worked out again from a fresh read, this often at most


async def replan_hub(
    ctx: Context,
    hub_id: int,
    day: dt.date,
    now: dt.datetime,
    *,
    reason: str,
    time_limit_s: float | None = None,
    min_gain_s: int = DEFAULT_MIN_GAIN_S,
    prepare: Callable[[], Awaitable[None]] | None = None,
    accept: Callable[[DayInput, ReplanResult, list[Any]], Awaitable[str | None]] | None = None,
    undo: Callable[[], Awaitable[None]] | None = None,
    pending: Pending | None = None,
    write_pending: Callable[[], Awaitable[None]] | None = None,
    by_user: int | None = None,
    quick: bool = True,
    baseline_closed: np.ndarray | None = None,
    search_after: bool = False,
) -> dict[str, Any]:
    """Re-plan what is left of the hub's day; returns what changed.

    ``quick`` (the default): a quick answer first when the change is stops to insert or
    move (:func:`work_out`); a ``replan_better`` job then lets the solver look for a
    better plan after the answer, published only when it gains enough
    (:func:`improve_hub`). ``baseline_closed``: after a street closed or reopened, the
    edges closed before it; the routes whose legs it changed are the quick answer,
    re-timed. ``search_after``: the solver's answer too is followed by a ``replan_better``
    job (an answer in a short limit, e.g. a dispatcher's re-plan by hand).

    ``by_user``: the dispatcher whose action asked for it (None: the system); the
    stops' history names them for the changes this re-plan makes.

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
    asked = time.perf_counter()
    async with hub_lock(hub_id):
        waited_s = time.perf_counter() - asked  # another re-plan of the hub held it: the phone waits too
        if prepare is not None:
            await prepare()  # its own refusal (e.g. a lost race) leaves nothing to undo
        try:
            for attempt in range(1, SAVE_ATTEMPTS + 1):
                try:
                    result = await _replan_hub(
                        ctx,
                        hub_id,
                        day,
                        now,
                        reason=reason,
                        time_limit_s=time_limit_s,
                        min_gain_s=min_gain_s,
                        accept=accept,
                        pending=pending,
                        write_pending=write_pending,
                        by_user=by_user,
                        quick=quick,
                        waited_s=waited_s,
                        baseline_closed=baseline_closed,
                        search_after=search_after,
                    )
                    break
                except Stale:
                    # Someone saved routes of this hub without its lock (a plan of the day):
                    # work it out again from what is in force now.
                    log.warning(
                        "hub %s re-plan (%s): routes changed while solving (try %d of %d)",
                        hub_id,
                        reason,
                        attempt,
                        SAVE_ATTEMPTS,
                    )
                    if attempt == SAVE_ATTEMPTS:
                        raise
        except BaseException:
            if undo is not None:
                await undo()
            raise
        if not result["applied"] and undo is not None:
            await undo()
        return result


async def _replan_hub(
    ctx: Context,
    hub_id: int,
    day: dt.date,
    now: dt.datetime,
    *,
    reason: str,
    time_limit_s: float | None,
    min_gain_s: int,
    accept: Callable[[DayInput, ReplanResult, list[Any]], Awaitable[str | None]] | None = None,
    pending: Pending | None = None,
    write_pending: Callable[[], Awaitable[None]] | None = None,
    by_user: int | None = None,
    quick: bool = False,
    waited_s: float = 0.0,
    baseline_closed: np.ndarray | None = None,
    search_after: bool = False,
) -> dict[str, Any]:
    worked = await work_out(
        ctx,
        hub_id,
        day,
        now,
        reason=reason,
        time_limit_s=time_limit_s,
        min_gain_s=min_gain_s,
        accept=accept,
        pending=pending,
        quick=quick,
        waited_s=waited_s,
        baseline_closed=baseline_closed,
    )
    if isinstance(worked, dict):
        return worked
    by_hand = frozenset(sid for sid in (pending.locks if pending is not None else {}) if sid > 0)
    worked = msgspec.structs.replace(worked, by_user=by_user, by_hand=by_hand, search_after=search_after)
    async with transaction():
        if write_pending is not None:
            await write_pending()
        saved = await worked.save()
    complete_later(worked.day_input.complete)  # legs first: the whole matrices now, for the next re-plans
    if worked.solved_at is not None:  # what the next solver must leave time for
        BUDGET.learn(time.perf_counter() - worked.solved_at)
    return saved


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
    by_user: int | None = None  # who asked for it (the stops' history); None: the system
    by_hand: frozenset[int] = frozenset()  # stops a dispatcher moves with it (their history says "assigned")
    search_after: bool = False  # a solver's answer in a short limit: a better plan is looked for after it
    now: dt.datetime | None = None  # the time it is worked out for: its history entries' time
    phases: dict[str, float] = {}  # seconds per phase of working it out (the plan run's figures keep them)
    solved_at: float | None = None  # perf_counter when the solver answered (None: a quick answer)

    def renamed(self, ids: dict[int, int]) -> WorkedOut:
        """With the pending stops' placeholder ids (below zero) replaced by the ids they were written with."""
        names = {str(old): str(new) for old, new in ids.items()}

        def name(sid: str) -> str:
            return names.get(sid, sid)

        plan = self.result.plan
        plan = msgspec.structs.replace(
            plan,
            routes=tuple(
                msgspec.structs.replace(
                    r, stops=tuple(msgspec.structs.replace(ps, stop_id=name(ps.stop_id)) for ps in r.stops)
                )
                for r in plan.routes
            ),
            unplanned=tuple(msgspec.structs.replace(u, stop_id=name(u.stop_id)) for u in plan.unplanned),
        )
        stops = {
            name(sid): ({**row, "id": ids[row["id"]]} if row["id"] in ids else row)
            for sid, row in self.day_input.stops.items()
        }
        pre = [msgspec.structs.replace(u, stop_id=name(u.stop_id)) for u in self.day_input.pre_unplanned]
        return msgspec.structs.replace(
            self,
            result=msgspec.structs.replace(self.result, plan=plan),
            day_input=msgspec.structs.replace(self.day_input, stops=stops, pre_unplanned=pre),
        )

    async def save(self) -> dict[str, Any]:
        """Write it (in the caller's transaction, if any); Stale when the routes in force changed."""
        return await save_replan(
            self.hub_id,
            self.day,
            self.reason,
            self.time_limit_s,
            self.day_input,
            self.result,
            self.routes,
            self.violations,
            time.perf_counter() - self.started,
            by_user=self.by_user,
            by_hand=self.by_hand,
            now=self.now,
            phases=self.phases,
            search_after=self.search_after,
        )


def _not_applied(
    reason: str,
    t0: float,
    result: ReplanResult,
    violations: int,
    detail: str,
    unplanned: Iterable[Unplanned],
    unplanned_count: int,
) -> dict[str, Any]:
    """The answer of a re-plan that is not to be applied, and why."""
    return unchanged_answer(
        reason,
        time.perf_counter() - t0,
        detail,
        applied=False,
        solve_s=result.plan.solve_s,
        violations=violations,
        unplanned=unplanned,
        unplanned_count=unplanned_count,
    )


def unchanged_answer(
    reason: str,
    total_s: float,
    detail: str,
    *,
    applied: bool = True,
    solve_s: float = 0.0,
    violations: int = 0,
    unplanned: Iterable[Unplanned] = (),
    unplanned_count: int = 0,
) -> dict[str, Any]:
    """The answer of a re-plan that changes no route: one not applied (``applied`` False,
    why in ``detail``), or one with nothing to change."""
    return {
        "planRunId": None,
        "reason": reason,
        "applied": applied,
        "changedCouriers": [],
        "keptOrder": 0,
        "unplanned": unplanned_count,
        "violations": violations,
        "solveS": round(solve_s, 3),
        "totalS": round(total_s, 3),
        "detail": detail,
        "unplannedStops": [{"stopId": int(u.stop_id), "reason": u.reason, "detail": u.detail} for u in unplanned],
    }


async def _solve_apart(ctx: Context, job: Callable[[], Any]) -> Any:
    """``job`` in the solver pool (a thread when the context has none), off the event loop."""
    if ctx.pool is None:
        return await asyncio.to_thread(job)
    solving = asyncio.get_running_loop().run_in_executor(ctx.pool, job)  # submitted: the solver runs
    crash_point("replan.solving")  # tests: the process dies while its solver works
    return await solving


async def work_out(
    ctx: Context,
    hub_id: int,
    day: dt.date,
    now: dt.datetime,
    *,
    reason: str,
    time_limit_s: float | None = None,
    min_gain_s: int = DEFAULT_MIN_GAIN_S,
    accept: Callable[[DayInput, ReplanResult, list[Any]], Awaitable[str | None]] | None = None,
    pending: Pending | None = None,
    quick: bool = False,
    waited_s: float = 0.0,
    baseline_closed: np.ndarray | None = None,
) -> WorkedOut | dict[str, Any]:
    """Read the day (with ``pending`` as if written), solve it in the pool and check
    it; nothing is written. Answers the re-plan to save, or (a dict with ``applied:
    False``) why it is not to be applied. Run it holding :func:`hub_lock`.

    ``quick``: the quick answer first (the stops no route holds inserted where they add
    least, :func:`backend.dispatch.quick.quick_replan`); the solver runs only when there
    is none (nothing to insert, a stop that fits nowhere) or the checker refuses it.
    ``waited_s``: how long the caller waited for the hub's lock; kept with the phases,
    and counted in the limit (the phone waited for it too). ``baseline_closed``: see
    :func:`replan_hub`."""
    t0 = time.perf_counter()
    time_limit_s = time_limit_s or ctx.replan_time_limit_s
    await _not_too_big(hub_id, day)
    phases: dict[str, float] = {"lock_wait": waited_s} if waited_s else {}
    live, routes = await live_day(
        hub_id,
        day,
        now,
        ctx.places(),
        pending,
        latest=ctx.positions.last if ctx.positions else None,
        max_speed_kmh=ctx.settings.trail_max_kmh,
    )
    if not routes:
        raise Invalid(f"Hub {hub_id} has no routes on {day} to re-plan; plan the day first.")
    phases["live"] = time.perf_counter() - t0
    answer_day = functools.partial(
        _answer,
        *(ctx, hub_id, day, live, routes, pending, baseline_closed),
        phases=phases,
        min_gain_s=min_gain_s,
        quick=quick,
        budget=(t0 - waited_s, time_limit_s),
    )
    # a closure: the quick answer from the routes' legs alone, while its network's weights are not known
    answer = await answer_day(legs_first=quick and accept is None and baseline_closed is not None)
    if answer is None:  # not the right answer there (a stop to insert or move, the checker refused)
        phases["legs_first"] = time.perf_counter() - t0 - phases["live"]
        answer = await answer_day(legs_first=False)
    assert answer is not None  # the solver always answers
    day_input, in_force, result, violations, solved_at = answer
    log.info(
        "hub %s re-plan (%s): %d stops, %d couriers changed; %s",
        hub_id,
        reason,
        len(day_input.problem.stops),
        len(result.changed),
        ", ".join(
            f"{k.removeprefix('n.')} {v:.0f}"
            if k.startswith("n.") or k.endswith(("unperformed", "objective", "refused"))
            else f"{k} {v * 1000:.0f} ms"
            for k, v in phases.items()
        ),
    )
    on_duty = {v.id for v in day_input.problem.vehicles}
    dropped = {u.stop_id for u in result.plan.unplanned}
    lost = sorted(int(sid) for vid, ids in in_force.items() if vid in on_duty for sid in ids if sid in dropped)
    if lost:
        # A re-plan within a second can do worse than the routes in force (when
        # the warm start is refused, it starts cold). Stops that were on a
        # working courier's route are never taken off by it: the routes stay.
        detail = f"The re-plan would take {len(lost)} planned stop(s) off their routes; routes kept."
        return _not_applied(reason, t0, result, len(violations), detail, result.plan.unplanned, len(dropped))
    veto = await accept(day_input, result, violations) if accept is not None else None
    if veto is not None:
        unplanned = (*day_input.pre_unplanned, *result.plan.unplanned)
        return {
            **_not_applied(reason, t0, result, len(violations), veto, unplanned, len(result.plan.unplanned)),
            "vetoed": True,
        }
    phases["worked_out"] = time.perf_counter() - t0
    return WorkedOut(
        now=now,
        hub_id=hub_id,
        day=day,
        reason=reason,
        time_limit_s=time_limit_s,
        day_input=day_input,
        result=result,
        routes=routes,
        violations=len(violations),
        started=t0,
        phases=phases,
        solved_at=solved_at,
    )


async def _answer(
    ctx: Context,
    hub_id: int,
    day: dt.date,
    live: LiveDay,
    routes: list[dict[str, Any]],
    pending: Pending | None,
    baseline_closed: np.ndarray | None,
    *,
    phases: dict[str, float],
    min_gain_s: int,
    quick: bool,
    budget: tuple[float, float],
    legs_first: bool,
) -> tuple[DayInput, dict[str, list[str]], ReplanResult, list[Any], float | None] | None:
    """Read the day and answer it (see :func:`work_out`): (the day, the routes in force, the
    result, its violations, when the solver answered). ``legs_first``: while a closure's
    network is not known, the quick answer from the matrices at the routes' legs and the
    lines of the hub and the stops on no route alone
    (backend/services/legs_first.py); None when that is not the right answer."""
    t1 = time.perf_counter()
    day_input = await load_day(ctx.geo, hub_id, day, live, pending, baseline_closed, routes if legs_first else None)
    phases["load"] = time.perf_counter() - t1
    phases["matrices"] = day_input.matrix_s
    if day_input.legs_runs is not None:
        phases["n.legs_runs"] = day_input.legs_runs
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
    # So is a stop that can no longer be planned at all (e.g. a loading zone's windows now miss its own).
    withdrawn_ids |= {int(u.stop_id) for u in day_input.pre_unplanned if int(u.stop_id) > 0}
    withdrawn_from = {f"shift-{r['shift']}" for r in routes if any(s["stop_id"] in withdrawn_ids for s in r["stops"])}
    in_problem = {s.id for s in day_input.problem.stops}
    in_force = {
        f"shift-{r['shift']}": [str(s["stop_id"]) for s in r["stops"] if str(s["stop_id"]) in in_problem]
        for r in routes
    }
    in_loops = _in_loops(routes, live)
    on_board = in_loops["on_board"]
    solve = functools.partial(
        timed_replan, day_input.problem, in_force, min_gain_s=min_gain_s, min_solve_s=MIN_SOLVE_S, **in_loops
    )
    quick_job = _quick_job(day_input, routes, in_force, on_board, withdrawn_from) if quick else None
    # matrices filled at the routes' legs only are for the quick answer and its checker: never the solver's
    answered = await _solve_and_check(
        ctx, day_input.problem, quick_job, None if day_input.legs_only else solve, withdrawn_from, phases, budget
    )
    return None if answered is None else (day_input, in_force, *answered)


def _quick_job(
    day_input: DayInput,
    routes: list[dict[str, Any]],
    in_force: dict[str, list[str]],
    on_board: frozenset[str] | None,
    withdrawn_from: set[str],
) -> Callable[[], ReplanResult | None]:
    """The quick answer to work out (see backend/dispatch/quick.py): the routes in force with
    the free stops inserted, and re-timed where a stop was withdrawn from them or a closure
    (or its lifting) changed a leg of theirs; no solver."""
    loops = {f"shift-{r['shift']}": [int(s.get("loop", 1)) for s in r["stops"]] for r in routes}
    raw = {f"shift-{r['shift']}": [str(s["stop_id"]) for s in r["stops"]] for r in routes}
    waiting = frozenset(sid for sid, row in day_input.stops.items() if row.get("status") == "unplanned")
    retime = frozenset(withdrawn_from)
    if day_input.baseline is not None:
        loop_of = {str(s["stop_id"]): int(s.get("loop", 1)) for r in routes for s in r["stops"]}
        aligned = {vid: [loop_of.get(sid, 1) for sid in ids] for vid, ids in in_force.items()}
        retime |= legs_changed(day_input.problem, in_force, aligned, *day_input.baseline)
    return functools.partial(
        quick_replan,
        day_input.problem,
        raw,
        loops,
        on_board=on_board or frozenset(),
        waiting=waiting,
        retime=retime,
        moves=not day_input.legs_only,
    )


async def _not_too_big(hub_id: int, day: dt.date) -> None:
    """Invalid when the hub's day is too big to re-plan live: counted before anything is
    read, as reading a day that big is itself the cost."""
    size = await Stop.count().where((Stop.hub == hub_id) & (Stop.plan_date == day))
    if size > MAX_LIVE_STOPS:
        raise Invalid(
            f"Hub {hub_id}'s day has {size} stops; live re-planning takes days of up to "
            f"{MAX_LIVE_STOPS} (its matrices would not fit a second). Split the hub's couriers over "
            f"more hubs, or move stops by hand."
        )


async def _solve_and_check(
    ctx: Context,
    problem: Any,
    quick_job: Callable[[], ReplanResult | None] | None,
    solve: Callable[[float], tuple[ReplanResult, dict[str, float]]] | None,
    withdrawn_from: set[str],
    phases: dict[str, float],
    budget: tuple[float, float],
) -> tuple[ReplanResult, list[Any], float | None] | None:
    """The quick answer when there is one and the checker passes it, else the solver's
    (in the pool, for what is left of the re-plan's limit: ``budget``, its start and
    limit); either re-timed from now and checked, and when the solver answered (None: quick).
    None when there is no quick answer and no ``solve``."""
    solved_at = None
    modes = ("quick", "solve") if quick_job is not None else ("solve",)
    for mode in modes if solve is not None else ("quick",):
        t1 = time.perf_counter()
        if mode == "quick":
            assert quick_job is not None
            found = await asyncio.to_thread(quick_job)  # numpy and a few routes: not the pool's work
            phases["quick"] = time.perf_counter() - t1
            if found is None:
                continue
            result = found
        else:
            phases["solve_limit"] = limit = BUDGET.solve_limit(*budget)
            assert solve is not None
            result, solve_phases = await _solve_apart(ctx, functools.partial(solve, limit))
            solved_at = time.perf_counter()
            phases.update(solve_phases)
        if mode == "solve":
            phases["solve"] = time.perf_counter() - t1
        if withdrawn_from:
            result = msgspec.structs.replace(result, changed=result.changed | withdrawn_from)
        t1 = time.perf_counter()
        if mode == "quick":  # timed from now already; only the routes that change are published
            violations = check_published(problem, result.plan)
        else:
            # What the phones, the desk and the customers are shown: the earliest schedule from
            # now and where each bike is (not the engines' "leave as late as still ends as early").
            result = msgspec.structs.replace(result, plan=earliest_plan(problem, result.plan))
            violations = feasibility.check(problem, result.plan)
        phases["check" if mode == "solve" else "quick_check"] = time.perf_counter() - t1
        if mode == "quick" and violations:
            log.warning("quick re-plan refused by the checker (%s); the solver re-plans", violations[0].detail)
            continue
        return result, violations, solved_at
    return None  # no quick answer, and no solver asked for


def _in_loops(routes: list[dict[str, Any]], live: Any) -> dict[str, Any]:
    """On a day ridden in loops, the re-plan's ``on_board`` (what is on a bike, or under way: it
    stays on its loop) and ``loops`` (stop id -> its loop in force, for the solver's warm start:
    else one loop a bike, and what does not fit is dropped); both None on a day of one loop."""
    if not any(s.get("loop", 1) > 1 for r in routes for s in r["stops"]):
        return {"on_board": None, "loops": None}
    return {
        "on_board": frozenset(str(sid) for sid in live.locks if sid not in live.soft),
        "loops": {str(s["stop_id"]): int(s.get("loop", 1)) for r in routes for s in r["stops"]},
    }


async def announce_if_not_applied(hub_id: int, day: dt.date, result: dict[str, Any], now: dt.datetime) -> None:
    """A re-plan nobody asked for by hand (after a failed stop, a courier behind, a
    closure ending), or a courier's out of service (their stops left on a route nobody
    rides), that was not applied is told on the hub stream: the dispatcher
    sees that the routes stayed as they were, and why, and gets a ``replan_not_applied``
    alert to acknowledge (``backend/services/alerts.py``)."""
    if result.get("applied", True):
        return
    async with transaction():
        await emit(
            "plan.not_applied",
            {
                "date": day.isoformat(),
                "reason": result["reason"],
                "detail": result.get("detail", ""),
                "unplannedStops": result.get("unplannedStops", [])[:50],
            },
            hub_id=hub_id,
        )
        await alert_replan_not_applied(hub_id, day, result, now)


async def improve_hub(
    ctx: Context, hub_id: int, day: dt.date, now: dt.datetime, *, reason: str, after_run: int
) -> dict[str, Any] | None:
    """After a quick answer (plan run ``after_run``): the solver's re-plan of the day, worked
    out without holding the hub's lock (the answers to other changes do not wait for it)
    and published, as ``"<reason>: a better plan"``, only when it saves at least
    :data:`BETTER_MIN_GAIN` of the objective and nothing changed meanwhile (routes or stop
    states; a later change has its own answer and its own search), and not while other
    follow-up jobs are due (they are answers; this is only an improvement). None when not
    published."""
    newest = (
        await PlanRun.select(PlanRun.id)
        .where((PlanRun.hub == hub_id) & (PlanRun.plan_date == day))
        .order_by(PlanRun.id, ascending=False)
        .first()
    )
    if newest is None or newest["id"] != after_run:
        return None  # a newer re-plan: its own search, or the solver's plan already
    if await _other_jobs_due():
        return None  # follow-ups of changes come first; the next quick answer brings its own search
    done = await _done_count(hub_id, day)
    worked = await work_out(ctx, hub_id, day, now, reason=f"{reason}: a better plan")
    if isinstance(worked, dict) or not worked.result.changed:
        return None
    gain = plan_gain(worked.day_input.problem, worked.routes, worked.result.plan)
    if gain < BETTER_MIN_GAIN:
        log.info("hub %s: no better plan worth publishing after %s (gain %d)", hub_id, reason, gain)
        return None
    async with hub_lock(hub_id):
        if await _done_count(hub_id, day) != done:
            return None
        try:
            async with transaction():
                result = await worked.save()
        except Stale:
            return None
    log.info("hub %s: a better plan after %s published (gain %d)", hub_id, reason, gain)
    return result


async def _other_jobs_due() -> bool:
    """Follow-up jobs other than searches for better plans due now (the worker runs one at a time)."""
    now = dt.datetime.now()
    return bool(
        await Job.exists().where((Job.status == "pending") & (Job.run_after <= now) & (Job.kind != "replan_better"))
    )


async def _done_count(hub_id: int, day: dt.date) -> int:
    return int(await Stop.count().where((Stop.hub == hub_id) & (Stop.plan_date == day) & Stop.status.is_in(list(DONE))))


def plan_gain(problem: Any, routes: list[dict[str, Any]], plan: Any) -> int:
    """What ``plan`` saves of the objective against the routes in force it was worked out from
    (rides, loops and used bikes; :func:`backend.dispatch.quick.orders_cost`)."""
    known = {s.id for s in problem.stops}
    before: dict[str, list[str]] = {}
    before_loops: dict[str, list[int]] = {}
    for r in routes:
        kept = [(str(s["stop_id"]), int(s.get("loop", 1))) for s in r["stops"] if str(s["stop_id"]) in known]
        before[f"shift-{r['shift']}"] = [sid for sid, _ in kept]
        before_loops[f"shift-{r['shift']}"] = [lp for _, lp in kept]
    after = {x.vehicle_id: [ps.stop_id for ps in x.stops] for x in plan.routes}
    if not {sid for ids in before.values() for sid in ids} <= {sid for ids in after.values() for sid in ids}:
        return -1  # cheaper by leaving stops out is no better plan
    after_loops = {x.vehicle_id: [ps.loop for ps in x.stops] for x in plan.routes}
    return orders_cost(problem, before, before_loops) - orders_cost(problem, after, after_loops)
