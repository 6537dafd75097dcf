"""Restricted zones in the pure core: loading windows narrow the stops inside (or leave
them unplanned, ``zone_window``), pedestrian zones are walked when their no-ride hours
meet the planned span and ridden otherwise; bad outlines and windows are refused."""

from __future__ import annotations

import datetime as dt

import msgspec
import numpy as np
import pytest

from backend.dispatch import Problem, Stop, Vehicle, Window, check, solve
from backend.dispatch.closures import BadZone, check_zone, points_inside
from backend.dispatch.network import WALK_KMH, StreetNetwork, haversine_m
from backend.dispatch.osm_extract import WayRun
from backend.dispatch.zones import (
    DayZone,
    ZoneWindow,
    kind_windows_of,
    osm_pedestrian_zones,
    restrict_stops,
    walked_edges,
    walked_zones,
    window_problem,
    windows_of,
)

# About 111 m x 110 m around (60.0, 25.0).
SQUARE = ((59.9995, 24.999), (59.9995, 25.001), (60.0005, 25.001), (60.0005, 24.999))
H = 3600


def _zone(kind: str, windows: tuple[Window, ...], polygon: tuple = SQUARE, name: str = "Z") -> DayZone:
    return DayZone(id=name, name=name, kind=kind, polygon=polygon, windows=windows)  # type: ignore[arg-type]


def test_points_inside_a_polygon() -> None:
    inside = points_inside(SQUARE, [(60.0, 25.0), (60.001, 25.0), (59.9996, 24.9991)])
    assert inside.tolist() == [True, False, True]


def test_a_stop_inside_a_loading_zone_keeps_only_the_windows_both_allow() -> None:
    stops = [
        Stop(id="in", kind="delivery", location=1, windows=(Window(9 * H, 12 * H),)),
        Stop(id="anytime", kind="delivery", location=2),
        Stop(id="out", kind="delivery", location=3, windows=(Window(9 * H, 12 * H),)),
        Stop(id="late", kind="delivery", location=4, windows=(Window(13 * H, 15 * H),)),
    ]
    where = {"in": (60.0, 25.0), "anytime": (60.0002, 25.0002), "out": (60.01, 25.0), "late": (59.9999, 24.9995)}
    zone = _zone("loading", (Window(7 * H, 11 * H), Window(18 * H, 20 * H)), name="Esplanadi")
    kept, dropped = restrict_stops(stops, where, [zone])
    by_id = {s.id: s for s in kept}
    assert by_id["in"].windows == (Window(9 * H, 11 * H),)
    assert by_id["anytime"].windows == zone.windows
    assert by_id["out"] is stops[2]  # untouched
    assert [(u.stop_id, u.reason) for u in dropped] == [("late", "zone_window")]
    assert "Esplanadi" in dropped[0].detail and "07:00–11:00, 18:00–20:00" in dropped[0].detail
    # A pedestrian zone narrows nothing: a stop inside is reached on foot.
    kept, dropped = restrict_stops(stops, where, [_zone("pedestrian", ())])
    assert kept == stops and dropped == []


def test_a_stop_in_a_loading_zone_is_served_within_its_window() -> None:
    # Without the zone the stop, two minutes from the hub, would be served at 08:02.
    T = [[0, 120], [120, 0]]
    stop = Stop(id="s", kind="delivery", location=1, windows=(Window(8 * H, 12 * H),), service_s=60)
    kept, _ = restrict_stops([stop], {"s": (60.0, 25.0)}, [_zone("loading", (Window(10 * H, 10 * H + 1800),))])
    shift = Window(8 * H, 18 * H)
    vehicle = Vehicle(id="v", start_location=0, end_location=0, shift=shift, payload_kg=100, volume_l=100)
    for stops, lo, hi in ((kept, 10 * H, 10 * H + 1800), ([stop], 8 * H, 8 * H + 120)):
        problem = Problem(time_s=T, dist_m=T, vehicles=(vehicle,), stops=tuple(stops))
        plan = solve(problem, time_limit_s=1)
        assert check(problem, plan) == []
        (served,) = plan.routes[0].stops
        assert lo <= served.start_s <= hi


def test_a_pedestrian_zone_is_walked_when_its_no_ride_hours_meet_the_planned_span() -> None:
    ride_mornings = _zone("pedestrian", (Window(5 * H, 10 * H),))
    always_walked = _zone("pedestrian", ())
    loading = _zone("loading", (Window(0, 24 * H),))
    assert walked_zones([ride_mornings, loading], Window(6 * H, 9 * H)) == []
    assert walked_zones([ride_mornings], Window(6 * H, 11 * H)) == [ride_mornings]
    assert walked_zones([ride_mornings], Window(14 * H, 18 * H)) == [ride_mornings]
    assert walked_zones([always_walked], Window(6 * H, 7 * H)) == [always_walked]


