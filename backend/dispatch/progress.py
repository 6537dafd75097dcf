"""Stop states and ETAs from real progress. Pure: plain values in, plain values out."""

from __future__ import annotations

from typing import Literal

import msgspec
import numpy as np

from backend.dispatch.model import Problem, Stop, Vehicle, Window
from backend.dispatch.scheduling import schedule

Action = Literal["arrive", "deliver", "fail", "collect"]
DONE = frozenset({"delivered", "failed", "collected"})
# "open until late": a remaining stop past its window is still served (and flagged late)
BIG_S = 1 << 40

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

    The remaining stops are timed by the one schedule of a route
    (:func:`~backend.dispatch.scheduling.schedule`) over the legs the route keeps
    (each leg's travel is the matrices' time from the stop before it): arrive as
    early as the route allows, wait only for a window. ``at_stop``: the courier
    stands at the first stop already (arrived), so its travel is done. A stop is
    late when its service would start after its window; it is then served on
    arrival.
    """
    if not legs:
        return []
    n = len(legs)
    # a chain: place 0 is where the courier is now, place i the i-th remaining stop
    T = np.zeros((n + 2, n + 2), dtype=np.int64)
    for i, leg in enumerate(legs):
        T[i][i + 1] = 0 if (i == 0 and at_stop) else leg.travel_s
    problem = Problem(
        time_s=T,
        dist_m=T,
        vehicles=(),
        stops=tuple(
            Stop(
                id=str(i),
                kind="delivery",
                location=i + 1,
                windows=(Window(leg.window_start, BIG_S),),
                service_s=leg.service_s,
            )
            for i, leg in enumerate(legs)
        ),
    )
    bike = Vehicle(id="now", start_location=0, end_location=n + 1, shift=Window(now, BIG_S), payload_kg=0, volume_l=0)
    sched = schedule(problem, bike, range(n), departure=now, late=True)
    assert sched is not None  # late=True always answers
    return [
        Eta(arrival=arr, service_start=st, departure=dep, late=st > leg.window_end)
        for (arr, st, dep), leg in zip(sched.times, legs, strict=True)
    ]


def eta_window(eta_s: int, stops_ahead: int, opens: int | None = None, closes: int | None = None) -> tuple[int, int]:
    """The window promised to a customer around an ETA (best: the service start): wide
    early in the day, narrowing as the courier gets closer (fewer stops ahead), on
    5-minute marks. ``opens``/``closes``: the customer's own window. The promise never
    starts before it opens (a courier who is early waits), nor ends after it closes
    while the ETA is inside it."""
    half = min(60, max(10, 5 + 5 * stops_ahead)) * 60
    start = (eta_s - half) // 300 * 300
    end = -(-(eta_s + half) // 300) * 300
    if opens is not None:
        start = max(start, opens)
        end = max(end, start + 300)
    if closes is not None and eta_s <= closes:
        end = max(min(end, closes), start + 1)
    return start, end
