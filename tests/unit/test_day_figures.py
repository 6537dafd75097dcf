"""The day's figures from plain values: distance of a known trail, GPS jumps left
out, CO2 from known kilometres, the shares and the trail's thinning."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.dispatch.day_figures import (
    CO2_FACTOR_KG_PER_KM,
    CO2_SOURCE,
    DeliveryFacts,
    StopFacts,
    co2_avoided_kg,
    distance_m,
    first_attempt_share,
    keep_point,
    recent_speed_kmh,
    ridden_m,
    ridden_points,
    share,
    stop_figures,
)

T0 = dt.datetime(2026, 12, 4, 9, 0)
# One degree of latitude along a meridian: 2πR/360 with R = 6,371,008.8 m.
M_PER_DEG_LAT = 111_195.08


def _north(steps: int, every_s: int = 30, step_deg: float = 0.001, lat0: float = 60.17) -> list:
    """A courier riding due north: ``steps`` legs of ``step_deg`` latitude each, ``every_s`` apart."""
    return [(lat0 + i * step_deg, 24.94, T0 + dt.timedelta(seconds=i * every_s)) for i in range(steps + 1)]


def test_distance_of_a_known_leg() -> None:
    assert distance_m(60.0, 24.0, 61.0, 24.0) == pytest.approx(M_PER_DEG_LAT, rel=1e-6)
    # Along the equator one degree of longitude is as long; on 60° north half as long.
    assert distance_m(0.0, 24.0, 0.0, 25.0) == pytest.approx(M_PER_DEG_LAT, rel=1e-6)
    assert distance_m(60.0, 24.0, 60.0, 25.0) == pytest.approx(M_PER_DEG_LAT / 2, rel=2e-3)
    assert distance_m(60.17, 24.94, 60.17, 24.94) == 0.0


def test_a_known_trail_is_its_legs_summed() -> None:
    trail = _north(20)  # 20 legs of 0.001° (111 m) in 30 s: 13 km/h
    assert ridden_m(trail) == pytest.approx(20 * 0.001 * M_PER_DEG_LAT, rel=1e-6)
    assert ridden_m(trail[:1]) == 0.0 and ridden_m([]) == 0.0
    # Order of arrival does not matter: the trail is ridden in time order.
    assert ridden_m(list(reversed(trail))) == pytest.approx(ridden_m(trail))


def test_a_gps_jump_is_left_out() -> None:
    trail = _north(10)
    spike = (60.20, 24.99, trail[5][2] + dt.timedelta(seconds=10))  # 3.9 km away, 10 s later
    jumpy = sorted([*trail, spike], key=lambda p: p[2])
    assert spike not in ridden_points(jumpy)
    assert ridden_m(jumpy) == pytest.approx(ridden_m(trail), rel=1e-9)
    # Without the filter the spike adds some 7.8 km.
    assert ridden_m(jumpy, max_speed_kmh=10_000) > ridden_m(trail) + 7_000


def test_a_wrong_first_fix_does_not_swallow_the_trail() -> None:
    trail = _north(10)
    wrong = (60.30, 25.20, T0 - dt.timedelta(seconds=5))  # far off, just before the ride
    kept = ridden_points([wrong, *trail])
    assert kept[1:] == trail
    # The jump from the wrong fix is not ridden; the whole ride after it is.
    assert ridden_m([wrong, *trail]) == pytest.approx(ridden_m(trail), rel=1e-9)


def test_a_long_pause_is_not_a_jump() -> None:
    # 2 km in an hour (the phone was off during a break): slow, so counted.
    a, b = (60.17, 24.94, T0), (60.17 + 2000 / M_PER_DEG_LAT, 24.94, T0 + dt.timedelta(hours=1))
    assert ridden_m([a, b]) == pytest.approx(2000, rel=1e-6)


def test_recent_speed() -> None:
    trail = _north(20)  # 111.2 m per 30 s = 13.3 km/h
    assert recent_speed_kmh(trail) == pytest.approx(0.001 * M_PER_DEG_LAT / 30 * 3.6, abs=0.05)
    standing = [(60.17, 24.94, T0 + dt.timedelta(seconds=30 * i)) for i in range(6)]
    assert recent_speed_kmh(standing) == 0.0
    assert recent_speed_kmh(trail[:1]) is None
    assert recent_speed_kmh([trail[0], (trail[0][0], trail[0][1], T0 + dt.timedelta(seconds=3))]) is None


def test_co2_from_known_km() -> None:
    assert CO2_FACTOR_KG_PER_KM == 0.25023
    assert co2_avoided_kg(100) == pytest.approx(25.023)
    assert co2_avoided_kg(0) == 0.0
    assert co2_avoided_kg(12.5, factor_kg_per_km=0.2) == pytest.approx(2.5)
    # 20 legs of 111.195 m = 2.2239 km -> 0.5565 kg
    assert co2_avoided_kg(ridden_m(_north(20)) / 1000) == pytest.approx(0.556, abs=0.001)
    assert "0.25023" in CO2_SOURCE and "Diesel" in CO2_SOURCE


def test_thinning_keeps_moves_and_a_point_every_half_minute() -> None:
    last = (60.17, 24.94, T0)
    still = (60.17 + 2 / M_PER_DEG_LAT, 24.94, T0 + dt.timedelta(seconds=10))  # 2 m, 10 s
    moved = (60.17 + 6 / M_PER_DEG_LAT, 24.94, T0 + dt.timedelta(seconds=10))  # 6 m, 10 s
    later = (60.17 + 2 / M_PER_DEG_LAT, 24.94, T0 + dt.timedelta(seconds=30))  # 2 m, 30 s
    assert keep_point(None, last)
    assert not keep_point(last, still)
    assert keep_point(last, moved) and keep_point(last, later)


def _stop(status: str, done_at: str | None = None, arrived: str | None = None) -> StopFacts:
    day = "2026-12-04T"
    return StopFacts(
        status=status,
        window_start=dt.datetime.fromisoformat(day + "10:00"),
        window_end=dt.datetime.fromisoformat(day + "12:00"),
        arrived_at=dt.datetime.fromisoformat(day + arrived) if arrived else None,
        completed_at=dt.datetime.fromisoformat(day + done_at) if done_at else None,
    )


def test_stop_figures() -> None:
    stops = [
        _stop("delivered", "11:00", "10:56"),  # on time, 4 min
        _stop("delivered", "12:00", "11:54"),  # on time (the window's end included), 6 min
        _stop("collected", "12:30"),  # late
        _stop("delivered", "09:59"),  # early: not on time
        _stop("failed", "10:30", "10:28"),  # 2 min
        _stop("planned"),
        _stop("unplanned"),
        _stop("cancelled", "10:10", "10:00"),  # not counted at all
    ]
    f = stop_figures(stops)
    assert (f.total, f.done, f.failed, f.remaining) == (7, 4, 1, 2)
    assert f.on_time_share == 0.5
    assert f.avg_minutes_per_stop == 4.0
    empty = stop_figures([])
    assert empty.total == 0 and empty.on_time_share is None and empty.avg_minutes_per_stop is None


def test_first_attempt_share() -> None:
    day, before = dt.date(2026, 12, 4), dt.date(2026, 12, 3)

    def d(stop: int, order: int, status: str, when: dt.date = day) -> DeliveryFacts:
        return DeliveryFacts(stop_id=stop, order_id=order, plan_date=when, status=status)

    deliveries = [
        d(1, 1, "delivered"),  # first time right
        d(2, 2, "failed"),
        d(3, 2, "delivered"),  # second attempt: not a first-attempt success
        d(4, 3, "cancelled"),
        d(5, 3, "delivered"),  # redirected before anyone tried: its first delivery stop is 5
        d(6, 4, "planned"),  # not attempted yet: not counted
        d(7, 5, "failed", before),  # first attempted the day before: counted that day
        d(8, 5, "delivered"),
    ]
    assert first_attempt_share(deliveries, day) == (2, 3)
    assert first_attempt_share(deliveries, before) == (0, 1)
    assert share(2, 3) == 0.6667 and share(0, 0) is None


def test_the_jump_limit_is_a_setting() -> None:
    from backend.settings import SettingsError, load_settings

    assert load_settings({"LAADBAK_SECRET_KEY": "x"}).trail_max_kmh == 45.0
    assert load_settings({"LAADBAK_SECRET_KEY": "x", "LAADBAK_TRAIL_MAX_KMH": "450"}).trail_max_kmh == 450.0
    for bad in ("0", "-3", "fast"):
        with pytest.raises(SettingsError, match="LAADBAK_TRAIL_MAX_KMH"):
            load_settings({"LAADBAK_SECRET_KEY": "x", "LAADBAK_TRAIL_MAX_KMH": bad})
