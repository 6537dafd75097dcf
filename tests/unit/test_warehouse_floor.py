"""A hub's floor read from its bins: the layout, the walking path and the batcher the
warehouse services hand to the core."""

from __future__ import annotations

from typing import Any

import pytest

from backend.services.warehouse_floor import batcher_for, hub_layout, walking_path
from backend.warehouse.waves import BatchOrder, Cart, WaveError


def _bins(aisles: int, bays: int, zone: str = "A", levels: int = 1, first: int = 1) -> dict[str, dict[str, Any]]:
    out = {}
    for a in range(first, first + aisles):
        for b in range(1, bays + 1):
            for lv in range(1, levels + 1):
                code = f"{zone}{a:02d}-{b:02d}-{lv}"
                out[code] = {"code": code, "zone": zone, "aisle": a, "bay": b, "level": lv}
    return out


def test_the_layout_is_what_the_bins_describe() -> None:
    layout = hub_layout(_bins(3, 9, levels=2))
    assert layout is not None
    assert (layout.aisles, layout.positions, layout.levels, layout.blocks, layout.zones) == (3, 5, 2, 1, ())
    zoned = {**_bins(2, 4), **_bins(2, 4, zone="B", first=3)}
    layout = hub_layout(zoned)
    assert layout is not None and [(z.name, z.first, z.last) for z in layout.zones] == [("A", 1, 2), ("B", 3, 4)]


def test_bins_that_make_no_floor_walk_in_s_shape() -> None:
    bins = _bins(2, 4)
    bins["A01-02-1"] = {**bins["A01-02-1"], "zone": "B"}  # a zone changing within aisle 1
    assert hub_layout(bins) is None
    path = walking_path(bins)
    assert path(["A02-04-1", "A01-03-1", "A02-01-1", "A01-01-1"]) == ["A01-01-1", "A01-03-1", "A02-04-1", "A02-01-1"]


def test_the_path_visits_every_bin_once_aisle_by_aisle() -> None:
    bins = _bins(4, 10)
    codes = ["A04-09-1", "A01-03-1", "A02-10-1", "A04-02-1", "A01-08-1", "X99-01-1"]
    walked = walking_path(bins)(codes)
    assert sorted(walked) == sorted(codes) and walked[-1] == "X99-01-1"  # an unknown code last
    aisles = [c[:3] for c in walked[:-1]]
    assert aisles in (sorted(aisles), sorted(aisles, reverse=True))


def test_the_batcher_keeps_to_the_cart_and_puts_every_order_in_one_batch() -> None:
    bins = _bins(4, 10)
    path = walking_path(bins)
    orders = [
        BatchOrder(id=i, locations=(f"A{1 + i % 4:02d}-{1 + i % 10:02d}-1",), totes=1 + i % 2, volume=10.0, weight=2.0)
        for i in range(1, 13)
    ]
    cart = Cart(totes=4)
    batches = batcher_for(bins, path)(orders, cart)
    assert sorted(o for b in batches for o in b) == sorted(o.id for o in orders)
    totes = {o.id: o.totes for o in orders}
    assert all(sum(totes[o] for o in b) <= cart.totes for b in batches)
    assert len(batches) < len(orders)
    # An order over a cart never reaches the batcher (plan_batches sends it in trips); if one
    # did, it is a sentence, not a batch beyond the cart.
    over = BatchOrder(id=99, locations=("A01-01-1",), totes=5, volume=190.0, weight=10.0)
    with pytest.raises(WaveError, match="order 99 needs 5 totes"):
        batcher_for(bins, path)([*orders, over], cart)
