"""After a failed delivery: pickup point, a later try, or back to the hub."""

import msgspec

from backend.dispatch.failed_stop import NextStep, Parcel, Point, next_step
from backend.dispatch.model import Window

H = 3600
HERE = (60.1650, 24.9380)
SMALL = [Parcel(weight_kg=2, volume_l=5)]


def _point(pid: int, dlat: float, *, room: int = 5, open_: tuple[int, int] = (8 * H, 20 * H), kg: float = 20) -> Point:
    return Point(
        id=pid,
        lat=HERE[0] + dlat,
        lon=HERE[1],
        open_today=(Window(*open_),),
        room=room,
        max_weight_kg=kg,
        max_volume_l=50,
    )


def test_the_nearest_open_point_with_room_that_takes_the_parcel() -> None:
    points = [
        _point(1, 0.010),
        _point(2, 0.001, room=0),
        _point(3, 0.002, kg=1),
        _point(4, 0.003),
        _point(5, 0.0005, open_=(8 * H, 14 * H + 20 * 60)),
    ]
    step = next_step("pickup_point", HERE, SMALL, points, now_s=14 * H, day_end_s=21 * H)
    # 2 is full, 3 takes only 1 kg, 5 closes within 30 minutes: 4 is the nearest that works
    assert step == NextStep(kind="pickup_point", point_id=4, window=Window(14 * H, 20 * H))


def test_no_point_fits_then_a_later_try_then_the_hub() -> None:
    full = [_point(1, 0.001, room=0)]
    assert next_step("pickup_point", HERE, SMALL, full, now_s=14 * H, day_end_s=21 * H) == NextStep(
        kind="retry", window=Window(15 * H, 21 * H)
    )
    assert next_step("pickup_point", HERE, SMALL, full, now_s=20 * H, day_end_s=21 * H) == NextStep(kind="hub")
    assert next_step("retry", HERE, SMALL, [_point(1, 0.001)], now_s=14 * H, day_end_s=21 * H).kind == "retry"
    assert next_step("hub", HERE, SMALL, [_point(1, 0.001)], now_s=14 * H, day_end_s=21 * H).kind == "hub"


def test_a_point_too_short_for_the_parcel_is_passed_by() -> None:
    near = msgspec.structs.replace(_point(1, 0.001), max_side_cm=60)
    far = _point(2, 0.005)  # no side limit
    long = [Parcel(weight_kg=2, volume_l=5, longest_cm=80)]
    step = next_step("pickup_point", HERE, long, [near, far], now_s=14 * H, day_end_s=21 * H)
    assert step.point_id == 2
    # Its length not given: the nearest takes it.
    assert next_step("pickup_point", HERE, SMALL, [near, far], now_s=14 * H, day_end_s=21 * H).point_id == 1
