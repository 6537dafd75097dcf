"""Stop states and ETAs from real progress. Pure: plain values in, plain values out."""

from __future__ import annotations

from typing import Literal

import msgspec

Action = Literal["arrive", "deliver", "fail", "collect"]
DONE = frozenset({"delivered", "failed", "collected"})

# (stop kind, action) -> states it may start from, and the state it leads to.
_TRANSITIONS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("delivery", "arrive"): (frozenset({"planned"}), "arrived"),
    ("pickup", "arrive"): (frozenset({"planned"}), "arrived"),
    ("delivery", "deliver"): (frozenset({"planned", "arrived"}), "delivered"),
    ("delivery", "fail"): (frozenset({"planned", "arrived"}), "failed"),
    ("pickup", "collect"): (frozenset({"planned", "arrived"}), "collected"),
    ("pickup", "fail"): (frozenset({"planned", "arrived"}), "failed"),
}


class IllegalTransition(ValueError):
    pass


def next_state(kind: str, status: str, action: Action) -> str:
    """The stop's state after ``action``; IllegalTransition says why not."""
    rule = _TRANSITIONS.get((kind, action))
    if rule is None:
        verb = {"deliver": "delivered", "collect": "collected"}.get(action, action)
        raise IllegalTransition(f"A {kind} stop cannot be {verb}.")
    allowed, target = rule
    if status not in allowed:
        raise IllegalTransition(f"This stop is already {status}; it cannot be {target} now.")
    return target


class Leg(msgspec.Struct, frozen=True, kw_only=True):
    """One remaining stop as planned: travel from the previous stop, window, service."""

    travel_s: int
    window_start: int
    window_end: int
    service_s: int


class Eta(msgspec.Struct, frozen=True, kw_only=True):
    arrival: int
    service_start: int
    departure: int
    late: bool


def reschedule(now: int, legs: list[Leg], at_stop: bool = False) -> list[Eta]:
    """ETAs of the remaining stops, riding from ``now`` (seconds since midnight).

    ``at_stop``: the courier stands at the first stop already (arrived), so its
    travel is done. Waiting for a window start is kept; a stop is late when its
    service would start after its window.
    """
    out: list[Eta] = []
    t = now
    for i, leg in enumerate(legs):
        arrival = t if (i == 0 and at_stop) else t + leg.travel_s
        start = max(arrival, leg.window_start)
        departure = start + leg.service_s
        out.append(Eta(arrival=arrival, service_start=start, departure=departure, late=start > leg.window_end))
        t = departure
    return out


def eta_window(eta_s: int, stops_ahead: int) -> tuple[int, int]:
    """The window promised to a customer around an ETA: wide early in the day,
    narrowing as the courier gets closer (fewer stops ahead), on 5-minute marks."""
    half = min(60, max(10, 5 + 5 * stops_ahead)) * 60
    start = (eta_s - half) // 300 * 300
    end = -(-(eta_s + half) // 300) * 300
    return start, end
