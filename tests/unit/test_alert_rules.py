"""The alert rules (backend/dispatch/alerts.py) on tiny plain inputs: each one that
must raise, and the near misses that must not."""

from __future__ import annotations

import datetime as dt

import msgspec

from backend.dispatch.alerts import (
    LATE_SHOWN,
    UPDATED_BY,
    CourierNow,
    FailedStop,
    PointLoad,
    StopNow,
    TrailPoint,
    cleared,
    late_routes,
    late_stops,
    no_position,
    pickup_points_full,
    repeated_failures,
    replan_not_applied,
    standing_part,
    standing_still,
    still_since,
    street_of,
    wave_not_released,
)

NOW = dt.datetime(2026, 12, 4, 14, 0)
HUB = (60.1650, 24.9300)
HERE = (60.1700, 24.9400)  # about 700 m from the hub
STOP_FAR = (60.1750, 24.9500)


def _t(minutes_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes_ago)


def _stop(stop_id: int, status: str, eta_min: int, window_end_min: int, service_start_min: int | None = None):
    base = dt.datetime(2026, 12, 4, 14, 0)
    return StopNow(
        stop_id=stop_id,
        courier_id=7,
        status=status,
        address=f"Bulevardi {stop_id}",
        window_end=base + dt.timedelta(minutes=window_end_min),
        eta=base + dt.timedelta(minutes=eta_min),
        service_start=None if service_start_min is None else base + dt.timedelta(minutes=service_start_min),
    )


# --- stop_late ------------------------------------------------------------------------


def test_a_stop_expected_after_its_window_is_late_and_its_route_raises_one_alert() -> None:
    raised = late_routes([_stop(1, "planned", eta_min=30, window_end_min=10)], {7: "Anna"})
    assert [(a.kind, a.key) for a in raised] == [("stop_late", "route-7")]
    data = raised[0].data
    assert data["courierId"] == 7 and data["count"] == 1 and data["stopIds"] == [1] and data["minutes"] == 20
    assert data["first"] == [
        {"stopId": 1, "eta": "2026-12-04T14:30:00", "windowEnd": "2026-12-04T14:10:00", "minutes": 20}
    ]
    assert "Anna's route has 1 stop(s)" in raised[0].detail
    assert "14:30" in raised[0].detail and "14:10" in raised[0].detail


def test_a_service_start_after_the_window_counts_even_when_the_arrival_is_in_time() -> None:
    # arrives at 14:05 but waits for the door until 14:20; the window ends at 14:10
    raised = late_stops([_stop(2, "planned", eta_min=5, window_end_min=10, service_start_min=20)])
    assert [(x.stop_id, x.minutes) for x in raised] == [(2, 10)]


def test_stops_in_time_or_finished_are_not_late() -> None:
    stops = [
        _stop(3, "planned", eta_min=10, window_end_min=10),  # exactly at the end: in time
        _stop(4, "planned", eta_min=0, window_end_min=30, service_start_min=25),
        _stop(5, "delivered", eta_min=60, window_end_min=10),
        _stop(6, "failed", eta_min=60, window_end_min=10),
        _stop(7, "collected", eta_min=60, window_end_min=10),
        _stop(8, "cancelled", eta_min=60, window_end_min=10),
    ]
    assert late_stops(stops) == []
    assert late_routes(stops) == []


def test_a_stop_the_courier_stands_at_is_still_late_if_served_after_its_window() -> None:
    assert [x.stop_id for x in late_stops([_stop(9, "arrived", eta_min=15, window_end_min=10)])] == [9]


