"""Figures for the benches' JSON: percentiles, medians, milliseconds, counts."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterable
from pathlib import Path


def pct(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank), rounded to 0.1; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return round(ordered[k], 1)


def top(values: list[float]) -> float | None:
    """The largest value, rounded to 0.1; None without values."""
    return round(max(values), 1) if values else None


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are there, rounded to 0.001."""
    clean = [v for v in values if v is not None]
    return round(statistics.median(clean), 3) if clean else None


def ms(a: float, b: float) -> float:
    """Milliseconds from monotonic time ``a`` to ``b``."""
    return round((b - a) * 1000, 1)


def ratio(value: float | None, target: float, digits: int) -> float | None:
    """``value / target`` rounded, or None when there is no value."""
    return round(value / target, digits) if value is not None else None


def count(keys: Iterable[str]) -> dict[str, int]:
    """How often each key occurs, in the order first seen."""
    out: dict[str, int] = {}
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return out


def add_counts(into: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """``into`` with the counts of ``more`` added (in place)."""
    for key, n in more.items():
        into[key] = into.get(key, 0) + n
    return into


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
