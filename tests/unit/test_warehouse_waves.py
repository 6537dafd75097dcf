"""Waves by cut-off, batches that fit the cart, and the two ways of working."""

import datetime as dt

import pytest

from backend.warehouse.ledger import Allocation, Line, Place, Take
from backend.warehouse.products import Catalogue, Product
from backend.warehouse.waves import (
    BatchOrder,
    Cart,
    Order,
    PickTask,
    SlotCutOff,
    SortLine,
    WaveError,
    apart,
    batch_orders,
    pick_then_sort,
    plan_batches,
    plan_waves,
    release_time,
    released,
    shop_pickups,
    sort_while_picking,
    trips,
)

T = dt.time
SLOTS = [
    SlotCutOff(slot="morning", start=T(9), end=T(12), cutoff=T(7)),
    SlotCutOff(slot="afternoon", start=T(13), end=T(17), cutoff=T(11)),
    SlotCutOff(slot="evening", start=T(18), end=T(22), cutoff=T(15)),
    SlotCutOff(slot="late", start=T(19), end=T(23), cutoff=T(15)),
]
CAT = Catalogue(
    [
        Product(sku="JAS", name="Jacket", weight_g=600, volume_ml=6000, barcodes=()),
        Product(sku="SODA", name="Soda", weight_g=400, volume_ml=500, barcodes=()),
        Product(sku="TEA", name="Tea", weight_g=100, volume_ml=300, barcodes=()),
    ]
)
CART = Cart(totes=4, tote_volume=10, tote_weight=15)
A1, A2, B1 = Place("bin", "A01-01-1"), Place("bin", "A01-02-1"), Place("bin", "B01-05-2")


def _line(order: int, sku: str, qty: int, n: int = 1) -> Line:
    return Line(id=f"{order}.{n}", order_id=order, sku=sku, quantity=qty)


def _alloc(line: Line, *takes: tuple[Place, int]) -> Allocation:
    return Allocation(line=line, takes=tuple(Take(p, q) for p, q in takes))


def test_orders_fall_into_waves_by_the_cut_off_of_their_slot() -> None:
    orders = [
        Order(id=3, slot="evening", lines=()),
        Order(id=1, slot="morning", lines=()),
        Order(id=2, slot="late", lines=()),
        Order(id=4, slot="afternoon", lines=()),
    ]
    waves = plan_waves(orders, SLOTS)
    assert [(w.cutoff, w.slots, [o.id for o in w.orders]) for w in waves] == [
        (T(7), ("morning",), [1]),
        (T(11), ("afternoon",), [4]),
        (T(15), ("evening", "late"), [2, 3]),
    ]
    # released two hours before the cut-off; a wave past its cut-off stays released
    assert [w.cutoff for w in released(waves, T(9, 30))] == [T(7), T(11)]
    assert [w.cutoff for w in released(waves, T(13))] == [T(7), T(11), T(15)]
    assert released(waves, T(4, 59)) == []
    assert waves[0].release_at(dt.timedelta(hours=9)) == T(0, 0)  # not before midnight
    # a hub's own lead time (its picking settings) moves the release
    assert release_time(T(15), dt.timedelta(minutes=30)) == T(14, 30)
    assert release_time(T(16, 30), dt.timedelta(minutes=0)) == T(16, 30)
    with pytest.raises(WaveError, match=r"Order 9 is for slot 'night', which has no cut-off \(known: afternoon"):
        plan_waves([Order(id=9, slot="night", lines=())], SLOTS)


def test_sort_while_picking_gives_each_order_its_totes_and_each_line_its_tote() -> None:
    allocs = [
        _alloc(_line(1, "JAS", 2), (B1, 2)),  # 12 l: two totes of 10 l
        _alloc(_line(1, "TEA", 1, 2), (A1, 1)),
        _alloc(_line(2, "SODA", 3), (A1, 1), (A2, 2)),
    ]
    tasks, totes = sort_while_picking(allocs, [1, 2], CAT, CART)
    assert totes == {1: [1, 2], 2: [3]}
    assert [(t.bin, t.sku, t.quantity, t.order_id, t.tote) for t in tasks] == [
        ("A01-01-1", "SODA", 1, 2, 3),
        ("A01-01-1", "TEA", 1, 1, 1),
        ("A01-02-1", "SODA", 2, 2, 3),
        ("B01-05-2", "JAS", 1, 1, 1),
        ("B01-05-2", "JAS", 1, 1, 2),
    ]
    # the walking order comes from the routing: here B first
    walk_b_first = sort_while_picking(allocs, [1, 2], CAT, CART, path=lambda bins: sorted(bins, reverse=True))[0]
    assert walk_b_first[0].bin == "B01-05-2"


