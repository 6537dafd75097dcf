"""backend/aio.py: stopping a loop always ends it, and waiting on an event never eats a cancel."""

from __future__ import annotations

import asyncio

import pytest

from backend.aio import cancel_and_wait, wait_set


async def test_a_task_that_swallows_a_cancel_is_cancelled_again_until_it_ends() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed >= 2:
                    raise
                swallowed += 1  # as wait_for on Python 3.11 may do

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task, None], again_every_s=0.01), 5)
    assert task.cancelled() and swallowed == 2


async def test_what_a_stopped_task_raised_is_retrieved() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await cancel_and_wait([task])
    assert task.done() and isinstance(task.exception(), RuntimeError)


async def test_wait_set_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_set(event, 5) is True


async def test_a_cancel_while_waiting_is_not_lost_even_as_the_event_is_set() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_set(event, 5))
    await asyncio.sleep(0)
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
