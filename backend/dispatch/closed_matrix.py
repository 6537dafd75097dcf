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
so nothing that might change is kept. Found with one reverse run per closed
edge's tail and one forward run per head (a closure shuts a few dozen edges).
Weights are sums of integers below 2**53, so the result equals a fresh run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
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
    tails = np.unique(edge_u[newly_closed])
    to_tail = dijkstra(parent.reverse_graph(), directed=True, indices=tails)[:, nodes]  # d(u, a)
    # from the head of each closed edge, its weight included: w(e) + d(b, v), least over the edges
    heads, hi = np.unique(edge_v[newly_closed], return_inverse=True)
    from_head = dijkstra(parent.graph, directed=True, indices=heads)[:, nodes]
    leave = np.full(len(nodes), np.inf)
    for e, h in zip(newly_closed.tolist(), hi.tolist(), strict=True):
        np.minimum(leave, from_head[h] + parent_weight[e], out=leave)
    # d(u, a) + w(e) + d(b, v) >= (least d(u, a)) + (least w(e) + d(b, v)): a pair whose
    # weight is below that bound crosses none of them. The others may: their rows run again.
    crossing = to_tail.min(axis=0)[:, None] + leave[None, :] <= w
    rows, cols = np.flatnonzero(crossing.any(axis=1)), np.flatnonzero(crossing.any(axis=0))
    if len(rows) <= len(cols):
        if len(rows):
            w[rows, :] = child.run_forward(nodes[rows])[:, nodes]
    else:
        w[:, cols] = child.run_reverse(nodes[cols])[:, nodes].T
    child.install(nodes, w)
    return len(nodes)
