"""PyVRP on days it can only relax (shop baskets, locks): relaxation, fold, checked plans."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from backend.bench.quality_bench import reference_engines
from backend.dispatch import ortools_search as S
from backend.dispatch import portfolio as F
from backend.dispatch import pyvrp_engine as E
from backend.dispatch import pyvrp_translate as X
from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Problem, Sequence, Stop, Vehicle, Window
from backend.dispatch.solver import solve

pytest.importorskip("pyvrp", reason="PyVRP is not installed")

# hub 0, shops 1 and 2, doors 3 and 4
_T = np.array(
    [
        [0, 60, 80, 100, 90],
        [60, 0, 50, 90, 70],
        [80, 50, 0, 40, 60],
        [100, 90, 40, 0, 30],
        [90, 70, 60, 30, 0],
    ],
    dtype=np.int64,
)


def _bike(vid: str = "v", **kw) -> Vehicle:
    base = dict(id=vid, start_location=0, end_location=0, shift=Window(0, 10_000), payload_kg=20, volume_l=100)
    return Vehicle(**{**base, **kw})


def _basket_day(*vehicles: Vehicle) -> Problem:
    """Door d collects at shops a and b and brings 2 kg from the hub: PyVRP cannot express it."""
    return Problem(
        time_s=_T,
        dist_m=_T * 3,
        vehicles=vehicles or (_bike(),),
        stops=(
            Stop(id="a", kind="pickup", location=1, weight_kg=3, service_s=20),
            Stop(id="b", kind="pickup", location=2, weight_kg=4, service_s=20),
            Stop(id="d", kind="delivery", location=3, pickups=("a", "b"), weight_kg=2, service_s=60),
            Stop(id="x", kind="delivery", location=4, weight_kg=1, windows=(Window(0, 5_000),)),
        ),
        cost="time",
    )


def test_a_basket_of_two_shops_becomes_one_chain_and_a_shipment_pyvrp_can_plan():
    day = _basket_day()
    assert E.unsupported(day) is not None and not F.pyvrp_can_plan(day)
    relaxation = X.relax(day)
    [(chain_id, shops)] = [c for c in relaxation.chains.items() if c[1]]
    stops = {s.id: s for s in relaxation.problem.stops}
    chain, door = stops[chain_id], stops["d"]
    # shop b then a rides 50 s, a then b too: the first order of least riding is kept
    assert shops in (("a", "b"), ("b", "a")) and "a" not in stops and "b" not in stops
    assert door.pickups == (chain_id,) and door.weight_kg == 0
    # the chain carries the shops' goods; the door's 2 hub kg are a visit of their own at the
    # door, from the hub (no service: the door's visit hands them over), folded away
    assert chain.weight_kg == 3 + 4 and chain.service_s == 40
    goods = stops["d" + X._HUB_GOODS]
    assert (goods.kind, goods.location, goods.weight_kg, goods.service_s, goods.pickups) == ("delivery", 3, 2, 0, ())
    assert goods.id not in relaxation.chains  # folded into the door's visit (fold)
    # its place: into the first shop, out of the last after the ride between them
    T = np.asarray(relaxation.problem.time_s)
    first, last = (1, 2) if shops == ("a", "b") else (2, 1)
    assert chain.location == len(_T) and T.shape == (len(_T) + 1, len(_T) + 1)
    assert T[0, chain.location] == _T[0, first] and T[chain.location, 3] == 50 + _T[last, 3]
    assert relaxation.exact and E.unsupported(relaxation.problem) is None
    assert X.can_relax(day)
    assert F.engines_for(day) == ("relaxed", "relaxed")  # a small day: two seeds, no OR-Tools cold
    assert F.engines_for(day, warm=True) == ("ortools",)  # a re-plan stays with OR-Tools
    # the quality bench's reference at 10x runs both searches too
    assert reference_engines(day) == ("ortools", "relaxed")


def test_a_chain_folds_back_into_its_shops_in_the_order_its_ride_was_counted():
    T = _T.copy()
    T[2, 1] = 90  # shop b (2) to shop a (1) rides longer than a to b
    day = msgspec.structs.replace(_basket_day(), time_s=T, dist_m=T * 3)
    day = msgspec.structs.replace(
        day, stops=tuple(msgspec.structs.replace(s, pickups=("b", "a")) if s.id == "d" else s for s in day.stops)
    )
    relaxation = X.relax(day)
    [(chain_id, shops)] = [c for c in relaxation.chains.items() if c[1]]
    assert shops == ("a", "b")  # listed b first, but a then b is the ride the chain's place counts
    chain = next(s for s in relaxation.problem.stops if s.id == chain_id)
    assert np.asarray(relaxation.problem.time_s)[chain.location, 3] == 50 + T[2, 3]


def test_fold_gives_each_chain_back_as_its_shops_and_whole_tells_a_split_basket():
    day = _basket_day(_bike("v1"), _bike("v2"))
    relaxation = X.relax(day)
    [(chain_id, shops)] = [c for c in relaxation.chains.items() if c[1]]
    relaxed = E.plan_from_sequences(
        relaxation.problem,
        {"v1": [k for k, s in enumerate(relaxation.problem.stops) if s.id in (chain_id, "d", "d" + X._HUB_GOODS, "x")]},
    )
    together = X.fold(relaxation, relaxed)  # the hub goods' visit folds away
    assert together == {"v1": [*shops, "d", "x"]} and X.whole(day, together)
    assert not X.whole(day, {"v1": [shops[0], "d"], "v2": [shops[1]]})
    assert not X.whole(day, {"v1": ["d", *shops]})


def _shared_shops_day(*vehicles: Vehicle) -> Problem:
    """Doors d1 and d2 each collect at both shops (places 1 and 2): back to back, a bike rides
    shop 1, shop 2, shop 1 again, shop 2 again; split, each shop once for both baskets."""
    return Problem(
        time_s=_T,
        dist_m=_T * 3,
        vehicles=vehicles or (_bike(payload_kg=40),),
        stops=(
            Stop(id="a1", kind="pickup", location=1, weight_kg=3, service_s=20),
            Stop(id="b1", kind="pickup", location=2, weight_kg=4, service_s=20),
            Stop(id="a2", kind="pickup", location=1, weight_kg=2, service_s=20),
            Stop(id="b2", kind="pickup", location=2, weight_kg=1, service_s=20),
            Stop(id="d1", kind="delivery", location=3, pickups=("a1", "b1"), weight_kg=2, service_s=60),
            Stop(id="d2", kind="delivery", location=4, pickups=("a2", "b2"), service_s=60),
        ),
        cost="time",
    )


def test_split_each_shop_of_a_basket_is_a_shipment_to_a_visit_of_its_own_at_the_door():
    day = _shared_shops_day()
    relaxation = X.relax(day, split=True)
    stops = {s.id: s for s in relaxation.problem.stops}
    # the shops stay themselves; the door is one visit per shop, the first with its service
    assert {"a1", "b1", "a2", "b2"} <= set(stops) and "d1" not in stops
    first, beside = stops["d1" + X._PART + "a1"], stops["d1" + X._BESIDE + "b1"]
    assert (first.pickups, first.service_s, first.weight_kg) == (("a1",), 60, 0)
    assert (beside.pickups, beside.service_s, beside.location) == (("b1",), 0, 3)
    assert relaxation.chains[first.id] == relaxation.chains[beside.id] == ("d1",)
    assert stops["d1" + X._HUB_GOODS].weight_kg == 2 and "d2" + X._HUB_GOODS not in stops  # d2 has none
    assert E.unsupported(relaxation.problem) is None and relaxation.baskets == {"d1": ("a1", "b1"), "d2": ("a2", "b2")}
    # back to back (not split) the shops are a chain, as before
    assert any(sid.endswith(X._CHAIN) for sid in {s.id for s in X.relax(day).problem.stops})


def test_a_split_relaxation_keeps_slack_for_its_fold_and_a_chained_one_does_not():
    day = _shared_shops_day()
    [split], [chained] = X.relax(day, split=True).problem.vehicles, X.relax(day).problem.vehicles
    assert split.shift == Window(0, 10_000 - X.FOLD_SLACK_S) and chained.shift == Window(0, 10_000)
    assert (split.payload_kg, split.volume_l) == (40 * X.FOLD_SLACK_SHARE, 100 * X.FOLD_SLACK_SHARE)
    assert (chained.payload_kg, chained.volume_l) == (40, 100)
    windows = (Window(1_000, 5_000), Window(6_000, 6_300))
    strict = X.with_slack(
        msgspec.structs.replace(day, stops=(Stop(id="w", kind="delivery", location=4, windows=windows),)), 180, 0.5
    )
    # a window too short to give up the slack stays as it is
    assert strict.stops[0].windows == (Window(1_000, 4_820), Window(6_000, 6_300))
    assert strict.vehicles[0].payload_kg == 20


# d1's visits at its door in the split relaxation, and all of d2's stops there
PART, BESIDE, GOODS = "d1" + X._PART + "a1", "d1" + X._BESIDE + "b1", "d1" + X._HUB_GOODS
D2 = ("a2", "b2", "d2" + X._PART + "a2", "d2" + X._BESIDE + "b2")


def _split_plan(day: Problem, routes: dict[str, tuple[str, ...]]) -> tuple[X.Relaxation, Plan]:
    """``day``'s split relaxation and a plan of it riding ``routes`` (relaxed stop ids)."""
    relaxation = X.relax(day, split=True)
    index = {s.id: k for k, s in enumerate(relaxation.problem.stops)}
    plan = E.plan_from_sequences(relaxation.problem, {v: [index[x] for x in ids] for v, ids in routes.items()})
    return relaxation, plan


