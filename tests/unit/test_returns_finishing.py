"""Where an item ends: as new, as its graded variant, to the supplier or recycled; never before its
task list is through and checked; a defective item is not stocked as it is."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.returns import dispositions, grading
from backend.returns.finishing import Finished, FinishError, FinishInputError, finish
from backend.returns.tasks import Event, EventKind, Work, apply, begin, final_check
from backend.returns.templates import generate
from backend.returns.vocabulary import Disposition, Grade
from backend.warehouse.ledger import Place
from backend.warehouse.products import Product

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
LAMP = Product(sku="LAMP-1", name="Desk lamp", weight_g=1200, volume_ml=6000, category="electronics")
BIN = Place("bin", "R-01-1")


def graded_as(grade: Grade, item: str = "i1") -> grading.Grading:
    return grading.Grading(item_id=item, suggested=grade, grade=grade, findings=(), inspector="ines", at=T0)


def worked(grade: Grade, disposition: Disposition, passed: bool = True) -> Work:
    t = generate("i1", LAMP.sku, LAMP.category, grade, disposition)
    assert t is not None
    w = begin(t)
    for k, s in enumerate(t.steps):
        kinds: tuple[EventKind, ...] = ("start", "done")
        for kind in kinds:
            w = apply(w, Event(id=f"{s.id}{kind}", step_id=s.id, kind=kind, at=T0 + dt.timedelta(minutes=k), by="sam"))
    return final_check(w, passed, "kim", T0 + dt.timedelta(hours=1), note="" if passed else "still flickers")


def end(
    grade: Grade,
    chosen: Disposition | None = None,
    *,
    work: Work | None = None,
    place: Place | None = BIN,
    regrade: Grade | None = None,
) -> Finished:
    decision = dispositions.decide("i1", grade, LAMP.category, "ines", T0, chosen=chosen)
    later = T0 + dt.timedelta(hours=2)
    return finish(
        grading=graded_as(grade),
        decision=decision,
        product=LAMP,
        work=work,
        place=place,
        movement_id="mv",
        by="kim",
        at=later,
        regrade=regrade,
    )


def test_grade_a_goes_back_as_the_new_item() -> None:
    done = end(Grade.A, work=worked(Grade.A, Disposition.RESTOCK))
    assert done.end == "stock_new" and done.movement is not None and done.movement.sku == "LAMP-1"


def test_a_repaired_item_is_stocked_with_the_grade_it_has_after_the_repair() -> None:
    work = worked(Grade.D, Disposition.REPAIR)
    with pytest.raises(FinishInputError, match="was repaired: give its grade after the repair"):
        end(Grade.D, work=work)
    with pytest.raises(FinishInputError, match="A grade D item is not stocked as it is"):
        end(Grade.D, work=work, regrade=Grade.D)
    done = end(Grade.D, work=work, regrade=Grade.C)
    assert done.movement is not None and (done.movement.sku, done.grade) == ("LAMP-1/C", Grade.C)


def test_only_a_repaired_item_is_graded_again_and_state_comes_before_input() -> None:
    with pytest.raises(FinishInputError, match="Only a repaired item is graded again"):
        end(Grade.B, work=worked(Grade.B, Disposition.OUTLET), regrade=Grade.A)
    back = worked(Grade.D, Disposition.SUPPLIER)
    with pytest.raises(FinishInputError, match="goes to supplier: finish it without a new grade"):
        end(Grade.D, Disposition.SUPPLIER, work=back, place=None, regrade=Grade.B)
    # an unfinished list is a conflict with the item's state, whatever was asked
    with pytest.raises(FinishError) as unfinished:
        end(Grade.D, Disposition.REPAIR)
    assert not isinstance(unfinished.value, FinishInputError)


def test_supplier_and_e_waste_leave_no_stock() -> None:
    back = end(Grade.D, Disposition.SUPPLIER, work=worked(Grade.D, Disposition.SUPPLIER), place=None)
    assert (back.end, back.movement, back.history[-1].what) == ("supplier", None, "supplier")
    scrap = end(Grade.SCRAP, place=None)
    assert (scrap.end, scrap.disposition) == ("recycled", Disposition.E_WASTE)
    assert (scrap.history[-1].what, scrap.history[-1].detail) == ("recycled", "e_waste")


def test_an_item_ends_only_when_its_work_is_through_and_passed() -> None:
    with pytest.raises(FinishError, match="has a task list to work through"):
        end(Grade.B)
    with pytest.raises(FinishError, match="failed its final check \\(still flickers\\); grade it again"):
        end(Grade.B, work=worked(Grade.B, Disposition.OUTLET, passed=False))
    with pytest.raises(FinishError, match="Say which bin"):
        end(Grade.B, work=worked(Grade.B, Disposition.OUTLET), place=Place("dock", "D1"))
    task = generate("i2", LAMP.sku, LAMP.category, Grade.B, Disposition.OUTLET)
    assert task is not None
    other = begin(task)
    with pytest.raises(FinishError, match="not all of item i1"):
        end(Grade.B, work=other)
