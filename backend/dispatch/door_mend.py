"""A folded plan that breaks a rule on a route, mended by trying each basket's door where
its other visits were (issue #15).

Folding a relaxed plan (:func:`backend.dispatch.pyvrp_translate.fold`) keeps one of a
basket's door visits: the first after all its shops on the bike with most of the basket.
That choice can break a rule the relaxation could not see: the door's service, which rode
with one visit, now delays the stops after another (a window missed by minutes), or the hub
goods, which another bike carried, overload the door's (a payload past its capacity at the
start). On the demo day's split relaxation most of PyVRP's later best plans folded into
such a plan, a few broken rules on one or two routes. :func:`mend` tries, for each basket
on a route that breaks a rule, the door at the place of each of its other visits, on that
visit's bike (the basket's shops moved before it), and keeps the first that leaves fewer
broken rules on the routes it touches (a route broken by two baskets needs both moved);
the whole plan is checked again by the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.dispatch.feasibility import check_route
from backend.dispatch.model import Plan, Problem, Stop

if TYPE_CHECKING:
    from backend.dispatch.pyvrp_translate import Relaxation


def door_options(relaxation: Relaxation, plan: Plan) -> dict[str, list[tuple[str, str | None]]]:
    """Each basket door's visits in the relaxed ``plan``: (bike, the day's stop just before,
    None at the start), skipping the visits of doors, which folding moves."""
    from backend.dispatch.pyvrp_translate import door_of

    out: dict[str, list[tuple[str, str | None]]] = {}
    for r in plan.routes:
        before: str | None = None
        for ps in r.stops:
            for sid in relaxation.chains.get(ps.stop_id, (ps.stop_id,)):
                door = door_of(relaxation, sid)
                if door is not None:
                    out.setdefault(door, []).append((r.vehicle_id, before))
                else:
                    before = sid
    return out


def mend(
    problem: Problem, relaxation: Relaxation, plan: Plan, routes: dict[str, list[str]], broken: set[str]
) -> dict[str, list[str]]:
    """``routes`` (folded from ``plan``) with the doors on the ``broken`` bikes' routes moved
    where they leave fewer rules broken on the routes they touch, one move per basket."""
    from backend.dispatch.pyvrp_translate import shops_before_door

    by_id = {s.id: s for s in problem.stops}
    index = {s.id: k for k, s in enumerate(problem.stops)}
    out = {vid: list(ids) for vid, ids in routes.items()}
    broken = set(broken)
    for door, options in door_options(relaxation, plan).items():
        now = next((vid for vid, ids in out.items() if door in ids), None)
        if now is None or now not in broken:
            continue
        for bike, before in options:
            trial = {vid: [sid for sid in ids if sid != door] for vid, ids in out.items()}
            ids = trial.setdefault(bike, [])
            # after the stop it came after (a shop of its own moved by folding: at the end)
            ids.insert(0 if before is None else ids.index(before) + 1 if before in ids else len(ids), door)
            shops_before_door(relaxation, trial, door, relaxation.baskets[door])
            if trial == out:
                continue
            touched = {bike, now}
            after = {vid: _broken(problem, vid, trial[vid], by_id, index) for vid in touched}
            was = sum(_broken(problem, vid, out.get(vid, []), by_id, index) for vid in touched)
            if sum(after.values()) < was:  # fewer broken rules where it touched
                out = trial
                broken = (broken - touched) | {vid for vid, n in after.items() if n}
                break
    return {vid: ids for vid, ids in out.items() if ids}


def _broken(problem: Problem, vid: str, ids: list[str], by_id: dict[str, Stop], index: dict[str, int]) -> int:
    """How many rules the route ``ids`` of bike ``vid`` breaks on its own."""
    from backend.dispatch.pyvrp_engine import plan_from_sequences

    if not ids:
        return 0
    route = plan_from_sequences(problem, {vid: [index[sid] for sid in ids]}).routes[0]
    return len(check_route(problem, route, stops_by_id=by_id))