def test_a_loading_zone_serves_each_stop_within_the_windows_of_the_kind_of_its_bike() -> None:
    # Vans 07:00-09:00, every other kind 07:00-18:00; walkers are exempt.
    rules = [
        ZoneWindow(start="07:00", end="09:00", kinds=["van"]),
        ZoneWindow(start="07:00", end="18:00"),
    ]
    monday = dt.date(2026, 11, 23)
    assert kind_windows_of(rules, monday) == {"van": (Window(7 * H, 9 * H),)}
    zone = DayZone(
        id="K",
        name="Kamppi",
        kind="loading",
        polygon=SQUARE,
        windows=windows_of([r for r in rules if not r.kinds], monday),
        by_kind=kind_windows_of(rules, monday),
        exempt=frozenset({"walker"}),
    )
    assert zone.windows_for("van") == (Window(7 * H, 9 * H),)
    assert zone.windows_for("cargo_bike") == (Window(7 * H, 18 * H),)
    assert zone.windows_for("walker") is None
    where = {"noon": (60.0, 25.0), "early": (60.0001, 25.0), "evening": (60.0002, 25.0)}
    stops = [
        Stop(id="noon", kind="delivery", location=1, windows=(Window(12 * H, 14 * H),)),
        Stop(id="early", kind="delivery", location=2, windows=(Window(8 * H, 10 * H),)),
        Stop(id="evening", kind="delivery", location=3, windows=(Window(19 * H, 21 * H),)),
    ]
    # Only vans on the day: the noon stop cannot be served; the early one within 08:00-09:00.
    kept, dropped = restrict_stops(stops, where, [zone], {"v1": "van"})
    assert [s.id for s in kept] == ["early"] and kept[0].windows == (Window(8 * H, 9 * H),)
    assert kept[0].vehicles == ()  # every bike of the day may serve it
    assert sorted((u.stop_id, u.reason) for u in dropped) == [("evening", "zone_window"), ("noon", "zone_window")]
    # A van and a cargo bike: the noon stop goes to the cargo bike only; the early one keeps
    # the cargo bike's wider window (08:00-10:00), so it too is the cargo bike's.
    kept, dropped = restrict_stops(stops, where, [zone], {"v1": "van", "c1": "cargo_bike"})
    by_id = {s.id: s for s in kept}
    assert by_id["noon"].windows == (Window(12 * H, 14 * H),) and by_id["noon"].vehicles == ("c1",)
    assert by_id["early"].windows == (Window(8 * H, 10 * H),) and by_id["early"].vehicles == ("c1",)
    assert [u.stop_id for u in dropped] == ["evening"]
    assert "Kamppi" in dropped[0].detail and "van 07:00–09:00" in dropped[0].detail
    # A walker is exempt: it serves the evening stop in its own window.
    kept, dropped = restrict_stops(stops, where, [zone], {"v1": "van", "w1": "walker"})
    by_id = {s.id: s for s in kept}
    assert by_id["evening"].windows == (Window(19 * H, 21 * H),) and by_id["evening"].vehicles == ("w1",)
    assert dropped == []
    # A stop locked on the van stays within the van's window.
    locked = msgspec.structs.replace(stops[1], vehicles=("v1",))
    kept, _ = restrict_stops([locked], where, [zone], {"v1": "van", "c1": "cargo_bike"})
    assert kept[0].windows == (Window(8 * H, 9 * H),) and kept[0].vehicles == ("v1",)


def test_kind_windows_are_kept_by_the_planner_for_the_bike_that_serves() -> None:
    # The van would serve at 08:02 (two minutes from the hub) but its kind may load only
    # from 10:00; the cargo bike's kind only at 08:00-08:30. The stop goes to the cargo bike.
    T = [[0, 120], [120, 0]]
    zone = DayZone(
        id="Z",
        name="Z",
        kind="loading",
        polygon=SQUARE,
        windows=(Window(8 * H, 8 * H + 1800),),
        by_kind={"van": (Window(10 * H, 10 * H + 600),)},
    )
    stop = Stop(id="s", kind="delivery", location=1, windows=(Window(8 * H, 12 * H),), service_s=60)
    kept, _ = restrict_stops([stop], {"s": (60.0, 25.0)}, [zone], {"van": "van", "bike": "cargo_bike"})
    shift = Window(8 * H, 18 * H)
    vehicles = tuple(
        Vehicle(id=v, start_location=0, end_location=0, shift=shift, payload_kg=100, volume_l=100, fixed_cost=c)
        for v, c in (("van", 0), ("bike", 10_000))  # the van is the cheaper one
    )
    problem = Problem(time_s=T, dist_m=T, vehicles=vehicles, stops=tuple(kept))
    plan = solve(problem, time_limit_s=1)
    assert check(problem, plan) == []
    (route,) = [r for r in plan.routes if r.stops]
    assert route.vehicle_id == "bike" and 8 * H <= route.stops[0].start_s <= 8 * H + 1800


def test_a_pedestrian_zone_is_walked_only_when_a_kind_on_the_day_may_not_ride_it() -> None:
    zone = DayZone(
        id="P",
        name="P",
        kind="pedestrian",
        polygon=SQUARE,
        windows=(Window(5 * H, 10 * H),),
        by_kind={"e_bike": (Window(5 * H, 20 * H),)},
        exempt=frozenset({"walker"}),
    )
    span = Window(8 * H, 18 * H)
    assert walked_zones([zone], span, {"walker"}) == []
    assert walked_zones([zone], span, {"walker", "e_bike"}) == []
    assert walked_zones([zone], span, {"walker", "cargo_bike"}) == [zone]
    assert walked_zones([zone], span) == [zone]  # the default kind: a cargo bike