def test_many_late_stops_raise_one_alert_per_route_naming_the_first_few() -> None:
    # 50 late stops on courier 7's route, 2 on courier 8's, 1 in time on courier 9's
    stops = [_stop(100 + i, "planned", eta_min=60 - i, window_end_min=0) for i in range(50)]
    stops += [
        msgspec.structs.replace(_stop(200 + i, "planned", eta_min=30, window_end_min=10), courier_id=8) for i in (0, 1)
    ]
    stops.append(msgspec.structs.replace(_stop(300, "planned", eta_min=5, window_end_min=10), courier_id=9))
    raised = late_routes(stops, {7: "Anna"})
    assert [(a.key, a.data["count"]) for a in raised] == [("route-7", 50), ("route-8", 2)]
    seven = raised[0].data
    assert seven["stopIds"] == list(range(100, 150))
    # the first few are the earliest predicted (stop 149 at 14:11 first), the others counted
    assert [f["stopId"] for f in seven["first"]] == [149, 148, 147][:LATE_SHOWN]
    assert seven["minutes"] == 60
    assert "and 47 more" in raised[0].detail and "Courier 8's route has 2 stop(s)" in raised[1].detail


def test_the_route_alert_is_keyed_by_courier_so_a_changed_set_updates_it() -> None:
    before = late_routes([_stop(1, "planned", eta_min=30, window_end_min=10)])
    after = late_routes([_stop(1, "planned", eta_min=35, window_end_min=10), _stop(2, "planned", 40, 10)])
    assert before[0].key == after[0].key
    assert UPDATED_BY["stop_late"] == "stopIds"
    assert before[0].data["stopIds"] != after[0].data["stopIds"]
    # only the minutes changed: the field that updates the alert stays the same
    later = late_routes([_stop(1, "planned", eta_min=45, window_end_min=10)])
    assert later[0].data["stopIds"] == before[0].data["stopIds"]


def test_a_route_with_no_late_stop_left_is_cleared_once() -> None:
    (was,) = late_routes([_stop(1, "planned", eta_min=30, window_end_min=10)])
    gone = cleared("stop_late", was.key, was.data, {7: "Anna"})
    assert gone is not None and gone.key == "route-7"
    assert gone.data == {"courierId": 7, "count": 0, "stopIds": [], "first": [], "minutes": 0}
    assert gone.detail == "Anna's route has no stop expected after its window any more."
    assert cleared("stop_late", gone.key, gone.data) is None  # already cleared: nothing to write
    assert cleared("no_position", "7@x", {"courierId": 7}) is None  # not an updated kind


# --- no_position --------------------------------------------------------------------


def _courier(**kw) -> CourierNow:
    values = {"courier_id": 7, "name": "Anna", "started_at": _t(120), "hub": HUB}
    values.update(kw)
    return CourierNow(**values)


def test_no_position_for_longer_than_the_limit_is_keyed_by_the_gap_start() -> None:
    raised = no_position([_courier(last_position_at=_t(6))], NOW, after_min=5)
    assert [(a.kind, a.key) for a in raised] == [("no_position", f"7@{_t(6).isoformat(timespec='seconds')}")]
    assert raised[0].data == {"courierId": 7, "since": _t(6).isoformat(), "minutes": 6, "never": False}
    assert "Anna" in raised[0].detail and "6 min" in raised[0].detail


def test_no_position_at_all_counts_from_the_shift_start() -> None:
    raised = no_position([_courier(started_at=_t(8), last_position_at=None)], NOW, after_min=5)
    assert len(raised) == 1 and raised[0].data["never"] is True and "shift started" in raised[0].detail


def test_a_recent_position_or_a_shift_just_started_raises_nothing() -> None:
    couriers = [
        _courier(courier_id=1, last_position_at=_t(4)),
        _courier(courier_id=2, last_position_at=_t(5)),  # exactly the limit: not more than it
        _courier(courier_id=3, started_at=_t(3), last_position_at=None),
    ]
    assert no_position(couriers, NOW, after_min=5) == []


def test_a_second_gap_later_in_the_day_is_a_new_alert() -> None:
    first = no_position([_courier(last_position_at=_t(200))], _t(190), after_min=5)
    second = no_position([_courier(last_position_at=_t(10))], NOW, after_min=5)
    assert first[0].key != second[0].key


# --- standing_still -----------------------------------------------------------------