def test_pick_then_sort_picks_equal_skus_together_then_sorts_per_order() -> None:
    allocs = [
        _alloc(_line(1, "SODA", 2), (A1, 2)),
        _alloc(_line(2, "SODA", 3), (A1, 1), (A2, 2)),
        _alloc(_line(3, "SODA", 1), (A1, 1)),
        _alloc(_line(3, "TEA", 1, 2), (B1, 1)),
    ]
    tasks, sort = pick_then_sort(allocs)
    assert tasks == [
        PickTask(
            id="SODA@A01-01-1",
            bin="A01-01-1",
            sku="SODA",
            quantity=4,
            lines=(("1.1", 2), ("2.1", 1), ("3.1", 1)),
            order_id=None,
            tote=None,
        ),
        PickTask(
            id="SODA@A01-02-1", bin="A01-02-1", sku="SODA", quantity=2, lines=(("2.1", 2),), order_id=None, tote=None
        ),
        PickTask(
            id="TEA@B01-05-2", bin="B01-05-2", sku="TEA", quantity=1, lines=(("3.2", 1),), order_id=None, tote=None
        ),
    ]
    assert sort == [
        SortLine(order_id=1, line_id="1.1", sku="SODA", quantity=2),
        SortLine(order_id=2, line_id="2.1", sku="SODA", quantity=3),
        SortLine(order_id=3, line_id="3.1", sku="SODA", quantity=1),
        SortLine(order_id=3, line_id="3.2", sku="TEA", quantity=1),
    ]
    assert sum(t.quantity for t in tasks) == sum(s.quantity for s in sort) == 7


def test_shop_lines_are_pickups_not_picks() -> None:
    shop = Place("shop", "17")
    allocs = [_alloc(_line(1, "JAS", 1), (shop, 1)), _alloc(_line(1, "TEA", 1, 2), (A1, 1))]
    assert shop_pickups(allocs) == {"17": [(allocs[0].line, 1)]}
    tasks, _ = pick_then_sort(allocs)
    assert [t.sku for t in tasks] == ["TEA"]
    assert batch_orders(allocs, CAT, CART) == [
        BatchOrder(id=1, locations=("A01-01-1",), totes=1, volume=0.3, weight=0.1)
    ]


def test_batches_by_the_batcher_each_order_once_within_the_cart() -> None:
    allocs = [_alloc(_line(o, "SODA", 1), (A1, 1)) for o in (1, 2, 3)]
    one_each = plan_batches(allocs, CAT, CART, "sort_while_picking")
    assert [p.order_ids for p in one_each] == [(1,), (2,), (3,)]

    def all_together(orders: list[BatchOrder], cart: Cart) -> list[list[int]]:
        return [[o.id for o in orders]]

    (together,) = plan_batches(allocs, CAT, CART, "pick_then_sort", batcher=all_together)
    assert together.order_ids == (1, 2, 3) and [t.quantity for t in together.tasks] == [3]
    assert [s.order_id for s in together.sort_lines] == [1, 2, 3]

    with pytest.raises(WaveError, match="did not put every order in exactly one batch"):
        plan_batches(allocs, CAT, CART, "pick_then_sort", batcher=lambda orders, cart: [[1, 2]])
    five = [_alloc(_line(o, "SODA", 1), (A1, 1)) for o in range(1, 6)]
    with pytest.raises(WaveError, match=r"needs more than the cart's 4 totes"):
        plan_batches(five, CAT, CART, "sort_while_picking", batcher=all_together)


def test_lines_no_cart_can_take_are_apart_and_a_larger_order_goes_in_trips() -> None:
    # A cart of 2 totes of 10 l: a jacket is 6 l, so one a tote.
    cart = Cart(totes=2, tote_volume=10, tote_weight=15)
    small = Cart(totes=2, tote_volume=5, tote_weight=15)
    jackets = _alloc(_line(1, "JAS", 3), (A1, 3))  # three totes alone
    assert apart([jackets], CAT, cart) == {"1.1": "3 × JAS need 3 totes and a cart has 2"}
    assert apart([jackets], CAT, small) == {"1.1": "JAS (6 l, 0.6 kg) does not fit in a tote (5 l, 15 kg)"}
    with pytest.raises(WaveError, match="does not fit in a tote"):
        plan_batches([jackets], CAT, small, "sort_while_picking")
    # Order 2 needs three totes (two jackets, then soda and tea): two trips of whole lines.
    allocs = [
        _alloc(_line(2, "JAS", 1, 1), (A1, 1)),
        _alloc(_line(2, "JAS", 1, 2), (A2, 1)),
        _alloc(_line(2, "SODA", 20, 3), (B1, 20)),
        _alloc(_line(3, "TEA", 1), (B1, 1)),
    ]
    assert apart(allocs, CAT, cart) == {}
    assert [[a.line.id for a in t] for t in trips(allocs[:3], CAT, cart)] == [["2.3", "2.1"], ["2.2"]]
    plans = plan_batches(allocs, CAT, cart, "sort_while_picking")
    assert [p.order_ids for p in plans] == [(3,), (2,), (2,)]
    for p in plans:
        assert len({t.tote for t in p.tasks}) <= cart.totes
    assert sorted({line for p in plans for t in p.tasks for line, _ in t.lines}) == ["2.1", "2.2", "2.3", "3.1"]