def test_folding_keeps_one_door_visit_after_all_its_shops_on_the_bike_with_most_of_the_basket():
    day = _shared_shops_day(_bike("v1", payload_kg=40), _bike("v2", payload_kg=40))
    # v1: a1, the hub goods, b1, d1's shops' visits; v2 took b1's delivery apart, and d2
    relaxation, relaxed = _split_plan(day, {"v1": ("a1", GOODS, "b1", PART), "v2": (*D2, BESIDE)})
    routes = X.fold(relaxation, relaxed)
    # d1's first visit after both its shops on v1 (the hub goods' came before b1), the one on v2 gone
    assert routes == {"v1": ["a1", "b1", "d1"], "v2": ["a2", "b2", "d2"]}
    assert X.whole(day, routes) and check(day, X.folded_plan(day, routes)) == []
    # a shop on another bike goes into the door's route, before the door, where it rides least
    relaxation, moved = _split_plan(day, {"v1": ("a1", PART, BESIDE), "v2": (*D2, "b1")})
    routes = X.fold(relaxation, moved)
    assert routes["v1"][-1] == "d1" and sorted(routes["v1"]) == ["a1", "b1", "d1"] and "b1" not in routes["v2"]
    assert X.whole(day, routes)


def test_a_fold_that_breaks_a_rule_is_mended_by_the_door_where_another_of_its_visits_was():
    from backend.dispatch.door_mend import door_options, mend

    # v2 holds most of d1's visits but cannot carry both shops' goods (7 kg) with its hub goods
    day = _shared_shops_day(_bike("v1", payload_kg=40), _bike("v2", payload_kg=8))
    relaxation, relaxed = _split_plan(day, {"v1": ("a1", PART, *D2), "v2": ("b1", BESIDE, GOODS)})
    assert door_options(relaxation, relaxed)["d1"] == [("v1", "a1"), ("v2", "b1"), ("v2", "b1")]
    routes = X.fold(relaxation, relaxed)
    assert routes["v2"] == ["a1", "b1", "d1"]  # the bike with most of the basket: a1 moved to it
    broken = check(day, X.folded_plan(day, routes))
    assert {(v.rule, v.vehicle_id) for v in broken} == {("payload", "v2")}
    # the door where its first visit was, on v1 (its shop a1 gone from there: at the end),
    # both shops before it where they ride least
    mended = mend(day, relaxation, relaxed, routes, {"v2"})
    assert mended == {"v1": ["a1", "a2", "b1", "b2", "d2", "d1"]}
    assert check(day, X.folded_plan(day, mended)) == []


