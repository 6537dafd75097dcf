"""The solver's share of a live re-plan's limit (backend/services/replan_budget.py)."""

from __future__ import annotations

import time

from backend.services.replan_budget import MAX_RESERVE_S, MIN_SOLVE_S, SAVE_RESERVE_S, Budget


def test_the_solver_gets_what_the_reading_left_less_the_reserve() -> None:
    budget = Budget()
    assert budget.reserve() == SAVE_RESERVE_S
    started = time.perf_counter() - 0.3  # the reading took 0.3 s
    assert budget.solve_limit(started, 0.8) <= 0.8 - 0.3 - SAVE_RESERVE_S
    # however long the reading took, the solver gets its minimum
    assert budget.solve_limit(time.perf_counter() - 5.0, 0.8) == MIN_SOLVE_S


def test_the_reserve_follows_the_time_after_recent_solves_within_bounds() -> None:
    budget = Budget()
    for _ in range(20):
        budget.learn(0.24)  # checking and saving took 0.24 s, again and again
    assert SAVE_RESERVE_S < budget.reserve() <= MAX_RESERVE_S
    assert abs(budget.reserve() - 0.3) < 0.01  # a quarter more than it takes
    started = time.perf_counter() - 0.2
    assert budget.solve_limit(started, 0.8) <= 0.8 - 0.2 - 0.29
    for _ in range(20):
        budget.learn(3.0)  # a stall: the reserve stops at its cap
    assert budget.reserve() == MAX_RESERVE_S
    for _ in range(40):
        budget.learn(0.0)
    assert budget.reserve() == SAVE_RESERVE_S  # and comes back down, never below the floor
