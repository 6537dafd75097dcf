"""A day's matrices on a network just closed, filled only at the pairs asked for.

A closure's re-plan used to compute the closed network's whole day matrices before
its quick answer (0.9 s of Dijkstra runs on the centre's busy streets:
``closed_matrix.py`` runs again every row with a pair that may cross the closure).
The quick answer (the routes in force re-timed, the stops on no route put in) and
its checker read only the legs of the routes in force and the rows and columns of the
hub and of those stops: :class:`DayLegs` computes exactly those
(:class:`~backend.dispatch.closed_matrix.ClosedPairs`), and every other entry holds
:data:`POISON`, a time and distance no route can be ridden with, so a route that read
one fails the checker instead of being published. The whole matrices follow after
the answer.

Each filled entry equals :meth:`StreetNetwork.matrices`' for the same points:
the same access legs (a point whose node is cut off joins the open network on
foot; over SNAP_MAX_M it is UNREACHABLE_S away) and the same sums in the same order.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from backend.dispatch.closed_matrix import ClosedPairs
from backend.dispatch.model import Problem
from backend.dispatch.replan import routes_known

if TYPE_CHECKING:
    from backend.dispatch.network import StreetNetwork
    from backend.dispatch.variant import Variant

# An entry not computed: 35,000 years and as many metres: past every window, shift and range.
POISON = 2**40


class DayLegs:
    """The time and distance matrices (int s, int m; row = from) of ``pts`` on ``variant``,
    :data:`POISON` wherever :meth:`fill` has not filled them."""

    def __init__(self, network: StreetNetwork, variant: Variant, pairs: ClosedPairs, pts: np.ndarray) -> None:
        self._network = network
        self.places = network.places_of(variant, pts)
        self.pairs = pairs
        n = len(pts)
        self.time = np.full((n, n), POISON, dtype=np.int64)
        self.dist = np.full((n, n), POISON, dtype=np.int64)
        self._point_id = np.unique(pts, axis=0, return_inverse=True)[1].reshape(-1)

    def fill(self, a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
        """Fill the entries (a[k], b[k]) not filled yet; answers how many were new."""
        from backend.dispatch.network import ACCESS_KMH, SNAP_MAX_M, UNREACHABLE_S, haversine_m

        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        new = self.time[a, b] == POISON
        if not new.any():
            return 0
        n = len(self.time)
        key = np.unique(a[new] * n + b[new])
        a, b = key // n, key % n
        p = self.places
        time_s = np.full(len(a), float(UNREACHABLE_S))
        dist_m = haversine_m(p.pts[a, 0], p.pts[a, 1], p.pts[b, 0], p.pts[b, 1])
        ok = (p.access_m[a] <= SNAP_MAX_M) & (p.access_m[b] <= SNAP_MAX_M)
        oa, ob = a[ok], b[ok]
        t, d = self._network.split_weights(self.pairs.weights(p.nodes[oa], p.nodes[ob]))
        walk = p.access_m / (ACCESS_KMH / 3.6)
        time_s[ok] = t + walk[oa] + walk[ob]  # as matrix_block adds them
        dist_m[ok] = d + p.access_m[oa] + p.access_m[ob]
        same = self._point_id[a] == self._point_id[b]  # identical points are 0 apart
        self.time[a, b] = np.where(same, 0, np.rint(time_s)).astype(np.int64)
        self.dist[a, b] = np.where(same, 0, np.rint(dist_m)).astype(np.int64)
        return len(a)

    def fill_lines(self, places: Sequence[int]) -> None:
        """The rows and the columns of these places (the hub's: cut-off stops, the bikes' reach,
        loops; a stop on no route: where it may be put in)."""
        if not len(places):
            return
        others = np.arange(len(self.time))
        mine = np.repeat(np.asarray(places, dtype=np.int64), len(others))
        every = np.tile(others, len(places))
        self.fill(np.concatenate([mine, every]), np.concatenate([every, mine]))

    def fill_paths(self, paths: Sequence[Sequence[int]]) -> None:
        """The legs of these paths of places, each from one place to the next."""
        legs = [leg for path in paths for leg in itertools.pairwise(path)]
        if legs:
            self.fill([x for x, _ in legs], [y for _, y in legs])


def route_paths(
    problem: Problem, routes_in_force: dict[str, list[str]], loops: dict[str, list[int]] | None = None
) -> list[list[int]]:
    """The places each route in force rides through, as the quick answer and the checker
    read them: from where its bike is, through its stops known to the problem, back to
    the hub before each stop that starts a new loop (``loops``: per bike the loop of each
    stop of ``routes_in_force``), to its end."""
    known = routes_known(problem, routes_in_force)
    loc = {s.id: s.location for s in problem.stops}
    out = []
    for v in problem.vehicles:
        ids = known.get(v.id, [])
        loop_of = dict(zip(routes_in_force.get(v.id, []), (loops or {}).get(v.id, []), strict=False))
        path = [v.start_location]
        for j, sid in enumerate(ids):
            if j and loop_of.get(sid, 1) != loop_of.get(ids[j - 1], 1):
                path.append(v.reload_place)
            path.append(loc[sid])
        out.append([*path, v.end_location])
    return out
