"""The map bench's figures from what was sent and what the page saw (plain values in and out).

- Frames: the deltas between ``requestAnimationFrame`` callbacks in the page, in ms.
- Position to marker: for every position a courier sent (courier id, lat, lon, wall-clock ms
  just before sending), the first time the page's marker of that courier showed that place
  (``data-pos="<lat>,<lon>"`` with 6 decimals, seen by a MutationObserver, wall-clock ms).
  The page and the senders run on one machine: one clock.
"""

from __future__ import annotations

import bisect
from typing import Any

from backend.bench.harness.stats import count, pct, ratio, top

TARGETS = {
    "mean_frame_ms": 16.0,
    "longest_frame_ms": 100.0,
    "p95_position_to_marker_ms": 500.0,
}

# A marker seen a little before the sender's clock reading is the same clock read twice
# (the send and the observation race within a millisecond or two): allowed, counted as 0.
SKEW_MS = 5.0


def place_key(lat: float, lon: float) -> tuple[int, int]:
    """A place at 6 decimals, as integers (no float comparison)."""
    return round(lat * 1e6), round(lon * 1e6)


def parse_pos(text: str) -> tuple[int, int] | None:
    """``"52.370216,4.895168"`` → its place key; None for anything else."""
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        return None
    return place_key(lat, lon)


def position_latencies(
    sent: list[tuple[int, float, float, float]], seen: list[tuple[str, str, float]]
) -> tuple[list[float], int]:
    """Milliseconds from each sent position to its marker (sent order), and how many never showed.

    ``sent``: ``(courier_id, lat, lon, t_ms)``; ``seen``: ``(courier_id as text, data-pos, t_ms)``.
    """
    each = first_seen(sent, seen)
    return [x for x in each if x is not None], sum(1 for x in each if x is None)


def first_seen(sent: list[tuple[int, float, float, float]], seen: list[tuple[str, str, float]]) -> list[float | None]:
    """Per sent position (in order) the ms until it was first seen, None when it never was."""
    shown: dict[tuple[int, tuple[int, int]], list[float]] = {}
    for courier, pos, t in seen:
        key = parse_pos(pos)
        if key is None or not str(courier).isdigit():
            continue
        shown.setdefault((int(courier), key), []).append(t)
    for times in shown.values():
        times.sort()
    out: list[float | None] = []
    for courier_id, lat, lon, t_sent in sent:
        times = shown.get((courier_id, place_key(lat, lon)), [])
        i = bisect.bisect_left(times, t_sent - SKEW_MS)
        out.append(max(0.0, times[i] - t_sent) if i < len(times) else None)
    return out


def split(
    sent: list[tuple[int, float, float, float]],
    arrived: list[tuple[str, str, float]],
    seen: list[tuple[str, str, float]],
) -> dict[str, dict[str, float | None]]:
    """Position to marker in two parts: sent → the hub stream's batch in the page (server,
    its batching, network), and that batch → the marker (the page's own part)."""
    to_socket = first_seen(sent, arrived)
    to_marker = first_seen(sent, seen)
    server = [x for x in to_socket if x is not None]
    page = [m - s for s, m in zip(to_socket, to_marker, strict=True) if s is not None and m is not None]
    return {
        "sent_to_socket": {"p50_ms": pct(server, 50), "p95_ms": pct(server, 95), "max_ms": top(server)},
        "socket_to_marker": {"p50_ms": pct(page, 50), "p95_ms": pct(page, 95), "max_ms": top(page)},
    }


def frame_figures(deltas: list[float], vsync_ms: float = 1000 / 60, busy_ms: float | None = None) -> dict[str, Any]:
    """The frames: how many, their intervals (mean, p95, longest, how many longer than 50 ms, the
    display refreshes missed: an interval of k refreshes missed k - 1) and, given how long the
    page's main thread was busy over them (``busy_ms``), its work per frame.

    A frame's interval cannot be shorter than the display's refresh (16.7 ms at 60 Hz), so the
    mean interval of a page that never misses one is 16.7 ms; what a frame costs the page is
    its main thread's work per frame, which is what the 16 ms budget is about."""
    return {
        "frames": len(deltas),
        "mean_ms": round(sum(deltas) / len(deltas), 2) if deltas else None,
        "work_per_frame_ms": round(busy_ms / len(deltas), 2) if deltas and busy_ms is not None else None,
        "p95_ms": pct(deltas, 95),
        "longest_ms": top(deltas),
        "over_50ms": sum(1 for d in deltas if d > 50),
        "refreshes_missed": sum(max(0, round(d / vsync_ms) - 1) for d in deltas),
    }


def summary(frames: dict[str, Any], latencies: list[float]) -> dict[str, dict[str, float | None]]:
    """Each figure beside its target and its ratio to the target (below 1 is within it): the
    mean frame is the main thread's work per frame (see :func:`frame_figures`)."""
    values = {
        "mean_frame_ms": frames.get("work_per_frame_ms"),
        "longest_frame_ms": frames["longest_ms"],
        "p95_position_to_marker_ms": pct(latencies, 95),
    }
    return {
        name: {"value": value, "target": TARGETS[name], "ratio": ratio(value, TARGETS[name], 3)}
        for name, value in values.items()
    }


def latency_figures(latencies: list[float], sent: int, missed: int) -> dict[str, Any]:
    """p50, p95 and the longest of position-to-marker, with how many were sent and matched."""
    return {
        "sent": sent,
        "matched": len(latencies),
        "missed": missed,
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "max_ms": top(latencies),
    }


def long_task_figures(
    tasks: list[tuple[float, float]],
    events: list[tuple[float, str]],
    origin_ms: float = 0.0,
    before_ms: float = 1000.0,
    top_n: int = 5,
) -> dict[str, Any]:
    """How many long tasks, the longest, and the longest few each with when it started (s after
    ``origin_ms``) and the hub events that arrived in the ``before_ms`` before it."""
    longest = sorted(tasks, key=lambda t: -t[1])[:top_n]
    return {
        "count": len(tasks),
        "longest_ms": round(longest[0][1], 1) if longest else None,
        "longest": [
            {
                "ms": round(duration, 1),
                "at_s": round((start - origin_ms) / 1000, 1),
                "after_events": count(kind for t, kind in events if start - before_ms <= t <= start),
            }
            for start, duration in longest
        ],
    }
