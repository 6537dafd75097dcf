"""A suggested grade from an inspection's findings, and the inspector's decision.

The grading table is data: per category, each finding (a question id answered the way that
is not fine) caps the grade at a worst-allowed value, e.g. a worn garment is at best B, a
device that does not power on at best D. No findings suggest A. The suggestion is only that:
the inspector decides, and a grade better than the findings suggest needs a note saying why
(so the decision can be audited).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import msgspec

from backend.returns.checklists import GENERAL
from backend.returns.vocabulary import Grade

ORDER: tuple[Grade, ...] = (Grade.A, Grade.B, Grade.C, Grade.D, Grade.SCRAP)  # best first


class GradingError(ValueError):
    """A grading that cannot be recorded; the message is a sentence."""


def worse(a: Grade, b: Grade) -> Grade:
    return a if ORDER.index(a) >= ORDER.index(b) else b


# category -> finding -> the best grade the item can still get with that finding
GradingTable = Mapping[str, Mapping[str, Grade]]

GRADING: dict[str, dict[str, Grade]] = {
    "clothing": {"tags_on": Grade.B, "worn": Grade.B, "smell": Grade.C, "stains": Grade.C, "damage": Grade.D},
    "electronics": {
        "data_wiped": Grade.B,  # wiped at the hub, then as good as the rest
        "accessories_complete": Grade.C,
        "screen_ok": Grade.C,
        "damage": Grade.D,
        "powers_on": Grade.D,
    },
    "furniture": {"scratches": Grade.C, "parts_complete": Grade.C, "damage": Grade.D},
    GENERAL: {"packaging_ok": Grade.B, "complete": Grade.C, "damage": Grade.D},
}


class Suggestion(msgspec.Struct, frozen=True, kw_only=True):
    grade: Grade
    because: tuple[str, ...] = ()  # the findings that set it (all that cap it at that grade)


class Grading(msgspec.Struct, frozen=True, kw_only=True):
    """The grade an item got: what the findings suggested and what the inspector chose."""

    item_id: str
    suggested: Grade
    grade: Grade
    findings: tuple[str, ...]
    inspector: str
    at: dt.datetime
    note: str = ""


def suggest(category: str, found: Iterable[str], table: GradingTable = GRADING) -> Suggestion:
    """The best grade the findings allow; a finding the table does not know caps nothing."""
    caps = table.get(category, table.get(GENERAL, {}))
    grade = Grade.A
    for f in found:
        if f in caps:
            grade = worse(grade, caps[f])
    because = tuple(f for f in found if caps.get(f) == grade) if grade is not Grade.A else ()
    return Suggestion(grade=grade, because=because)


def decide(
    item_id: str,
    category: str,
    found: tuple[str, ...],
    chosen: Grade | None,
    inspector: str,
    at: dt.datetime,
    note: str = "",
    table: GradingTable = GRADING,
) -> Grading:
    """The inspector's grade (the suggestion when ``chosen`` is None). Better than suggested
    needs a note; worse is the inspector's call and needs none."""
    if not inspector.strip():
        raise GradingError("Say who graded the item.")
    suggested = suggest(category, found, table).grade
    grade = suggested if chosen is None else chosen
    if ORDER.index(grade) < ORDER.index(suggested) and not note.strip():
        raise GradingError(
            f"The checklist suggests grade {suggested.value}; to give {grade.value}, add a note saying why."
        )
    return Grading(
        item_id=item_id, suggested=suggested, grade=grade, findings=found, inspector=inspector, at=at, note=note
    )
