"""Password hashing runs apart from the event loop, on all cores but one."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from backend import security


async def test_hashing_apart_answers_as_hashing_in_place() -> None:
    stored = await security.hash_password_apart("correct horse")
    assert security.verify_password("correct horse", stored)
    assert await security.verify_password_apart("correct horse", stored)
    assert not await security.verify_password_apart("wrong horse", stored)


async def test_a_crowd_of_logins_leaves_a_core_to_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def slow_verify(password: str, stored: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)  # stands in for scrypt, which lets go of the GIL as this does
        with lock:
            running -= 1
        return True

    monkeypatch.setattr(security, "verify_password", slow_verify)
    answers = await asyncio.gather(*(security.verify_password_apart("p", "s") for _ in range(12)))
    assert all(answers)
    assert most == security.HASHING_THREADS == max(1, (os.cpu_count() or 2) - 1)
