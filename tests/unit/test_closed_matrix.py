"""A closure's matrices start from the weights known without it (backend/dispatch/closed_matrix.py):
the same numbers as computing them afresh, with fewer Dijkstra runs where the closure is off the paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.dispatch.closures import circle, closure_edges
from backend.dispatch.network import StreetNetwork, default_map_path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("closed-matrix-cache")


def _network(cache_dir: Path) -> StreetNetwork:
    return StreetNetwork.from_pbf(default_map_path(), cache_dir=cache_dir)


def _day(net: StreetNetwork, n: int = 300) -> list[tuple[float, float]]:
    rng = np.random.default_rng(3)
    return [(float(net.lat[i]), float(net.lon[i])) for i in rng.choice(net.node_count, n, replace=False)]


def _closure_at(net: StreetNetwork, node: int, radius_m: float = 60) -> np.ndarray:
    return closure_edges(net, circle(float(net.lat[node]), float(net.lon[node]), radius_m))


def _same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> bool:
    return all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_a_closure_in_the_middle_of_the_day_equals_a_fresh_computation(cache_dir: Path) -> None:
    warm, cold = _network(cache_dir), _network(cache_dir)
    day = _day(warm)
    warm.matrices(day)  # the day planned on the open streets: their weights are known
    busiest = int(np.argmax(np.bincount(warm.edge_u, minlength=warm.node_count)))
    closed = _closure_at(warm, busiest)
    assert len(closed) > 4
    got = warm.matrices(day, closed)
    assert _same(got, cold.matrices(day, closed))
    open_t, _ = warm.matrices(day)
    assert (got[0] > open_t).any()  # some paths went through it, and are longer now
    assert (got[0] >= open_t).all()  # and none is shorter

    # A second closure on top of the first starts from the first's weights, and is exact too.
    more = np.union1d(closed, _closure_at(warm, int(warm.snap(float(warm.lat[0]), float(warm.lon[0])).node)))
    assert _same(warm.matrices(day, more), cold.matrices(day, more))


def test_a_closure_off_the_days_paths_runs_few_rows_again(cache_dir: Path) -> None:
    net = _network(cache_dir)
    day = _day(net)
    net.matrices(day)
    known = net.matrix_cache_info()["nodes"]
    # the node farthest from the day's middle: few of its paths pass there
    lat, lon = np.mean([p[0] for p in day]), np.mean([p[1] for p in day])
    corner = int(np.argmax((net.lat - lat) ** 2 + ((net.lon - lon) / 2) ** 2))
    closed = _closure_at(net, corner, 30)
    assert len(closed)
    got = net.matrices(day, closed)
    info = net.matrix_cache_info(closed)
    assert info["forward_runs"] + info["reverse_runs"] < known // 2  # not every row again
    assert _same(got, _network(cache_dir).matrices(day, closed))


def test_making_the_closed_network_runs_nothing_until_weights_are_asked_for(cache_dir: Path) -> None:
    # A closure is checked on the event loop (where its points join the network): the
    # seeding runs with the first matrices, which run in a thread.
    net = _network(cache_dir)
    day = _day(net, 100)
    net.matrices(day)
    busiest = int(np.argmax(np.bincount(net.edge_u, minlength=net.node_count)))
    closed = _closure_at(net, busiest)
    net.reach(day[:5], closed)
    info = net.matrix_cache_info(closed)
    assert info["forward_runs"] == info["reverse_runs"] == info["nodes"] == 0
    net.matrices(day, closed)
    assert net.matrix_cache_info(closed)["nodes"] >= 90
