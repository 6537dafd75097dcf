"""What happens to a parcel after a failed delivery: the policy, pure.

``pickup_point``: the nearest pickup point that is open long enough today,
has room for the order's parcels and takes their size and weight; when none
does, a later try today; when none fits, back to the hub. ``retry``: a later
window today, else the hub. ``hub``: back to the hub.
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec

from backend.dispatch.model import Window
from backend.dispatch.point_limits import takes

Policy = Literal["pickup_point", "retry", "hub"]
POLICIES: tuple[str, ...] = ("pickup_point", "retry", "hub")
RETRY_AFTER_S = 60 * 60  # the customer is not home now; an hour later is a real second chance
MIN_OPEN_S = 30 * 60  # a pickup point must stay open this long after the courier can get there


class Point(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    lat: float
    lon: float
    open_today: tuple[Window, ...]  # empty when closed all day
    room: int  # parcels it can still take today
    max_weight_kg: float
    max_volume_l: float
    max_side_cm: float | None = None  # None: any length


class Parcel(msgspec.Struct, frozen=True, kw_only=True):
    weight_kg: float
    volume_l: float
    longest_cm: float | None = None  # None: not given


class NextStep(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["pickup_point", "retry", "hub"]
    point_id: int | None = None
    window: Window | None = None


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320, (a[1] - b[1]) * 111_320 * math.cos(lat))


def next_step(
    policy: Policy, at: tuple[float, float], parcels: list[Parcel], points: list[Point], now_s: int, day_end_s: int
) -> NextStep:
    """Where the parcels go next, by ``policy``; ``day_end_s``: the latest a courier delivers today."""
    if policy == "pickup_point":
        fitting = [
            p
            for p in points
            if p.room >= len(parcels)
            and all(
                takes(p.max_weight_kg, p.max_volume_l, p.max_side_cm, x.weight_kg, x.volume_l, x.longest_cm)
                for x in parcels
            )
        ]
        for p in sorted(fitting, key=lambda p: metres(at, (p.lat, p.lon))):
            window = next(
                (Window(max(w.start, now_s), w.end) for w in p.open_today if w.end - max(w.start, now_s) >= MIN_OPEN_S),
                None,
            )
            if window is not None:
                return NextStep(kind="pickup_point", point_id=p.id, window=window)
    if policy in ("pickup_point", "retry") and day_end_s - (now_s + RETRY_AFTER_S) >= MIN_OPEN_S:
        return NextStep(kind="retry", window=Window(now_s + RETRY_AFTER_S, day_end_s))
    return NextStep(kind="hub")