def test_where_baskets_share_shops_the_split_plan_rides_each_shop_once_and_costs_less():
    day = _shared_shops_day()
    assert F.shops_shared(day) and not F.shops_shared(_basket_day())
    assert F.engines_for(day) == ("relaxed-split", "relaxed-split")  # two split runs (two seeds)
    assert reference_engines(day) == ("ortools", "relaxed", "relaxed-split")
    [split] = X.solve_relaxed(day, 0.6, split=True)
    assert split.engine == "pyvrp-relaxed" and check(day, split) == [] and split.unplanned == ()
    places = [day.stops[[s.id for s in day.stops].index(ps.stop_id)].location for r in split.routes for ps in r.stops]
    assert places[:4] in ([1, 1, 2, 2], [2, 2, 1, 1])  # each shop once, both baskets' goods
    chained = [*X.solve_relaxed(day, 0.6), *F.run_engine("ortools", day, 0.3)]
    assert min(F.plan_cost(day, p) for p in chained if not check(day, p)) > F.plan_cost(day, split)


def test_a_visit_beside_a_baskets_door_costs_pyvrp_more_away_from_the_door():
    day = _shared_shops_day(_bike(payload_kg=40, max_distance_m=None))
    data, mapping = E.to_pyvrp(X.relax(day, split=True).problem)
    names = {c.name: c for c in data.clients()}
    goods = names["d1" + X._HUB_GOODS]
    [beside] = [sh for sh in data.shipments() if X._BESIDE in sh.name and sh.name.endswith("d1" + X._BESIDE + "b1")]
    for place in (goods.location, beside.delivery.location):
        assert place >= len(_T)  # a copy of the door's place
        D, T = data.distance_matrix(0), data.duration_matrix(0)
        assert D[3, place] == D[place, 3] == 0  # from and to the door: nothing more
        assert D[1, place] == D[1, 3] + X.BESIDE_DOOR_COST and D[place, 0] == D[3, 0] + X.BESIDE_DOOR_COST
        assert T[1, place] == T[1, 3] and T[place, 0] == T[3, 0]  # the times, and so the windows, unchanged


