"""Matrices kept between calls: node-to-node weights of a graph, and the growing
time and distance matrices of one running day in shared memory.

Used by :class:`backend.dispatch.network.StreetNetwork` (which owns the graph,
snapping and access legs); split from it so that each file does one job.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from backend.dispatch.shared_matrix import Block

if TYPE_CHECKING:
    from backend.dispatch.network import StreetNetwork
    from backend.dispatch.variant import Variant

# Dijkstra runs per call. A call holds the GIL (about 0.85 ms a run on the centre's map), and
# these run in threads beside the event loop (a closure's whole matrices after its answer,
# backend/services/legs_first.py): between calls the thread lets the loop in. While calls of
# 32 runs went on, a Python loop beside them got 46 % of its speed; of 8 runs with a yield
# between, 91 % (issue #19, session 30).
RUNS_AT_ONCE = 8
# Day matrices are kept for days of up to DAY_MATRIX_MAX_PLACES places: 2 x size**2 x 8
# bytes of shared memory each, where size is at most 1.5 times the places (110 MB at
# 2,100 places).
DAY_MATRIX_MAX_PLACES = 4_000


class MatrixCache:
    """Shortest-path weights between recently used nodes of one graph, kept between calls.

    ``w[i, j]`` is the weight from the node in slot i to the node in slot j. A call
    with nodes already known reads them; a new node costs one Dijkstra run forward
    (its row) and one on the reversed graph (its column: the network is directed),
    unless running forward from every node is cheaper. When full, the least recently
    used nodes make room. Weights are sums of integers below 2**53, so every way of
    computing them gives the same number: results equal an uncached Dijkstra's.
    """

    def __init__(self, graph: csr_matrix, capacity: int) -> None:
        self.graph = graph
        self.capacity = capacity
        self._reverse: csr_matrix | None = None
        self.slot_of: dict[int, int] = {}
        self._node = np.zeros(0, dtype=np.int64)  # slot -> node (-1: free)
        self._used = np.zeros(0, dtype=np.int64)  # slot -> call counter when last read
        self._w = np.zeros((0, 0))
        self._clock = 0
        self._lock = threading.Lock()  # matrices run in threads (asyncio.to_thread)
        self.forward_runs = 0
        self.reverse_runs = 0
        # run once before the first weights are read: fills the cache from a related one
        # (backend/dispatch/closed_matrix.py)
        self.seed: Callable[[], object] | None = None
        self._seed_lock = threading.Lock()

    def _grow(self, size: int) -> None:
        old = len(self._node)
        w = np.zeros((size, size))
        w[:old, :old] = self._w
        self._w = w
        self._node = np.concatenate([self._node, np.full(size - old, -1, dtype=np.int64)])
        self._used = np.concatenate([self._used, np.zeros(size - old, dtype=np.int64)])

    def _forward(self, nodes: np.ndarray) -> np.ndarray:
        self.forward_runs += len(nodes)
        return runs(self.graph, nodes)

    def reverse_graph(self) -> csr_matrix:
        """The graph with every edge turned: a run on it from t gives the weights to t."""
        if self._reverse is None:
            self._reverse = self.graph.T.tocsr()
        return self._reverse

    def run_forward(self, nodes: np.ndarray) -> np.ndarray:
        """Weights from each of ``nodes`` to every node of the graph (rows), nothing kept."""
        return self._forward(nodes)

    def run_reverse(self, nodes: np.ndarray) -> np.ndarray:
        """Weights from every node of the graph to each of ``nodes`` (one row per node), nothing kept."""
        self.reverse_runs += len(nodes)
        return runs(self.reverse_graph(), nodes)

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """(the known nodes, the weights between them): a copy, row = from."""
        with self._lock:
            slots = np.flatnonzero(self._node >= 0)
            return self._node[slots].copy(), self._w[np.ix_(slots, slots)]

    def peek(self, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """The known weight from ``us[k]`` to ``vs[k]`` for each k, NaN where either node is
        not known; nothing is computed or counted as used."""
        with self._lock:
            su = np.fromiter((self.slot_of.get(n, -1) for n in us.tolist()), dtype=np.int64, count=len(us))
            sv = np.fromiter((self.slot_of.get(n, -1) for n in vs.tolist()), dtype=np.int64, count=len(vs))
            known = (su >= 0) & (sv >= 0)
            out = np.full(len(us), np.nan)
            out[known] = self._w[su[known], sv[known]]
            return out

    def install(self, nodes: np.ndarray, w: np.ndarray) -> None:
        """Start from these known weights (``w[i, j]``: from ``nodes[i]`` to ``nodes[j]``)."""
        nodes = nodes[: self.capacity]
        size = min(self.capacity, max(len(nodes) + len(nodes) // 4 + 16, 256))
        with self._lock:
            self._w = np.zeros((size, size))
            self._w[: len(nodes), : len(nodes)] = w[: len(nodes), : len(nodes)]
            self._node = np.concatenate([nodes, np.full(size - len(nodes), -1, dtype=np.int64)])
            self._used = np.zeros(size, dtype=np.int64)
            self.slot_of = {int(n): i for i, n in enumerate(nodes.tolist())}

    def weights(self, nodes: np.ndarray, to: np.ndarray | None = None) -> np.ndarray:
        """The weights from these (distinct) nodes to ``to`` (distinct; default: the same),
        row = from."""
        to = nodes if to is None else to
        if self.seed is not None:
            with self._seed_lock:  # a second caller waits for the seeded cache, not an empty one
                if self.seed is not None:
                    try:
                        self.seed()
                    finally:
                        self.seed = None
        both = np.union1d(nodes, to)
        if len(both) > self.capacity:  # more than it may keep: computed, not kept
            return self._forward(nodes)[:, to]
        with self._lock:
            self._clock += 1
            new = np.asarray([n for n in both.tolist() if n not in self.slot_of], dtype=np.int64)
            if len(new):
                self._add(both, new)
            rows = np.fromiter((self.slot_of[n] for n in nodes.tolist()), dtype=np.int64, count=len(nodes))
            cols = np.fromiter((self.slot_of[n] for n in to.tolist()), dtype=np.int64, count=len(to))
            self._used[rows] = self._clock
            self._used[cols] = self._clock
            return self._w[np.ix_(rows, cols)]

    def _add(self, wanted: np.ndarray, new: np.ndarray) -> None:
        excess = len(self.slot_of) + len(new) - self.capacity
        if excess > 0:  # evict the least recently used nodes this call does not need
            wanted_set = set(wanted.tolist())
            spare = [s for s in self.slot_of.values() if int(self._node[s]) not in wanted_set]
            spare.sort(key=lambda s: self._used[s])
            for s in spare[:excess]:
                del self.slot_of[int(self._node[s])]
                self._node[s] = -1
        free = np.flatnonzero(self._node < 0)
        if len(free) < len(new):
            # Room to spare: the next call's few new places must not copy the whole array.
            needed = len(self.slot_of) + len(new)
            size = min(self.capacity, max(2 * len(self._node), needed + needed // 4 + 16, 256))
            self._grow(size)
            free = np.flatnonzero(self._node < 0)
        new_slots = free[: len(new)]
        old_slots = np.flatnonzero(self._node >= 0)
        self._node[new_slots] = new
        for node, slot in zip(new.tolist(), new_slots.tolist(), strict=True):
            self.slot_of[node] = slot
        all_slots = np.flatnonzero(self._node >= 0)
        all_nodes = self._node[all_slots]
        if len(all_slots) <= 2 * len(new):
            # Few known nodes (a first call): forward from all of them is cheaper.
            self._w[np.ix_(all_slots, all_slots)] = self._forward(all_nodes)[:, all_nodes]
            return
        self._w[np.ix_(new_slots, all_slots)] = self._forward(new)[:, all_nodes]
        self.reverse_runs += len(new)
        # On the reversed graph, from node t: the weight from every node to t.
        to_new = runs(self.reverse_graph(), new)
        self._w[np.ix_(old_slots, new_slots)] = to_new[:, self._node[old_slots]].T


def runs(graph: csr_matrix, nodes: np.ndarray) -> np.ndarray:
    """Dijkstra from each of ``nodes`` on ``graph`` (one row each), ``RUNS_AT_ONCE`` runs a
    call, the GIL let go after each call."""
    out = np.empty((len(nodes), graph.shape[0]))
    for i in range(0, len(nodes), RUNS_AT_ONCE):
        out[i : i + RUNS_AT_ONCE] = dijkstra(graph, directed=True, indices=nodes[i : i + RUNS_AT_ONCE])
        time.sleep(0)  # a waiting thread (the event loop's) takes the GIL now
    return out


class Places(NamedTuple):
    """Points and where they join the network (access legs over SNAP_MAX_M: cut off)."""

    pts: np.ndarray  # (n, 2) lat, lon
    nodes: np.ndarray
    access_m: np.ndarray

    def take(self, idx: np.ndarray) -> Places:
        return Places(self.pts[idx], self.nodes[idx], self.access_m[idx])

    def join(self, at: np.ndarray, other: Places, other_at: np.ndarray, n: int) -> Places:
        """These places at positions ``at`` and ``other`` at ``other_at``, as one list of ``n``."""
        pts = np.empty((n, 2))
        nodes = np.empty(n, dtype=np.int64)
        access = np.empty(n)
        pts[at], nodes[at], access[at] = self.pts, self.nodes, self.access_m
        pts[other_at], nodes[other_at], access[other_at] = other.pts, other.nodes, other.access_m
        return Places(pts, nodes, access)


class DayMatrices:
    """The time and distance matrices of one running day, grown as places come and go.

    Each distinct point has a slot (a row and a column) in two square matrices in
    shared memory. A new point fills its row and column; nothing else is touched,
    so a problem handed to another process earlier still reads what it read. When
    the slots run out, the points of the current call are copied into a new pair of
    blocks (a generation); the previous generations stay mapped for the problems
    that use them and are unlinked GENERATIONS_KEPT generations later.
    """

    GENERATIONS_KEPT = 3

    def __init__(self, network: StreetNetwork, variant: Variant) -> None:
        self._network = network
        self._variant = variant
        self._lock = threading.Lock()
        self.slot_of: dict[tuple[float, float], int] = {}
        self.used = 0
        self.places = Places(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros(0))
        self.generations: list[tuple[Block, Block]] = []
        self._finalizer = weakref.finalize(self, _release_generations, self.generations)

    def release(self) -> None:
        self._finalizer()

    def lookup(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keys = [(a, b) for a, b in pts.tolist()]
        with self._lock:
            new_keys = list(dict.fromkeys(k for k in keys if k not in self.slot_of))
            size = self.generations[-1][0].size if self.generations else 0
            if self.used + len(new_keys) > size:
                self._new_generation(keys, len(new_keys))
            if new_keys:
                self._add(np.array(new_keys, dtype=np.float64).reshape(-1, 2), new_keys)
            time_b, dist_b = self.generations[-1]
            index = np.fromiter((self.slot_of[k] for k in keys), dtype=np.int64, count=len(keys))
            return time_b.array, dist_b.array, index

    def _new_generation(self, keys: list[tuple[float, float]], n_new: int) -> None:
        """Blocks with room for the points of this call (those kept are copied over)."""
        keep = list(dict.fromkeys(self.slot_of[k] for k in keys if k in self.slot_of))
        need = len(keep) + n_new
        size = min(max(256, need + need // 2), max(need, DAY_MATRIX_MAX_PLACES))
        time_b, dist_b = Block(size), Block(size)
        if keep:
            old_t, old_d = self.generations[-1]
            ix = np.ix_(keep, keep)
            time_b.array[: len(keep), : len(keep)] = old_t.array[ix]
            dist_b.array[: len(keep), : len(keep)] = old_d.array[ix]
        by_slot = {slot: k for k, slot in self.slot_of.items()}
        self.slot_of = {by_slot[slot]: i for i, slot in enumerate(keep)}
        self.places = self.places.take(np.array(keep, dtype=np.int64))
        self.used = len(keep)
        self.generations.append((time_b, dist_b))
        while len(self.generations) > self.GENERATIONS_KEPT:
            for block in self.generations.pop(0):
                block.release()

    def _add(self, pts: np.ndarray, keys: list[tuple[float, float]]) -> None:
        net, variant = self._network, self._variant
        fresh = net.places_of(variant, pts)  # off the map: PointOutsideMap, before anything changes
        start, end = self.used, self.used + len(keys)
        everyone = Places(
            np.vstack([self.places.pts, fresh.pts]),
            np.concatenate([self.places.nodes, fresh.nodes]),
            np.concatenate([self.places.access_m, fresh.access_m]),
        )
        time_b, dist_b = self.generations[-1]
        t, d = net.matrix_block(variant, fresh, everyone)  # their rows
        time_b.array[start:end, :end], dist_b.array[start:end, :end] = t, d
        if start:
            t, d = net.matrix_block(variant, self.places, fresh)  # their columns
            time_b.array[:start, start:end], dist_b.array[:start, start:end] = t, d
        slots = np.arange(start, end)
        time_b.array[slots, slots] = 0  # each point from itself (distinct points: distinct slots)
        dist_b.array[slots, slots] = 0
        self.places = everyone
        for i, k in enumerate(keys):
            self.slot_of[k] = start + i
        self.used = end


def _release_generations(generations: list[tuple[Block, Block]]) -> None:
    for pair in generations:
        for block in pair:
            block.release()
    generations.clear()
