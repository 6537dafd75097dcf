"""Reconditioning task lists: the step catalogue, templates per category and disposition (data),
a task list generated per item, items with the same template grouped, groups assigned to workers.

The work is done by people who need structure: the same steps in the same order, one at a time,
each with a large pictogram and a few words (a text key, Dutch and English in texts.py). Items
with the same template are grouped into batches so one worker does the same step for every item
of a batch before the next step (``work_order``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

import msgspec

from backend.returns.checklists import GENERAL
from backend.returns.vocabulary import Disposition, Grade


class TaskError(ValueError):
    """A task list or a step that cannot be done as asked; the message is a sentence."""


class StepKind(StrEnum):
    UNPACK = "unpack"
    CLEAN = "clean"
    WASH = "wash"
    IRON = "iron"
    TEST = "test"
    REPAIR = "repair"
    REPLACE_PART = "replace_part"
    REPACKAGE = "repackage"
    PHOTOGRAPH = "photograph"
    RELABEL = "relabel"


class StepLook(msgspec.Struct, frozen=True):
    pictogram: str  # an icon name of the task screen
    text_key: str  # a very few words: "Wash", "Iron", ...


STEPS: dict[StepKind, StepLook] = {
    StepKind.UNPACK: StepLook("box-open", "returns.step.unpack"),
    StepKind.CLEAN: StepLook("sparkles", "returns.step.clean"),
    StepKind.WASH: StepLook("washing-machine", "returns.step.wash"),
    StepKind.IRON: StepLook("iron", "returns.step.iron"),
    StepKind.TEST: StepLook("plug", "returns.step.test"),
    StepKind.REPAIR: StepLook("wrench", "returns.step.repair"),
    StepKind.REPLACE_PART: StepLook("puzzle", "returns.step.replacePart"),
    StepKind.REPACKAGE: StepLook("box", "returns.step.repackage"),
    StepKind.PHOTOGRAPH: StepLook("camera", "returns.step.photograph"),
    StepKind.RELABEL: StepLook("tag", "returns.step.relabel"),
}
QUALITY_CHECK = StepLook("check-badge", "returns.step.qualityCheck")  # the final check, after the steps

_S = StepKind
_GARMENT = (_S.UNPACK, _S.WASH, _S.IRON, _S.PHOTOGRAPH, _S.RELABEL, _S.REPACKAGE)
_DEVICE = (_S.UNPACK, _S.CLEAN, _S.TEST, _S.PHOTOGRAPH, _S.RELABEL, _S.REPACKAGE)
_FURNITURE = (_S.UNPACK, _S.CLEAN, _S.PHOTOGRAPH, _S.RELABEL, _S.REPACKAGE)
_AS_NEW = (_S.UNPACK, _S.REPACKAGE, _S.RELABEL)
_BACK = (_S.REPACKAGE, _S.RELABEL)  # to the supplier

# "<category>/<disposition>" -> steps. A category without its own template uses the general one;
# a disposition without any (recycle) needs no reconditioning.
TEMPLATES: dict[str, tuple[StepKind, ...]] = {
    "clothing/restock": _AS_NEW,
    "clothing/outlet": _GARMENT,
    "clothing/second_hand": _GARMENT,
    "clothing/repair": (_S.UNPACK, _S.REPAIR, *_GARMENT[1:]),
    "electronics/restock": (_S.UNPACK, _S.TEST, _S.REPACKAGE, _S.RELABEL),
    "electronics/outlet": _DEVICE,
    "electronics/second_hand": _DEVICE,
    "electronics/repair": (_S.UNPACK, _S.TEST, _S.REPLACE_PART, *_DEVICE[1:]),
    # furniture has every disposition of its own: the general lists test a device (a plug), not a sofa
    "furniture/restock": _AS_NEW,
    "furniture/outlet": _FURNITURE,
    "furniture/second_hand": _FURNITURE,
    "furniture/repair": (_S.UNPACK, _S.REPLACE_PART, _S.REPAIR, _S.CLEAN, _S.PHOTOGRAPH, _S.RELABEL),
    "furniture/supplier": _BACK,
    "general/restock": _AS_NEW,
    "general/outlet": _DEVICE,
    "general/second_hand": _DEVICE,
    "general/repair": (_S.UNPACK, _S.REPAIR, _S.TEST, _S.PHOTOGRAPH, _S.RELABEL, _S.REPACKAGE),
    "general/supplier": _BACK,
}
Templates = Mapping[str, Sequence[StepKind]]


class Step(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # "<item id>/<n>": stable, so a replayed tap is known
    n: int  # 1-based, in the order they are done
    kind: StepKind
    pictogram: str
    text_key: str


class TaskList(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    sku: str  # the new item's SKU
    category: str
    grade: Grade
    disposition: Disposition
    template: str  # "<category>/<disposition>" of the template used
    steps: tuple[Step, ...]
    worker: str | None = None


def template_for(
    category: str, disposition: Disposition, templates: Templates = TEMPLATES
) -> tuple[str, tuple[StepKind, ...]] | None:
    """The template's name and steps; None when the disposition needs no reconditioning."""
    for name in (f"{category}/{disposition.value}", f"{GENERAL}/{disposition.value}"):
        steps = templates.get(name)
        if steps:
            return name, tuple(steps)
    return None