def test_a_watch_sees_the_newest_best_before_it_decides_and_stops_when_told():
    from backend.dispatch.pyvrp_search import RequiredFirstStop, Watch

    seen: list[str] = []
    go = [True]
    watch = Watch(seen.append, go_on=lambda: go[0], decide_at=0.0)
    watch.best("first")
    watch.best("second")  # within WATCH_EVERY_S of the first: not shown yet
    assert seen == ["first"]
    stop = RequiredFirstStop(deadline=float("inf"), give_up=float("inf"), watch=watch)
    assert stop(0) is False and seen == ["first", "second"]  # shown the newest, then told to go on
    go[0] = False
    assert stop(0) is True
    assert RequiredFirstStop(deadline=0.0, give_up=float("inf"))(0) is True  # the deadline still rules


def test_a_basket_day_is_planned_through_pyvrp_and_every_plan_passes_the_checker():
    day = _basket_day(_bike(payload_kg=40))
    plans = X.solve_relaxed(day, 0.6)
    # room for the hub goods too: PyVRP's folded plan is a plan of the day
    assert [p.engine for p in plans] == ["pyvrp-relaxed", "pyvrp-relaxed+ortools"]
    for plan in plans:
        assert check(day, plan) == [] and plan.unplanned == ()
        order = [ps.stop_id for r in plan.routes for ps in r.stops]
        assert order.index("a") < order.index("d") and order.index("b") < order.index("d")
    best = F.solve_best(day, 0.6, engines=("relaxed",))
    assert best.engine.startswith("pyvrp-relaxed") and check(day, best) == []


def test_a_folded_plan_that_breaks_a_rule_is_never_the_plan():
    # 9 kg bike: 2 hub kg, then 3 + 4 kg of shop goods is 9; x's 1 kg from the hub makes 10 if
    # x comes after the basket. A relaxed route "shops, d, x" without the hub goods' visit
    # (on another bike) overloads; OR-Tools' plan from it must be checked clean.
    day = _basket_day(_bike(payload_kg=9))
    relaxation = X.relax(day)
    [(chain_id, _)] = [c for c in relaxation.chains.items() if c[1]]
    order = {s.id: k for k, s in enumerate(relaxation.problem.stops)}
    overloaded = E.plan_from_sequences(relaxation.problem, {"v": [order[chain_id], order["d"], order["x"]]})
    folded = X.folded_plan(day, X.fold(relaxation, overloaded))
    assert any(v.rule == "payload" for v in check(day, folded))
    plans = [folded, *F.run_engine("ortools", day, 0.3)]
    best, scored = F.choose(day, plans)
    assert best is not folded and check(day, best) == [] and scored[0]["violations"] > 0


