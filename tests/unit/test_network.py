"""Street network on the shipped Helsinki extract: profile, one-way streets, matrices, cache."""

from __future__ import annotations

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
    return {(float(a), float(b)): i for i, (a, b) in enumerate(zip(net.lat, net.lon))}


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
            {"highway": "tertiary", "oneway": "yes", "cycleway:left": "lane",
             "cycleway:left:oneway": "-1"},
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


def test_one_way_street_needs_a_detour_against_its_direction(
    net: StreetNetwork, extract: OsmExtract
) -> None:
    oneway_ways = {
        r.way_id
        for r in extract.ways
        if r.tags.get("oneway") == "yes"
        and "oneway:bicycle" not in r.tags
        and r.tags.get("highway") in CAR_CLASSES
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
        nodes = [node_at.get((la, lo)) for la, lo in zip(run.lats, run.lons)]
        for a, b in zip(nodes, nodes[1:]):
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


def test_matrices_are_finite_zero_diagonal_and_triangle_ish(
    net: StreetNetwork, extract: OsmExtract
) -> None:
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
    one_way = sum(
        not net.has_edge(int(v), int(u)) for u, v in zip(net.edge_u, net.edge_v)
    )
    assert segments[True] == one_way
    assert segments[False] * 2 == net.edge_count - one_way


def test_cache_is_written_and_reused(
    net: StreetNetwork, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
