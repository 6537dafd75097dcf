"""The end of a returned item's way through the hub, with its whole history.

Where it ends follows from the disposition (dispositions.ENDS): back in stock as new (the new
item's SKU), in stock as its graded variant ("JAS-42/B", warehouse.products.graded) — for the
outlet or second-hand — back to the supplier, or recycled. Stock is a ledger movement of kind
"return" (one unit into a bin), returned as a value for the service to record: its id makes a
replay harmless (warehouse.ledger). An item with a task list ends only after its final check
passed. A repaired item is stocked with the grade it has after the repair (``regrade``).
"""

from __future__ import annotations

import datetime as dt

import msgspec

from backend.returns.dispositions import Decision, End
from backend.returns.grading import Grading
from backend.returns.tasks import Work
from backend.returns.templates import TEMPLATES, Templates, template_for
from backend.returns.vocabulary import Disposition, Grade
from backend.warehouse.ledger import Movement, Place
from backend.warehouse.products import Product, ProductError, graded

NOT_STOCKED = frozenset({Grade.D, Grade.SCRAP})  # defective or scrap is never sold as it is


class FinishError(ValueError):
    """An item that cannot end as asked yet (its list, its check, already ended); the message is a sentence."""


class FinishInputError(FinishError):
    """What was asked is wrong in itself (no bin, no grade after a repair, a grade that is not
    stocked): the caller answers it as bad input, not as a conflict with the item's state."""


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    at: dt.datetime
    by: str
    what: str  # "graded", "disposition", "step 2 wash: done", "final check", "stock", ...
    detail: str = ""


class Finished(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    end: End
    grade: Grade
    disposition: Disposition
    product: Product | None  # what went into stock (the graded variant, or the new item)
    movement: Movement | None  # the ledger movement to record, for a stocked item
    history: tuple[Entry, ...]


def finish(
    *,
    grading: Grading,
    decision: Decision,
    product: Product,
    work: Work | None,
    place: Place | None,
    movement_id: str,
    by: str,
    at: dt.datetime,
    regrade: Grade | None = None,
    templates: Templates = TEMPLATES,
) -> Finished:
    """Where the item ends, the movement that puts it there (if any) and its history."""
    item = grading.item_id
    if decision.item_id != item or (work is not None and work.task.item_id != item):
        raise FinishError(f"The grading, disposition and task list are not all of item {item}.")
    _check_work(item, product.category, decision.disposition, work, templates)
    grade = _grade_after(item, decision, regrade)
    stocked, movement = None, None
    if decision.end in ("stock_new", "stock_graded"):
        stocked = _stock_product(product, grade, decision.end)
        if place is None or place.kind != "bin":
            raise FinishInputError(f"Say which bin item {item} goes into.")
        reason = f"return {item}: grade {grade.value}, {decision.disposition.value}"
        movement = Movement(
            id=movement_id, kind="return", place=place, sku=stocked.sku, quantity=1, reason=reason, user=by, at=at
        )
    history = (*_history(grading, decision, work), _end_entry(decision, stocked, place, by, at))
    return Finished(
        item_id=item,
        end=decision.end,
        grade=grade,
        disposition=decision.disposition,
        product=stocked,
        movement=movement,
        history=history,
    )


def _check_work(item: str, category: str, disposition: Disposition, work: Work | None, templates: Templates) -> None:
    if work is None:
        if template_for(category, disposition, templates) is not None:
            raise FinishError(f"Item {item} has a task list to work through before it can leave the hub.")
        return
    if work.check is None:
        raise FinishError(f"Item {item} waits for its final quality check.")
    if not work.check.passed:
        raise FinishError(f"Item {item} failed its final check ({work.check.note}); grade it again.")


def _grade_after(item: str, decision: Decision, regrade: Grade | None) -> Grade:
    """A repaired item is graded again as it leaves (the repair changed it); nothing else is."""
    repaired = decision.disposition is Disposition.REPAIR
    if repaired and regrade is None:
        raise FinishInputError(
            f"Item {item} was repaired: give its grade after the repair (A, B or C); "
            f"a grade {decision.grade.value} item is not stocked as it is."
        )
    if not repaired and regrade is not None:
        raise FinishInputError(
            f"Only a repaired item is graded again as it leaves; item {item} goes to "
            f"{decision.disposition.value}: finish it without a new grade."
        )
    return regrade or decision.grade


def _stock_product(product: Product, grade: Grade, end: End) -> Product:
    if grade in NOT_STOCKED:
        raise FinishInputError(
            f"A grade {grade.value} item is not stocked as it is; a repaired item goes into stock as A, B or C."
        )
    if end == "stock_new":
        return product
    try:
        return graded(product, grade.value)
    except ProductError as e:
        raise FinishInputError(str(e)) from None


def _history(grading: Grading, decision: Decision, work: Work | None) -> list[Entry]:
    found = ", ".join(grading.findings) or "none"
    out = [
        Entry(
            at=grading.at,
            by=grading.inspector,
            what="graded",
            detail=f"grade {grading.grade.value} (suggested {grading.suggested.value}; findings: {found})"
            + (f"; {grading.note}" if grading.note else ""),
        ),
        Entry(at=decision.at, by=decision.by, what="disposition", detail=decision.disposition.value),
    ]
    if work is not None:
        steps = {s.id: s for s in work.task.steps}
        for e in work.events:
            s = steps[e.step_id]
            out.append(Entry(at=e.at, by=e.by, what=f"step {s.n} {s.kind.value}: {e.kind}", detail=e.note))
        if work.check is not None:
            c = work.check
            out.append(
                Entry(at=c.at, by=c.by, what="final check", detail="passed" if c.passed else f"failed: {c.note}")
            )
    return out


def _end_entry(decision: Decision, stocked: Product | None, place: Place | None, by: str, at: dt.datetime) -> Entry:
    if stocked is not None:
        return Entry(at=at, by=by, what="stock", detail=f"1 x {stocked.sku} into {place}")
    return Entry(at=at, by=by, what=decision.end, detail=decision.disposition.value)  # e.g. recycled: e_waste
