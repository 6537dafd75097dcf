"""Solver processes started at start-up, with the solvers imported (backend/dispatch/pool.py)."""

from __future__ import annotations

import sys

import pytest

from backend.dispatch.pool import new_pool, warm_pool
from backend.settings import SettingsError, load_settings


def _solvers_loaded() -> bool:
    return "pyvrp" in sys.modules and "backend.dispatch.portfolio" in sys.modules


def test_warming_starts_every_worker_with_the_solvers_loaded() -> None:
    pool = new_pool(2)
    try:
        for f in warm_pool(pool, 2):
            f.result(timeout=120)
        assert len(pool._processes) == 2  # started now, not at the first solves
        assert all(pool.submit(_solvers_loaded).result(timeout=60) for _ in range(4))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_warming_is_on_by_default_and_can_be_turned_off(tmp_path) -> None:
    base = {"LAADBAK_VAR_DIR": str(tmp_path), "LAADBAK_SECRET_KEY": "k"}
    assert load_settings(base).warm_solvers is True
    assert load_settings({**base, "LAADBAK_WARM_SOLVERS": "0"}).warm_solvers is False
    with pytest.raises(SettingsError, match="LAADBAK_WARM_SOLVERS"):
        load_settings({**base, "LAADBAK_WARM_SOLVERS": "sometimes"})
