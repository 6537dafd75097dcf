"""A hub's returns settings, read by its dispatchers and returns desk and set by its dispatchers:
the disposition table, the refund deductions, the checklists per category and their grading
caps, the reconditioning templates and the labour rate (backend/returns/settings.py holds the value and its checks).

The body is a list of rows per table, so that msgspec's message names the row of a bad entry
("- at `$.refunds.grades[1].pct`"); the checks that span tables name theirs too. Stored as the
body accepted; a hub without a row works with the built-in defaults. The inspection reads them
in its own transaction (``settings_of``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.returns_settings_tables import HubReturnsSettings
from backend.errors import Invalid
from backend.returns import settings as core
from backend.returns.checklists import Checklist, Question
from backend.returns.dispositions import DispositionTable, End
from backend.returns.refunds import REFUNDS, RefundTable
from backend.returns.templates import StepKind
from backend.returns.vocabulary import Disposition, Grade, Reason
from backend.services.hub_scope import require_hub
from backend.structs import Body

Word = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[^/\s]+$")]  # a category
QuestionId = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
Pct = Annotated[int, msgspec.Meta(ge=0, le=100)]
Words = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class DispositionRow(Body):
    grade: Grade
    dispositions: Annotated[list[Disposition], msgspec.Meta(min_length=1, max_length=7)]  # the first is the default
    category: Word | None = None  # None: every category without a row of its own for this grade


class EndRow(Body):
    disposition: Disposition
    end: End


class GradePct(Body):
    grade: Grade
    pct: Pct


class FindingPct(Body):
    finding: QuestionId
    pct: Pct


class RefundsIn(Body):
    grades: Annotated[list[GradePct], msgspec.Meta(max_length=5)]
    findings: Annotated[list[FindingPct], msgspec.Meta(max_length=200)] = []
    # the reasons that are the customer's doing (left out: every reason but the seller's fault)
    deduct_for: Annotated[list[Reason], msgspec.Meta(max_length=8)] = msgspec.field(
        default_factory=lambda: sorted(REFUNDS.deduct_for)
    )


class TextIn(Body):
    en: Words
    nl: Words


class QuestionIn(Body):
    id: QuestionId
    text_key: Annotated[str, msgspec.Meta(max_length=80)] = ""  # "": returns.check.<id>, with ``text``
    good: bool = True
    photo_if_bad: bool = False
    text: TextIn | None = None  # needed for a question the apps have no words for


class ChecklistIn(Body):
    category: Word
    questions: Annotated[list[QuestionIn], msgspec.Meta(min_length=1, max_length=40)]
    min_photos: Annotated[int, msgspec.Meta(ge=0, le=20)] = 1
    max_photos: Annotated[int, msgspec.Meta(ge=1, le=20)] = 6


class GradeCap(Body):
    """A finding (a question answered the way that is not fine) caps the suggested grade."""

    category: Word
    finding: QuestionId
    at_best: Grade


class TemplateIn(Body):
    category: Word
    disposition: Disposition
    steps: Annotated[list[StepKind], msgspec.Meta(min_length=1, max_length=20)]


class SettingsIn(Body):
    """The whole settings; a table left out takes the built-in default."""

    labour_cents_per_hour: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    dispositions: Annotated[list[DispositionRow], msgspec.Meta(min_length=1, max_length=200)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_IN.dispositions)
    )
    ends: Annotated[list[EndRow], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_IN.ends)
    )
    refunds: RefundsIn = msgspec.field(default_factory=lambda: DEFAULT_IN.refunds)
    checklists: Annotated[list[ChecklistIn], msgspec.Meta(min_length=1, max_length=100)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_IN.checklists)
    )
    grading: Annotated[list[GradeCap], msgspec.Meta(max_length=400)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_IN.grading)
    )
    templates: Annotated[list[TemplateIn], msgspec.Meta(max_length=400)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_IN.templates)
    )


def _once(field: str, rows: Iterable[Any], key: Callable[[Any], object]) -> list[core.Problem]:
    seen: set[object] = set()
    out = []
    for i, row in enumerate(rows):
        k = key(row)
        if k in seen:
            out.append(core.Problem(f"{field}[{i}]", f"{field}[{i}] repeats an earlier row ({k}); give it once."))
        seen.add(k)
    return out


def _twice(data: SettingsIn) -> list[core.Problem]:
    return (
        _once("dispositions", data.dispositions, lambda r: f"{r.category or 'every category'}, grade {r.grade}")
        + _once("ends", data.ends, lambda r: r.disposition.value)
        + _once("refunds.grades", data.refunds.grades, lambda r: r.grade.value)
        + _once("refunds.findings", data.refunds.findings, lambda r: r.finding)
        + _once("checklists", data.checklists, lambda r: r.category)
        + _once("grading", data.grading, lambda r: f"{r.category}/{r.finding}")
        + _once("templates", data.templates, lambda r: f"{r.category}/{r.disposition.value}")
    )


def _question(q: QuestionIn) -> Question:
    text = {"en": q.text.en.strip(), "nl": q.text.nl.strip()} if q.text else {}
    key = q.text_key.strip() or f"returns.check.{q.id}"
    return Question(id=q.id, text_key=key, good=q.good, photo_if_bad=q.photo_if_bad, text=text)


def to_core(data: SettingsIn) -> core.Settings:
    """The core's value of an accepted body; every problem in it: 422 naming its entries."""
    twice = _twice(data)
    if twice:
        raise _invalid(twice)
    by_category: dict[str, dict[Grade, tuple[Disposition, ...]]] = {}
    for r in data.dispositions:
        if r.category is not None:
            by_category.setdefault(r.category, {})[r.grade] = tuple(r.dispositions)
    table = DispositionTable(
        by_grade={r.grade: tuple(r.dispositions) for r in data.dispositions if r.category is None},
        by_category=by_category,
        ends={r.disposition: r.end for r in data.ends},
    )
    caps: dict[str, dict[str, Grade]] = {}
    for c in data.grading:
        caps.setdefault(c.category, {})[c.finding] = c.at_best
    value = core.Settings(
        dispositions=table,
        refunds=RefundTable(
            grade_pct={r.grade: r.pct for r in data.refunds.grades},
            finding_pct={r.finding: r.pct for r in data.refunds.findings},
            deduct_for=frozenset(data.refunds.deduct_for),
        ),
        checklists={
            c.category: Checklist(
                category=c.category,
                questions=tuple(_question(q) for q in c.questions),
                min_photos=c.min_photos,
                max_photos=c.max_photos,
            )
            for c in data.checklists
        },
        grading=caps,
        templates={f"{t.category}/{t.disposition.value}": tuple(t.steps) for t in data.templates},
        labour_cents_per_hour=data.labour_cents_per_hour,
    )
    found = core.problems(value)
    if found:
        raise _invalid(found)
    return value


