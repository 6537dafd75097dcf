"""True times (issue 15, part 1): what a courier, a dispatcher or a customer is shown is
the earliest schedule from where the courier is now, and a promise to a customer never
starts before their own window opens.

The failed-stop jump, as a user saw it: a courier fails a stop at 08:50; the next stop
(window 09:00-11:00) was due at 08:59 and showed 11:13, flagged late, until the next
delivery. Its cause: the re-plan after the failure timed the courier's route with the
engines' *tight* schedule (leave as late as still ends as early). On the road, locked
stops are kept "late rather than dropped" with their windows stretched to the end of the
day, so leaving late slid every stop before a later window (here 13:00) past its own
window's end.
"""

from __future__ import annotations

import random

import numpy as np

from backend.dispatch import earliest_plan, replan
from backend.dispatch.feasibility import check
from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.progress import Leg, eta_window, reschedule
from backend.dispatch.scheduling import tight_schedule
from backend.dispatch.windows import merge_windows

H = 3600
DAY_END = 24 * H - 1
NOW = 8 * H + 50 * 60  # the stop failed at 08:50


def _after_a_failed_stop() -> Problem:
    """Places: 0 the hub, 1 the failed stop (the courier stands there), 2 the next stop
    (09:00-11:00), 3 a later one (13:00-15:00); both locked to the courier as a live day
    keeps them: the window stretched to the day's end, its end a soft due time."""
    T = np.array(
        [
            [0, 900, 900, 900],
            [900, 0, 540, 1200],
            [900, 540, 0, 600],
            [900, 1200, 600, 0],
        ],
        dtype=np.int64,
    )
    stops = (
        Stop(id="next", kind="delivery", location=2, windows=(Window(9 * H, DAY_END),), service_s=120, due_s=11 * H),
        Stop(id="later", kind="delivery", location=3, windows=(Window(13 * H, DAY_END),), service_s=120, due_s=15 * H),
    )
    bike = Vehicle(id="v", start_location=1, end_location=0, shift=Window(NOW, DAY_END), payload_kg=100, volume_l=500)
    return Problem(time_s=T, dist_m=T, vehicles=(bike,), stops=stops)


def test_the_failed_stop_jump_is_gone_at_its_root() -> None:
    problem = _after_a_failed_stop()
    windows = [merge_windows(s.windows) for s in problem.stops]
    v = problem.vehicles[0]
    # The tight schedule no longer spends the stretch of a late-rather-than-dropped window:
    tight = tight_schedule(problem, v, [0, 1], windows)
    assert tight is not None
    assert tight.times[0][1] <= 11 * H  # served by its due time (it was 12:48, late)
    # What is shown is the earliest schedule from where the courier is now:
    result = replan(problem, {"v": ["next", "later"]}, time_limit_s=0.5)
    shown = earliest_plan(problem, result.plan)
    assert check(problem, shown) == []
    (route,) = shown.routes
    by_id = {ps.stop_id: ps for ps in route.stops}
    assert (by_id["next"].arrival_s, by_id["next"].start_s) == (NOW + 540, 9 * H)  # 08:59, served at 09:00
    assert by_id["later"].start_s == 13 * H  # waits only for its window
    assert route.start_s == NOW  # leaves now, from where the bike is
    assert by_id["later"].start_s <= 15 * H  # nothing late that can be on time


def _route(rng: random.Random, n: int) -> tuple[list[Leg], list[tuple[int, int, int]]]:
    """A planned route from 08:00 (legs) and its planned times (the same schedule)."""
    legs = []
    for _ in range(n):
        start = rng.randrange(8 * H, 16 * H, 900)
        legs.append(
            Leg(
                travel_s=rng.randrange(60, 1200),
                window_start=start,
                window_end=start + rng.choice((H, 2 * H, 4 * H)),
                service_s=rng.randrange(60, 300),
            )
        )
    planned = [(e.arrival, e.service_start, e.departure) for e in reschedule(8 * H, legs)]
    return legs, planned


