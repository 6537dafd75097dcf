"""A synthetic running day (many couriers, most stops locked) for the live re-plan.

:func:`live_day` builds what the service hands to :func:`replan` in the middle
of a day: couriers somewhere in town at ``shift.start = now``, their remaining
stops locked to them (goods on board), routes in force in a sensible order
with customer windows around their planned times, and a few free stops (new
orders, redirected parcels, the stops of a courier taken out of service).

Run as a module to print where the time goes in a 60 x 2,100 re-plan::

    .venv/bin/python -m tests.unit.test_replan_live [vehicles] [stops]

The tests use small days (a few hundred stops) and assert plan properties
only, never timings.
"""

from __future__ import annotations

import math
import sys
import time

import msgspec
import numpy as np

from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Sequence, Stop, Vehicle, Window
from backend.dispatch.replan import focus_split, replan, route_orders, routes_known
from backend.dispatch.solver import travel_time

NOW = 12 * 3600
END = 20 * 3600
SPEED_MPS = 5.0
DETOUR = 1.3  # street distance over straight line


def live_day(
    n_vehicles: int = 60,
    n_stops: int = 2100,
    *,
    n_new: int = 10,
    n_redirect: int = 5,
    n_out_of_service: int = 1,
    n_late: int = 0,
    windowed: float = 0.5,
    seed: int = 7,
) -> tuple[Problem, dict[str, list[str]]]:
    """A running day and its routes in force (vehicle id -> stop ids in order).

    ``n_out_of_service`` extra couriers are generated and then left out of the
    problem (their stops become free, their routes in force name a vehicle the
    problem no longer has). ``n_late`` couriers are late: their routes in force
    break a window somewhere in the middle (the warm start must repair them).
    """
    rng = np.random.default_rng(seed)
    n_all = n_vehicles + n_out_of_service
    per = n_stops // n_all
    # each courier works a sector around the hub at (0, 0); stops within ~6 km
    angle = rng.uniform(0, 2 * math.pi, n_stops)
    radius = 6000 * np.sqrt(rng.uniform(0.02, 1.0, n_stops))
    sector = np.minimum((angle / (2 * math.pi) * n_all).astype(int), n_all - 1)
    pts = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    # a courier is somewhere in their sector now
    va = (np.arange(n_all) + rng.uniform(0, 1, n_all)) / n_all * 2 * math.pi
    vr = 6000 * np.sqrt(rng.uniform(0.05, 0.8, n_all))
    vpts = np.c_[vr * np.cos(va), vr * np.sin(va)]
    points = np.vstack([[0.0, 0.0], vpts, pts])  # 0 hub, 1.. couriers, then stops
    diff = points[:, None, :] - points[None, :, :]
    dist = np.rint(np.hypot(diff[..., 0], diff[..., 1]) * DETOUR).astype(np.int64)
    tmat = np.rint(dist / SPEED_MPS).astype(np.int64)
    stop_loc = 1 + n_all + np.arange(n_stops)

    # routes in force: each courier's sector stops (capped at ``per`` + a few) by
    # nearest neighbour from where the courier is
    order = np.argsort(sector, kind="stable")
    assigned: dict[int, list[int]] = {vi: [] for vi in range(n_all)}
    for k in order:
        assigned[int(sector[k])].append(int(k))
    overflow = [k for vi in assigned for k in assigned[vi][per + 5 :]]
    for vi in assigned:
        assigned[vi] = assigned[vi][: per + 5]
    for k in overflow:  # to the courier with the fewest stops
        vi = min(assigned, key=lambda v: len(assigned[v]))
        assigned[vi].append(k)
    vids = [f"v{vi:02d}" for vi in range(n_all)]
    service = rng.integers(60, 180, n_stops)
    weight = np.round(rng.uniform(0.5, 4.0, n_stops), 1)
    windows: dict[int, tuple[Window, ...]] = {}
    in_force: dict[str, list[str]] = {}
    late = set(range(n_late))
    for vi, ks in assigned.items():
        here = 1 + vi
        seq: list[int] = []
        rest = set(ks)
        while rest:
            nxt = min(rest, key=lambda k: (dist[here, stop_loc[k]], k))
            seq.append(nxt)
            rest.remove(nxt)
            here = stop_loc[nxt]
        in_force[vids[vi]] = [f"s{k:04d}" for k in seq]
        # windows of about two hours around the planned service start
        t, here = NOW, 1 + vi
        for j, k in enumerate(seq):
            t += int(tmat[here, stop_loc[k]])
            if vi in late and j == len(seq) // 2:
                # the courier is late: served first it still fits, at its place in
                # the route in force it does not
                end = NOW + int(tmat[1 + vi, stop_loc[k]]) + 300
                windows[k] = (Window(NOW - 3600, end),)
            elif rng.uniform() < windowed:
                start = max(NOW - 3600, t - int(rng.integers(1200, 3600)))
                end = t + int(rng.integers(1200, 3600))
                windows[k] = (Window(start, end),)
            t += int(service[k])
            here = stop_loc[k]

    out_of_service = set(vids[n_vehicles:])
    vid_of = {k: vids[vi] for vi, ks in assigned.items() for k in ks}
    free = {k for k in range(n_stops) if vid_of[k] in out_of_service}
    inner = [k for k in range(n_stops) if k not in free]
    free |= {int(k) for k in rng.choice(inner, n_redirect, replace=False)}
    stops = []
    for k in range(n_stops):
        stops.append(
            Stop(
                id=f"s{k:04d}",
                kind="delivery",
                location=int(stop_loc[k]),
                windows=windows.get(k, ()),
                service_s=int(service[k]),
                weight_kg=float(weight[k]),
                volume_l=float(weight[k]) * 3,
                vehicles=() if k in free else (vid_of[k],),
            )
        )
    # new orders: fresh points, free, half of them in an evening window
    extra_pts = rng.uniform(-5000, 5000, (n_new, 2))
    if n_new:
        new_d = np.rint(
            np.hypot(*(extra_pts[:, None, :] - np.vstack([points, extra_pts])[None, :, :]).transpose(2, 0, 1)) * DETOUR
        ).astype(np.int64)
        m = len(points)
        big = np.zeros((m + n_new, m + n_new), dtype=np.int64)
        big[:m, :m] = dist
        big[m:, :] = new_d
        big[:, m:] = new_d.T
        dist = big
        tmat = np.rint(dist / SPEED_MPS).astype(np.int64)
        for j in range(n_new):
            stops.append(
                Stop(
                    id=f"n{j:03d}",
                    kind="delivery",
                    location=m + j,
                    windows=(Window(18 * 3600, END),) if j % 2 else (),
                    service_s=120,
                    weight_kg=2.0,
                    volume_l=6.0,
                )
            )
    vehicles = tuple(
        Vehicle(
            id=vids[vi],
            start_location=1 + vi,
            end_location=0,
            shift=Window(NOW, END),
            payload_kg=150.0,
            volume_l=600.0,
            max_distance_m=80_000,
            speed_factor=1.0 if vi % 4 else 1.2,
        )
        for vi in range(n_vehicles)
    )
    problem = Problem(time_s=tmat.tolist(), dist_m=dist.tolist(), vehicles=vehicles, stops=tuple(stops))
    return problem, in_force


