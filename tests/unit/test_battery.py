"""The range left of a bike: the pure rule (backend/dispatch/battery.py)."""

from __future__ import annotations

import datetime as dt

from backend.dispatch.battery import Reading, is_charge, over_range, range_left, range_left_m, ridden_since_km
from backend.dispatch.day_figures import distance_m

T0 = dt.datetime(2026, 12, 7, 8, 0)
STEP = 1 / 111.19508  # one km of latitude


def _legs(km: int, start: dt.datetime) -> list[tuple[float, float, dt.datetime]]:
    return [(60.0 + STEP * (i % 2), 24.0, start + dt.timedelta(minutes=3 * i)) for i in range(km + 1)]


def test_one_leg_is_a_km() -> None:
    assert abs(distance_m(60.0, 24.0, 60.0 + STEP, 24.0) - 1000) < 1


def test_a_day_starts_full_and_loses_what_is_ridden() -> None:
    left = range_left(40, None, ridden_since_km([_legs(30, T0)], None))
    assert abs(left.left_km - 10) < 0.01 and left.level_pct is None
    assert abs(range_left_m(left) - 10_000) < 10


def test_a_report_counts_only_what_is_ridden_after_it() -> None:
    trail = _legs(10, T0)  # 08:00-08:30
    report = Reading(at=T0 + dt.timedelta(minutes=15), level_pct=50)  # after 5 legs
    ridden = ridden_since_km([trail], report.at)
    assert abs(ridden - 4) < 0.01  # the leg across the report is not counted; the 4 after it are
    left = range_left(40, report, ridden)
    assert abs(left.left_km - 16) < 0.01 and left.level_pct == 50


def test_a_charge_is_full_and_never_below_zero() -> None:
    assert is_charge(100) and not is_charge(99.5)
    assert range_left(40, Reading(at=T0, level_pct=100), 0).left_km == 40
    assert range_left(40, Reading(at=T0, level_pct=10), 12).left_km == 0
    # several shifts on one bike add up
    assert abs(ridden_since_km([_legs(3, T0), _legs(2, T0 + dt.timedelta(hours=5))], None) - 5) < 0.01


def test_over_range_rides_the_route_from_where_the_bike_is_back_to_the_hub() -> None:
    dist = [[0, 3000, 4000], [3000, 0, 2000], [4000, 2000, 0]]  # 0 = hub
    assert not over_range(dist, 1, [2], 0, 6000)  # 2000 + 4000
    assert over_range(dist, 1, [2], 0, 5999)
    assert not over_range(dist, 1, [2], 0, None)
