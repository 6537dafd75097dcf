"""Street network on the shipped Helsinki extract: profile, one-way streets, matrices, cache."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from backend.dispatch import network as network_module
from backend.dispatch.network import (
    PointOutsideMap,
    StreetNetwork,
    bicycle_profile,
    default_map_path,
    haversine_m,
)
from backend.dispatch.osm_extract import OsmExtract, read_extract

CAR_CLASSES = {"primary", "secondary", "tertiary", "residential", "unclassified"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("network-cache")


@pytest.fixture(scope="module")
def extract() -> OsmExtract:
    return read_extract(default_map_path())


@pytest.fixture(scope="module")
def net(cache_dir: Path) -> StreetNetwork:
    return StreetNetwork.from_pbf(default_map_path(), cache_dir=cache_dir)


@pytest.fixture(scope="module")
def node_at(net: StreetNetwork) -> dict[tuple[float, float], int]:
    return {(float(a), float(b)): i for i, (a, b) in enumerate(zip(net.lat, net.lon, strict=True))}


def _point(net: StreetNetwork, node: int) -> tuple[float, float]:
    return float(net.lat[node]), float(net.lon[node])


def _address_points(extract: OsmExtract, n: int, seed: int = 7) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(extract.addresses), size=n, replace=False)
    return [(extract.addresses[i].lat, extract.addresses[i].lon) for i in picks]


# ---- profile on hand-made tags ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "forward", "backward"),
    [
        ({"highway": "residential"}, True, True),
        ({"highway": "residential", "oneway": "yes"}, True, False),
        ({"highway": "residential", "oneway": "1"}, True, False),
        ({"highway": "residential", "oneway": "-1"}, False, True),
        ({"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}, True, True),
        ({"highway": "tertiary", "oneway": "yes", "cycleway": "opposite_lane"}, True, True),
        ({"highway": "tertiary", "oneway": "yes", "cycleway:left": "opposite_track"}, True, True),
        (
            {"highway": "tertiary", "oneway": "yes", "cycleway:left": "lane", "cycleway:left:oneway": "-1"},
            True,
            True,
        ),
        ({"highway": "tertiary", "oneway": "yes", "cycleway:right": "lane"}, True, False),
        ({"highway": "primary", "junction": "roundabout"}, True, False),
        ({"highway": "primary", "junction": "roundabout", "oneway:bicycle": "no"}, True, True),
        ({"highway": "cycleway", "oneway": "yes"}, True, False),
        ({"highway": "cycleway", "oneway:bicycle": "yes"}, True, False),
        ({"highway": "cycleway"}, True, True),
        # oneway for motor vehicles only does not bind a bicycle
        ({"highway": "residential", "oneway:motor_vehicle": "yes"}, True, True),
    ],
)
def test_profile_directions(tags: dict[str, str], forward: bool, backward: bool) -> None:
    prof = bicycle_profile(tags)
    assert prof is not None
    assert (prof.forward, prof.backward) == (forward, backward)


@pytest.mark.parametrize(
    "tags",
    [
        {"highway": "steps"},
        {"highway": "motorway"},
        {"highway": "motorway_link"},
        {"highway": "trunk"},
        {"highway": "construction"},
        {"highway": "platform"},
        {"highway": "corridor"},
        {"highway": "service", "access": "private"},
        {"highway": "service", "access": "no", "psv": "yes"},
        {"highway": "service", "vehicle": "no"},
        {"highway": "footway", "bicycle": "no"},
        {"highway": "secondary", "bicycle": "use_sidepath"},
        {"building": "yes"},
    ],
)
def test_profile_excludes(tags: dict[str, str]) -> None:
    assert bicycle_profile(tags) is None


def test_profile_speeds() -> None:
    pushed = bicycle_profile({"highway": "footway"})
    assert pushed is not None and pushed.pushed and pushed.speed_kmh == 5.0
    pedestrian_ok = bicycle_profile({"highway": "pedestrian", "bicycle": "yes"})
    assert pedestrian_ok is not None and not pedestrian_ok.pushed and pedestrian_ok.speed_kmh == 8.0
    dismount = bicycle_profile({"highway": "residential", "bicycle": "dismount"})
    assert dismount is not None and dismount.pushed and dismount.speed_kmh == 5.0
    private = {"highway": "service", "access": "private", "bicycle": "yes"}
    assert bicycle_profile(private) is not None
    trunk_ok = bicycle_profile({"highway": "trunk", "bicycle": "yes"})
    assert trunk_ok is not None
    cycleway = bicycle_profile({"highway": "cycleway"})
    residential = bicycle_profile({"highway": "residential"})
    assert cycleway is not None and residential is not None
    assert cycleway.speed_kmh > residential.speed_kmh > pushed.speed_kmh


# ---- the real extract ---------------------------------------------------------------------


def test_graph_is_one_strongly_connected_component(net: StreetNetwork) -> None:
    assert net.node_count > 1000 and net.edge_count > 2000
    n = net.node_count
    graph = csr_matrix((np.ones(net.edge_count), (net.edge_u, net.edge_v)), shape=(n, n))
    count, _ = connected_components(graph, directed=True, connection="strong")
    assert count == 1
    assert np.all(net.edge_length_m > 0) and np.all(net.edge_time_s > 0)
    # No steps, motorways or bicycle=no ways made it in.
    assert not set(net.edge_highway.tolist()) & {"steps", "motorway", "platform", "corridor"}


def test_one_way_street_needs_a_detour_against_its_direction(net: StreetNetwork, extract: OsmExtract) -> None:
    oneway_ways = {
        r.way_id
        for r in extract.ways
        if r.tags.get("oneway") == "yes" and "oneway:bicycle" not in r.tags and r.tags.get("highway") in CAR_CLASSES
    }
    candidates = [
        e
        for e in range(net.edge_count)
        if int(net.edge_way_id[e]) in oneway_ways
        and not net.has_edge(int(net.edge_v[e]), int(net.edge_u[e]))
        and net.snap(*_point(net, int(net.edge_u[e]))).node == net.edge_u[e]
        and net.snap(*_point(net, int(net.edge_v[e]))).node == net.edge_v[e]
    ]
    assert candidates, "the extract should have one-way street segments"
    e = max(candidates, key=lambda i: net.edge_length_m[i])
    a, b = int(net.edge_u[e]), int(net.edge_v[e])

    time_s, dist_m = net.matrices([_point(net, a), _point(net, b)])
    # With the flow: the segment itself.
    assert time_s[0, 1] <= np.ceil(net.edge_time_s[e]) + 1
    assert abs(dist_m[0, 1] - net.edge_length_m[e]) <= 1
    # Against the flow: a real detour, much longer in time and distance.
    assert time_s[1, 0] > 2 * time_s[0, 1]
    # The segment is straight, so any other way back is longer (here: pushed along a
    # footway or round the block).
    assert dist_m[1, 0] > dist_m[0, 1]
    assert net.travel(b, a).time_s > 2 * net.travel(a, b).time_s


def test_contraflow_exemption_on_real_one_way_street(
    net: StreetNetwork, extract: OsmExtract, node_at: dict[tuple[float, float], int]
) -> None:
    exempt = [
        r
        for r in extract.ways
        if r.tags.get("oneway") == "yes"
        and r.tags.get("oneway:bicycle") == "no"
        and r.tags.get("highway") in CAR_CLASSES
    ]
    assert exempt, "the extract has one-way streets open to bicycles both ways (Fredrikinkatu)"
    checked = 0
    for run in exempt:
        nodes = [node_at.get((la, lo)) for la, lo in zip(run.lats, run.lons, strict=True)]
        for a, b in zip(nodes, nodes[1:], strict=False):
            if a is None or b is None:
                continue
            assert net.has_edge(a, b) and net.has_edge(b, a)
            there, back = net.travel(a, b), net.travel(b, a)
            assert abs(there.time_s - back.time_s) <= 0.2
            assert abs(there.distance_m - back.distance_m) <= 0.2
            checked += 1
    assert checked >= 3
    # Same through the public matrix API, between the ends of the longest exempt run.
    run = max(exempt, key=lambda r: len(r.lats))
    ends = [(run.lats[0], run.lons[0]), (run.lats[-1], run.lons[-1])]
    time_s, dist_m = net.matrices(ends)
    assert time_s[0, 1] > 0
    assert abs(int(time_s[0, 1]) - int(time_s[1, 0])) <= 1
    assert abs(int(dist_m[0, 1]) - int(dist_m[1, 0])) <= 1


def test_matrices_are_finite_zero_diagonal_and_triangle_ish(net: StreetNetwork, extract: OsmExtract) -> None:
    points = _address_points(extract, 60)
    time_s, dist_m = net.matrices(points)
    assert time_s.shape == dist_m.shape == (60, 60)
    assert time_s.dtype.kind == "i" and dist_m.dtype.kind == "i"
    assert np.all(np.diag(time_s) == 0) and np.all(np.diag(dist_m) == 0)
    off = ~np.eye(60, dtype=bool)
    distinct = np.array([[p != q for q in points] for p in points])
    assert np.all(time_s[off & distinct] > 0)
    assert time_s.max() < 3600 and dist_m.max() < 10_000  # a 2 km wide centre
    # Triangle inequality up to rounding (each entry is rounded to a whole unit).
    via = time_s[:, :, None] + time_s[None, :, :]  # i -> j -> k
    assert np.all(time_s[:, None, :] <= via + 2)
    # Road distance is never shorter than the straight line.
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    crow = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert np.all(dist_m >= np.floor(crow) - 1)


def test_matrix_of_300_points(net: StreetNetwork, extract: OsmExtract) -> None:
    points = _address_points(extract, 300, seed=11)
    time_s, dist_m = net.matrices(points)
    assert time_s.shape == (300, 300)
    assert np.all(time_s >= 0) and np.all(dist_m >= 0)
    # Identical points (several shops at one address) are 0 apart, others are not.
    same = np.array([[p == q for q in points] for p in points])
    assert np.all((time_s == 0) == same)


def test_snap_inside_returns_close_node(net: StreetNetwork) -> None:
    node = net.node_count // 2
    lat, lon = _point(net, node)
    snap = net.snap(lat + 0.00003, lon)  # about 3 m north of a node
    assert snap.distance_m < 3.5
    assert haversine_m(snap.lat, snap.lon, lat, lon) < 7
    exact = net.snap(lat, lon)
    assert exact.distance_m == pytest.approx(0, abs=1e-6)


def test_snap_far_outside_raises(net: StreetNetwork) -> None:
    min_lat, min_lon, max_lat, max_lon = net.bbox
    assert min_lat < max_lat and min_lon < max_lon
    assert net.contains((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)
    assert not net.contains(60.30, 25.10)
    with pytest.raises(PointOutsideMap, match=r"outside the map") as err:
        net.snap(60.30, 25.10)
    assert "60.3" in str(err.value) and f"{min_lat:.5f}" in str(err.value)
    with pytest.raises(PointOutsideMap):
        net.matrices([((min_lat + max_lat) / 2, (min_lon + max_lon) / 2), (48.85, 2.35)])


def test_snap_too_far_from_any_street_raises() -> None:
    # A tiny hand-made network whose bounds are much larger than its streets.
    arrays = {
        "lat": np.array([60.0, 60.0005]),
        "lon": np.array([25.0, 25.0]),
        "edge_u": np.array([0, 1]),
        "edge_v": np.array([1, 0]),
        "edge_length_m": np.array([55.6, 55.6]),
        "edge_time_s": np.array([12.5, 12.5]),
        "edge_way_id": np.array([1, 1]),
        "edge_highway": np.array(["residential", "residential"]),
        "edge_along": np.array([True, False]),
        "edge_pushed": np.array([False, False]),
        "bbox": np.array([59.99, 24.98, 60.01, 25.02]),
    }
    tiny = StreetNetwork(arrays)
    assert tiny.snap(60.0001, 25.0).node == 0
    with pytest.raises(PointOutsideMap, match=r"m from the nearest street"):
        tiny.snap(60.008, 25.0)


def test_path_follows_the_network(net: StreetNetwork, extract: OsmExtract) -> None:
    a, b = _address_points(extract, 2, seed=3)
    geometry = net.path(a, b)
    assert geometry[0] == a and geometry[-1] == b
    lat = np.array([p[0] for p in geometry])
    lon = np.array([p[1] for p in geometry])
    along = float(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())
    _, dist_m = net.matrices([a, b])
    assert abs(along - dist_m[0, 1]) <= 2


def test_edges_geojson(net: StreetNetwork) -> None:
    fc = net.edges_geojson()
    assert fc["type"] == "FeatureCollection" and fc["features"]
    segments = {True: 0, False: 0}
    for f in fc["features"]:
        coords = f["geometry"]["coordinates"]
        assert f["geometry"]["type"] == "LineString" and len(coords) >= 2
        segments[f["properties"]["oneway"]] += len(coords) - 1
    one_way = sum(not net.has_edge(int(v), int(u)) for u, v in zip(net.edge_u, net.edge_v, strict=True))
    assert segments[True] == one_way
    assert segments[False] * 2 == net.edge_count - one_way


def test_cache_is_written_and_reused(net: StreetNetwork, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = list(cache_dir.glob("*.npz"))
    assert len(files) == 1

    def must_not_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was rebuilt instead of loaded from the cache")

    monkeypatch.setattr(network_module, "read_extract", must_not_build)
    again = StreetNetwork.from_pbf(default_map_path(), cache_dir=cache_dir)
    for name in ("lat", "lon", "edge_u", "edge_v", "edge_time_s", "edge_length_m"):
        assert np.array_equal(getattr(again, name), getattr(net, name))
    assert again.bbox == net.bbox

    # A new profile version must not reuse the old cache.
    monkeypatch.setattr(network_module, "PROFILE_VERSION", network_module.PROFILE_VERSION + 1)
    with pytest.raises(AssertionError, match="rebuilt"):
        StreetNetwork.from_pbf(default_map_path(), cache_dir=cache_dir)


def test_dispatch_core_stays_pure() -> None:
    code = (
        "import sys, backend.dispatch.network, backend.dispatch.geocode;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('litestar', 'piccolo')"
        " or m.startswith(('backend.api', 'backend.db'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- the matrix cache ---------------------------------------------------------------------


def _reference_matrices(net: StreetNetwork, points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The matrices as computed before the cache: Dijkstra from every snapped node, then
    the access legs; kept here verbatim to compare against."""
    from scipy.sparse.csgraph import dijkstra

    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    snaps = net.snap_many(pts)
    nodes = np.array([s.node for s in snaps])
    access_m = np.array([s.distance_m for s in snaps])
    access_s = access_m / (network_module.ACCESS_KMH / 3.6)
    unique, inverse = np.unique(nodes, return_inverse=True)
    weight = dijkstra(net._graph, directed=True, indices=unique)[:, unique]
    t_node, d_node = net._split(weight[np.ix_(inverse, inverse)])
    time_s = t_node + access_s[:, None] + access_s[None, :]
    dist_m = d_node + access_m[:, None] + access_m[None, :]
    same = np.all(pts[:, None, :] == pts[None, :, :], axis=2)
    time_s[same] = 0
    dist_m[same] = 0
    return np.rint(time_s).astype(np.int64), np.rint(dist_m).astype(np.int64)


