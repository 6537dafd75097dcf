"""A closure's node-to-node weights from the weights known without it.

A street closed in the running day used to cost every known node's Dijkstra run
again (1.4 to 5 s at 1,800 places, docs/performance.md): the closed network got
an empty :class:`~backend.dispatch.day_matrices.MatrixCache`. Closing edges only
lengthens the paths that crossed them, so the weights of a network with fewer
edges closed (the parent: the open one, or the day's earlier closures) stay
right for every pair whose shortest path crosses none of the newly closed
edges; only the rows (or columns) of the other pairs are run again.

A pair (u, v) may cross a closed edge e = (a, b) exactly when
``d(u, a) + w(e) + d(b, v) <= d(u, v)`` in the parent: ties count as crossing,
so nothing that might change is kept. Found with two runs whatever the number
of closed edges: one reverse run from all their tails at once, one forward run
from an extra node joined to their heads (a run per tail and per head took
106 ms for a 60 m circle's 43 tails on this map; the two runs take about 5 ms).
Weights are sums of integers below 2**53, so the result equals a fresh run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from backend.dispatch.day_matrices import RUNS_AT_ONCE, MatrixCache

if TYPE_CHECKING:
    from backend.dispatch.variant import Variant

# Past this many newly closed edges (a long street shut end to end) the test costs
# about what running every row does: the cache starts empty instead.
MAX_SEED_EDGES = 400
# A parent that knows at least this share of the weights the best-informed one knows is
# as good a start (a few nodes of the day are cut off by the closures it has).
NEAR_SHARE = 0.8


def closed_parent(variant: Variant, kept: Sequence[Variant]) -> Variant | None:
    """Of the ``kept`` variants with the same walked edges and fewer of the ``variant``'s
    closed, the closest (the most edges closed: the fewest newly closed, so the fewest
    pairs that may cross them) of those that know nearly as many weights as any; None
    when none knows any. (The one that knew the most was the open network: closures
    piling up were all newly closed again, past MAX_SEED_EDGES after a few.)"""
    fits = [
        v
        for v in kept
        if np.array_equal(v.walked, variant.walked)
        and len(v.closed) < len(variant.closed)
        and bool(np.isin(v.closed, variant.closed).all())
        and len(v.cache.slot_of)
    ]
    most = max((len(v.cache.slot_of) for v in fits), default=0)
    return max(
        fits,
        key=lambda v: (len(v.cache.slot_of) >= NEAR_SHARE * most, len(v.closed), len(v.cache.slot_of)),
        default=None,
    )


def seed_closed(variant: Variant, kept: Sequence[Variant], edge_u: np.ndarray, edge_v: np.ndarray) -> int:
    """Fill the new ``variant``'s empty cache from the ``kept`` variant with the same walked
    edges and fewer of its closed that knows the most weights; answers the nodes kept."""
    parent = closed_parent(variant, kept)
    if parent is None:
        return 0
    open_nodes = None if variant.all_open else variant.open_nodes
    return _seed(
        variant.cache,
        parent.cache,
        variant.weight,
        edge_u,
        edge_v,
        np.setdiff1d(variant.closed, parent.closed),
        open_nodes,
    )


class ClosedPairs:
    """Exact weights between given node pairs of a closed ``variant``, from its parent's
    (:func:`closed_parent`) known weights and without filling its cache: a pair that
    crosses none of the newly closed edges keeps the parent's weight (the test of
    :func:`_seed`); the others, and pairs the parent does not know, come from Dijkstra
    runs on the closed graph, from as few distinct sources (or, on the reversed graph,
    destinations) as cover them. ``runs`` counts those runs."""

    def __init__(self, variant: Variant, kept: Sequence[Variant], edge_u: np.ndarray, edge_v: np.ndarray) -> None:
        self.cache = variant.cache
        self.parent = closed_parent(variant, kept)
        self.runs = 0
        self._to_tail: np.ndarray | None = None
        self._leave: np.ndarray | None = None
        if self.parent is not None:  # two runs whatever the number of edges (only legs run again)
            newly = np.setdiff1d(variant.closed, self.parent.closed)
            if len(newly):
                graph = self.parent.cache.reverse_graph()
                self._to_tail = dijkstra(graph, directed=True, indices=np.unique(edge_u[newly]), min_only=True)
                self._leave = _from_heads(self.parent.cache.graph, edge_v[newly], variant.weight[newly])

    @property
    def tested(self) -> bool:
        """Whether pairs are tested against the parent's weights (else every pair runs)."""
        return self._to_tail is not None

    def weights(self, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """The weight from ``us[k]`` to ``vs[k]`` for each k (nodes of the closed graph's open part)."""
        w = np.full(len(us), np.nan)
        if self.parent is not None and self._to_tail is not None and self._leave is not None:
            w = self.parent.cache.peek(us, vs)
            with np.errstate(invalid="ignore"):
                redo = ~np.isfinite(w) | (self._to_tail[us] + self._leave[vs] <= w)
        else:
            redo = np.ones(len(us), dtype=bool)
        idx = np.flatnonzero(redo)
        if len(idx):
            w[idx] = self._run(us[idx], vs[idx])
        return w

    def _run(self, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """Weights of these pairs on the closed graph: greedily, the source or destination
        that covers most of the pairs left runs next (a row forward, a column reversed)."""
        rows: list[int] = []
        cols: list[int] = []
        left = np.ones(len(us), dtype=bool)
        while left.any():
            su, cu = np.unique(us[left], return_counts=True)
            sv, cv = np.unique(vs[left], return_counts=True)
            if cu.max() >= cv.max():
                rows.append(int(su[cu.argmax()]))
                left &= us != rows[-1]
            else:
                cols.append(int(sv[cv.argmax()]))
                left &= vs != cols[-1]
        out = np.empty(len(us))
        done = np.zeros(len(us), dtype=bool)
        if rows:  # a pair whose source and destination both run takes the source's row
            fwd = self.cache.run_forward(np.asarray(rows, dtype=np.int64))
            for i, node in enumerate(rows):
                take = ~done & (us == node)
                out[take], done[take] = fwd[i, vs[take]], True
        if cols:
            rev = self.cache.run_reverse(np.asarray(cols, dtype=np.int64))
            for i, node in enumerate(cols):
                take = ~done & (vs == node)
                out[take], done[take] = rev[i, us[take]], True
        self.runs += len(rows) + len(cols)
        return out


def _seed(
    child: MatrixCache,
    parent: MatrixCache,
    parent_weight: np.ndarray,
    edge_u: np.ndarray,
    edge_v: np.ndarray,
    newly_closed: np.ndarray,
    open_nodes: np.ndarray | None,
) -> int:
    """``child`` (the parent's graph less the ``newly_closed`` edges) from ``parent``'s known
    weights. ``parent_weight``: the edge weights of both graphs (the same walked edges);
    ``open_nodes``: the nodes still reached in the child's graph (None: all)."""
    if len(newly_closed) == 0 or len(newly_closed) > MAX_SEED_EDGES:
        return 0
    nodes, w = parent.snapshot()
    if open_nodes is not None and len(nodes):
        inside = np.isin(nodes, open_nodes)  # a node cut off by the closure is never asked for
        nodes, w = nodes[inside], w[np.ix_(inside, inside)]
    if len(nodes) < 2:
        return 0
    # least d(u, a) over the closed edges' tails: one run from all of them at once
    tails = np.unique(edge_u[newly_closed])
    to_tail = dijkstra(parent.reverse_graph(), directed=True, indices=tails, min_only=True)[nodes]
    # from the head of each closed edge, its weight included: least w(e) + d(b, v), in one
    # run from a node of its own joined to each head by that weight
    leave = _from_heads(parent.graph, edge_v[newly_closed], parent_weight[newly_closed])[nodes]
    # d(u, a) + w(e) + d(b, v) >= (least d(u, a)) + (least w(e) + d(b, v)): a pair whose
    # weight is below that bound crosses none of them. The others may: their rows run again.
    crossing = to_tail[:, None] + leave[None, :] <= w
    rows, cols = np.flatnonzero(crossing.any(axis=1)), np.flatnonzero(crossing.any(axis=0))
    # In pieces (each call lets the GIL go, day_matrices.runs): the seeding may run beside
    # the event loop (after a closure's quick answer, backend/services/legs_first.py).
    if len(rows) <= len(cols):
        for part in np.array_split(rows, -(-len(rows) // RUNS_AT_ONCE)) if len(rows) else ():
            w[part, :] = child.run_forward(nodes[part])[:, nodes]
    else:
        for part in np.array_split(cols, -(-len(cols) // RUNS_AT_ONCE)):
            w[:, part] = child.run_reverse(nodes[part])[:, nodes].T
    child.install(nodes, w)
    return len(nodes)


def _from_heads(graph: csr_matrix, heads: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per node v, the least ``weights[e] + d(heads[e], v)``: one Dijkstra run from an extra
    node with an edge of ``weights[e]`` to each ``heads[e]`` (the least, where heads repeat).
    Weights are integers below 2**53: the sums are exact whatever their order."""
    n = graph.shape[0]
    first, least = np.unique(heads, return_inverse=True)
    w = np.full(len(first), np.inf)
    np.minimum.at(w, least, weights)
    coo = graph.tocoo()
    rows = np.concatenate([coo.row, np.full(len(first), n)])
    cols = np.concatenate([coo.col, first])
    joined = csr_matrix((np.concatenate([coo.data, w]), (rows, cols)), shape=(n + 1, n + 1))
    out: np.ndarray = dijkstra(joined, directed=True, indices=n)[:n]
    return out
