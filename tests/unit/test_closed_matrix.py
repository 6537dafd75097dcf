"""A closure's matrices start from the weights known without it (backend/dispatch/closed_matrix.py):
the same numbers as computing them afresh, with fewer Dijkstra runs where the closure is off the paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.dispatch import closed_matrix
from backend.dispatch.closed_legs import POISON
from backend.dispatch.closures import circle, closure_edges
from backend.dispatch.network import UNREACHABLE_S, StreetNetwork, default_map_path
from backend.services.legs_first import free_places


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


def _routes(n: int, rng: np.random.Generator) -> list[list[int]]:
    """Paths of places as a day's routes ride them: from the hub (place 0) through a few
    stops, now and then back to the hub (a reload), to the hub."""
    order = rng.permutation(np.arange(1, n))
    paths = []
    for part in np.array_split(order, 12):
        path = [0, *part.tolist(), 0]
        path.insert(len(path) // 2, 0)
        paths.append(path)
    return paths


@pytest.mark.parametrize("radius_m", [60, 400])
def test_the_legs_of_a_closure_equal_a_fresh_computation_with_far_fewer_runs(
    cache_dir: Path, radius_m: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the wide closure shuts more edges than the whole matrices are seeded past by default
    monkeypatch.setattr(closed_matrix, "MAX_SEED_EDGES", 10_000)
    warm, cold = _network(cache_dir), _network(cache_dir)
    day = _day(warm)
    busiest = int(np.argmax(np.bincount(warm.edge_u, minlength=warm.node_count)))
    inside = (float(warm.lat[busiest]), float(warm.lon[busiest]))
    day = [day[0], inside, *day[1:], day[5]]  # a stop inside the closure, and two at one address
    warm.matrices(day)  # the day planned on the open streets
    closed = _closure_at(warm, busiest, radius_m)
    legs = warm.day_legs(day, closed)
    assert legs is not None
    legs.fill_lines([0])
    paths = _routes(len(day), np.random.default_rng(5))
    legs.fill_paths(paths)
    asked = np.zeros((len(day), len(day)), dtype=bool)
    asked[0, :] = asked[:, 0] = True
    for path in paths:
        asked[path[:-1], path[1:]] = True

    want_t, want_d = cold.matrices(day, closed)
    assert np.array_equal(legs.time[asked], want_t[asked])
    assert np.array_equal(legs.dist[asked], want_d[asked])
    assert (legs.time[~asked] == POISON).all() and (legs.dist[~asked] == POISON).all()
    if radius_m > 250:  # the stop inside is farther than SNAP_MAX_M from every open street
        assert legs.time[0, 1] == UNREACHABLE_S
    else:
        assert legs.time[0, 1] < UNREACHABLE_S and legs.time[0, 1] > warm.matrices(day)[0][0, 1]
    assert (want_t[asked] > warm.matrices(day)[0][asked]).any()  # the closure lengthened some legs

    # nothing of the closed network's cache was filled: the whole matrices come after, and
    # run far more rows than the legs did
    assert warm.matrix_cache_info(closed)["nodes"] == 0
    runs = legs.pairs.runs
    assert runs > 0
    before = warm.matrix_cache_info(closed)
    assert _same(warm.matrices(day, closed), (want_t, want_d))
    after = warm.matrix_cache_info(closed)
    whole = after["forward_runs"] + after["reverse_runs"] - before["forward_runs"] - before["reverse_runs"]
    if radius_m < 250:  # on the centre's busiest streets
        assert runs * 5 < whole
    assert warm.day_legs(day, closed) is None  # known now: the day's matrices as before


def test_a_closure_with_no_weights_known_to_start_from_gets_the_whole_matrices(cache_dir: Path) -> None:
    net = _network(cache_dir)
    day = _day(net, 50)
    closed = _closure_at(net, int(np.argmax(np.bincount(net.edge_u, minlength=net.node_count))))
    assert net.day_legs(day, closed) is None


def test_closures_piling_up_start_from_the_closest_network_known(cache_dir: Path) -> None:
    # closures made one after the other: each starts from the network with the ones before
    # it (newly closed: its own edges), not from the open one (all of them newly closed)
    net, cold = _network(cache_dir), _network(cache_dir)
    day = _day(net, 120)
    net.matrices(day)
    rng = np.random.default_rng(11)
    closed = np.zeros(0, dtype=np.int64)
    for node in rng.choice(net.node_count, 4, replace=False).tolist():
        before = closed
        closed = np.union1d(closed, _closure_at(net, int(node)))
        legs = net.day_legs(day, closed)
        assert legs is not None
        if len(before):
            assert legs.pairs.parent is not None and np.array_equal(legs.pairs.parent.closed, before)
        legs.fill_lines([0])
        assert np.array_equal(legs.time[0], cold.matrices(day, closed)[0][0])
        assert _same(net.matrices(day, closed), cold.matrices(day, closed))


def test_legs_first_fills_the_lines_of_the_stops_on_no_route_exactly(cache_dir: Path) -> None:
    # a new order and a stop left waiting are put in by the quick answer: their rows and
    # columns (places: the hub, then the stops) as the whole matrices have them, nothing else
    routes = [{"stops": [{"stop_id": 1}, {"stop_id": 2}]}]
    stops = [{"id": 1}, {"id": 3, "status": "unplanned"}, {"id": 2}, {"id": 4, "status": "open"}]
    assert free_places(stops, routes) == [2, 4]
    net, cold = _network(cache_dir), _network(cache_dir)
    day = _day(net, 80)
    net.matrices(day)
    node = int(np.random.default_rng(11).choice(net.node_count))
    closed = _closure_at(net, node)
    legs = net.day_legs(day, closed)
    assert legs is not None
    legs.fill_lines([0, 2, 4])
    want_t, want_d = cold.matrices(day, closed)
    for i in (0, 2, 4):
        assert np.array_equal(legs.time[i], want_t[i]) and np.array_equal(legs.time[:, i], want_t[:, i])
        assert np.array_equal(legs.dist[i], want_d[i]) and np.array_equal(legs.dist[:, i], want_d[:, i])
    rest = np.setdiff1d(np.arange(len(day)), [0, 2, 4])
    assert (legs.time[np.ix_(rest, rest)] == POISON).all()


def test_dijkstra_runs_in_small_calls_equal_one_call(cache_dir: Path) -> None:
    # a closure's whole matrices are run beside the event loop a few runs a call
    # (day_matrices.runs, RUNS_AT_ONCE); the rows are those of one call for all
    from scipy.sparse.csgraph import dijkstra

    from backend.dispatch.day_matrices import RUNS_AT_ONCE, runs

    graph = _network(cache_dir)._variant(None).graph
    nodes = np.random.default_rng(5).choice(graph.shape[0], 2 * RUNS_AT_ONCE + 3, replace=False)
    assert np.array_equal(runs(graph, nodes), dijkstra(graph, directed=True, indices=nodes))
    assert runs(graph, nodes[:0]).shape == (0, graph.shape[0])