def generate(
    item_id: str,
    sku: str,
    category: str,
    grade: Grade,
    disposition: Disposition,
    templates: Templates = TEMPLATES,
    looks: Mapping[StepKind, StepLook] = STEPS,
) -> TaskList | None:
    """The task list of one item; None when its disposition needs none."""
    found = template_for(category, disposition, templates)
    if found is None:
        return None
    name, kinds = found
    steps = tuple(
        Step(id=f"{item_id}/{n}", n=n, kind=k, pictogram=looks[k].pictogram, text_key=looks[k].text_key)
        for n, k in enumerate(kinds, start=1)
    )
    return TaskList(
        item_id=item_id, sku=sku, category=category, grade=grade, disposition=disposition, template=name, steps=steps
    )


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """Items with the same template, done together by one worker."""

    template: str
    lists: tuple[TaskList, ...]
    worker: str | None = None

    @property
    def steps(self) -> int:
        return sum(len(t.steps) for t in self.lists)


def group(lists: Iterable[TaskList], batch_size: int = 8) -> list[Batch]:
    """The lists by template (in order of first appearance), at most ``batch_size`` items a batch."""
    if batch_size < 1:
        raise TaskError("A batch holds at least one item.")
    by: dict[str, list[TaskList]] = {}
    for t in lists:
        by.setdefault(t.template, []).append(t)
    return [
        Batch(template=name, lists=tuple(same[i : i + batch_size]))
        for name, same in by.items()
        for i in range(0, len(same), batch_size)
    ]


def assign(batches: Iterable[Batch], workers: Sequence[str], load: Mapping[str, int] | None = None) -> list[Batch]:
    """Each batch whole to one worker: the largest batches first, each to the worker with the
    fewest steps so far (``load``: steps already on each worker's hands; ties by list order)."""
    if not workers:
        raise TaskError("No worker to assign the task lists to; add a worker to the shift.")
    steps = {w: (load or {}).get(w, 0) for w in workers}
    out = []
    for b in sorted(batches, key=lambda b: -b.steps):
        w = min(workers, key=lambda w: steps[w])
        steps[w] += b.steps
        out.append(Batch(template=b.template, lists=tuple(_to(t, w) for t in b.lists), worker=w))
    return out


def _to(t: TaskList, worker: str) -> TaskList:
    return msgspec.structs.replace(t, worker=worker)


def work_order(batch: Batch) -> list[Step]:
    """Step 1 of every item of the batch, then step 2 of every item, ...: the same step in a row."""
    longest = max((len(t.steps) for t in batch.lists), default=0)
    return [t.steps[n] for n in range(longest) for t in batch.lists if n < len(t.steps)]
