"""Closure geometry: zones as polygons, circles as polygons, which edges a closure shuts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.dispatch.closures import (
    BadZone,
    check_zone,
    circle,
    closure_edges,
    street_edges,
    zone_edges,
    zone_nodes,
)
from backend.dispatch.network import StreetNetwork, haversine_m

# A square of about 111 m x 55 m around (60.0, 25.0).
SQUARE = ((59.9995, 24.999), (59.9995, 25.001), (60.0005, 25.001), (60.0005, 24.999))


def _grid() -> StreetNetwork:
    """A hand-made network: nodes on a line west-east through the square, plus a segment that
    runs through the square with both ends outside, and one far away."""
    lat = np.array([60.0, 60.0, 60.0, 60.0, 59.998, 60.002, 60.01, 60.01])
    lon = np.array([24.995, 24.9995, 25.0005, 25.005, 25.0, 25.0, 25.0, 25.001])
    pairs = [(0, 1), (1, 2), (2, 3), (4, 5), (6, 7)]
    u = [a for a, b in pairs] + [b for a, b in pairs]
    v = [b for a, b in pairs] + [a for a, b in pairs]
    length = haversine_m(lat[u], lon[u], lat[v], lon[v])
    return StreetNetwork(
        {
            "lat": lat,
            "lon": lon,
            "edge_u": np.array(u),
            "edge_v": np.array(v),
            "edge_length_m": length,
            "edge_time_s": length / 4.0,
            "edge_way_id": np.array([10, 10, 10, 20, 30] * 2),
            "edge_highway": np.array(["residential"] * 10),
            "edge_along": np.array([True] * 5 + [False] * 5),
            "edge_pushed": np.array([False] * 10),
            "bbox": np.array([59.99, 24.99, 60.02, 25.01]),
        }
    )


def _edge_pairs(net: StreetNetwork, edges: np.ndarray) -> set[tuple[int, int]]:
    return {(int(net.edge_u[e]), int(net.edge_v[e])) for e in edges}


def test_a_circle_is_a_polygon_on_the_circle() -> None:
    ring = circle(60.17, 24.94, 150)
    assert len(ring) == 32
    lat = np.array([p[0] for p in ring])
    lon = np.array([p[1] for p in ring])
    assert np.allclose(haversine_m(60.17, 24.94, lat, lon), 150, rtol=0.01)
    assert check_zone(ring) == ring  # a valid zone as it is
    with pytest.raises(BadZone, match="radius"):
        circle(60.17, 24.94, 0)
    with pytest.raises(BadZone, match="radius"):
        circle(60.17, 24.94, 50_000)
    with pytest.raises(BadZone, match="centre"):
        circle(float("nan"), 24.94, 100)


def test_a_zone_is_cleaned_and_checked() -> None:
    # A closed ring (GeoJSON style) and a repeated corner are accepted and tidied.
    assert check_zone([*SQUARE, SQUARE[0]]) == SQUARE
    assert check_zone([SQUARE[0], SQUARE[0], *SQUARE[1:]]) == SQUARE
    with pytest.raises(BadZone, match="at least 3 different corners; this one has 2"):
        check_zone([SQUARE[0], SQUARE[1], SQUARE[0]])
    with pytest.raises(BadZone, match="at least 3"):
        check_zone([])
    with pytest.raises(BadZone, match="on one line"):
        check_zone([(60.0, 25.0), (60.001, 25.0), (60.002, 25.0)])
    with pytest.raises(BadZone, match="crosses itself"):  # a bow tie
        check_zone([SQUARE[0], SQUARE[2], SQUARE[1], SQUARE[3]])
    with pytest.raises(BadZone, match="Vertex 1 .* not a latitude"):
        check_zone([SQUARE[0], (95.0, 25.0), SQUARE[2]])
    with pytest.raises(BadZone, match=r"must be \[lat, lon\]"):
        check_zone([SQUARE[0], (60.0,), SQUARE[2]])
    with pytest.raises(BadZone, match="at most 200 corners"):
        check_zone(circle(60.0, 25.0, 500, sides=201))


def test_nodes_inside_a_concave_zone() -> None:
    net = _grid()
    # An L-shape: the square minus its north-east quarter.
    ell = ((59.9995, 24.999), (59.9995, 25.001), (60.0, 25.001), (60.0, 25.0), (60.0005, 25.0), (60.0005, 24.999))
    assert check_zone(ell) == ell
    inside = zone_nodes(net, SQUARE)
    assert inside.tolist() == [False, True, True, False, False, False, False, False]
    assert zone_nodes(net, ell)[[0, 3, 6]].tolist() == [False, False, False]


def test_an_edge_is_closed_when_any_part_of_it_is_in_the_zone() -> None:
    net = _grid()
    closed = _edge_pairs(net, np.flatnonzero(zone_edges(net, SQUARE)))
    # 0-1 and 2-3 have one end inside, 1-2 both; 4-5 has none inside but runs through it.
    assert closed == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (4, 5), (5, 4)}
    # A zone between the nodes of a segment still closes it.
    slim = ((59.9999, 25.003), (59.9999, 25.004), (60.0001, 25.004), (60.0001, 25.003))
    assert _edge_pairs(net, np.flatnonzero(zone_edges(net, slim))) == {(2, 3), (3, 2)}
    # Far from every street: nothing.
    away = tuple((lat + 0.005, lon) for lat, lon in SQUARE)
    assert not zone_edges(net, away).any()


def test_a_street_or_a_stretch_of_it() -> None:
    net = _grid()
    assert _edge_pairs(net, np.flatnonzero(street_edges(net, [10]))) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    # The street within the zone: its stretch there only, not the crossing way 20.
    stretch = closure_edges(
        net, zone=((59.9995, 24.996), (59.9995, 24.998), (60.0005, 24.998), (60.0005, 24.996)), way_ids=[10]
    )
    assert _edge_pairs(net, stretch) == {(0, 1), (1, 0)}
    assert len(closure_edges(net, zone=SQUARE, way_ids=[30])) == 0  # way 30 is not in the square
    with pytest.raises(ValueError, match="a zone, a street"):
        closure_edges(net)


def test_circle_sides_follow_the_radius() -> None:
    # The polygon stays inside the circle, cutting it by at most 1 - cos(pi / sides).
    ring = circle(60.0, 25.0, 1000, sides=32)
    lat = np.array([p[0] for p in ring] + [ring[0][0]])
    lon = np.array([p[1] for p in ring] + [ring[0][1]])
    mid_lat, mid_lon = (lat[:-1] + lat[1:]) / 2, (lon[:-1] + lon[1:]) / 2
    assert np.all(haversine_m(60.0, 25.0, mid_lat, mid_lon) >= 1000 * math.cos(math.pi / 32) - 1)
