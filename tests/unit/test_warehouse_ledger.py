"""The stock ledger: balances, never negative, replays, and allocating lines to bins and shops."""

import datetime as dt

import pytest

from backend.warehouse.ledger import (
    Ledger,
    Line,
    Movement,
    Place,
    StockError,
    Take,
    allocate,
    fewest_bins_nearest,
)

DAY = dt.datetime(2026, 12, 2, 7, 0, tzinfo=dt.UTC)
DOCK = Place("dock", "IN")
A1, A2, B1 = Place("bin", "A01-01-1"), Place("bin", "A01-02-1"), Place("bin", "B01-05-2")
SHOP = Place("shop", "17")


def _at(minutes: int) -> dt.datetime:
    return DAY + dt.timedelta(minutes=minutes)


def _stocked() -> Ledger:
    ledger = Ledger()
    ledger.receive("r1", DOCK, "JAS-42", 10, "anna", _at(0), "delivery 881")
    ledger.put_away("p1", "JAS-42", 6, DOCK, A1, "anna", _at(10))
    ledger.put_away("p2", "JAS-42", 4, DOCK, A2, "anna", _at(12))
    ledger.receive("r2", B1, "SODA", 3, "anna", _at(15), "delivery 882")
    return ledger


def test_a_day_of_picks_short_picks_and_corrections_balances() -> None:
    ledger = _stocked()
    ledger.pick("k1", A1, "JAS-42", 2, "piet", _at(60), "order 1")
    ledger.pick("k2", A1, "JAS-42", 3, "piet", _at(70), "order 2")
    # a short pick: the picker finds A1 empty though the ledger says 1; the count corrects it
    assert ledger.count("c1", A1, "JAS-42", 0, "piet", _at(80), "short pick") == -1
    ledger.pick("k3", A2, "JAS-42", 1, "piet", _at(81), "order 2, moved from A01-01-1")
    ledger.record(
        Movement(
            id="ret1",
            kind="return",
            place=A2,
            sku="JAS-42",
            quantity=1,
            reason="order 9 returned",
            user="joy",
            at=_at(300),
        )
    )
    ledger.pick("k4", B1, "SODA", 3, "piet", _at(90), "order 3")
    assert ledger.count("c2", B1, "SODA", 1, "joy", _at(400), "found behind the bin") == 1

    assert ledger.stock(A1, "JAS-42") == 0
    assert ledger.stock(A2, "JAS-42") == 4
    assert ledger.stock(DOCK, "JAS-42") == 0
    assert ledger.stock(B1, "SODA") == 1
    # the stock is the sum of the movements, and replaying them gives the same balances
    sums: dict[tuple[Place, str], int] = {}
    for m in ledger.movements:
        sums[(m.place, m.sku)] = sums.get((m.place, m.sku), 0) + m.quantity
    assert {k: n for k, n in sums.items() if n} == ledger.balances()
    assert Ledger(ledger.movements).balances() == ledger.balances() == {(A2, "JAS-42"): 4, (B1, "SODA"): 1}
    assert [m.kind for m in ledger.movements].count("correction") == 2


def test_stock_never_goes_negative_and_a_refusal_changes_nothing() -> None:
    ledger = _stocked()
    before = list(ledger.movements)
    with pytest.raises(
        StockError, match=r"^bin A01-01-1 holds 6 of JAS-42; taking 7 would leave -1\. Report a short pick"
    ):
        ledger.pick("k1", A1, "JAS-42", 7, "piet", _at(60), "order 1")
    with pytest.raises(StockError, match="dock IN holds 0 of JAS-42"):
        ledger.put_away("p3", "JAS-42", 1, DOCK, A1, "anna", _at(61))
    assert ledger.movements == before and ledger.stock(A1, "JAS-42") == 6
    with pytest.raises(StockError, match="A pick cannot add stock"):
        ledger.record(
            Movement(id="x", kind="pick", place=A1, sku="JAS-42", quantity=1, reason="r", user="u", at=_at(1))
        )
    with pytest.raises(StockError, match="needs a reason and a user"):
        ledger.pick("k9", A1, "JAS-42", 1, "piet", _at(60), " ")
    with pytest.raises(StockError, match="not put away yet"):
        ledger.receive("r9", DOCK, "X", 1, "anna", _at(1), "d") or ledger.pick("k8", DOCK, "X", 1, "piet", _at(2), "o")


