"""Batches: every order in exactly one batch, within the cart's totes, walking kept short."""

from __future__ import annotations

import random

import pytest

from backend.warehouse.batching import BatchError, Cart, PickOrder, batcher, check_order, make_batches, totes_for
from backend.warehouse.layout import Layout, Location, format_location, generated, parse_location
from backend.warehouse.ledger import Allocation, Line, Place, Take
from backend.warehouse.products import Catalogue, Product
from backend.warehouse.routing import length_of, s_shape, walking_order
from backend.warehouse.waves import Cart as WaveCart
from backend.warehouse.waves import plan_batches

FLOOR = generated(aisles=8, bays=20)
CART = Cart(totes=4, tote_volume=40.0, tote_weight=15.0)


def order(id: str, *codes: str, totes: int = 1, volume: float = 5.0, weight: float = 2.0) -> PickOrder:
    return PickOrder(id=id, locations=codes, totes=totes, volume=volume, weight=weight)


def random_orders(layout: Layout, n: int, seed: int) -> list[PickOrder]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        codes = tuple(
            format_location(layout, Location(rng.randint(1, layout.aisles), rng.randint(1, layout.bays)))
            for _ in range(rng.randint(1, 4))
        )
        out.append(order(f"o{k}", *codes, totes=rng.choice([1, 1, 1, 2, 3])))
    return out


def test_totes_follow_volume_and_weight() -> None:
    assert totes_for(CART, 0.0, 0.0) == 1
    assert totes_for(CART, 40.0, 15.0) == 1
    assert totes_for(CART, 41.0, 1.0) == 2
    assert totes_for(CART, 10.0, 31.0) == 3


def test_every_order_lands_in_exactly_one_batch_within_the_cart() -> None:
    orders = random_orders(FLOOR, 40, seed=1)
    batches = make_batches(FLOOR, CART, orders)
    ids = [i for b in batches for i in b.orders]
    assert sorted(ids) == sorted(o.id for o in orders)
    by_id = {o.id: o for o in orders}
    for b in batches:
        assert b.totes == sum(by_id[i].totes for i in b.orders) <= CART.totes
        # the path holds every line of the batch's orders once, and its length is the walk of that order
        lines = sorted((i, k) for i in b.orders for k in range(len(by_id[i].locations)))
        assert sorted(b.path) == lines
        bins = [parse_location(FLOOR, by_id[i].locations[k]) for i, k in b.path]
        assert length_of(FLOOR, bins, range(len(bins))) == pytest.approx(b.length)


def test_batching_walks_less_than_picking_each_order_alone() -> None:
    orders = random_orders(FLOOR, 40, seed=2)
    alone = sum(s_shape(FLOOR, [parse_location(FLOOR, c) for c in o.locations]).length for o in orders)
    assert sum(b.length for b in make_batches(FLOOR, Cart(totes=8), orders)) < alone / 2


def test_orders_in_the_same_aisle_go_together() -> None:
    # two pairs of orders at opposite ends of the floor, a cart for two orders
    orders = [order("w1", "A01-01-1"), order("e1", "A08-01-1"), order("w2", "A01-03-1"), order("e2", "A08-04-1")]
    batches = make_batches(FLOOR, Cart(totes=2), orders)
    assert sorted(sorted(b.orders) for b in batches) == [["e1", "e2"], ["w1", "w2"]]


def test_an_order_the_cart_cannot_hold_is_refused_with_a_reason() -> None:
    with pytest.raises(BatchError, match="needs 5 totes, more than a cart's 4"):
        check_order(CART, order("big", "A01-01-1", totes=5))
    with pytest.raises(BatchError, match="needs 2 totes, not 1"):
        check_order(CART, order("heavy", "A01-01-1", weight=20.0))
    with pytest.raises(BatchError, match="order empty has no lines to pick"):
        make_batches(FLOOR, CART, [order("empty")])
    with pytest.raises(BatchError, match="at least one tote"):
        check_order(CART, order("none", "A01-01-1", totes=0))
    with pytest.raises(BatchError, match="order o1 is given twice"):
        make_batches(FLOOR, CART, [order("o1", "A01-01-1"), order("o1", "A02-01-1")])
    with pytest.raises(BatchError, match="order bad: there is no aisle 9"):
        make_batches(FLOOR, CART, [order("bad", "A09-01-1")])


def test_no_orders_no_batches() -> None:
    assert make_batches(FLOOR, CART, []) == []


def test_the_waves_take_our_batcher_and_walking_order() -> None:
    catalogue = Catalogue([Product(sku="SODA", name="Soda", weight_g=400, volume_ml=500, barcodes=())])
    # six orders, one line each: three at the front of aisles 1 to 3, three at the back of aisles 6 to 8
    bins = {1: "A01-01-1", 2: "A06-20-1", 3: "A02-02-1", 4: "A07-19-1", 5: "A03-01-1", 6: "A08-20-1"}
    allocs = [
        Allocation(line=Line(id=f"{o}.1", order_id=o, sku="SODA", quantity=1), takes=(Take(Place("bin", b), 1),))
        for o, b in bins.items()
    ]
    plans = plan_batches(
        allocs,
        catalogue,
        WaveCart(totes=3, tote_volume=10, tote_weight=15),
        "sort_while_picking",
        batcher=batcher(FLOOR),
        path=walking_order(FLOOR),
    )
    assert sorted(sorted(p.order_ids) for p in plans) == [[1, 3, 5], [2, 4, 6]]
    walk = walking_order(FLOOR)
    for p in plans:
        visited = [t.bin for t in p.tasks]
        assert visited == walk(sorted(visited))
    assert walk(["A03-01-1", "A01-01-1", "A02-02-1"]) in (
        ["A01-01-1", "A02-02-1", "A03-01-1"],
        ["A03-01-1", "A02-02-1", "A01-01-1"],
    )