def _trail(minutes: int, place: tuple[float, float] = HERE, every: int = 1) -> tuple[TrailPoint, ...]:
    """Positions every ``every`` minutes for ``minutes`` minutes, jittering a few metres at ``place``."""
    return tuple(
        TrailPoint(place[0] + (0.00002 if i % 2 else 0), place[1], _t(minutes - i))
        for i in range(0, minutes + 1, every)
    )


def test_a_courier_standing_away_from_any_stop_is_told_once_per_standing() -> None:
    moving = (TrailPoint(60.1600, 24.9200, _t(20)),)  # 1 km away, before standing
    c = _courier(trail=moving + _trail(12), open_stops=(STOP_FAR,))
    raised = standing_still([c], NOW, after_min=10)
    assert [(a.kind, a.key) for a in raised] == [("standing_still", f"7@{_t(12).isoformat(timespec='seconds')}")]
    assert raised[0].data["minutes"] == 12 and raised[0].data["stopsLeft"] == 1


def test_standing_still_must_not_raise_when() -> None:
    trail = _trail(15)
    cases = {
        "short": _courier(trail=_trail(9), open_stops=(STOP_FAR,)),
        "no stops left": _courier(trail=trail, open_stops=()),
        "arrived at a stop": _courier(trail=trail, open_stops=(STOP_FAR,), at_stop=True),
        "next to an open stop": _courier(trail=trail, open_stops=((HERE[0] + 0.0002, HERE[1]),)),  # 22 m
        "at the hub": _courier(trail=_trail(15, HUB), open_stops=(STOP_FAR,)),
        "positions stale": _courier(trail=tuple(p for p in trail if p.at <= _t(7)), open_stops=(STOP_FAR,)),
        "moving": _courier(
            trail=tuple(TrailPoint(HERE[0] + 0.001 * i, HERE[1], _t(15 - i)) for i in range(16)),
            open_stops=(STOP_FAR,),
        ),
        "no trail": _courier(trail=(), open_stops=(STOP_FAR,)),
    }
    for name, c in cases.items():
        assert standing_still([c], NOW, after_min=10) == [], name


def test_still_since_is_the_first_point_of_the_trailing_cluster() -> None:
    trail = (TrailPoint(60.1600, 24.9200, _t(30)), TrailPoint(60.1700, 24.9400, _t(20)), *_trail(5))
    assert still_since(trail) == _t(20)
    assert still_since(()) is None


def test_the_standing_part_of_a_trail_gives_the_same_since_in_a_few_points() -> None:
    ridden = tuple(TrailPoint(60.1600 + 0.0005 * i, 24.9200, _t(120 - i)) for i in range(60))  # 55 m a minute
    trails = {
        "riding": ridden,
        "standing 45 min after riding, a point a minute": ridden + _trail(45),
        "standing 2 h, 20 points in its last minute": _trail(122)[:-2]
        + tuple(
            TrailPoint(HERE[0], HERE[1] + 0.00001 * (i % 3), NOW - dt.timedelta(seconds=3 * i))
            for i in range(19, -1, -1)
        ),
        "one point": _trail(0),
        "back where it stood an hour ago": _trail(90)[:30] + ridden[-5:] + _trail(30),
    }
    for name, trail in trails.items():
        kept = [[p.lat, p.lon, p.at] for p in trail]  # as the position store keeps them
        part = standing_part(kept)
        assert len(part) <= 30 and part[-1] == kept[-1], name
        assert still_since(tuple(TrailPoint(*p) for p in part)) == still_since(trail), name
    assert len(standing_part([[p.lat, p.lon, p.at] for p in ridden])) == 1  # a minute's ride between points
    standing = [[p.lat, p.lon, p.at] for p in trails["standing 45 min after riding, a point a minute"]]
    assert standing_part(standing) == [standing[-46], *standing[-29:]]  # the first of the run and the latest
    assert standing_part([]) == []


# --- repeated_failures --------------------------------------------------------------


