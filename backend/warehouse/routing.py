"""Pick paths: the order a picker walks a set of bins in, from the depot and back.

Pure: stdlib, msgspec and numpy. A picker walks the aisles' and cross aisles'
centre lines: within an aisle straight, between aisles through the cross aisle
that makes the walk shortest (:func:`distance`). Three ways to route:

- :func:`s_shape`: every aisle with a pick is walked end to end, left to right;
  an odd last aisle is entered from the front and left the same way. The usual
  baseline (and what a picker does without a list).
- :func:`optimal`: the shortest tour. On a floor with a front and a back cross
  aisle only, Ratliff and Rosenthal's (1983) dynamic programme over the aisles:
  the walk is built as a multigraph on the aisles' ends and the picks, aisle by
  aisle, keeping for the aisle's front and back end their degree (none, odd,
  even) and whether they are joined — the seven classes of the paper. With
  middle cross aisles, :func:`optimal_blocks` runs the same programme over
  columns of cross-aisle ends (Roodbergen and de Koster's extension): exact, but
  its states grow fast with the blocks. The tour is read off the cheapest
  connected even graph by an Euler walk.
- :func:`improved`: a local search on the picks' distance matrix (2-opt and
  Or-opt moves from the S-shape, the nearest-neighbour and the front/back-only
  optimal orders, then perturbed restarts). With a long budget it is the
  bench's reference where the exact programme is too slow.

:func:`route` takes the exact programme up to one middle cross aisle and the
search beyond. A :class:`Route` is the walking order (indices into the bins given, every bin
once, bins of one spot together) and its length in metres.
"""

from __future__ import annotations

import functools
import itertools
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np

from backend.warehouse.layout import Layout, Location, aisle_x, bay_y, parse_location

Spot = tuple[int, float]  # (aisle, y): where the picker stands

NONE, ODD, EVEN = 0, 1, 2
# (degree class of the aisle's front end, of its back end, whether the two are joined)
State = tuple[int, int, bool]
# the programme's choices so far, newest last: (earlier trail, choice), () at the start
Trail = tuple[Any, ...]


class Route(msgspec.Struct, frozen=True):
    order: tuple[int, ...]  # indices into the bins routed, in walking order
    length: float  # metres, depot to depot


def spot(layout: Layout, loc: Location) -> Spot:
    return (loc.aisle, bay_y(layout, loc.bay))


def distance(layout: Layout, a: Spot, b: Spot) -> float:
    """Walking metres between two spots: straight within an aisle, else over the best cross aisle."""
    if a[0] == b[0]:
        return abs(a[1] - b[1])
    across = abs(aisle_x(layout, a[0]) - aisle_x(layout, b[0]))
    return across + min(abs(a[1] - c) + abs(b[1] - c) for c in layout.cross_ys)


def matrix(layout: Layout, spots: Sequence[Spot]) -> np.ndarray:
    """Distances between the depot (row 0) and the spots (rows 1..)."""
    all_spots = [(layout.depot_aisle, 0.0), *spots]
    aisle = np.array([s[0] for s in all_spots])
    x = (aisle - 1) * layout.aisle_pitch
    y = np.array([s[1] for s in all_spots])
    cross = np.array(layout.cross_ys)
    via = np.abs(y[:, None, None] - cross) + np.abs(y[None, :, None] - cross)
    apart = np.abs(x[:, None] - x[None, :]) + via.min(axis=2)
    dist: np.ndarray = np.where(aisle[:, None] == aisle[None, :], np.abs(y[:, None] - y[None, :]), apart)
    return dist


def tour_length(dist: np.ndarray, order: Sequence[int]) -> float:
    """Length of depot -> order (matrix rows, 1..) -> depot."""
    stops = [0, *order, 0]
    return float(sum(dist[a, b] for a, b in zip(stops, stops[1:], strict=False)))


