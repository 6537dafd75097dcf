"""Loop numbers after a re-plan: goods on the bike stay on their loop, and a route of new
stops goes on with the loop being ridden (never a "loop 2" with no reload behind it)."""

from __future__ import annotations

from types import SimpleNamespace

from backend.dispatch.model import PlannedStop
from backend.services.replan_save import _loop_offset


def _planned(stop_id: str, loop: int = 1) -> PlannedStop:
    return PlannedStop(
        stop_id=stop_id, arrival_s=0, start_s=0, departure_s=0, load_kg=0, load_l=0, distance_m=0, loop=loop
    )


def _old(*stops: tuple[int, int]) -> dict[str, object]:
    return {"stops": [{"stop_id": sid, "loop": loop} for sid, loop in stops]}


def test_a_new_stop_first_on_a_one_loop_day_stays_on_loop_one() -> None:
    old = _old((1, 1), (2, 1), (3, 1))
    kept = [{"stop_id": 1, "loop": 1}]  # done
    new = SimpleNamespace(stops=[_planned("9"), _planned("2"), _planned("3")])
    assert _loop_offset(old, new, kept) == 0


def test_a_stop_on_the_bike_keeps_its_loop_whatever_comes_first() -> None:
    old = _old((1, 1), (2, 1), (5, 2), (6, 2))
    kept = [{"stop_id": 1, "loop": 1}, {"stop_id": 2, "loop": 1}]  # loop 1 done, back at the hub
    new = SimpleNamespace(stops=[_planned("9"), _planned("5"), _planned("6")])
    assert _loop_offset(old, new, kept) == 1  # the new route's loop 1 is the courier's loop 2


def test_new_stops_only_go_on_with_the_loop_ridden_and_count_their_reloads_from_there() -> None:
    old = _old((1, 1), (2, 2))
    kept = [{"stop_id": 1, "loop": 1}, {"stop_id": 2, "loop": 2}]
    new = SimpleNamespace(stops=[_planned("8", loop=1), _planned("9", loop=2)])
    assert _loop_offset(old, new, kept) == 1  # 8 on loop 2 (being ridden), 9 after a reload on loop 3


def test_no_route_before_counts_from_one() -> None:
    assert _loop_offset(None, SimpleNamespace(stops=[_planned("1")]), []) == 0