def test_after_a_failed_stop_the_next_etas_move_earlier_or_stay_and_none_is_late_that_can_be_on_time() -> None:
    rng = random.Random(15)
    for _ in range(300):
        legs, planned = _route(rng, rng.randrange(2, 12))
        k = rng.randrange(len(legs) - 1)  # the stop that fails
        arrival, start, departure = planned[k]
        failed_at = rng.randrange(arrival, departure + 1)  # on the doorstep: by the planned departure
        rest = legs[k + 1 :]
        etas = reschedule(failed_at, rest)
        for eta, (p_arr, p_start, _), leg in zip(etas, planned[k + 1 :], rest, strict=True):
            assert eta.arrival <= p_arr and eta.service_start <= p_start  # never later without a cause
            assert eta.late == (eta.service_start > leg.window_end)
            # late only if riding on from the failed stop without any waiting cannot make it
            if eta.late:
                assert eta.service_start == eta.arrival > leg.window_end


def test_a_courier_who_is_held_up_moves_etas_later_only_by_the_delay() -> None:
    legs = [
        Leg(travel_s=600, window_start=9 * H, window_end=11 * H, service_s=120),
        Leg(travel_s=600, window_start=9 * H, window_end=10 * H, service_s=120),
    ]
    first, second = reschedule(9 * H + 50 * 60, legs)  # a cause: 09:50 before leaving
    assert (first.arrival, first.late) == (10 * H, False)
    assert (second.arrival, second.service_start, second.late) == (10 * H + 720, 10 * H + 720, True)


def test_the_expected_window_never_starts_before_the_customers_window() -> None:
    # the evening order of the issue: 18:00-22:00, the courier due 17:55 (waits) or 18:00
    for eta in (17 * H + 55 * 60, 18 * H, 18 * H + 20 * 60):
        for ahead in range(0, 12):
            start, end = eta_window(eta, ahead, 18 * H, 22 * H)
            assert 18 * H <= start < end <= 22 * H
            assert start % 300 == 0 or start == 18 * H
    rng = random.Random(7)
    for _ in range(2000):
        opens = rng.randrange(6 * H, 20 * H, 900)
        closes = opens + rng.choice((H, 2 * H, 4 * H))
        eta = rng.randrange(opens, closes + 2 * H)  # a service start: never before the window opens
        start, end = eta_window(eta, rng.randrange(0, 20), opens, closes)
        assert start >= opens and end > start
        assert start <= eta <= end  # the ETA is inside the promise ...
        if eta <= closes:
            assert end <= closes  # ... which ends with the window while on time
    # without a window, as before
    assert eta_window(10 * H, 0) == (10 * H - 600, 10 * H + 600)


def test_the_out_for_delivery_notice_promises_inside_the_customers_window() -> None:
    from backend.realtime.notifications import customer_notices

    evening = {
        "stopId": 1,
        "orderId": 9,
        "kind": "delivery",
        "status": "planned",
        "eta": "2026-11-23T17:20:00",  # the bike is there early ...
        "serviceStart": "2026-11-23T18:00:00",  # ... and waits for the window
        "windowStart": "2026-11-23T18:00:00",
        "windowEnd": "2026-11-23T22:00:00",
    }
    ((kind, payload),) = customer_notices([evening], started=True)
    (d,) = payload["deliveries"]
    assert kind == "order.out_for_delivery" and d["eta"] == evening["serviceStart"]
    assert "2026-11-23T18:00:00" <= d["windowStart"] <= d["eta"] <= d["windowEnd"] <= "2026-11-23T22:00:00"
    before = {**evening, "stopId": 0, "status": "delivered"}
    (_, soon), *_ = customer_notices([before, evening], started=False, done_stop=0)
    assert soon["eta"] == evening["serviceStart"]