def _unique(layout: Layout, locations: Sequence[Location]) -> tuple[list[Spot], list[list[int]]]:
    """The distinct spots of the bins, and which bins stand at each."""
    at: dict[Spot, list[int]] = {}
    for i, loc in enumerate(locations):
        at.setdefault(spot(layout, loc), []).append(i)
    return list(at), list(at.values())


def _expand(groups: list[list[int]], spot_order: Sequence[int]) -> tuple[int, ...]:
    return tuple(i for s in spot_order for i in groups[s])


def _s_order(spots: list[Spot]) -> list[int]:
    """Spot indices in traversal order: aisles left to right, up and down in turn, an odd
    last aisle up and back."""
    by_aisle: dict[int, list[int]] = defaultdict(list)
    for s, (aisle, _) in enumerate(spots):
        by_aisle[aisle].append(s)
    aisles = sorted(by_aisle)
    order: list[int] = []
    last_odd = len(aisles) % 2 == 1
    for k, a in enumerate(aisles):
        ups = sorted(by_aisle[a], key=lambda s: spots[s][1])
        down = k % 2 == 1 and not (last_odd and k == len(aisles) - 1)
        order += reversed(ups) if down else ups
    return order


def s_shape(layout: Layout, locations: Sequence[Location]) -> Route:
    """The traversal route (blocks ignored: aisles are walked end to end)."""
    spots, groups = _unique(layout, locations)
    if not spots:
        return Route((), 0.0)
    aisles = sorted({a for a, _ in spots})
    deep = max(y for a, y in spots if a == aisles[-1])
    odd = len(aisles) % 2
    vertical = (len(aisles) - odd) * layout.length + odd * 2 * deep
    xs = [aisle_x(layout, a) for a in (*aisles, layout.depot_aisle)]
    return Route(_expand(groups, _s_order(spots)), vertical + 2 * (max(xs) - min(xs)))


# ---- Ratliff & Rosenthal ----------------------------------------------------------------


def _add(c: int, edges: int) -> int:
    """The degree class of a vertex of class ``c`` given ``edges`` more edges."""
    if edges == 0:
        return c
    if c == NONE:
        return ODD if edges % 2 else EVEN
    return c if edges % 2 == 0 else (EVEN if c == ODD else ODD)


# A way through one aisle: (edges added at the front end, at the back end, joins them, kind, gap index)
Config = tuple[int, int, bool, str, int]


def _configs(ys: list[float], length: float) -> list[tuple[Config, float]]:
    """The six ways of the paper to walk one aisle with picks at ``ys`` (sorted), and their metres."""
    out: list[tuple[Config, float]] = [((1, 1, True, "pass", 0), length), ((2, 2, True, "double", 0), 2 * length)]
    if not ys:
        return [((0, 0, False, "none", 0), 0.0), *out]
    out += [((2, 0, False, "front", 0), 2 * ys[-1]), ((0, 2, False, "back", 0), 2 * (length - ys[0]))]
    if len(ys) >= 2:
        gap, i = max((ys[i + 1] - ys[i], i) for i in range(len(ys) - 1))
        out.append(((2, 2, False, "gap", i), 2 * (length - gap)))
    return out


def _vertical(state: State, config: Config) -> State:
    da, db, joined = state
    va, vb, join, _, _ = config
    na, nb = _add(da, va), _add(db, vb)
    return (na, nb, na != NONE and nb != NONE and (join or joined))


def _horizontal(state: State, ma: int, mb: int, depot_here: bool) -> State | None:
    """The next aisle's state after ``ma`` front and ``mb`` back edges; None when the
    graph so far can no longer become one even tour."""
    da, db, joined = state
    fa, fb = _add(da, ma), _add(db, mb)
    if fa == ODD or fb == ODD or (depot_here and fa == NONE):
        return None
    # every component must reach the next aisle: one joined one over either end, else each end over its own
    stranded = not (ma or mb) if joined else (da != NONE and not ma) or (db != NONE and not mb)
    if stranded:
        return None
    na, nb = _add(NONE, ma), _add(NONE, mb)
    return (na, nb, bool(ma and mb and joined and da != NONE and db != NONE))