def _line() -> StreetNetwork:
    """A street west to east through SQUARE: nodes 1 and 2 inside, 0 and 3 outside."""
    lat = np.array([60.0, 60.0, 60.0, 60.0])
    lon = np.array([24.995, 24.9995, 25.0005, 25.005])
    u, v = [0, 1, 2, 1, 2, 3], [1, 2, 3, 0, 1, 2]
    length = haversine_m(lat[u], lon[u], lat[v], lon[v])
    return StreetNetwork(
        {
            "lat": lat,
            "lon": lon,
            "edge_u": np.array(u),
            "edge_v": np.array(v),
            "edge_length_m": length,
            "edge_time_s": length / 4.0,  # ridden at 4 m/s
            "edge_way_id": np.array([10] * 6),
            "edge_highway": np.array(["pedestrian"] * 6),
            "edge_along": np.array([True] * 3 + [False] * 3),
            "edge_pushed": np.array([False] * 6),
            "bbox": np.array([59.99, 24.99, 60.02, 25.01]),
        }
    )


def test_walked_streets_take_walking_time_and_ridden_ones_riding_time() -> None:
    net = _line()
    zone = _zone("pedestrian", (Window(5 * H, 10 * H),))
    ends = [(60.0, 24.995), (60.0, 25.005)]
    ridden = net.matrices(ends, walked=walked_edges(net, [zone], Window(6 * H, 9 * H)))[0][0, 1]
    walked_set = walked_edges(net, [zone], Window(9 * H, 12 * H))
    walked = net.matrices(ends, walked=walked_set)[0][0, 1]
    assert sorted(walked_set.tolist()) == list(range(6))  # every edge with a part in the zone
    assert ridden == net.matrices(ends)[0][0, 1]
    length = float(net.edge_length_m[:3].sum())
    assert walked == pytest.approx(length / (WALK_KMH / 3.6), abs=2)
    assert walked > 2 * ridden
    # Distances do not change; the walked set is a variant of its own, kept apart from the open one.
    assert net.matrices(ends, walked=walked_set)[1][0, 1] == net.matrices(ends)[1][0, 1]


def test_outlines_that_do_not_close_or_cross_themselves_are_refused() -> None:
    closed = [*SQUARE, SQUARE[0]]
    assert check_zone(closed, must_close=True) == SQUARE
    with pytest.raises(BadZone, match="does not close"):
        check_zone(list(SQUARE), must_close=True)
    with pytest.raises(BadZone, match="crosses itself"):
        check_zone([SQUARE[0], SQUARE[2], SQUARE[1], SQUARE[3], SQUARE[0]], must_close=True)


def test_windows_that_end_before_they_start_are_refused_and_weekdays_apply() -> None:
    assert "before it starts" in (window_problem(ZoneWindow(start="11:00", end="07:00")) or "")
    assert window_problem(ZoneWindow(start="07:00", end="11:00", days=[])) is not None
    assert window_problem(ZoneWindow(start="07:00", end="11:00")) is None
    weekdays = [ZoneWindow(days=["mo", "tu", "we", "th", "fr"], start="07:00", end="11:00")]
    monday, sunday = dt.date(2026, 11, 23), dt.date(2026, 11, 29)
    assert windows_of(weekdays, monday) == (Window(7 * H, 11 * H),)
    assert windows_of(weekdays, sunday) == ()


def test_pedestrian_areas_of_the_map_become_zones_with_their_tagged_ride_hours() -> None:
    lats = tuple(p[0] for p in (*SQUARE, SQUARE[0]))
    lons = tuple(p[1] for p in (*SQUARE, SQUARE[0]))

    def way(way_id: int, tags: dict[str, str], closed: bool = True) -> WayRun:
        nodes = (1, 2, 3, 4, 1) if closed else (1, 2, 3, 4, 5)
        return WayRun(way_id=way_id, tags=tags, node_ids=nodes, lats=lats, lons=lons)

    zones = osm_pedestrian_zones(
        [
            way(1, {"highway": "pedestrian", "area": "yes", "name": "Kauppatori"}),
            way(2, {"highway": "pedestrian", "area": "yes", "bicycle:conditional": "yes @ (Mo-Sa 06:00-10:00)"}),
            way(3, {"highway": "pedestrian"}),  # a loop of street, not an area
            way(4, {"highway": "pedestrian", "area": "yes"}, closed=False),
            way(5, {"highway": "residential", "area": "yes"}),
        ]
    )
    assert [(z.source, z.name) for z in zones] == [("osm:w1", "Kauppatori"), ("osm:w2", "pedestrian area w2")]
    assert zones[0].windows is None and zones[0].polygon == SQUARE
    assert zones[1].windows == (ZoneWindow(days=["mo", "tu", "we", "th", "fr", "sa"], start="06:00", end="10:00"),)
