"""The street network with some edges closed or walked: its graph, where points join it,
and its node-to-node cache (kept per set by :class:`~backend.dispatch.network.StreetNetwork`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from backend.dispatch.day_matrices import DayMatrices, MatrixCache

if TYPE_CHECKING:
    from backend.dispatch.network import StreetNetwork


class Variant:
    """The network with some edges closed: its graph, where points join it, its cache."""

    def __init__(self, network: StreetNetwork, closed: np.ndarray, walked: np.ndarray | None = None) -> None:
        self.closed = closed
        self.days: OrderedDict[tuple[float, float], DayMatrices] = OrderedDict()
        self.days_lock = threading.Lock()  # matrices run in threads (asyncio.to_thread)
        self.all_open = len(closed) == 0  # every street open: points join where they snap
        walked = np.zeros(0, dtype=np.int64) if walked is None else walked
        self.walked = walked
        weight = network.walked_weight(walked) if len(walked) else network._weight
        self.weight = weight
        n = network.node_count
        if self.all_open:
            self.graph = (
                csr_matrix((weight, (network.edge_u, network.edge_v)), shape=(n, n)) if len(walked) else network._graph
            )
        else:
            keep = np.ones(network.edge_count, dtype=bool)
            keep[closed] = False
            self.graph = csr_matrix((weight[keep], (network.edge_u[keep], network.edge_v[keep])), shape=(n, n))
            # Points join the largest part still strongly connected; the rest is cut off
            # (inside a closed zone, or a dead end behind it).
            _, labels = connected_components(self.graph, directed=True, connection="strong")
            self.open_nodes = np.flatnonzero(labels == np.bincount(labels).argmax())
            self._network = network
            self._tree = cKDTree(
                np.column_stack(network.project(network.lat[self.open_nodes], network.lon[self.open_nodes]))
            )
        self.cache = MatrixCache(self.graph, network.matrix_cache_nodes)

    def snap(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance in m, node) of each point's nearest node in the open part."""
        from backend.dispatch.network import haversine_m  # network imports this module

        net = self._network
        _, idx = self._tree.query(np.column_stack(net.project(pts[:, 0], pts[:, 1])))
        nodes = self.open_nodes[np.atleast_1d(idx)]
        return haversine_m(pts[:, 0], pts[:, 1], net.lat[nodes], net.lon[nodes]), nodes
