"""A grade follows from the findings where it can (a suggestion); the inspector decides, and the
disposition table, kept as data, says where the item goes next."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.returns import dispositions
from backend.returns.dispositions import DISPOSITIONS, ENDS, DispositionError, DispositionTable
from backend.returns.grading import GRADING, GradingError, decide, suggest, worse
from backend.returns.vocabulary import Disposition, Grade

AT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


def test_no_findings_suggest_a_and_each_finding_caps_the_grade() -> None:
    assert suggest("clothing", ()).grade is Grade.A
    worn = suggest("clothing", ("tags_on", "worn"))
    assert (worn.grade, worn.because) == (Grade.B, ("tags_on", "worn"))
    assert suggest("clothing", ("worn", "stains")).grade is Grade.C
    assert suggest("electronics", ("powers_on", "screen_ok")).grade is Grade.D
    assert suggest("garden", ("damage",)).grade is Grade.D  # the general table
    assert suggest("clothing", ("not_a_question",)).grade is Grade.A
    assert worse(Grade.B, Grade.SCRAP) is Grade.SCRAP and worse(Grade.C, Grade.A) is Grade.C


def test_the_grading_table_is_data() -> None:
    strict = {**GRADING, "clothing": {**GRADING["clothing"], "worn": Grade.C}}
    assert suggest("clothing", ("worn",)).grade is Grade.B
    assert suggest("clothing", ("worn",), strict).grade is Grade.C


def test_the_inspector_decides_and_a_better_grade_than_suggested_needs_a_note() -> None:
    g = decide("r1", "clothing", ("worn",), None, "ines", AT)
    assert (g.suggested, g.grade, g.findings) == (Grade.B, Grade.B, ("worn",))
    assert decide("r1", "clothing", ("worn",), Grade.C, "ines", AT).grade is Grade.C  # worse: the inspector's call
    with pytest.raises(GradingError, match="suggests grade B; to give A, add a note"):
        decide("r1", "clothing", ("worn",), Grade.A, "ines", AT)
    kept = decide("r1", "clothing", ("worn",), Grade.A, "ines", AT, note="only tried on, still folded")
    assert (kept.suggested, kept.grade) == (Grade.B, Grade.A)
    with pytest.raises(GradingError, match="who graded"):
        decide("r1", "clothing", (), None, " ", AT)


def test_the_disposition_table_by_grade() -> None:
    def first(grade: Grade, category: str = "clothing") -> Disposition:
        return dispositions.decide("r1", grade, category, "ines", AT).disposition

    assert [first(g) for g in Grade] == [
        Disposition.RESTOCK,
        Disposition.OUTLET,
        Disposition.SECOND_HAND,
        Disposition.REPAIR,
        Disposition.RECYCLE,
    ]
    assert first(Grade.SCRAP, "electronics") is Disposition.E_WASTE  # a category's override
    d = dispositions.decide("r1", Grade.D, "clothing", "ines", AT, chosen=Disposition.SUPPLIER)
    assert (d.disposition, d.end) == (Disposition.SUPPLIER, "supplier")
    assert dispositions.decide("r1", Grade.B, "clothing", "ines", AT).end == "stock_graded"
    with pytest.raises(DispositionError, match="A grade B clothing item goes to outlet, not to restock"):
        dispositions.decide("r1", Grade.B, "clothing", "ines", AT, chosen=Disposition.RESTOCK)


def test_changing_the_disposition_data_changes_the_outcome() -> None:
    charity = DispositionTable(
        by_grade={**DISPOSITIONS.by_grade, Grade.B: (Disposition.SECOND_HAND, Disposition.OUTLET)},
        by_category={"clothing": {Grade.SCRAP: (Disposition.RECYCLE,)}},
        ends=ENDS,
    )
    assert dispositions.decide("r1", Grade.B, "clothing", "ines", AT).disposition is Disposition.OUTLET
    assert dispositions.decide("r1", Grade.B, "clothing", "ines", AT, table=charity).disposition is (
        Disposition.SECOND_HAND
    )
    assert dispositions.decide("r1", Grade.SCRAP, "electronics", "ines", AT, table=charity).disposition is (
        Disposition.RECYCLE
    )
    no_b = DispositionTable(by_grade={Grade.A: (Disposition.RESTOCK,)}, ends=ENDS)
    with pytest.raises(DispositionError, match="nothing for grade B"):
        dispositions.decide("r1", Grade.B, "clothing", "ines", AT, table=no_b)
    no_end = DispositionTable(by_grade={Grade.A: (Disposition.RESTOCK,)}, ends={})
    with pytest.raises(DispositionError, match="does not say where restock ends"):
        dispositions.decide("r1", Grade.A, "clothing", "ines", AT, table=no_end)
