"""The checks that span a hub's returns tables: the defaults pass; each broken rule names the
entry it is about."""

from __future__ import annotations

import msgspec

from backend.returns.checklists import CHECKLISTS, GENERAL, Checklist, Question
from backend.returns.settings import DEFAULTS, problems
from backend.returns.vocabulary import Disposition, Grade


def _fields(s) -> list[str]:
    return [p.field for p in problems(s)]


def test_the_built_in_tables_have_no_problems() -> None:
    assert problems(DEFAULTS) == []


def test_a_grade_without_a_disposition_or_a_disposition_without_an_end_is_named() -> None:
    table = DEFAULTS.dispositions
    no_c = msgspec.structs.replace(table, by_grade={g: d for g, d in table.by_grade.items() if g is not Grade.C})
    assert _fields(msgspec.structs.replace(DEFAULTS, dispositions=no_c)) == ["dispositions.C"]
    no_end = msgspec.structs.replace(table, ends={d: e for d, e in table.ends.items() if d is not Disposition.E_WASTE})
    assert _fields(msgspec.structs.replace(DEFAULTS, dispositions=no_end)) == ["ends.e_waste"]


def test_a_reconditioned_disposition_needs_a_template_the_category_falls_back_to_general() -> None:
    without = {k: v for k, v in DEFAULTS.templates.items() if k != "general/second_hand"}
    assert _fields(msgspec.structs.replace(DEFAULTS, templates=without)) == ["dispositions.C"]
    # clothing has its own outlet template, so a clothing row for grade C is fine without a general one
    table = msgspec.structs.replace(DEFAULTS.dispositions, by_category={"clothing": {Grade.C: (Disposition.OUTLET,)}})
    assert problems(msgspec.structs.replace(DEFAULTS, dispositions=table)) == []
    only_general = {k: v for k, v in DEFAULTS.templates.items() if k not in ("clothing/outlet", "general/outlet")}
    assert "dispositions.clothing.C" in _fields(
        msgspec.structs.replace(DEFAULTS, dispositions=table, templates=only_general)
    )


def test_checklists_need_a_general_one_words_for_new_questions_and_deductions_that_are_asked() -> None:
    no_general = {k: v for k, v in CHECKLISTS.items() if k != GENERAL}
    assert "checklists" in _fields(msgspec.structs.replace(DEFAULTS, checklists=no_general))
    new = Question(id="fit", text_key="returns.check.fit")
    toys = Checklist(category="toys", questions=(new, new), min_photos=3, max_photos=2)
    found = _fields(msgspec.structs.replace(DEFAULTS, checklists={**CHECKLISTS, "toys": toys}))
    assert found == ["checklists.toys.fit", "checklists.toys.fit", "checklists.toys.fit", "checklists.toys.minPhotos"]
    worded = msgspec.structs.replace(new, text={"en": "Fits?", "nl": "Past het?"})
    ok = Checklist(category="toys", questions=(worded,))
    assert problems(msgspec.structs.replace(DEFAULTS, checklists={**CHECKLISTS, "toys": ok})) == []
    refunds = msgspec.structs.replace(DEFAULTS.refunds, finding_pct={"sparkles": 5})
    assert _fields(msgspec.structs.replace(DEFAULTS, refunds=refunds)) == ["refunds.findings.sparkles"]


def test_a_grade_cap_names_a_question_of_its_category_or_the_general_checklist() -> None:
    caps = {**DEFAULTS.grading, "clothing": {**DEFAULTS.grading["clothing"], "sparkles": Grade.C}}
    assert _fields(msgspec.structs.replace(DEFAULTS, grading=caps)) == ["grading.clothing.sparkles"]
    # a category without its own checklist is asked the general questions
    toys = {**DEFAULTS.grading, "toys": {"complete": Grade.C, "worn": Grade.B}}
    assert _fields(msgspec.structs.replace(DEFAULTS, grading=toys)) == ["grading.toys.worn"]
