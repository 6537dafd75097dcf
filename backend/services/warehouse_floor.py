"""A hub's floor for walking: its layout read from its bins, pick paths from
``backend/warehouse/routing.py`` and batches from ``backend/warehouse/batching.py``.

The layout is what the bins say: aisles 1 to the highest aisle with a bin, a bay
position per two bays (odd bays left, even right), the levels, front and back
cross aisles, the pack station at the head of aisle 1, zones as the bins name them.
A hub whose bins do not make such a floor (codes of another shape, a zone letter
changing inside an aisle) walks in S-shape order by aisle and bay instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from backend.warehouse import batching, routing
from backend.warehouse.layout import Layout, LocationError, Zone, check_layout, parse_location
from backend.warehouse.waves import Batcher, BatchOrder, Cart, WaveError

Path = Callable[[list[str]], list[str]]


def hub_layout(bins: dict[str, dict[str, Any]]) -> Layout | None:
    """The floor the hub's bins describe, or None when they describe none."""
    if not bins:
        return None
    zone_of: dict[int, str] = {}
    for b in bins.values():
        if zone_of.setdefault(b["aisle"], b["zone"]) != b["zone"]:
            return None
    aisles = max(zone_of)
    runs: list[Zone] = []
    last = "A"
    for aisle in range(1, aisles + 1):
        zone = zone_of.get(aisle, last)  # an aisle without bins goes with the one before it
        if runs and runs[-1].name == zone:
            runs[-1] = Zone(zone, runs[-1].first, aisle)
        else:
            runs.append(Zone(zone, aisle, aisle))
        last = zone
    layout = Layout(
        aisles=aisles,
        positions=math.ceil(max(b["bay"] for b in bins.values()) / 2),
        levels=max(b["level"] for b in bins.values()),
        depot_aisle=1,
        zones=() if [z.name for z in runs] == ["A"] else tuple(runs),
    )
    try:
        check_layout(layout)
        for code in bins:
            parse_location(layout, code)
    except (ValueError, LocationError):
        return None
    return layout


def s_shape_key(b: dict[str, Any]) -> tuple[Any, ...]:
    """Up the odd aisles, down the even ones: the walk without a layout."""
    up = b["aisle"] % 2 == 1
    return (b["zone"], b["aisle"], b["bay"] if up else -b["bay"], b["level"], b["code"])


def walking_path(bins: dict[str, dict[str, Any]]) -> Path:
    """Bin codes in walking order from the pack station and back (unknown codes last, by code)."""
    layout = hub_layout(bins)
    walk = routing.walking_order(layout) if layout is not None else None

    def path(codes: list[str]) -> list[str]:
        known = sorted({c for c in codes if c in bins})
        rest = sorted({c for c in codes if c not in bins})
        if walk is None or not known:
            return sorted(known, key=lambda c: s_shape_key(bins[c])) + rest
        return walk(known) + rest

    return path


def batcher_for(bins: dict[str, dict[str, Any]], path: Path) -> Batcher:
    """The batcher ``plan_batches`` calls: ``make_batches`` on the hub's floor; without a
    floor, carts filled first-fit in walking order. (An order larger than a cart never comes
    here: ``plan_batches`` sends it alone, in trips that each fit the cart.)"""
    layout = hub_layout(bins)
    batch = batching.batcher(layout) if layout is not None else None

    def batcher(orders: list[BatchOrder], cart: Cart) -> list[list[int]]:
        if batch is None:
            return first_fit(path)(orders, cart)
        try:
            made = batch(orders, cart) if orders else []
        except batching.BatchError as e:
            raise WaveError(f"The orders cannot be batched: {e}.") from None
        return [[int(str(i)) for i in b] for b in made]

    return batcher


def first_fit(path: Path) -> Batcher:
    """Orders in the walking order of their first bin, filled into carts up to the cart's totes."""

    def batcher(orders: list[BatchOrder], cart: Cart) -> list[list[int]]:
        rank = {b: i for i, b in enumerate(path(sorted({loc for o in orders for loc in o.locations})))}
        batches: list[list[int]] = []
        room = 0
        for o in sorted(orders, key=lambda o: (min(rank[loc] for loc in o.locations), o.id)):
            if batches and o.totes <= room:
                batches[-1].append(o.id)
                room -= o.totes
            else:
                batches.append([o.id])
                room = cart.totes - o.totes
        return batches

    return batcher
