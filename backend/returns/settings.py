"""A hub's returns settings as one value: the disposition table, the refund deductions, the
checklists per category with their grading caps, the reconditioning templates and the labour rate. Each table is data
the hub may change; a hub that changed nothing works with the built-in defaults (``DEFAULTS``).

``problems`` holds the checks that span the tables, which a single table's shape cannot say:
every grade goes somewhere, every disposition ends somewhere, a disposition that ends in the
graded stock has a reconditioning template, a grade cap or a refund deduction names a question
a checklist asks, a new question has its Dutch and English. Each problem names the entry it is about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from backend.returns.checklists import CHECKLISTS, GENERAL, Checklist, InspectionError, checklist_for
from backend.returns.dispositions import DISPOSITIONS, DispositionTable
from backend.returns.grading import GRADING, ORDER, GradingTable
from backend.returns.refunds import REFUNDS, RefundTable
from backend.returns.templates import TEMPLATES, StepKind
from backend.returns.texts import TEXTS
from backend.returns.vocabulary import Disposition

LANGUAGES = ("en", "nl")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    dispositions: DispositionTable
    refunds: RefundTable
    checklists: Mapping[str, Checklist]
    grading: GradingTable  # category -> finding -> the best grade it still allows
    templates: Mapping[str, Sequence[StepKind]]  # "<category>/<disposition>" -> steps
    labour_cents_per_hour: int = 0  # what an hour of reconditioning costs the hub (the figures)


DEFAULTS = Settings(
    dispositions=DISPOSITIONS, refunds=REFUNDS, checklists=CHECKLISTS, grading=GRADING, templates=TEMPLATES
)


class Problem(msgspec.Struct, frozen=True):
    field: str  # the entry, e.g. "dispositions.B" or "templates.clothing/outlet"
    sentence: str


def problems(s: Settings) -> list[Problem]:
    """What makes these settings unusable, entry by entry; none: they can be stored."""
    return _disposition_problems(s) + _checklist_problems(s) + _grading_problems(s) + _refund_problems(s)


def _disposition_problems(s: Settings) -> list[Problem]:
    out = []
    table = s.dispositions
    for g in ORDER:
        if not table.by_grade.get(g):
            out.append(Problem(f"dispositions.{g.value}", f"Grade {g.value} goes nowhere; give it a disposition."))
    used: list[tuple[str, str, Disposition]] = [
        (f"dispositions.{g.value}", GENERAL, d) for g, ds in table.by_grade.items() for d in ds
    ]
    used += [
        (f"dispositions.{cat}.{g.value}", cat, d)
        for cat, grades in table.by_category.items()
        for g, ds in grades.items()
        for d in ds
    ]
    for field, cat, d in used:
        end = table.ends.get(d)
        if end is None:
            out.append(Problem(f"ends.{d.value}", f"{d.value} is used ({field}) but does not say where it ends."))
        elif end == "stock_graded" and not _template(s.templates, cat, d):
            name = f"{cat}/{d.value}" if cat == GENERAL else f"{cat}/{d.value} or {GENERAL}/{d.value}"
            out.append(
                Problem(
                    field,
                    f"{d.value} is reconditioned before it goes into the graded stock, but there is no "
                    f"template {name}; add it to the templates.",
                )
            )
    return out


def _template(templates: Mapping[str, Sequence[StepKind]], category: str, d: Disposition) -> bool:
    return bool(templates.get(f"{category}/{d.value}") or templates.get(f"{GENERAL}/{d.value}"))


def _checklist_problems(s: Settings) -> list[Problem]:
    out = []
    if GENERAL not in s.checklists:
        out.append(Problem("checklists", f"Keep a {GENERAL} checklist: it is asked for every other category."))
    for cat, cl in s.checklists.items():
        seen: set[str] = set()
        for q in cl.questions:
            field = f"checklists.{cat}.{q.id}"
            if q.id in seen:
                out.append(Problem(field, f"The {cat} checklist asks {q.id} twice; ask it once."))
            seen.add(q.id)
            if q.text_key not in TEXTS and not all((q.text.get(lang) or "").strip() for lang in LANGUAGES):
                out.append(Problem(field, f"{q.id} is a new question; give its text in English and Dutch (en, nl)."))
        if cl.min_photos > cl.max_photos:
            out.append(
                Problem(
                    f"checklists.{cat}.minPhotos",
                    f"The {cat} checklist asks at least {cl.min_photos} photos but allows at most {cl.max_photos}.",
                )
            )
    return out


def _grading_problems(s: Settings) -> list[Problem]:
    out = []
    for cat, caps in s.grading.items():
        try:
            asked = {q.id for q in checklist_for(cat, s.checklists).questions}
        except InspectionError:
            asked = set()  # no general checklist either: said above
        out += [
            Problem(f"grading.{cat}.{f}", f"The checklist of {cat} does not ask {f}; a grade cap names its question.")
            for f in caps
            if f not in asked
        ]
    return out


def _refund_problems(s: Settings) -> list[Problem]:
    asked = {q.id for cl in s.checklists.values() for q in cl.questions}
    return [
        Problem(f"refunds.findings.{f}", f"No checklist asks {f}; a deduction names a question of a checklist.")
        for f in s.refunds.finding_pct
        if f not in asked
    ]