def _final(state: State, depot_here: bool) -> bool:
    da, db, joined = state
    if da == ODD or db == ODD or (depot_here and da == NONE):
        return False
    return joined or da == NONE or db == NONE


def optimal(layout: Layout, locations: Sequence[Location]) -> Route:
    """The shortest tour: Ratliff & Rosenthal's programme on a floor without middle cross
    aisles, its extension to blocks (:func:`optimal_blocks`) otherwise."""
    if layout.blocks != 1:
        return optimal_blocks(layout, locations)
    spots, groups = _unique(layout, locations)
    if not spots:
        return Route((), 0.0)
    length, order = _ratliff_rosenthal(layout, spots)
    return Route(_expand(groups, order), length)


def _ratliff_rosenthal(layout: Layout, spots: list[Spot]) -> tuple[float, list[int]]:
    """The shortest tour through the spots over the front and back cross aisles only (middle
    ones unused): its metres and the spots' order."""
    by_aisle: dict[int, list[int]] = defaultdict(list)
    for s in sorted(range(len(spots)), key=lambda s: spots[s]):
        by_aisle[spots[s][0]].append(s)
    lo = min(layout.depot_aisle, *by_aisle)
    hi = max(layout.depot_aisle, *by_aisle)
    L = layout.length
    # best[state] = (metres, back-pointer chain of choices)
    best: dict[State, tuple[float, Trail]] = {(NONE, NONE, False): (0.0, ())}
    for j in range(lo, hi + 1):
        ys = [spots[s][1] for s in by_aisle.get(j, [])]
        after: dict[State, tuple[float, Trail]] = {}
        for state, (cost, trail) in best.items():
            for config, metres in _configs(ys, L):
                nxt = _vertical(state, config)
                if nxt not in after or cost + metres < after[nxt][0]:
                    after[nxt] = (cost + metres, (trail, ("v", j, (config,))))
        if j == hi:
            best = after
            break
        pitch = aisle_x(layout, j + 1) - aisle_x(layout, j)
        best = {}
        for state, (cost, trail) in after.items():
            for ma in range(3):
                for mb in range(3):
                    nxt2 = _horizontal(state, ma, mb, j == layout.depot_aisle)
                    total = cost + (ma + mb) * pitch
                    if nxt2 is not None and (nxt2 not in best or total < best[nxt2][0]):
                        best[nxt2] = (total, (trail, ("h", j, (ma, mb))))
    ends = [(cost, trail) for state, (cost, trail) in best.items() if _final(state, hi == layout.depot_aisle)]
    length, trail = min(ends, key=lambda e: e[0])
    return length, _euler_order(trail, [0, layout.blocks], lambda j: [by_aisle.get(j, [])], layout.depot_aisle)


# ---- Middle cross aisles: the same programme over columns of cross-aisle ends -------------

# A column after an aisle: the degree class of each cross aisle's end at the aisle, and
# which end belongs to which part of the graph so far (-1: no edges), numbered in order.
Column = tuple[tuple[int, ...], tuple[int, ...]]


def _canonical(deg: Sequence[int], label: Sequence[int]) -> Column:
    names: dict[int, int] = {}
    return (
        tuple(deg),
        tuple(-1 if d == NONE else names.setdefault(lb, len(names)) for d, lb in zip(deg, label, strict=True)),
    )


def _through(column: Column, combo: tuple[tuple[int, int, bool], ...]) -> Column:
    """The column after walking each block's stretch of the aisle as ``combo`` says (edges
    added at its lower and upper end, whether they are joined)."""
    deg, label = list(column[0]), list(column[1])
    parent: dict[int, int] = {}
    fresh = len(deg)

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for k, (va, vb, join) in enumerate(combo):
        for v, added in ((k, va), (k + 1, vb)):
            if added and deg[v] == NONE:
                label[v], fresh = fresh, fresh + 1
            deg[v] = _add(deg[v], added)
        if join:
            parent[find(label[k])] = find(label[k + 1])
    return _canonical(deg, [find(lb) for lb in label])