def _locked_day() -> Problem:
    """x locked on v2; each bike costs 500 to use, so without the lock one bike takes all."""
    bikes = (_bike("v1", fixed_cost=500), _bike("v2", fixed_cost=500))
    stops = (
        Stop(id="y", kind="delivery", location=3, weight_kg=1),
        Stop(id="x", kind="delivery", location=4, weight_kg=1, vehicles=("v2",)),
        Stop(id="z", kind="delivery", location=1, weight_kg=1),
    )
    return Problem(time_s=_T, dist_m=_T * 3, vehicles=bikes, stops=stops, cost="time")


def test_a_locked_day_is_planned_by_pyvrp_and_the_plan_keeps_the_lock():
    day = _locked_day()
    assert E.unsupported(day) is None and F.engines_for(day) == ("pyvrp", "pyvrp")
    data, mapping = E.to_pyvrp(day)
    # one lock: one load dimension after the weight, where x carries a unit and only v2 has room
    assert mapping.vehicle_types == [["v1"], ["v2"]] and mapping.lock_dims == 1
    x = next(ci for ci, k in enumerate(mapping.clients) if day.stops[k].id == "x")
    assert list(data.client(x).delivery) == [1, 1] and data.client(x).location == 4  # no place of its own
    assert [vt.capacity[-1] for vt in data.vehicle_types()] == [0, 1]
    assert data.num_locations == len(_T)  # no matrix copied
    _plans_keep_x_on_v2(day)


def _plans_keep_x_on_v2(day: Problem) -> None:
    plans = [E.solve_pyvrp(day, 0.3), *F.run_engine("ortools+pyvrp", day, 0.4)]
    assert plans[0].engine == "pyvrp"
    for plan in plans:
        assert check(day, plan) == [] and plan.unplanned == ()
        on = {ps.stop_id: r.vehicle_id for r in plan.routes for ps in r.stops}
        assert on["x"] == "v2" and on["y"] == on["z"] == "v2"  # one bike: the one x is locked on


def _overlapping_locks_day() -> Problem:
    """x locked on v2 and four bikes in locks whose codes (two of four dimensions each) are
    not exact: w's bike v is in the locks of codes {0, 2} and {1, 2}, so it has room for the
    code {0, 1} of u's lock, which it is not in."""
    day = _locked_day()
    more = tuple(_bike(vid, fixed_cost=500) for vid in ("a", "b", "c"))
    stops = (
        Stop(id="u", kind="delivery", location=1, weight_kg=1, vehicles=("a",)),
        Stop(id="w", kind="delivery", location=2, weight_kg=1, vehicles=("b", "v2")),
        Stop(id="x", kind="delivery", location=4, weight_kg=1, vehicles=("c",)),
        Stop(id="y", kind="delivery", location=3, weight_kg=1, vehicles=("v1", "v2")),
        Stop(id="z", kind="delivery", location=1, weight_kg=1),
    )
    return msgspec.structs.replace(day, vehicles=(*day.vehicles, *more), stops=stops)


def test_locks_whose_codes_are_not_exact_are_kept_by_routing_profiles():
    from backend.dispatch import lock_codes as L

    day = _overlapping_locks_day()
    assert [sorted(c) for c in L.codes(day).values()] == [[0, 1], [0, 2], [0, 3], [1, 2]]
    assert not L.exact(day) and E.unsupported(day) is None
    data, mapping = E.to_pyvrp(day)
    assert mapping.lock_dims == 0 and data.num_locations == len(_T) + 4  # a place per locked visit
    u = next(ci for ci, k in enumerate(mapping.clients) if day.stops[k].id == "u")
    where = data.client(u).location
    assert data.location(where) == data.location(1)
    for t, ids in enumerate(mapping.vehicle_types):  # only a's profile may enter u's place
        blocked = data.duration_matrix(data.vehicle_type(t).profile)[0, where] >= 10**9
        assert blocked == (ids != ["a"])
    plan = E.solve_pyvrp(day, 0.3)
    assert check(day, plan) == [] and plan.unplanned == ()


def test_a_pinned_day_keeps_its_locks_and_the_pins_bike_in_the_relaxation():
    day = msgspec.structs.replace(_locked_day(), sequences=(Sequence(vehicle="v2", stops=("z", "y")),))
    assert not F.pyvrp_can_plan(day) and X.can_relax(day)
    relaxation = X.relax(day)
    # x's lock is exact in PyVRP, and the pinned z and y stay on v2: only the pin's order is relaxed
    assert {s.id: s.vehicles for s in relaxation.problem.stops} == {"x": ("v2",), "y": ("v2",), "z": ("v2",)}
    assert not relaxation.exact and not relaxation.problem.sequences
    assert F.engines_for(day) == ("relaxed", "relaxed")
    plans = F.run_engine("relaxed", day, 0.5)
    assert plans[-1].engine == "pyvrp-relaxed+ortools"
    for plan in plans:  # the folded plan too, when it comes: the pin put in order, checked
        assert check(day, plan) == [] and plan.unplanned == ()
        order = [ps.stop_id for r in plan.routes if r.vehicle_id == "v2" for ps in r.stops]
        assert "x" in order and order.index("z") < order.index("y")


