from __future__ import annotations

import pytest

from backend.dispatch.progress import IllegalTransition, Leg, next_state, reschedule


@pytest.mark.parametrize(
    ("kind", "status", "action", "after"),
    [
        ("delivery", "planned", "arrive", "arrived"),
        ("delivery", "planned", "deliver", "delivered"),
        ("delivery", "arrived", "deliver", "delivered"),
        ("delivery", "arrived", "fail", "failed"),
        ("pickup", "planned", "collect", "collected"),
        ("pickup", "arrived", "fail", "failed"),
    ],
)
def test_legal_transitions(kind: str, status: str, action: str, after: str) -> None:
    assert next_state(kind, status, action) == after  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "status", "action", "words"),
    [
        ("delivery", "failed", "deliver", "already failed"),
        ("delivery", "delivered", "fail", "already delivered"),
        ("delivery", "arrived", "arrive", "already arrived"),
        ("delivery", "planned", "collect", "cannot be collected"),
        ("pickup", "planned", "deliver", "cannot be delivered"),
        ("pickup", "collected", "collect", "already collected"),
    ],
)
def test_illegal_transitions_say_why(kind: str, status: str, action: str, words: str) -> None:
    with pytest.raises(IllegalTransition, match=words):
        next_state(kind, status, action)  # type: ignore[arg-type]


def test_reschedule_waits_for_windows_and_flags_late_stops() -> None:
    legs = [
        Leg(travel_s=600, window_start=0, window_end=10_000, service_s=120),
        Leg(travel_s=300, window_start=5_000, window_end=6_000, service_s=60),  # waits
        Leg(travel_s=300, window_start=0, window_end=5_500, service_s=60),  # too late
    ]
    first, second, third = reschedule(3_000, legs)
    assert (first.arrival, first.service_start, first.departure) == (3_600, 3_600, 3_720)
    assert (second.arrival, second.service_start, second.departure) == (4_020, 5_000, 5_060)
    assert third.arrival == 5_360 and not third.late
    late = reschedule(5_500, legs)
    assert [e.late for e in late] == [False, True, True]


def test_reschedule_at_a_stop_skips_its_travel() -> None:
    legs = [Leg(travel_s=900, window_start=0, window_end=99_999, service_s=100)]
    assert reschedule(1_000, legs, at_stop=True)[0].arrival == 1_000
    assert reschedule(1_000, legs)[0].arrival == 1_900
