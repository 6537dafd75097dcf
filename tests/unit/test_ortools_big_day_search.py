"""OR-Tools' local search moves on a day above the cold-insertion size (issue #15, quality).

With a neighbour ratio below 1, OR-Tools 9.15 filtered out every move on such days
(its log: "filtered neighbors = 0"), so the plan stayed the first solution whatever
the limit. Up to ``_FULL_NEIGHBOURS_MAX_NODES`` stop nodes every node is a neighbour.
"""

from __future__ import annotations

import math
import random

from backend.dispatch import ortools_search as S
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.solver import solve


def _day(n: int = 320, bikes: int = 8, seed: int = 3) -> Problem:
    rng = random.Random(seed)
    pts = [(0.0, 0.0)] + [(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)) for _ in range(n)]
    dist = [[round(math.dist(a, b)) for b in pts] for a in pts]
    time_s = [[d // 5 for d in row] for row in dist]
    stops = tuple(
        Stop(id=f"s{k}", kind="delivery", location=k, weight_kg=1.0, volume_l=1.0, service_s=30)
        for k in range(1, n + 1)
    )
    vehicles = tuple(
        Vehicle(id=f"b{j}", start_location=0, end_location=0, shift=Window(0, 12 * 3600), payload_kg=100, volume_l=100)
        for j in range(bikes)
    )
    return Problem(time_s=time_s, dist_m=dist, vehicles=vehicles, stops=stops)


def test_the_search_improves_the_first_solution_of_a_day_above_the_insertion_size():
    day = _day()
    assert len(day.stops) > S._COLD_INSERTION_NODES  # starts from our insertion
    assert len(day.stops) <= S._FULL_NEIGHBOURS_MAX_NODES
    timings: dict[str, float] = {}
    plan = solve(day, 3.0, timings=timings)
    assert check(day, plan) == [] and plan.unplanned == ()
    assert timings["objective"] < timings["first_objective"]
