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

from backend.dispatch.day_matrices import MatrixCache

if TYPE_CHECKING:
    from backend.dispatch.network import Variant

# Past this many newly closed edges (a long street shut end to end) the test costs
# about what running every row does: the cache starts empty instead.
MAX_SEED_EDGES = 400


def seed_closed(variant: Variant, kept: Sequence[Variant], edge_u: np.ndarray, edge_v: np.ndarray) -> int:
    """Fill the new ``variant``'s empty cache from the ``kept`` variant with the same walked
    edges and fewer of its closed that knows the most weights; answers the nodes kept."""
    fits = [
        v
        for v in kept
        if np.array_equal(v.walked, variant.walked)
        and len(v.closed) < len(variant.closed)
        and bool(np.isin(v.closed, variant.closed).all())
        and len(v.cache.slot_of)
    ]
    parent = max(fits, key=lambda v: (len(v.cache.slot_of), len(v.closed)), default=None)
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
    if len(rows) <= len(cols):
        if len(rows):
            w[rows, :] = child.run_forward(nodes[rows])[:, nodes]
    else:
        w[:, cols] = child.run_reverse(nodes[cols])[:, nodes].T
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