def test_three_failures_in_one_street_raise_once_for_that_street() -> None:
    failed = [
        FailedStop(stop_id=1, address="Bulevardi 16 B, 00120"),
        FailedStop(stop_id=2, address="bulevardi 3"),
        FailedStop(stop_id=3, address="BULEVARDI  40"),
        FailedStop(stop_id=4, address="Pitkäsilta 1"),
        FailedStop(stop_id=5, address="Pitkasilta 2"),
    ]
    raised = repeated_failures(failed)
    assert [(a.kind, a.key) for a in raised] == [("repeated_failures", "bulevardi")]
    assert raised[0].data == {"street": "Bulevardi", "count": 3, "stopIds": [1, 2, 3]}


def test_two_failures_in_a_street_or_three_in_three_streets_raise_nothing() -> None:
    assert repeated_failures([FailedStop(stop_id=i, address=f"Bulevardi {i}") for i in (1, 2)]) == []
    assert repeated_failures([FailedStop(stop_id=i, address=f"Street{i} 1") for i in (1, 2, 3)]) == []


def test_accented_names_of_one_street_count_together() -> None:
    failed = [FailedStop(stop_id=i, address=a) for i, a in enumerate(["Pitkäsilta 1", "Pitkasilta 2", "pitkäsilta 3"])]
    assert [a.key for a in repeated_failures(failed)] == ["pitkasilta"]


def test_the_street_of_an_address() -> None:
    assert street_of("Bulevardi 16 B, 00120 Helsinki") == "Bulevardi"
    assert street_of("Pohjoinen Makasiinikatu 4") == "Pohjoinen Makasiinikatu"
    assert street_of("Kamppi locker, Urho Kekkosen katu 1") == "Kamppi locker"


# --- pickup_point_full ----------------------------------------------------------------


def test_a_pickup_point_at_ninety_percent_is_full() -> None:
    raised = pickup_points_full([PointLoad(pickup_point_id=4, name="Kamppi", capacity=60, waiting=20, room_left=6)])
    assert [(a.kind, a.key) for a in raised] == [("pickup_point_full", "4")]
    assert raised[0].data == {"pickupPointId": 4, "waiting": 20, "capacity": 60, "roomLeft": 6}
    assert "6 of its 60 places left" in raised[0].detail and "90 % taken" in raised[0].detail


def test_a_pickup_point_below_ninety_percent_is_not_full() -> None:
    points = [
        PointLoad(pickup_point_id=1, name="A", capacity=60, waiting=53, room_left=7),
        PointLoad(pickup_point_id=2, name="B", capacity=0, waiting=0, room_left=0),
        PointLoad(pickup_point_id=3, name="C", capacity=10, waiting=8, room_left=2),
    ]
    assert pickup_points_full(points) == []


def test_a_pickup_point_is_full_by_its_room_left_not_by_what_waits_on_its_shelves() -> None:
    # Few parcels on the shelves but the day's announced ones take the rest: full.
    announced = PointLoad(pickup_point_id=5, name="D", capacity=10, waiting=1, room_left=0)
    # Eight parcels on its shelves, two places left: 80 %, not full.
    roomy = PointLoad(pickup_point_id=6, name="E", capacity=10, waiting=8, room_left=2)
    assert [a.key for a in pickup_points_full([announced, roomy])] == ["5"]


# --- replan_not_applied -------------------------------------------------------------


def test_a_replan_not_applied_is_keyed_by_reason_and_minute() -> None:
    a = replan_not_applied("courier 5 behind schedule", "The re-plan would take 1 planned stop(s) off.", NOW, 1)
    b = replan_not_applied("courier 5 behind schedule", "again", NOW + dt.timedelta(seconds=20))
    c = replan_not_applied("courier 5 behind schedule", "again", NOW + dt.timedelta(minutes=2))
    assert a.kind == "replan_not_applied" and a.key == b.key != c.key
    assert a.data == {"planRunId": None, "reason": "courier 5 behind schedule", "unplanned": 1}
    assert "not applied" in a.detail and "14:00" in a.detail


# --- wave_not_released --------------------------------------------------------------


