"""A problem cut down to the matrix places that its stops and bikes use.

A day's matrices may hold more places than its stops and bikes use (the city
bench's day of 500 stops: 503 places, 352 used). What PyVRP is handed is read off
the whole matrix: a leg between two unused places can decide the bound in seconds
of a battery range (``pyvrp_engine.range_bound``; the city day of 500 stops had its
only legs of some metres in 0 s there, which made PyVRP cost route durations at a
quarter of the iterations, issue #15, session 22), and smaller matrices are less to
copy into PyVRP.

Plans name stops and bikes, never places, and the cut matrices hold the same
times and distances between the places kept: a plan of the cut problem is a plan
of the problem, timed the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from backend.dispatch.model import Problem

__all__ = ["used_places"]


def used_places(
    problem: Problem, coords: Sequence[tuple[float, float]] | None = None
) -> tuple[Problem, list[tuple[float, float]] | None]:
    """``problem`` on only the places its stops and bikes use (starts, ends, reload hubs),
    in their order, and ``coords`` (one per matrix place) cut the same way. A problem
    that uses every place comes back as it is."""
    n = len(problem.time_s)
    used = sorted(
        {s.location for s in problem.stops}
        | {v.start_location for v in problem.vehicles}
        | {v.end_location for v in problem.vehicles}
        | {v.reload_place for v in problem.vehicles}
    )
    if len(used) == n:
        return problem, None if coords is None else list(coords)
    at = {place: k for k, place in enumerate(used)}
    cut = np.ix_(used, used)
    replace = msgspec.structs.replace
    stops = tuple(replace(s, location=at[s.location]) for s in problem.stops)
    vehicles = tuple(
        replace(
            v,
            start_location=at[v.start_location],
            end_location=at[v.end_location],
            reload_location=None if v.reload_location is None else at[v.reload_location],
        )
        for v in problem.vehicles
    )
    smaller = replace(
        problem,
        time_s=np.asarray(problem.time_s)[cut],
        dist_m=np.asarray(problem.dist_m)[cut],
        stops=stops,
        vehicles=vehicles,
    )
    return smaller, None if coords is None else [coords[p] for p in used]