def _across(column: Column, edges: tuple[int, ...], depot_here: bool) -> Column | None:
    """The next aisle's column after ``edges`` copies along each cross aisle; None when an end's
    degree would stay odd, the depot would be left out or a part of the graph left behind."""
    deg, label = column
    final = [_add(d, m) for d, m in zip(deg, edges, strict=True)]
    if ODD in final or (depot_here and final[0] == NONE):
        return None
    parts = {lb for lb in label if lb >= 0}
    if parts - {lb for lb, m in zip(label, edges, strict=True) if m and lb >= 0}:
        return None
    new = [lb if lb >= 0 else len(label) + k for k, lb in enumerate(label)]
    return _canonical([_add(NONE, m) for m in edges], new)


class _Numbered:
    """Columns and the programme's steps between them, numbered once for the process. A tour
    looks transitions up tens of thousands of times, and a number hashes for nothing where a
    column of nested tuples is hashed anew each time. It grows only by the columns and steps
    the floors routed reach (a few thousand with two middle cross aisles)."""

    def __init__(self) -> None:
        self.columns: list[Column] = []
        self.ids: dict[Column, int] = {}  # a column's number
        self.steps: dict[object, int] = {}  # a step's number
        self.rows: list[dict[int, int]] = []  # per column: step number -> the next column's (-1: none)
        self.lock = threading.Lock()  # routes may be planned on several threads at once

    def column(self, column: Column | None) -> int:
        if column is None:
            return -1
        found = self.ids.get(column)
        if found is None:
            with self.lock:
                found = self.ids.get(column)
                if found is None:
                    found = len(self.columns)
                    self.columns.append(column)
                    self.rows.append({})
                    self.ids[column] = found  # last: a number is read only once its row exists
        return found

    def step(self, key: object) -> int:
        found = self.steps.get(key)
        if found is None:
            with self.lock:
                found = self.steps.setdefault(key, len(self.steps))
        return found


_NUMBERED = _Numbered()
Best = dict[int, tuple[float, Trail]]  # column number -> (metres, the choices that reach it)


def _down(
    best: Best, j: int, combos: list[tuple[tuple[tuple[int, int, bool], ...], float, tuple[Config, ...]]], cap: float
) -> Best:
    """The columns after walking aisle ``j``'s stretches in each of the ways ``combos`` gives,
    those of more than ``cap`` metres left out."""
    table = _NUMBERED
    numbered = [(table.step(("v", effect)), effect, metres, configs) for effect, metres, configs in combos]
    after: Best = {}
    for cid, (cost, trail) in best.items():
        row, column = table.rows[cid], table.columns[cid]
        for sid, effect, metres, configs in numbered:
            nxt = row.get(sid)
            if nxt is None:
                nxt = row[sid] = table.column(_through(column, effect))
            total = cost + metres
            if total > cap:
                continue
            held = after.get(nxt)
            if held is None or total < held[0]:
                after[nxt] = (total, (trail, ("v", j, configs)))
    return after


def _over(after: Best, j: int, blocks: int, pitch: float, depot_here: bool, cap: float) -> Best:
    """The columns at aisle ``j + 1`` after 0, 1 or 2 edges along each cross aisle, those of
    more than ``cap`` metres left out."""
    table = _NUMBERED
    moves = [
        (table.step(("h", edges, depot_here)), edges, sum(edges) * pitch)
        for edges in itertools.product(range(3), repeat=blocks + 1)
    ]
    best: Best = {}
    for cid, (cost, trail) in after.items():
        row, column = table.rows[cid], table.columns[cid]
        for sid, edges, metres in moves:
            nxt = row.get(sid)
            if nxt is None:
                nxt = row[sid] = table.column(_across(column, edges, depot_here))
            total = cost + metres
            if nxt < 0 or total > cap:
                continue
            held = best.get(nxt)
            if held is None or total < held[0]:
                best[nxt] = (total, (trail, ("h", j, edges)))
    return best