def _street_points(net: StreetNetwork, n: int, seed: int) -> list[tuple[float, float]]:
    """Random points along the streets (as stops are), a few metres off the nodes."""
    rng = np.random.default_rng(seed)
    e = rng.integers(0, net.edge_count, n)
    f = rng.random(n)
    u, v = net.edge_u[e], net.edge_v[e]
    return [
        (float(net.lat[a] * (1 - x) + net.lat[b] * x), float(net.lon[a] * (1 - x) + net.lon[b] * x))
        for a, b, x in zip(u, v, f, strict=True)
    ]


def _same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> bool:
    return all(g.dtype == w.dtype and np.array_equal(g, w) for g, w in zip(got, want, strict=True))


@pytest.fixture
def fresh(cache_dir: Path, net: StreetNetwork) -> StreetNetwork:
    """A network of its own, with an empty matrix cache (loaded from the disk cache)."""
    return StreetNetwork.from_pbf(default_map_path(), cache_dir=cache_dir)


def test_repeated_matrices_compute_only_new_places_and_equal_the_uncached_ones(
    fresh: StreetNetwork, extract: OsmExtract
) -> None:
    day = _street_points(fresh, 400, seed=5) + _address_points(extract, 100, seed=5)
    day += day[:3]  # the same place more than once (several shops at one address)
    assert _same(fresh.matrices(day), _reference_matrices(fresh, day))
    first = fresh.matrix_cache_info()
    assert first["reverse_runs"] == 0 and first["forward_runs"] == first["nodes"] > 300

    # A re-plan: five new places, in the middle and at the end, and the rest in another order.
    new = _street_points(fresh, 5, seed=99)
    again = day[250:] + new[:2] + day[:250] + new[2:]
    assert _same(fresh.matrices(again), _reference_matrices(fresh, again))
    info = fresh.matrix_cache_info()
    added = info["nodes"] - first["nodes"]
    assert 1 <= added <= 5
    # One run each way per new node: rows forward, columns on the reversed (one-way) graph.
    assert info["forward_runs"] - first["forward_runs"] == added
    assert info["reverse_runs"] == added

    # Nothing new: no Dijkstra at all.
    assert _same(fresh.matrices(again[::-1]), _reference_matrices(fresh, again[::-1]))
    assert fresh.matrix_cache_info()["forward_runs"] == info["forward_runs"]


