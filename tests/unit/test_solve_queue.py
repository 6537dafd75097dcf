"""Several processes (docs/jobs.md): solve calls sealed for the job queue, and the settings and
commands that refuse a set-up that cannot share a day (a solve run by a SAQ worker: tests/api/test_solve_queue.py)."""

from __future__ import annotations

import operator

import numpy as np
import pytest

from backend.cli import main
from backend.dispatch.shared_matrix import Block
from backend.jobs.solve_queue import seal, unseal
from backend.realtime.positions import PositionStore
from backend.settings import SettingsError, load_settings
from backend.solver_worker import refusal

PG = "postgresql://postgres@127.0.0.1:5432/laadbak"


def test_a_sealed_call_opens_with_the_same_key_only() -> None:
    call = (operator.add, (2, 3), {})
    fn, args, kwargs = unseal("key-1", seal("key-1", call))
    assert fn(*args, **kwargs) == 5
    with pytest.raises(ValueError, match="LAADBAK_SECRET_KEY"):
        unseal("key-2", seal("key-1", call))
    sealed = bytearray(seal("key-1", call).encode())
    sealed[-4] = ord("A") if sealed[-4] != ord("A") else ord("B")  # one byte of the pickle changed
    with pytest.raises(ValueError):
        unseal("key-1", sealed.decode())


def test_a_shared_matrix_travels_by_value_not_by_this_hosts_block_name() -> None:
    block = Block(3)
    try:
        block.array[:] = np.arange(9).reshape(3, 3)
        name = block.name
        opened = unseal("k", seal("k", {"m": block.array}))["m"]
        block.array[0, 0] = 99  # the copy sent is not a view of the block
        assert opened.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
        assert type(opened) is np.ndarray
        if name is not None:  # on a host with /dev/shm, the block's name is not in what was sent
            assert name.encode() not in __import__("base64").b64decode(seal("k", block.array))
    finally:
        block.release()


def test_the_solver_queue_needs_redis_and_postgresql() -> None:
    env = {"LAADBAK_SECRET_KEY": "k", "LAADBAK_SOLVER_QUEUE": "1"}
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(env)
    with pytest.raises(SettingsError, match="PostgreSQL"):
        load_settings({**env, "REDIS_URL": "redis://127.0.0.1:6379/0"})
    settings = load_settings({**env, "REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": PG})
    assert settings.solver_queue and settings.jobs_queue == "laadbak-jobs"
    assert not load_settings({"LAADBAK_SECRET_KEY": "k"}).solver_queue  # the SQLite demo stays one process
    assert refusal(load_settings({"LAADBAK_SECRET_KEY": "k"})) is not None
    assert refusal(settings) is None


def test_serve_with_several_workers_and_a_worker_refuse_sqlite(monkeypatch, capsys) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("LAADBAK_SECRET_KEY", "k")
    assert main(["serve", "--workers", "3"]) == 2
    assert "PostgreSQL and Redis" in capsys.readouterr().err
    assert main(["serve", "--workers", "0"]) == 2
    assert main(["worker"]) == 2
    assert "REDIS_URL" in capsys.readouterr().err
    assert main(["bench", "ws", "--processes", "3"]) == 2
    assert "--postgres" in capsys.readouterr().err


def test_a_process_hears_where_the_couriers_of_other_processes_are() -> None:
    heard = PositionStore()  # a solver worker's, or a serving process's for phones on another
    heard.hear(1, {"type": "position", "courierId": 7, "hubId": 1, "lat": 60.1, "lon": 24.9})
    heard.hear(1, {"type": "position", "courierId": 7, "hubId": 1, "lat": 60.2, "lon": 24.8})
    heard.hear(1, {"type": "position", "hubId": 1, "lat": 0.0, "lon": 0.0})  # no courier: not kept
    assert heard.places() == {7: (60.2, 24.8)}
    assert heard.last(7)["lat"] == 60.2 and heard.last(8) is None
