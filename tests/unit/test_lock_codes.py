"""Locks as load dimensions in PyVRP: codes, exactness, the start that keeps them."""

from __future__ import annotations

import itertools

import msgspec
import numpy as np
import pytest

from backend.dispatch import lock_codes as L
from backend.dispatch import pyvrp_engine as E
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window

pytest.importorskip("pyvrp", reason="PyVRP is not installed")


@pytest.mark.parametrize(("locks", "dims"), [(1, 1), (2, 2), (3, 3), (4, 4), (6, 4), (7, 5), (70, 8), (71, 9)])
def test_width_is_the_fewest_dimensions_with_enough_codes_of_one_weight(locks: int, dims: int):
    assert L.width(locks) == dims


def _line_day(bikes: int = 6, stops: int = 24, locked: dict[int, str] | None = None) -> Problem:
    """Stops on a line away from the hub at place 0, a minute apart; ``locked`` stop -> bike."""
    n = stops + 1
    at = np.arange(n)
    T = (np.abs(at[:, None] - at[None, :]) * 60).astype(np.int64)
    vehicles = tuple(
        Vehicle(id=f"b{k}", start_location=0, end_location=0, shift=Window(0, 36_000), payload_kg=50, volume_l=100)
        for k in range(bikes)
    )
    locked = locked or {}
    out = tuple(
        Stop(id=f"s{i}", kind="delivery", location=i, weight_kg=1, vehicles=(locked[i],) if i in locked else ())
        for i in range(1, n)
    )
    return Problem(time_s=T, dist_m=T * 4, vehicles=vehicles, stops=out, cost="time")


def test_codes_have_one_weight_and_none_covers_another():
    day = _line_day(bikes=12, locked={i: f"b{i % 12}" for i in range(1, 13)})
    codes = list(L.codes(day).values())
    assert len(codes) == 12 and len(set(codes)) == 12
    assert len({len(c) for c in codes}) == 1 and max(max(c) for c in codes) < L.width(12)
    assert not any(a <= b for a, b in itertools.permutations(codes, 2))
    assert L.exact(day)  # a bike in one lock at most


def test_a_bike_in_several_locks_may_make_the_codes_inexact():
    # four locks on two dimensions of four each; b4 in the locks coded {0, 2} and {1, 2} has
    # room for {0, 1}, the code of b1's lock
    day = _line_day(locked={1: "b1", 2: "b2", 3: "b3", 4: "b2"})
    assert L.exact(day)
    stops = list(day.stops)
    stops[1] = Stop(id="s2", kind="delivery", location=2, weight_kg=1, vehicles=("b2", "b4"))
    stops[3] = Stop(id="s4", kind="delivery", location=4, weight_kg=1, vehicles=("b0", "b4"))
    inexact = Problem(time_s=day.time_s, dist_m=day.dist_m, vehicles=day.vehicles, stops=tuple(stops), cost="time")
    assert [sorted(c) for c in L.codes(inexact).values()] == [[0, 1], [0, 2], [0, 3], [1, 2]]
    assert not L.exact(inexact)


def _far_apart() -> Problem:
    # b5 must ride to both ends of the line; without the lock the nearest bikes would serve them
    return _line_day(stops=90, locked={1: "b5", 90: "b5", 45: "b3"})


def test_the_start_rides_each_locks_visits_on_its_bike_and_their_lists_join_them():
    from pyvrp import Activity, ActivityType
    from pyvrp.search import compute_neighbours

    from backend.dispatch.pyvrp_search import solve_params

    day = _far_apart()
    data, mapping = E.to_pyvrp(day)
    assert mapping.lock_dims == L.width(2)
    start = L.lock_start(data, mapping.lock_dims)
    on = {}
    for r in start.routes():
        ids = mapping.vehicle_types[r.vehicle_type()]
        on.update({day.stops[mapping.clients[a.idx]].id: ids for a in r.schedule()[1:-1]})
    assert on == {"s1": ["b5"], "s90": ["b5"], "s45": ["b3"]}  # only the locked visits, on their bikes
    assert start.excess_load() == [0] * data.num_load_dimensions
    s1, s90 = (Activity(ActivityType.CLIENT, ci) for ci, k in enumerate(mapping.clients) if k in (0, 89))
    plain = compute_neighbours(data, solve_params(1.0).neighbourhood)
    joined = L.lock_neighbours(data, plain, mapping.lock_dims)
    assert s90 not in plain[s1] and s90 in joined[s1] and s1 in joined[s90]  # too far for PyVRP's lists
    assert L.lock_start(data, 0).routes() == [] and L.lock_neighbours(data, plain, 0) is plain


def test_pyvrp_keeps_locks_far_apart_on_their_bike():
    day = _far_apart()
    plan = E.solve_pyvrp(day, 0.5)
    assert check(day, plan) == [] and plan.unplanned == ()
    on = {ps.stop_id: r.vehicle_id for r in plan.routes for ps in r.stops}
    assert on["s1"] == on["s90"] == "b5" and on["s45"] == "b3"


def test_a_bike_in_two_locks_rides_both_locks_visits_in_the_start():
    # b2 comes first: s1's lock (b1 or b2) begins a route on b2, and s2, locked on b2
    # alone, joins that route rather than being left for the search to place
    day = _line_day(bikes=3, stops=6)
    stops = list(day.stops)
    stops[0] = msgspec.structs.replace(stops[0], vehicles=("b1", "b2"))
    stops[5] = msgspec.structs.replace(stops[5], vehicles=("b2",))
    vehicles = (day.vehicles[2], day.vehicles[1], day.vehicles[0])
    day = msgspec.structs.replace(day, stops=tuple(stops), vehicles=vehicles)
    assert L.exact(day)
    data, mapping = E.to_pyvrp(day)
    start = L.lock_start(data, mapping.lock_dims)
    on = {
        day.stops[mapping.clients[a.idx]].id: mapping.vehicle_types[r.vehicle_type()]
        for r in start.routes()
        for a in r.schedule()[1:-1]
    }
    assert on == {"s1": ["b2"], "s6": ["b2"]}
    assert start.excess_load() == [0] * data.num_load_dimensions