def test_a_full_matrix_cache_makes_room_and_stays_exact(cache_dir: Path, extract: OsmExtract) -> None:
    small = StreetNetwork.from_pbf(default_map_path(), cache_dir=cache_dir)
    small.matrix_cache_nodes = 150
    small._open = network_module.Variant(small, np.zeros(0, dtype=np.int64))
    days = [_street_points(small, 120, seed=s) for s in (1, 2, 3)]
    for points in [days[0], days[1], days[0] + days[1][:10], days[2]]:
        assert _same(small.matrices(points), _reference_matrices(small, points))
        assert small.matrix_cache_info()["nodes"] <= 150
    # More places than the cache holds: computed without it, still the same.
    big = days[0] + days[1]
    assert _same(small.matrices(big), _reference_matrices(small, big))


def _through(kept: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    assert kept is not None
    time_s, dist_m, index = kept
    ix = np.ix_(index, index)
    return np.asarray(time_s)[ix], np.asarray(dist_m)[ix]


def test_day_matrices_are_the_matrices_of_the_day_kept_between_calls(fresh: StreetNetwork, extract: OsmExtract) -> None:
    hub = _street_points(fresh, 1, seed=1)
    day = hub + _street_points(fresh, 200, seed=5) + _address_points(extract, 50, seed=5)
    day += day[1:4]  # the same place more than once
    assert _same(_through(fresh.day_matrices(day)), fresh.matrices(day))
    time_s, _, index = fresh.day_matrices(day)
    assert len(set(index.tolist())) == len(day) - 3  # one slot per distinct place
    # A re-plan: couriers moved (new places at the end), a stop done (gone), an order in.
    moved = _street_points(fresh, 20, seed=77)
    again = hub + day[2:150] + _street_points(fresh, 1, seed=78) + day[150:] + moved
    runs = fresh.matrix_cache_info()["forward_runs"]
    assert _same(_through(fresh.day_matrices(again)), fresh.matrices(again))
    t2, _, index2 = fresh.day_matrices(again)
    assert t2 is time_s  # the same matrices, grown in place
    assert index2[1] == index[2]  # a place keeps its slot
    assert fresh.matrix_cache_info()["forward_runs"] - runs <= 21
    # Pickled to another process: by name (a few hundred bytes), read as the same numbers.
    blob = pickle.dumps(time_s)
    assert len(blob) < 1000
    assert np.array_equal(pickle.loads(blob), np.asarray(time_s))


def test_day_matrices_move_to_new_blocks_when_full_and_stay_exact(fresh: StreetNetwork) -> None:
    hub = _street_points(fresh, 1, seed=2)
    first = fresh.day_matrices(hub + _street_points(fresh, 150, seed=10))
    assert first is not None
    old_time = first[0]
    old_copy = np.asarray(old_time).copy()
    for seed in range(11, 16):  # 150 new places each time: the slots run out
        points = hub + _street_points(fresh, 150, seed=seed)
        assert _same(_through(fresh.day_matrices(points)), fresh.matrices(points))
    latest = fresh.day_matrices(points)
    assert latest is not None and latest[0] is not old_time
    # what an earlier problem was handed does not change under it
    assert np.array_equal(np.asarray(old_time), old_copy)


def test_day_matrices_of_too_many_places_are_not_kept(fresh: StreetNetwork, monkeypatch) -> None:
    monkeypatch.setattr(network_module, "DAY_MATRIX_MAX_PLACES", 50)
    assert fresh.day_matrices(_street_points(fresh, 60, seed=3)) is None


# ---- closures -----------------------------------------------------------------------------


def _crossing(
    net: StreetNetwork, extract: OsmExtract
) -> tuple[tuple[float, float], tuple[float, float], tuple[tuple[float, float], ...], np.ndarray]:
    """Two addresses, and a 60 m circle round the middle of the fastest path between them."""
    from backend.dispatch.closures import circle, closure_edges

    a, b = (60.1685, 24.9440), (60.1700, 24.9530)  # Esplanadi to Senate Square, about 600 m
    nodes = net.node_path(net.snap(*a).node, net.snap(*b).node)
    mid = nodes[len(nodes) // 2]
    zone = circle(float(net.lat[mid]), float(net.lon[mid]), 60)
    return a, b, zone, closure_edges(net, zone)


def test_a_path_through_a_closed_zone_goes_round_it(net: StreetNetwork, extract: OsmExtract) -> None:
    from backend.dispatch.closures import zone_nodes

    a, b, zone, closed = _crossing(net, extract)
    inside = zone_nodes(net, zone)
    open_path = net.node_path(net.snap(*a).node, net.snap(*b).node)
    assert inside[open_path].any()  # the open path crosses the zone
    (sa, sb) = net.reach([a, b], closed)
    assert sa is not None and sb is not None
    detour = net.node_path(sa.node, sb.node, closed)
    assert not inside[detour].any()
    assert not any(
        net.has_edge(u, v) and _edge_index(net, u, v) in set(closed.tolist())
        for u, v in zip(detour, detour[1:], strict=False)
    )
    geometry = net.path(a, b, closed)
    assert geometry[0] == a and geometry[-1] == b

    t_open, d_open = net.matrices([a, b])
    t_closed, d_closed = net.matrices([a, b], closed)
    assert t_closed[0, 1] > t_open[0, 1] and t_closed[1, 0] > t_open[1, 0]  # longer both ways
    assert d_closed[0, 1] >= d_open[0, 1]
    assert net.travel(sa.node, sb.node, closed).time_s > net.travel(sa.node, sb.node).time_s
    # The open network is untouched by it.
    assert _same(net.matrices([a, b]), (t_open, d_open))


def _edge_index(net: StreetNetwork, u: int, v: int) -> int:
    return int(np.flatnonzero((net.edge_u == u) & (net.edge_v == v))[0])


def test_a_point_inside_a_closed_zone_is_reached_on_foot_within_the_snap_limit(
    net: StreetNetwork, extract: OsmExtract
) -> None:
    from backend.dispatch.closures import circle, closure_edges, zone_nodes

    a, b, zone, closed = _crossing(net, extract)
    centre = (sum(p[0] for p in zone) / len(zone), sum(p[1] for p in zone) / len(zone))
    (on_foot,) = net.reach([centre], closed)
    assert on_foot is not None and 30 < on_foot.distance_m <= network_module.SNAP_MAX_M
    assert not zone_nodes(net, zone)[on_foot.node]  # the bike stays outside
    time_s, dist_m = net.matrices([a, centre, b], closed)
    walk_s = on_foot.distance_m / (network_module.ACCESS_KMH / 3.6)
    assert time_s[0, 1] >= walk_s and time_s[1, 2] >= walk_s
    assert time_s.max() < network_module.UNREACHABLE_S

    # Deep inside a large zone, more than 250 m from any open street: unreachable.
    big = circle(*centre, 400)
    shut = closure_edges(net, big)
    (deep,) = net.reach([centre], shut)
    assert deep is None
    far = (60.1770, 24.9400)  # Töölönlahti, outside the circle
    time_s, dist_m = net.matrices([far, centre, centre], shut)
    assert time_s[0, 1] == time_s[1, 0] == network_module.UNREACHABLE_S
    assert time_s[1, 2] == 0 and dist_m[1, 2] == 0  # the same place twice
    crow = haversine_m(far[0], far[1], centre[0], centre[1])
    assert abs(dist_m[0, 1] - crow) <= 1  # a straight line, as "at least this far"


def test_closed_networks_have_their_own_cache(fresh: StreetNetwork, extract: OsmExtract) -> None:
    a, b, zone, closed = _crossing(fresh, extract)
    points = [a, b, *_street_points(fresh, 50, seed=8)]
    fresh.matrices(points, closed)
    fresh.matrices(points, closed)
    info = fresh.matrix_cache_info(closed)
    assert info["forward_runs"] == info["nodes"]  # the second call computed nothing
    assert fresh.matrix_cache_info()["nodes"] == 0  # the open network's cache untouched
    # Shuffled edge order and repeats name the same closures.
    assert fresh.matrix_cache_info(np.concatenate([closed[::-1], closed[:3]])) == info
    with pytest.raises(ValueError, match="edge indices"):
        fresh.matrices(points, [fresh.edge_count])


def test_a_path_through_places_is_each_legs_path_in_turn(net: StreetNetwork, extract: OsmExtract) -> None:
    places = _address_points(extract, 12, seed=11)
    legs: list[tuple[float, float]] = []
    for a, b in zip(places, places[1:], strict=False):
        legs += net.path(a, b)
    want = [c for i, c in enumerate(legs) if i == 0 or c != legs[i - 1]]
    assert net.path_through(places) == want  # the bounded searches find the same shortest paths
    assert net.path_through(places[:1]) == places[:1] and net.path_through([]) == []
    again = [places[0], places[0], places[1]]  # a place twice in a row: no leg between them
    assert net.path_through(again) == net.path(places[0], places[1])


def test_a_path_through_a_closure_goes_round_it(net: StreetNetwork, extract: OsmExtract) -> None:
    a, b, _, closed = _crossing(net, extract)
    assert net.path_through([a, b], closed) == net.path(a, b, closed)
    assert net.path_through([a, b], closed) != net.path_through([a, b])
