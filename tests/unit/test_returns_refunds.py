"""The refund is an itemised breakdown driven by the agreed fee and bonus and the refund table (data), and it
is recorded once per item: asked again it is the same record, never a second payment."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.returns.refunds import REFUNDS, Line, RefundError, RefundLedger, RefundTable, compute, euro
from backend.returns.vocabulary import SELLERS_FAULT, Grade, Outcome, Reason, ReturnPolicy

AT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


def codes(lines: tuple[Line, ...]) -> list[tuple[str, int]]:
    return [(line.code, line.cents) for line in lines]


def test_a_worn_garment_returned_too_small_loses_the_grade_deduction_and_the_fee() -> None:
    r = compute("r1", price_cents=4999, reason=Reason.TOO_SMALL, outcome=Outcome.REFUND, grade=Grade.B, fee_cents=195)
    assert codes(r.lines) == [("price", 4999), ("grade", -499), ("fee", -195)]
    assert r.total_cents == 4999 - 499 - 195 == sum(line.cents for line in r.lines)
    assert "Grade B: 10% of the price, €4.99." in [line.note for line in r.lines]


def test_the_sellers_fault_is_free_and_deducts_nothing() -> None:
    r = compute(
        "r1",
        price_cents=12000,
        reason=Reason.DEFECTIVE,
        outcome=Outcome.REFUND,
        grade=Grade.D,
        findings=("powers_on", "accessories_complete"),
    )
    assert codes(r.lines) == [("price", 12000)] and r.total_cents == 12000


def test_missing_parts_are_deducted_and_an_exchange_gets_its_bonus() -> None:
    r = compute(
        "r1",
        price_cents=12000,
        reason=Reason.CHANGED_MIND,
        outcome=Outcome.EXCHANGE,
        grade=Grade.C,
        findings=("accessories_complete", "screen_ok", "accessories_complete"),
        fee_cents=395,
        bonus_cents=500,
    )
    assert codes(r.lines) == [
        ("price", 12000),
        ("grade", -3000),
        ("finding:accessories_complete", -1800),
        ("fee", -395),
        ("exchange_bonus", 500),
    ]
    assert (r.outcome, r.total_cents) == (Outcome.EXCHANGE, 7305)


def test_the_total_never_goes_below_zero_and_a_negative_price_is_refused() -> None:
    r = compute(
        "r1", price_cents=300, reason=Reason.CHANGED_MIND, outcome=Outcome.REFUND, grade=Grade.SCRAP, fee_cents=395
    )
    assert r.total_cents == 0 and r.lines[-1].code == "floor" and sum(line.cents for line in r.lines) == 0
    with pytest.raises(RefundError, match="negative price"):
        compute("r1", price_cents=-1, reason=Reason.OTHER, outcome=Outcome.REFUND, grade=Grade.A, fee_cents=195)
    with pytest.raises(RefundError, match="negative fee"):
        compute("r1", price_cents=100, reason=Reason.OTHER, outcome=Outcome.REFUND, grade=Grade.A, fee_cents=-1)


def test_changing_the_refund_data_changes_the_refund() -> None:
    def total(table: RefundTable = REFUNDS, fee: int = 195) -> int:
        return compute(
            "r1",
            price_cents=10000,
            reason=Reason.TOO_SMALL,
            outcome=Outcome.REFUND,
            grade=Grade.B,
            findings=("tags_on",),
            fee_cents=fee,
            table=table,
        ).total_cents

    assert total() == 10000 - 1000 - 195
    assert total(RefundTable(grade_pct={Grade.B: 0})) == 10000 - 195
    assert total(RefundTable(grade_pct={Grade.B: 10}, finding_pct={"tags_on": 5})) == 10000 - 1000 - 500 - 195
    assert total(fee=0) == 10000 - 1000
    lenient = RefundTable(grade_pct={Grade.B: 10}, deduct_for=frozenset({Reason.CHANGED_MIND}))
    assert total(lenient) == 10000 - 195


def test_a_refund_is_recorded_once() -> None:
    ledger = RefundLedger()
    r = compute("r1", price_cents=4999, reason=Reason.TOO_SMALL, outcome=Outcome.REFUND, grade=Grade.B, fee_cents=195)
    first = ledger.record(r, "ines", AT)
    again = ledger.record(r, "piet", AT + dt.timedelta(hours=1))
    assert again is first and first.id == "refund:r1" and first.by == "ines"
    assert ledger.paid_cents() == r.total_cents
    other = compute("r1", price_cents=4999, reason=Reason.DEFECTIVE, outcome=Outcome.REFUND, grade=Grade.B)
    with pytest.raises(
        RefundError, match=r"Item r1 was already refunded €43.05 on 2026-12-02 by ines; a refund is paid once"
    ):
        ledger.record(other, "ines", AT)
    assert ledger.paid_cents() == r.total_cents
    reloaded = RefundLedger(ledger.records.values())
    assert reloaded.record(r, "ines", AT) == first and reloaded.paid_cents() == r.total_cents
    with pytest.raises(RefundError, match="who records"):
        RefundLedger().record(r, "", AT)


def test_euro_reads_as_money() -> None:
    assert (euro(4305), euro(5), euro(-1999)) == ("€43.05", "€0.05", "-€19.99")


@settings(max_examples=200, deadline=None)
@given(
    price=st.integers(0, 100_000),
    reason=st.sampled_from(list(Reason)),
    outcome=st.sampled_from(list(Outcome)),
    grade=st.sampled_from(list(Grade)),
    found=st.lists(st.sampled_from(["accessories_complete", "parts_complete", "worn", "complete"]), max_size=4),
    fee=st.integers(0, 2000),
    bonus=st.integers(0, 2000),
)
def test_any_refund_adds_up_and_stays_between_zero_and_price_plus_bonus(
    price: int, reason: Reason, outcome: Outcome, grade: Grade, found: list[str], fee: int, bonus: int
) -> None:
    # the fee a request agrees is 0 for the seller's fault (requests.decide; ReturnPolicy.fee_cents)
    fee = ReturnPolicy(changed_mind_fee_cents=fee, other_fee_cents=fee).fee_cents(reason)
    r = compute(
        "r",
        price_cents=price,
        reason=reason,
        outcome=outcome,
        grade=grade,
        findings=found,
        fee_cents=fee,
        bonus_cents=bonus,
    )
    assert r.total_cents == sum(line.cents for line in r.lines)
    assert 0 <= r.total_cents <= price + (bonus if outcome is Outcome.EXCHANGE else 0)
    if reason in SELLERS_FAULT:
        assert r.total_cents == price + (bonus if outcome is Outcome.EXCHANGE else 0)