def test_two_pickers_race_for_the_last_unit_the_second_gets_a_short_pick() -> None:
    ledger = Ledger()
    ledger.receive("r1", B1, "SODA", 1, "anna", _at(0), "delivery")
    ledger.pick("annes-scan", B1, "SODA", 1, "anne", _at(60), "order 1")
    with pytest.raises(StockError, match="holds 0 of SODA"):
        ledger.pick("bobs-scan", B1, "SODA", 1, "bob", _at(60), "order 2")
    assert ledger.stock(B1, "SODA") == 0
    assert [m.user for m in ledger.movements if m.kind == "pick"] == ["anne"]


def test_a_replayed_movement_changes_nothing_twice() -> None:
    ledger = _stocked()
    ledger.pick("k1", A1, "JAS-42", 2, "piet", _at(60), "order 1")
    ledger.pick("k1", A1, "JAS-42", 2, "piet", _at(60), "order 1")
    ledger.put_away("p1", "JAS-42", 6, DOCK, A1, "anna", _at(10))
    assert ledger.count("c1", A1, "JAS-42", 0, "piet", _at(80), "count") == -4
    assert ledger.count("c1", A1, "JAS-42", 0, "piet", _at(80), "count") == -4
    assert ledger.stock(A1, "JAS-42") == 0
    assert len(ledger.movements) == 8  # 2 receipts, 2 put-aways of 2 movements, 1 pick, 1 count
    with pytest.raises(StockError, match="k1 was already recorded with other values"):
        ledger.pick("k1", A1, "JAS-42", 1, "piet", _at(60), "order 1")


def test_allocation_takes_one_bin_that_holds_it_all_else_the_fewest_bins() -> None:
    stock = {"JAS-42": {A1: 2, A2: 5, B1: 3}}
    lines = [
        Line(id="1a", order_id=1, sku="JAS-42", quantity=3),
        Line(id="2a", order_id=2, sku="JAS-42", quantity=6),
    ]
    first, second = allocate(lines, lambda sku: stock.get(sku, {}))
    assert first.takes == (Take(A2, 3),)  # A2 and B1 both hold 3; A2 comes first by code
    # left: A1 2, A2 2, B1 3; six takes all three, fullest first
    assert second.takes == (Take(B1, 3), Take(A1, 2), Take(A2, 1))
    assert second.short == 0
    # a pluggable order: nearest first by a distance
    near_b = fewest_bins_nearest(lambda p: 0 if p == B1 else 10)
    (only,) = allocate(lines[:1], lambda sku: stock[sku], bin_order=near_b)
    assert only.takes == (Take(B1, 3),)


def test_a_line_the_hub_cannot_fill_goes_to_a_shop_or_is_short() -> None:
    stock = {A1: 1, SHOP: 4, Place("shop", "20"): 2}
    lines = [
        Line(id="1a", order_id=1, sku="JAS-42", quantity=3),
        Line(id="2a", order_id=2, sku="JAS-42", quantity=1),
        Line(id="3a", order_id=3, sku="JAS-42", quantity=5),
    ]
    a, b, c = allocate(lines, lambda sku: stock)
    assert a.takes == (Take(SHOP, 3),) and a.shop == SHOP and a.short == 0
    assert b.takes == (Take(A1, 1),) and b.shop is None
    assert c.takes == () and c.short == 5  # hub empty now; no shop holds 5
    (hub_only,) = allocate(lines[:1], lambda sku: stock, shops=False)
    assert hub_only.takes == (Take(A1, 1),) and hub_only.short == 2
    with pytest.raises(StockError, match="asks for 0"):
        allocate([Line(id="z", order_id=1, sku="JAS-42", quantity=0)], lambda sku: stock)