def _invalid(found: list[core.Problem]) -> Invalid:
    detail = " ".join(f"{p.field}: {p.sentence}" for p in found)
    return Invalid(
        f"Nothing was stored. {detail}",
        field=found[0].field,
        problems=[{"field": p.field, "detail": p.sentence} for p in found],
    )


def to_body(s: core.Settings) -> SettingsIn:
    """The body that gives ``s`` (what GET answers, so a client can change a row and PUT it back)."""
    table = s.dispositions
    rows = [DispositionRow(grade=g, dispositions=list(ds)) for g, ds in table.by_grade.items()]
    rows += [
        DispositionRow(grade=g, dispositions=list(ds), category=cat)
        for cat, grades in table.by_category.items()
        for g, ds in grades.items()
    ]
    return SettingsIn(
        labour_cents_per_hour=s.labour_cents_per_hour,
        dispositions=rows,
        ends=[EndRow(disposition=d, end=e) for d, e in table.ends.items()],
        refunds=RefundsIn(
            grades=[GradePct(grade=g, pct=p) for g, p in s.refunds.grade_pct.items()],
            findings=[FindingPct(finding=f, pct=p) for f, p in s.refunds.finding_pct.items()],
            deduct_for=sorted(s.refunds.deduct_for),
        ),
        checklists=[
            ChecklistIn(
                category=c.category,
                questions=[
                    QuestionIn(
                        id=q.id,
                        text_key=q.text_key,
                        good=q.good,
                        photo_if_bad=q.photo_if_bad,
                        text=TextIn(en=q.text["en"], nl=q.text["nl"]) if q.text else None,
                    )
                    for q in c.questions
                ],
                min_photos=c.min_photos,
                max_photos=c.max_photos,
            )
            for c in s.checklists.values()
        ],
        grading=[GradeCap(category=c, finding=f, at_best=g) for c, caps in s.grading.items() for f, g in caps.items()],
        templates=[
            TemplateIn(category=name.split("/")[0], disposition=Disposition(name.split("/")[1]), steps=list(steps))
            for name, steps in s.templates.items()
        ],
    )


DEFAULT_IN: SettingsIn = to_body(core.DEFAULTS)


async def _stored(hub_id: int) -> tuple[dict[str, Any] | None, core.Settings]:
    """The hub's row (None: it has set nothing) and its settings, from one read."""
    row = await HubReturnsSettings.select().where(HubReturnsSettings.hub == hub_id).output(load_json=True).first()
    return row, core.DEFAULTS if row is None else to_core(msgspec.convert(row["settings"], SettingsIn))


async def settings_of(hub_id: int) -> core.Settings:
    """The hub's settings (the defaults when it has set none); in the caller's transaction."""
    return (await _stored(hub_id))[1]


def _view(hub_id: int, s: core.Settings, row: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "hubId": hub_id,
        "isDefault": row is None,
        "byUser": row["by_user"] if row else None,
        "at": row["at"].isoformat() if row and row["at"] else None,
        "settings": msgspec.to_builtins(to_body(s)),
    }


async def read(hub_id: int) -> dict[str, Any]:
    await require_hub(hub_id)
    row, value = await _stored(hub_id)
    return _view(hub_id, value, row)


async def write(hub_id: int, data: SettingsIn, user_id: int, now: dt.datetime) -> dict[str, Any]:
    """Replace the hub's settings whole (checked first: on any problem nothing is stored). Items
    inspected before keep what they got; the next inspection follows the new tables."""
    await require_hub(hub_id)
    value = to_core(data)
    stored = msgspec.to_builtins(to_body(value))
    async with transaction():
        await write_guard("hub_returns_settings", hub_id)  # two PUTs at once: one after the other
        await HubReturnsSettings.delete().where(HubReturnsSettings.hub == hub_id)
        await HubReturnsSettings.insert(HubReturnsSettings(hub=hub_id, settings=stored, by_user=user_id, at=now))
        row, _ = await _stored(hub_id)
    return _view(hub_id, value, row)
