"""Same-day orders: the cut-off and the next slot to offer."""

from backend.dispatch.calendar import SAME_DAY_LEAD_S, next_slot, same_day_open

H = 3600


def test_a_same_day_order_is_taken_only_with_the_lead_time_left() -> None:
    assert same_day_open(17 * H, 15 * H)
    assert same_day_open(17 * H, 17 * H - SAME_DAY_LEAD_S)
    assert not same_day_open(17 * H, 17 * H - SAME_DAY_LEAD_S + 1)


def test_the_next_slot_is_today_while_one_is_open_then_tomorrow_morning() -> None:
    assert next_slot(9 * H) == (0, "morning")
    assert next_slot(11 * H + 1) == (0, "afternoon")
    assert next_slot(16 * H + 30 * 60) == (0, "evening")
    assert next_slot(21 * H + 1) == (1, "morning")