def test_a_wave_not_released_is_keyed_by_its_wave_and_says_the_refusal() -> None:
    why = "Order 12 asks for NOPE, which is not in the catalogue; add it first."
    a = wave_not_released("15:00", why)
    again = wave_not_released("15:00", "Order 13 asks for GONE, which is not in the catalogue; add it first.")
    other = wave_not_released("11:00", why)
    assert a.kind == "wave_not_released" and a.key == again.key == "wave-15:00" != other.key
    assert a.detail.startswith("The 15:00 wave was not released on its own") and a.detail.endswith(why)
    assert a.data == {"cutoff": "15:00", "reason": why}
    assert UPDATED_BY["wave_not_released"] == "reason" and a.data["reason"] != again.data["reason"]
    assert wave_not_released("15:00", "  ").data["reason"] == "no reason given"


def test_a_wave_of_an_earlier_day_is_keyed_by_its_day_apart_from_todays_wave() -> None:
    day = dt.date(2026, 12, 4)
    a = wave_not_released("15:00", "its day has passed", day)
    assert a.key == "wave-2026-12-04-15:00" != wave_not_released("15:00", "x").key
    assert a.key != wave_not_released("15:00", "x", day + dt.timedelta(days=1)).key
    assert a.detail.startswith("The 15:00 wave of 2026-12-04 was not released on its own")
    assert a.data == {"cutoff": "15:00", "reason": "its day has passed", "date": "2026-12-04"}


# --- the settings and the minute's watch ----------------------------------------------


def test_the_two_alert_settings_are_read_and_checked(tmp_path) -> None:
    import pytest

    from backend.settings import SettingsError, load_settings

    base = {"LAADBAK_VAR_DIR": str(tmp_path), "LAADBAK_SECRET_KEY": "k"}
    default = load_settings(base)
    assert (default.alert_no_position_min, default.alert_still_min) == (5, 10)
    given = load_settings({**base, "LAADBAK_ALERT_NO_POSITION_MIN": "7", "LAADBAK_ALERT_STILL_MIN": "15"})
    assert (given.alert_no_position_min, given.alert_still_min) == (7, 15)
    for bad in ("0", "-3", "five", "2000"):
        with pytest.raises(SettingsError, match="LAADBAK_ALERT_STILL_MIN"):
            load_settings({**base, "LAADBAK_ALERT_STILL_MIN": bad})


def test_the_wave_release_period_is_read_and_checked(tmp_path) -> None:
    import pytest

    from backend.settings import SettingsError, load_settings

    base = {"LAADBAK_VAR_DIR": str(tmp_path), "LAADBAK_SECRET_KEY": "k"}
    assert load_settings(base).wave_release_every_s == 30.0
    assert load_settings({**base, "LAADBAK_WAVE_RELEASE_EVERY_S": "0"}).wave_release_every_s == 0.0  # off
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(SettingsError, match="LAADBAK_WAVE_RELEASE_EVERY_S"):
            load_settings({**base, "LAADBAK_WAVE_RELEASE_EVERY_S": bad})


async def test_the_watch_checks_every_period_with_the_contexts_clock(monkeypatch) -> None:
    import asyncio

    import backend.services.alerts as service

    now = dt.datetime(2026, 12, 4, 9, 30)
    heard: list[dt.datetime] = []
    pokes: list[int] = []

    async def check(ctx, at):
        heard.append(at)
        if len(heard) == 3:
            raise RuntimeError("a bad minute")  # logged; the next minute checks again
        return 1

    class Feed:
        async def poke(self) -> None:
            pokes.append(1)

    class Ctx:
        feed = Feed()

        def now(self) -> dt.datetime:
            return now

    monkeypatch.setattr(service, "check_alerts", check)
    watch = service.AlertWatch(Ctx(), every_s=0.01)  # type: ignore[arg-type]
    await watch.start()
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(heard) >= 5:
            break
    await watch.stop()
    assert len(heard) >= 5 and set(heard) == {now}
    assert len(pokes) >= 4  # each minute that raised something delivers it at once
