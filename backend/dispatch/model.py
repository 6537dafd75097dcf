"""The planning problem and its answer, as plain frozen Structs.

Everything here is picklable (it crosses into the solver's process pool) and
free of web or database types. Units are integers where the solver needs them:
seconds since midnight of the planned day, metres; loads are floats in kg and
litres and are scaled by the solver.

A problem is matrix-based: every place is an index into ``time_s`` and
``dist_m`` (square, row = from, column = to). Travel time for a vehicle is the
matrix time divided by its ``speed_factor``. The matrices may also be 2-D
integer numpy arrays: for a big day (thousands of places) they are much
cheaper to build, to pickle into the solver's pool and for the solver to read
than lists of lists; the plans are the same.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

StopKind = Literal["pickup", "delivery"]


class Window(msgspec.Struct, frozen=True):
    """A closed interval [start, end] of seconds since midnight."""

    start: int
    end: int

    def contains(self, t: int) -> bool:
        return self.start <= t <= self.end


class Stop(msgspec.Struct, frozen=True, kw_only=True):
    """One visit: collect goods (pickup) or hand them over (delivery).

    ``windows`` are the allowed times to *start service* (the intersection of
    a customer window with opening hours, computed upstream); empty means any
    time within the shift. A delivery's own ``weight_kg``/``volume_l`` is
    loaded at the vehicle's start hub. A delivery with pickups also hands over
    what they collected; it must be on the same vehicle as each of them and
    after them (several shops to one door).
    A pickup that no delivery names is brought back to the end hub (returns).
    ``vehicles`` restricts which vehicles may serve it (locks, hub of the
    shift); empty means any.
    """

    id: str
    kind: StopKind
    location: int
    windows: tuple[Window, ...] = ()
    service_s: int = 0
    weight_kg: float = 0.0
    volume_l: float = 0.0
    pickups: tuple[str, ...] = ()
    vehicles: tuple[str, ...] = ()
    # Service should start by then; later (still within ``windows``) is allowed
    # but costs LATE_COST_PER_S a second. For stops that must not be dropped
    # when they can no longer be on time (goods on a bike, a courier behind).
    due_s: int | None = None


class Vehicle(msgspec.Struct, frozen=True, kw_only=True):
    """A courier on a bike for one shift."""

    id: str
    start_location: int
    end_location: int
    shift: Window
    payload_kg: float
    volume_l: float
    max_distance_m: int | None = None
    speed_factor: float = 1.0
    fixed_cost: int = 0
    # Several loops a shift: None, one loop (everything loaded at the start); else the
    # bike may come back to its hub between stops to reload, which takes this many
    # seconds there (unload returns, load the next loop). Capacity holds per loop.
    reload_s: int | None = None
    max_reloads: int | None = None  # None: as many reloads as the shift allows
    # where it reloads: its hub (None: ``start_location``; a live re-plan starts the
    # bike where it is, so the hub is named)
    reload_location: int | None = None

    @property
    def reload_place(self) -> int:
        return self.start_location if self.reload_location is None else self.reload_location


class Sequence(msgspec.Struct, frozen=True, kw_only=True):
    """An order of stops a dispatcher pinned on one courier.

    Every stop of ``stops`` that is planned is on ``vehicle`` and they are
    visited in this relative order; other stops may come between them. A stop
    may be in one sequence only. Ids the problem does not have are ignored
    (done or withdrawn stops drop out of a pin by themselves). A pinned stop
    that cannot be served in its place is reported unplanned
    (``pinned_order``; ``no_vehicle`` when ``vehicle`` may not serve it or is
    not in the problem).
    """

    vehicle: str
    stops: tuple[str, ...]


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    # Square, row = from; a list of rows or a 2-D integer numpy array.
    time_s: Any
    dist_m: Any
    vehicles: tuple[Vehicle, ...]
    stops: tuple[Stop, ...]
    # What the solver minimises: travel time or distance, plus vehicle fixed costs.
    cost: Literal["time", "distance"] = "time"
    # Pinned orders of stops on one courier each (see Sequence).
    sequences: tuple[Sequence, ...] = ()


class PlannedStop(msgspec.Struct, frozen=True, kw_only=True):
    stop_id: str
    arrival_s: int  # when the bike gets there
    start_s: int  # when service starts (after waiting for the window)
    departure_s: int
    load_kg: float  # on board after this stop
    load_l: float
    distance_m: int  # from the start of the route up to this stop
    loop: int = 1  # which loop of the route (1 = loaded at the start; 2 after the first reload...)


class Reload(msgspec.Struct, frozen=True, kw_only=True):
    """A visit of the bike's hub (``Vehicle.reload_place``) between two loops: back, reload, out again.

    It starts loop ``loop`` (2 for the first reload): it comes after the last stop
    of loop ``loop - 1`` and before the first of loop ``loop``. The load on board
    when it leaves is what loop ``loop`` hands over.
    """

    loop: int
    arrival_s: int  # back at the hub
    start_s: int  # reloading starts (on arrival)
    departure_s: int  # out again: start_s + the vehicle's reload_s at least
    load_kg: float  # on board when it leaves
    load_l: float
    distance_m: int  # from the start of the route up to the hub


class Route(msgspec.Struct, frozen=True, kw_only=True):
    vehicle_id: str
    stops: tuple[PlannedStop, ...]
    start_s: int
    end_s: int
    distance_m: int
    duration_s: int
    # the visits of the hub between loops, in order (empty: a single loop)
    reloads: tuple[Reload, ...] = ()


UnplannedReason = Literal[
    "too_heavy",  # larger than any bike: heavier than any bike that may carry it (in one loop)
    "too_big",  # larger than any bike: more volume than any bike that may carry it (in one loop)
    "window_unreachable",  # no bike can be there within its window and get back in its shift
    "beyond_range",  # a round trip exceeds the battery range of every bike
    "no_vehicle",  # no vehicle is allowed to serve it
    "pickup_unplanned",  # a pickup it depends on could not be planned
    "no_capacity",  # feasible alone, but no room left in the plan
    "pinned_order",  # cannot be served in the order pinned on its courier
    "zone_window",  # in a loading zone whose windows do not meet its own window
    "street_closed",  # street closures leave no open street within reach of it
]


class Unplanned(msgspec.Struct, frozen=True, kw_only=True):
    stop_id: str
    reason: UnplannedReason
    detail: str


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    routes: tuple[Route, ...]
    unplanned: tuple[Unplanned, ...]
    cost: int
    distance_m: int
    duration_s: int
    solve_s: float
    status: str  # solver status in words, e.g. "feasible", "optimal", "no solution"
    engine: str = "ortools"  # which engine made it: "ortools" or "pyvrp" (see portfolio)


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    """One broken rule found by the feasibility checker."""

    rule: Literal[
        "unknown_stop",
        "duplicate_stop",
        "missing_stop",
        "wrong_vehicle",
        "pickup_delivery",
        "window",
        "shift",
        "payload",
        "volume",
        "range",
        "timing",
        "sequence",
        "reload",
    ]
    vehicle_id: str | None
    stop_id: str | None
    detail: str
