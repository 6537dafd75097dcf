"""A returned garment through the hub, in the pure core: inspected, graded B, reconditioned for the
outlet step by step (with a problem and a call for help), checked, in stock as JAS-42/B with its
whole history, refunded once. And the data (disposition, refund tables) drives the outcome."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.returns import dispositions, grading
from backend.returns.checklists import Inspection, Photo, checklist_for, validate
from backend.returns.dispositions import DISPOSITIONS, ENDS, DispositionTable
from backend.returns.figures import Returned, costs
from backend.returns.finishing import FinishError, finish
from backend.returns.refunds import RefundError, RefundLedger, RefundTable, compute
from backend.returns.tasks import Event, EventKind, Work, apply, begin, final_check, labour_minutes
from backend.returns.templates import assign, generate, group
from backend.returns.vocabulary import Disposition, Grade, Outcome, Reason, ReturnPolicy
from backend.warehouse.ledger import Ledger, Place
from backend.warehouse.products import Catalogue, Product

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
JACKET = Product(sku="JAS-42", name="Rain jacket 42", weight_g=900, volume_ml=4000, category="clothing")
OUTLET_BIN = Place("bin", "OUT-01-1")
POLICY = ReturnPolicy(changed_mind_fee_cents=395, other_fee_cents=195)
PHOTOS = (
    Photo(name="front.jpg", content_type="image/jpeg", size_bytes=300_000),
    Photo(name="collar.jpg", content_type="image/jpeg", size_bytes=280_000),
)


def at(minute: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minute)


def inspect_worn_jacket() -> tuple[grading.Grading, tuple[str, ...]]:
    answers = {"tags_on": False, "worn": True, "stains": False, "smell": False, "damage": False}
    inspection = Inspection(item_id="R7-1", category="clothing", answers=answers, photos=PHOTOS, inspector="ines")
    found = validate(inspection, checklist_for(JACKET.category))
    return grading.decide("R7-1", JACKET.category, found, None, "ines", at(0)), found


def tap(w: Work, n: int, kind: EventKind, minute: float, by: str = "sam", note: str = "") -> Work:
    step = w.task.steps[n - 1]
    return apply(w, Event(id=f"{step.id}:{kind}@{minute}", step_id=step.id, kind=kind, at=at(minute), by=by, note=note))


def test_a_jacket_returned_too_small_ends_in_stock_as_grade_b_and_is_refunded_once() -> None:
    graded_b, found = inspect_worn_jacket()
    assert (graded_b.suggested, graded_b.grade, found) == (Grade.B, Grade.B, ("tags_on", "worn"))
    decision = dispositions.decide("R7-1", graded_b.grade, JACKET.category, "ines", at(1))
    assert (decision.disposition, decision.end) == (Disposition.OUTLET, "stock_graded")

    task = generate("R7-1", JACKET.sku, JACKET.category, decision.grade, decision.disposition)
    assert task is not None
    (batch,) = assign(group([task]), ["sam"])
    w = begin(batch.lists[0])
    assert [s.kind.value for s in w.task.steps] == ["unpack", "wash", "iron", "photograph", "relabel", "repackage"]
    w = tap(tap(w, 1, "start", 2), 1, "done", 3)
    w = tap(w, 2, "start", 3)
    w = tap(w, 2, "problem", 40, note="collar still grey")
    w = tap(w, 2, "help", 41)
    w = tap(w, 2, "resume", 45, by="supervisor", note="wash again at 40 degrees")
    w = tap(w, 2, "done", 90)
    for n in range(3, 7):
        w = tap(tap(w, n, "start", 90 + n), n, "done", 91 + n)
    with pytest.raises(FinishError, match="waits for its final quality check"):
        finish(
            grading=graded_b,
            decision=decision,
            product=JACKET,
            work=w,
            place=OUTLET_BIN,
            movement_id="m",
            by="x",
            at=at(99),
        )
    w = final_check(w, True, "kim", at(100))

    done = finish(
        grading=graded_b,
        decision=decision,
        product=JACKET,
        work=w,
        place=OUTLET_BIN,
        movement_id="return:R7-1",
        by="kim",
        at=at(101),
    )
    assert done.product is not None and done.product.sku == "JAS-42/B" and done.product.base_sku == "JAS-42"
    assert done.movement is not None and (done.movement.kind, done.movement.sku, done.movement.quantity) == (
        "return",
        "JAS-42/B",
        1,
    )
    Catalogue([JACKET, done.product])  # the variant fits the catalogue beside its new item
    ledger = Ledger()
    ledger.record(done.movement)
    ledger.record(done.movement)  # a replay stocks nothing twice
    assert ledger.stock_of("JAS-42/B") == {OUTLET_BIN: 1} and ledger.stock_of("JAS-42") == {}

    whats = [e.what for e in done.history]
    assert whats[:3] == ["graded", "disposition", "step 1 unpack: start"]
    assert "step 2 wash: problem" in whats and "step 2 wash: help" in whats and "step 2 wash: resume" in whats
    assert whats[-2:] == ["final check", "stock"]
    assert done.history[0].detail == "grade B (suggested B; findings: tags_on, worn)"
    assert done.history[-1].detail == "1 x JAS-42/B into bin OUT-01-1"
    assert [e.at for e in done.history] == sorted(e.at for e in done.history)

    refunds = RefundLedger()
    refund = compute(
        "R7-1",
        price_cents=8995,
        reason=Reason.TOO_SMALL,
        outcome=Outcome.REFUND,
        grade=done.grade,
        fee_cents=POLICY.fee_cents(Reason.TOO_SMALL),
    )
    assert [(line.code, line.cents) for line in refund.lines] == [("price", 8995), ("grade", -899), ("fee", -195)]
    first = refunds.record(refund, "kim", at(102))
    assert refunds.record(refund, "kim", at(150)) is first and refunds.paid_cents() == 7901
    with pytest.raises(RefundError, match="a refund is paid once"):
        refunds.record(
            compute("R7-1", price_cents=8995, reason=Reason.DEFECTIVE, outcome=Outcome.REFUND, grade=Grade.B),
            "kim",
            at(103),
        )
    assert refunds.paid_cents() == 7901

    minutes = labour_minutes(w)
    assert minutes == 1 + 87 + 4  # unpack, wash (help included), four one-minute steps
    (week,) = costs(
        [
            Returned(
                item_id="R7-1",
                sku="JAS-42",
                category="clothing",
                reason=Reason.TOO_SMALL,
                sold_on=dt.date(2026, 11, 25),
                fee_cents=195,
                refund_cents=first.refund.total_cents,
                labour_minutes=minutes,
            )
        ],
        labour_cents_per_hour=2400,
    )
    # the fee is already off the refund (its "fee" line): the cost is what was paid back plus the labour
    assert (week.refunds_cents, week.fees_cents, week.labour_minutes, week.labour_cents) == (7901, 195, 92.0, 3680)
    assert week.net_cents == 7901 + 3680


def test_the_disposition_and_refund_data_drive_the_outcome() -> None:
    graded_b, _ = inspect_worn_jacket()
    recycle_b = DispositionTable(by_grade={**DISPOSITIONS.by_grade, Grade.B: (Disposition.RECYCLE,)}, ends=ENDS)
    decision = dispositions.decide("R7-1", Grade.B, "clothing", "ines", at(1), table=recycle_b)
    assert generate("R7-1", JACKET.sku, "clothing", Grade.B, decision.disposition) is None
    done = finish(
        grading=graded_b, decision=decision, product=JACKET, work=None, place=None, movement_id="m", by="kim", at=at(2)
    )
    assert (done.end, done.movement, done.product) == ("recycled", None, None)
    assert [e.what for e in done.history] == ["graded", "disposition", "recycled"]

    second_hand_b = DispositionTable(by_grade={**DISPOSITIONS.by_grade, Grade.B: (Disposition.SECOND_HAND,)}, ends=ENDS)
    decision = dispositions.decide("R7-1", Grade.B, "clothing", "ines", at(1), table=second_hand_b)
    task = generate("R7-1", JACKET.sku, "clothing", Grade.B, decision.disposition)
    assert task is not None and task.template == "clothing/second_hand" and decision.end == "stock_graded"

    def refund(table: RefundTable) -> int:
        return compute(
            "R7-1",
            price_cents=8995,
            reason=Reason.TOO_SMALL,
            outcome=Outcome.REFUND,
            grade=Grade.B,
            fee_cents=POLICY.fee_cents(Reason.TOO_SMALL),
            table=table,
        ).total_cents

    assert refund(RefundTable(grade_pct={Grade.B: 10})) == 7901
    assert refund(RefundTable(grade_pct={Grade.B: 0})) == 8800
    assert refund(RefundTable(grade_pct={Grade.B: 50})) == 8995 - 4497 - 195