def optimal_blocks(layout: Layout, locations: Sequence[Location], bound: float = float("inf")) -> Route:
    """The shortest tour on a floor with any number of blocks (Roodbergen & de Koster's
    extension of the programme): every block's stretch of an aisle is walked in one of the six
    ways, and the state is a column of cross-aisle ends instead of a front and a back end.

    ``bound``, the metres of a tour known to exist (e.g. the local search's), prunes: a part
    whose metres plus the least the rest can take (twice across every gap between aisles still
    to reach, the cheapest way through every stretch with picks) are more than it cannot lead to
    a shorter tour. Many times faster with two middle cross aisles; the answer is the same."""
    spots, groups = _unique(layout, locations)
    if not spots:
        return Route((), 0.0)
    B, cross = layout.blocks, layout.cross_ys
    parts: dict[int, list[list[int]]] = defaultdict(lambda: [[] for _ in range(B)])
    for s in sorted(range(len(spots)), key=lambda s: spots[s]):
        a, y = spots[s]
        parts[a][min(int(y // layout.block_length), B - 1)].append(s)
    lo = min(layout.depot_aisle, *parts)
    hi = max(layout.depot_aisle, *parts)
    ways = {
        j: [_configs([spots[s][1] - cross[k] for s in parts[j][k]], cross[k + 1] - cross[k]) for k in range(B)]
        for j in range(lo, hi + 1)
    }
    pitch = {j: aisle_x(layout, j + 1) - aisle_x(layout, j) for j in range(lo, hi)}
    # the least metres still to walk once aisle j is walked
    rest = {hi: 0.0}
    for j in range(hi - 1, lo - 1, -1):
        rest[j] = rest[j + 1] + 2 * pitch[j] + sum(min(m for _, m in way) for way in ways[j + 1])
    slack = bound + 1e-6
    best: Best = {_NUMBERED.column(_canonical([NONE] * (B + 1), [-1] * (B + 1))): (0.0, ())}
    for j in range(lo, hi + 1):
        combos = [
            (tuple(c[:3] for c, _ in combo), sum(m for _, m in combo), tuple(c for c, _ in combo))
            for combo in itertools.product(*ways[j])
        ]
        best = _down(best, j, combos, slack - rest[j])
        if j < hi:
            best = _over(best, j, B, pitch[j], j == layout.depot_aisle, slack - rest[j] + 2 * pitch[j])

    def done(column: Column) -> bool:
        deg, label = column
        return ODD not in deg and max(label) <= 0 and not (hi == layout.depot_aisle and deg[0] == NONE)

    ends = [(c, t) for cid, (c, t) in best.items() if done(_NUMBERED.columns[cid])]
    if not ends:
        raise ValueError(f"no tour of {bound:g} m or less exists: the bound must be the length of a tour")
    length, trail = min(ends, key=lambda e: e[0])
    order = _euler_order(trail, list(range(B + 1)), lambda j: parts[j], layout.depot_aisle)
    return Route(_expand(groups, order), length)


def _euler_order(trail: Trail, ends: list[int], parts: Callable[[int], list[list[int]]], depot: int) -> list[int]:
    """The spots in the order an Euler walk of the chosen graph first meets them. ``ends`` name
    the cross aisles of a column, ``parts(j)`` the spots of each stretch of aisle j between them."""
    edges: dict[object, list[object]] = defaultdict(list)

    def link(u: object, v: object, times: int) -> None:
        for _ in range(times):
            edges[u].append(v)
            edges[v].append(u)

    while trail:
        trail, (step, j, choice) = trail
        if step == "h":
            for end, m in zip(ends, choice, strict=True):
                link(("c", j, end), ("c", j + 1, end), m)
            continue
        for i, (_, _, _, kind, gap) in enumerate(choice):
            chain: list[object] = [("c", j, ends[i]), *parts(j)[i], ("c", j, ends[i + 1])]
            segments = list(zip(chain, chain[1:], strict=False))
            times = {"none": 0, "pass": 1}.get(kind, 2)
            for k, (u, v) in enumerate(segments):
                skip = (
                    (kind == "front" and k == len(segments) - 1)
                    or (kind == "back" and k == 0)
                    or (kind == "gap" and k == gap + 1)
                )
                link(u, v, 0 if skip else times)
    # Hierholzer, from the depot
    stack: list[object] = [("c", depot, 0)]
    walk: list[object] = []
    while stack:
        u = stack[-1]
        if edges[u]:
            v = edges[u].pop()
            edges[v].remove(u)
            stack.append(v)
        else:
            walk.append(stack.pop())
    seen: dict[int, None] = {}
    for v in reversed(walk):
        if isinstance(v, int):
            seen.setdefault(v, None)
    return list(seen)


# ---- Local search on the distance matrix -------------------------------------------------
# The moves are scored on the tour's own matrix (row k: the k-th stop of the tour), gathered
# once per move; the index arrays and masks depend only on the tour's length and are kept.


@functools.lru_cache(maxsize=256)
def _upper(m: int) -> np.ndarray:
    """Pairs of edges (i, j) with i < j of a tour of ``m`` stops."""
    upper: np.ndarray = np.triu(np.ones((m - 1, m - 1), dtype=bool), k=1)
    return upper


@functools.lru_cache(maxsize=256)
def _runs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every Or-opt move of a tour of ``n`` stops, as arrays over (size 1-3, reversed or not,
    start of the run, edge to put it into): the run's start, its head and tail (the stops
    joined to the edge's two ends), and whether the move is one (the edge neither removed nor
    inside the run; sizes too long for the tour are padding, never valid)."""
    rows, k = max(n - 2, 1), np.arange(n - 1)
    size = np.array([1, 2, 3])[:, None, None]
    start = np.broadcast_to(np.arange(1, rows + 1), (3, 2, rows))
    last = np.minimum(start + size - 1, n - 2)
    head = np.where(np.array([False, True])[None, :, None], last, start)
    tail = np.where(np.array([False, True])[None, :, None], start, last)
    i = start[..., None]
    valid = (i + size[..., None] <= n - 1) & ((k < i - 1) | (k > i + size[..., None] - 1))
    return start, head, tail, valid


def _two_opt(dist: np.ndarray, tour: list[int]) -> bool:
    """One improving reversal of tour[i..j] (tour starts and ends with the depot, 0)."""
    t = np.array(tour)
    d = dist.take(t, axis=0).take(t, axis=1)
    edge = np.diagonal(d, 1)
    # gain of reversing tour[i..j]: d(a_i-1, a_i) + d(a_j, a_j+1) - d(a_i-1, a_j) - d(a_i, a_j+1)
    gain = edge[:, None] + edge[None, :] - d[:-1, :-1] - d[1:, 1:]
    gain = np.where(_upper(len(t)), gain, 0.0)
    i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
    if gain[i, j] <= 1e-9:
        return False
    tour[i + 1 : j + 1] = tour[i + 1 : j + 1][::-1]
    return True


def _or_opt(dist: np.ndarray, tour: list[int]) -> bool:
    """The best improving move of a run of 1 to 3 stops elsewhere (either way round); of equal
    gains the shortest run, then not reversed, then the earliest start and edge."""
    t = np.array(tour)
    n = len(t)
    if n < 4:
        return False
    d = dist.take(t, axis=0).take(t, axis=1)
    edge = np.diagonal(d, 1)
    start, head, tail, valid = _runs(n)
    end = np.minimum(start + np.array([1, 2, 3])[:, None, None], n - 1)
    removed = d[start - 1, start] + d[end - 1, end] - d[start - 1, end]
    # put between stops k and k+1: d(k, head) + d(tail, k+1) - d(k, k+1)
    added = np.moveaxis(d[:-1, head], 0, -1) + d[tail, 1:] - edge
    gain = np.where(valid, added - removed[..., None], np.inf)
    s, f, a, b = np.unravel_index(int(np.argmin(gain)), gain.shape)
    if gain[s, f, a, b] >= -1e-9:
        return False
    at, size, edge_at = int(start[s, f, a]), int(s) + 1, int(b)
    run = tour[at : at + size][::-1] if f else tour[at : at + size]
    if edge_at < at:
        tour[:] = tour[: edge_at + 1] + run + tour[edge_at + 1 : at] + tour[at + size :]
    else:
        tour[:] = tour[:at] + tour[at + size : edge_at + 1] + run + tour[edge_at + 1 :]
    return True


def _local_optimum(dist: np.ndarray, order: list[int]) -> list[int]:
    tour = [0, *order, 0]
    while _two_opt(dist, tour) or _or_opt(dist, tour):
        pass
    return tour[1:-1]


def _nearest_neighbour(dist: np.ndarray) -> list[int]:
    left, order, here = set(range(1, len(dist))), [], 0
    while left:
        here = min(left, key=lambda s: (dist[here, s], s))
        order.append(here)
        left.remove(here)
    return order


def improved(
    layout: Layout, locations: Sequence[Location], restarts: int = 20, seed: int = 0, outer_start: bool = True
) -> Route:
    """Local search from the S-shape, the nearest-neighbour and (``outer_start``) the best tour
    over the front and back cross aisles only, then ``restarts`` perturbed restarts (a double
    bridge) from the best; more restarts, a longer search."""
    spots, groups = _unique(layout, locations)
    if not spots:
        return Route((), 0.0)
    dist = matrix(layout, spots)
    starts = [[k + 1 for k in _s_order(spots)], _nearest_neighbour(dist)]
    if outer_start:
        starts.append([k + 1 for k in _ratliff_rosenthal(layout, spots)[1]])
    best = min((_local_optimum(dist, o) for o in starts), key=lambda o: tour_length(dist, o))
    best_length = tour_length(dist, best)
    rng = random.Random(seed)
    n = len(best)
    for _ in range(restarts if n >= 8 else 0):
        p, q, r = sorted(rng.sample(range(1, n), 3))
        kicked = best[:p] + best[q:r] + best[p:q] + best[r:]
        tried = _local_optimum(dist, kicked)
        tried_length = tour_length(dist, tried)
        if tried_length < best_length - 1e-9:
            best, best_length = tried, tried_length
    return Route(_expand(groups, [k - 1 for k in best]), best_length)


EXACT_BLOCKS = 2  # up to this many blocks the exact programme is quick (its columns grow fast with more)


def route(layout: Layout, locations: Sequence[Location]) -> Route:
    """Our pick path: exact up to EXACT_BLOCKS blocks (one middle cross aisle), a local search beyond."""
    return optimal(layout, locations) if layout.blocks <= EXACT_BLOCKS else improved(layout, locations)


def length_of(layout: Layout, locations: Sequence[Location], order: Sequence[int]) -> float:
    """Walking metres of the bins in ``order`` (indices into ``locations``) from and to the depot."""
    spots = [spot(layout, locations[i]) for i in order]
    return tour_length(matrix(layout, spots), range(1, len(spots) + 1))


def walking_order(layout: Layout) -> Callable[[list[str]], list[str]]:
    """:func:`route` as ``waves.plan_batches`` takes a path: bin codes in, the same codes in
    walking order out."""

    def order(codes: list[str]) -> list[str]:
        walk = route(layout, [parse_location(layout, c) for c in codes])
        return [codes[i] for i in walk.order]

    return order
