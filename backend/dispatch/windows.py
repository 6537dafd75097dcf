"""Time windows, travel times and the units the engines count in (pure helpers)."""

from __future__ import annotations

import functools
import gc
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from backend.dispatch.model import (
    Window,
)

GRAMS_PER_KG = 1000
DL_PER_L = 10
BIG = 1 << 40  # "unlimited" for capacities, comfortably inside int64 sums


# merged service-start windows of one stop, sorted and disjoint; [] = any time
Windows = list[tuple[int, int]]

_F = TypeVar("_F", bound=Callable[..., Any])


def without_gc(fn: _F) -> _F:
    """Run ``fn`` with the cyclic garbage collector paused.

    A live problem holds its matrices as millions of Python ints in lists; every
    full collection walks them (tens of milliseconds, several times per solve
    as the model build allocates). What a solve allocates is freed by reference
    counting; collection resumes afterwards.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper  # type: ignore[return-value]


def cell(matrix: Any) -> Callable[[int, int], int]:
    """``matrix[a][b]`` as a Python int, fast: a numpy matrix's ``item`` (``m[a][b]`` made a row
    view of the shared matrix and a numpy scalar per leg, most of a re-plan's scheduling time);
    a list of lists indexed as it is."""
    if isinstance(matrix, np.ndarray):
        return matrix.item
    return lambda a, b: matrix[a][b]


def travel_time(time_s: int, speed_factor: float) -> int:
    """Travel time of a bike with ``speed_factor`` over a matrix time (rounded half up)."""
    if speed_factor == 1.0:
        return int(time_s)
    return math.floor(time_s / speed_factor + 0.5)


def scaled(value: float, unit: int) -> int:
    if math.isinf(value) or value * unit >= BIG:
        return BIG
    return round(value * unit)


def scaled_capacity(value: float, unit: int) -> int:
    """A capacity in whole ``unit``s, rounded down: a bike of 74.5667 L holds 745 dL, not the
    746 that rounding gives (a 74.6 L load would pass the model and break the checker's rule)."""
    if math.isinf(value) or value * unit >= BIG:
        return BIG
    return math.floor(value * unit + 1e-9)


def merge_windows(windows: tuple[Window, ...]) -> list[tuple[int, int]]:
    if len(windows) == 1:  # most stops: called for every stop of every route a re-plan times
        (w,) = windows
        return [(w.start, w.end)] if w.end >= w.start else []
    out: list[tuple[int, int]] = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        if w.end < w.start:
            continue
        if out and w.start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], w.end))
        else:
            out.append((w.start, w.end))
    return out


def earliest_start(windows: list[tuple[int, int]], t: int) -> int | None:
    """Earliest service start >= t inside one of the merged windows (None if none)."""
    if not windows:
        return t
    for a, b in windows:
        if t <= b:
            return max(t, a)
    return None


def latest_start(windows: list[tuple[int, int]], t: int) -> int | None:
    """Latest service start <= t inside one of the merged windows (None if none)."""
    if not windows:
        return t
    for a, b in reversed(windows):
        if t >= a:
            return min(t, b)
    return None