def test_pin_order_puts_a_pins_stops_in_order_where_they_ride_least():
    day = msgspec.structs.replace(_locked_day(), sequences=(Sequence(vehicle="v2", stops=("z", "y")),))
    # y (place 3) before z (place 1): z goes in first, then y after it
    out = X.pin_order(day, {"v2": ["y", "x", "z"], "v1": ["z"]})
    assert out["v2"].index("z") < out["v2"].index("y") and sorted(out["v2"]) == ["x", "y", "z"]
    # hub 0 -> z (1) -> x (4) -> y (3) -> hub: 60 + 70 + 30 + 100, the cheapest with z before y
    assert out["v2"] == ["z", "x", "y"] and out["v1"] == ["z"]
    in_order = {"v2": ["x", "z", "y"]}
    assert X.pin_order(day, in_order) == in_order  # a pin in order is left as it is


def test_a_small_cold_day_with_a_mixed_fleet_starts_from_the_best_first_solution(monkeypatch):
    # one bike too small for d: the day counts as locked and starts from insertion, but the
    # strategies must still be tried (from insertion alone GLS stayed ~24 % worse on the demo day)
    day = _basket_day(_bike("big"), _bike("small", payload_kg=5))
    tried: list[list[str]] = []
    real = S._strategies_first

    def spy(m, params, strategies, start, *rest):  # noqa: ANN001, ANN202
        tried.append(list(strategies))
        assert start.sol is not None and start.obj is not None  # insertion's start, with its cost
        return real(m, params, strategies, start, *rest)

    monkeypatch.setattr(S, "_strategies_first", spy)
    plan = solve(day, 0.5)
    assert tried and tried[0], "the strategies were skipped"
    assert check(day, plan) == [] and plan.unplanned == ()


def test_locks_that_need_too_many_profiles_go_to_the_relaxation(monkeypatch):
    day = _overlapping_locks_day()
    assert X.lock_profiles_cells(day) == 2 * 5 * 9 * 9  # each of 5 bikes in its own locks; 5 + 4 places
    monkeypatch.setattr(X, "MAX_PROFILE_CELLS", 100)
    assert "too many groups of bikes" in (E.unsupported(day) or "")
    assert F.engines_for(day) == ("relaxed", "relaxed")
    relaxation = X.relax(day)  # the locks are relaxed too: their profiles would not fit
    assert not relaxation.exact and not any(s.vehicles for s in relaxation.problem.stops)


def test_exact_locks_need_no_profiles_however_many_groups_of_bikes(monkeypatch):
    monkeypatch.setattr(X, "MAX_PROFILE_CELLS", 0)
    day = _locked_day()
    assert E.unsupported(day) is None and F.engines_for(day) == ("pyvrp", "pyvrp")
    _plans_keep_x_on_v2(day)


@pytest.mark.parametrize(("big_above", "share"), [(100, X.RELAX_SHARE), (2, X.RELAX_SHARE_BIG)])
def test_on_a_big_day_pyvrp_gets_most_of_a_relaxed_runs_limit(monkeypatch, big_above: int, share: float):
    # OR-Tools' search barely moves on a big day: there it keeps only the floor, to repair
    monkeypatch.setattr(X, "RELAX_BIG_STOPS", big_above)
    limits: list[float] = []
    real = X.solve_pyvrp

    def spy(problem: Problem, limit: float, **kw):  # noqa: ANN003, ANN202
        limits.append(limit)
        return real(problem, limit, **kw)

    monkeypatch.setattr(X, "solve_pyvrp", spy)
    day = _basket_day(_bike(payload_kg=40))  # 4 stops
    plans = X.solve_relaxed(day, 0.5)
    assert limits == [pytest.approx(0.5 * share)]
    assert all(check(day, plan) == [] and plan.unplanned == () for plan in plans)