# ---------------------------------------------------------------- focused re-plan

TL = 0.5
SMALL = {"n_vehicles": 12, "n_stops": 480}  # big enough for focus="auto"


def _orders_outside(
    plan_orders: dict[str, list[str]], in_force: dict[str, list[str]], vehicles: set[str]
) -> dict[str, list[str]]:
    return {vid: plan_orders.get(vid, []) for vid in in_force if vid not in vehicles}


def _arc_total(problem: Problem, plan) -> int:
    """The solver's objective without penalties, recomputed route by route (time cost)."""
    loc = {s.id: s.location for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    total = 0
    for r in plan.routes:
        v = vehicles[r.vehicle_id]
        path = [v.start_location, *(loc[s.stop_id] for s in r.stops), v.end_location]
        total += sum(travel_time(problem.time_s[a][b], v.speed_factor) for a, b in zip(path, path[1:], strict=False))
        total += v.fixed_cost
    return total


def test_a_new_order_re_plans_only_the_couriers_in_focus():
    problem, in_force = live_day(**SMALL, n_new=1, n_redirect=0, n_out_of_service=0)
    split = focus_split(problem, routes_known(problem, in_force), 2)
    assert split is not None
    focus = {v.id for v in split.problem.vehicles}
    assert 1 <= len(focus) <= 4  # two per free stop, and none of them holds it yet
    timings: dict[str, float] = {}
    res = replan(problem, in_force, time_limit_s=TL, focus=2, timings=timings)
    assert "merge" in timings  # it was focused
    assert check(problem, res.plan) == []
    assert res.plan.unplanned == ()
    assert "n000" in {s.stop_id for r in res.plan.routes if r.vehicle_id in focus for s in r.stops}
    assert res.changed and res.changed <= focus
    orders = route_orders(res.plan)
    assert _orders_outside(orders, in_force, focus) == {vid: ids for vid, ids in in_force.items() if vid not in focus}
    # the plan's cost adds the kept routes to the focused solve's objective
    assert res.plan.cost == _arc_total(problem, res.plan)


def test_nothing_to_re_plan_keeps_every_route():
    problem, in_force = live_day(**SMALL, n_new=0, n_redirect=0, n_out_of_service=0)
    split = focus_split(problem, routes_known(problem, in_force), 3)
    assert split is not None and split.problem.vehicles == () and split.problem.stops == ()
    timings: dict[str, float] = {}
    res = replan(problem, in_force, time_limit_s=TL, focus=3, timings=timings)
    assert "merge" in timings
    assert check(problem, res.plan) == [] and res.plan.unplanned == ()
    assert route_orders(res.plan) == {vid: ids for vid, ids in in_force.items() if ids}
    assert res.changed == frozenset()
    assert res.plan.cost == _arc_total(problem, res.plan)


def test_a_late_courier_alone_is_in_focus():
    problem, in_force = live_day(**SMALL, n_new=0, n_redirect=0, n_out_of_service=0, n_late=1)
    split = focus_split(problem, routes_known(problem, in_force), 3)
    assert split is not None
    assert [v.id for v in split.problem.vehicles] == ["v00"]
    res = replan(problem, in_force, time_limit_s=TL, focus=3)
    assert check(problem, res.plan) == []
    assert res.plan.unplanned == ()
    assert res.changed == {"v00"}


def test_a_courier_past_due_times_is_re_ordered_to_make_fewer_customers_wait():
    # Locked stops kept late rather than dropped have a soft due time: a route that
    # serves its most overdue stop last is feasible, but another order waits less.
    problem, in_force = live_day(**SMALL, n_new=0, n_redirect=0, n_out_of_service=0)
    route = in_force["v03"]
    last = route[-1]
    stops = tuple(
        msgspec.structs.replace(s, windows=(Window(NOW - 3600, END),), due_s=NOW + 600) if s.id == last else s
        for s in problem.stops
    )
    late = msgspec.structs.replace(problem, stops=stops)
    split = focus_split(late, routes_known(late, in_force), 3, 400)
    assert split is not None and [v.id for v in split.problem.vehicles] == ["v03"]
    res = replan(late, in_force, time_limit_s=TL, focus=3)
    assert check(late, res.plan) == [] and res.plan.unplanned == ()
    new_route = next(r for r in res.plan.routes if r.vehicle_id == "v03")
    served = {ps.stop_id: ps.start_s for ps in new_route.stops}
    before = focus_split(late, routes_known(late, in_force), 3, 0)  # no budget: kept as it was
    assert before is not None and "v03" in before.kept
    old_start = next(ps.start_s for ps in before.kept["v03"].stops if ps.stop_id == last)
    assert served[last] < old_start  # the overdue stop comes earlier
    assert res.changed == {"v03"}


def test_a_locked_stop_missing_from_its_route_waits_when_the_budget_is_spent():
    # A stop locked to a courier but on no route (e.g. it never fitted a full bike)
    # brings its courier into the model while the budget allows, and otherwise
    # waits: it must not make every later re-plan solve that courier again.
    problem, in_force = live_day(**SMALL, n_new=0, n_redirect=0, n_out_of_service=0)
    missing = in_force["v03"][-1]
    cut = {**in_force, "v03": in_force["v03"][:-1]}
    roomy = focus_split(problem, routes_known(problem, cut), 3, 400)
    assert roomy is not None and "v03" in {v.id for v in roomy.problem.vehicles}
    tight = focus_split(problem, routes_known(problem, cut), 3, 10)
    assert tight is not None and "v03" in tight.kept and missing in tight.deferred
    assert missing not in {s.id for s in tight.problem.stops}


def test_the_stops_of_a_courier_out_of_service_go_to_neighbours():
    problem, in_force = live_day(30, 900, n_new=0, n_redirect=0, n_out_of_service=1)
    freed = set(in_force["v30"])  # the 31st courier is no longer in the problem
    split = focus_split(problem, routes_known(problem, in_force), 2)
    assert split is not None
    focus = {v.id for v in split.problem.vehicles}
    assert 2 < len(focus) < len(problem.vehicles) / 2  # a cluster needs several couriers
    res = replan(problem, in_force, time_limit_s=TL, focus=2)
    assert check(problem, res.plan) == []
    unplanned = {u.stop_id for u in res.plan.unplanned}
    assert unplanned <= freed  # stops of working couriers are never dropped
    assert len(unplanned) <= len(freed) // 4  # most find a new courier
    assert res.changed <= focus


def test_a_kept_courier_whose_order_breaks_a_new_pin_is_re_planned():
    problem, in_force = live_day(**SMALL, n_new=0, n_redirect=0, n_out_of_service=0)
    windowless = [sid for sid in in_force["v03"] if not next(s for s in problem.stops if s.id == sid).windows]
    first, last = windowless[0], windowless[-1]  # pinned the other way round
    pinned = msgspec.structs.replace(problem, sequences=(Sequence(vehicle="v03", stops=(last, first)),))
    split = focus_split(pinned, routes_known(pinned, in_force), 3)
    assert split is not None and [v.id for v in split.problem.vehicles] == ["v03"]
    res = replan(pinned, in_force, time_limit_s=TL, focus=3)
    assert check(pinned, res.plan) == []
    order = route_orders(res.plan)["v03"]
    assert order.index(last) < order.index(first)
    assert res.changed == {"v03"}


def test_a_courier_with_nothing_to_do_joins_the_focus_of_a_free_stop():
    # Couriers riding near a new stop may have no time left for it: the courier
    # waiting at the hub with an empty route must be in the model too.
    problem, in_force = live_day(**SMALL, n_new=1, n_redirect=0, n_out_of_service=0)
    idle = msgspec.structs.replace(problem.vehicles[1], id="idle", start_location=0)
    with_idle = msgspec.structs.replace(problem, vehicles=(*problem.vehicles, idle))
    split = focus_split(with_idle, routes_known(with_idle, in_force), 2)
    assert split is not None
    assert "idle" in {v.id for v in split.problem.vehicles}
    without = focus_split(problem, routes_known(problem, in_force), 2)
    assert without is not None and len(split.problem.stops) == len(without.problem.stops)


def test_a_backlog_of_free_stops_beyond_the_budget_waits_for_a_later_replan():
    problem, in_force = live_day(**SMALL, n_new=260, n_redirect=0, n_out_of_service=0)
    budget = 200
    split = focus_split(problem, routes_known(problem, in_force), 2, budget)
    assert split is not None
    assert len(split.problem.stops) <= budget
    assert split.deferred and all(sid.startswith("n") for sid in split.deferred)
    assert not set(split.deferred) & {s.id for s in split.problem.stops}
    res = replan(problem, in_force, time_limit_s=TL, focus=2)  # a budget of 400 stops at 0.5 s
    assert check(problem, res.plan) == []
    waiting = {u.stop_id for u in res.plan.unplanned if "later re-plan" in u.detail}
    assert waiting and waiting <= {s.id for s in problem.stops if s.id.startswith("n")}
    planned = {ps.stop_id for r in res.plan.routes for ps in r.stops}
    assert planned | {u.stop_id for u in res.plan.unplanned} == {s.id for s in problem.stops}
    assert {sid for ids in in_force.values() for sid in ids} <= planned  # nobody lost a stop


def test_a_focused_replan_takes_numpy_matrices():
    problem, in_force = live_day(**SMALL, n_new=1, n_redirect=1, n_out_of_service=0)
    arrays = msgspec.structs.replace(problem, time_s=np.array(problem.time_s), dist_m=np.array(problem.dist_m))
    res = replan(arrays, in_force, time_limit_s=TL, focus=2)
    assert check(problem, res.plan) == [] and res.plan.unplanned == ()
    msgspec.json.encode(res.plan)  # plain ints, no numpy scalars


def test_auto_focuses_large_problems_only():
    small, small_in_force = live_day(4, 60, n_new=1, n_redirect=0, n_out_of_service=0)
    timings: dict[str, float] = {}
    replan(small, small_in_force, time_limit_s=0.2, timings=timings)
    assert "merge" not in timings  # solved whole
    big, big_in_force = live_day(**SMALL, n_new=1, n_redirect=0, n_out_of_service=0)
    timings = {}
    res = replan(big, big_in_force, time_limit_s=TL, timings=timings)
    assert "merge" in timings
    assert check(big, res.plan) == [] and res.plan.unplanned == ()
    timings = {}
    replan(big, big_in_force, time_limit_s=TL, focus="all", timings=timings)
    assert "merge" not in timings


SCENARIOS = {
    # one event at a time, as the service re-plans
    "new order": {"n_new": 1, "n_redirect": 0, "n_out_of_service": 0},
    "failed-stop redirect": {"n_new": 0, "n_redirect": 1, "n_out_of_service": 0},
    "courier out of service": {"n_new": 0, "n_redirect": 0, "n_out_of_service": 1},
    "late courier": {"n_new": 0, "n_redirect": 0, "n_out_of_service": 0, "n_late": 1},
    # everything at once
    "all at once": {"n_new": 10, "n_redirect": 5, "n_out_of_service": 1, "n_late": 1},
}


def profile(
    n_vehicles: int = 60,
    n_stops: int = 2100,
    time_limit_s: float = 0.5,
    focus: str = "auto",
) -> None:
    """Print where the time of live re-plans goes (see the module docstring)."""
    for name, kw in SCENARIOS.items():
        problem, in_force = live_day(n_vehicles, n_stops, **kw)  # type: ignore[arg-type]
        timings: dict[str, float] = {}
        t = time.perf_counter()
        res = replan(
            problem,
            in_force,
            time_limit_s=time_limit_s,
            timings=timings,
            focus=focus if focus in ("auto", "all") else int(focus),
        )
        wall = time.perf_counter() - t
        t = time.perf_counter()
        violations = check(problem, res.plan)
        check_s = time.perf_counter() - t
        dropped = {u.stop_id for u in res.plan.unplanned}
        on_duty = {v.id for v in problem.vehicles}
        lost = sum(sid in dropped for vid, ids in in_force.items() if vid in on_duty for sid in ids)
        free = sum(not s.vehicles for s in problem.stops)
        print(
            f"{name}: {len(problem.stops)} stops ({free} free), {len(problem.vehicles)} "
            f"couriers, focus={focus}: wall {wall * 1000:.0f} ms (limit "
            f"{time_limit_s * 1000:.0f}), check {check_s * 1000:.0f} ms"
        )
        print("   " + ", ".join(f"{k} {v * 1000:.0f}" for k, v in timings.items()))
        print(
            f"   unplanned {len(dropped)}, in force dropped {lost}, changed "
            f"{len(res.changed)}, kept order {len(res.kept_order)}, violations "
            f"{len(violations)}, status {res.plan.status}"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    profile(*(int(a) for a in args[:2]), *(float(a) for a in args[2:3]), *args[3:4])


def test_a_new_stop_is_not_deferred_behind_free_stops_already_on_routes():
    # Before loading, a route's stops are free (no goods on board): they fill the focus as
    # their couriers' routes, and must not use up the room for stops on no route. A redirect
    # or a new order behind them waited "for a later re-plan" and the customer was refused.
    problem, in_force = live_day(**SMALL, n_new=1, n_redirect=0, n_out_of_service=0)
    unloaded = {sid for vid in ("v01", "v02", "v03") for sid in in_force[vid]}
    free = msgspec.structs.replace(
        problem,
        stops=tuple(msgspec.structs.replace(s, vehicles=()) if s.id in unloaded else s for s in problem.stops),
    )
    new = [s.id for s in free.stops if s.id.startswith("n")]
    budget = 2 * len(unloaded) - 10  # half of it is less than the free stops on routes
    split = focus_split(free, routes_known(free, in_force), 2, budget)
    assert split is not None and len(unloaded) > budget // 2
    assert split.deferred == []
    assert set(new) <= {s.id for s in split.problem.stops}
