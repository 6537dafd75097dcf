"""Where an inspected item goes next, by its grade: the disposition table, kept as data.

Per grade a tuple of dispositions: the first is what happens unless the inspector picks one of
the others (D: repair, or back to the supplier). A category can override grades (electronics'
scrap goes to the e-waste stream). Where each disposition *ends* — stock as new, stock as its
graded variant, back to the supplier, recycled — is data too (``ENDS``), read by finishing.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal

import msgspec

from backend.returns.vocabulary import Disposition, Grade

End = Literal["stock_new", "stock_graded", "supplier", "recycled"]


class DispositionError(ValueError):
    """A disposition the table does not allow; the message is a sentence."""


class DispositionTable(msgspec.Struct, frozen=True, kw_only=True):
    by_grade: Mapping[Grade, tuple[Disposition, ...]]
    by_category: Mapping[str, Mapping[Grade, tuple[Disposition, ...]]] = {}
    ends: Mapping[Disposition, End]

    def allowed(self, grade: Grade, category: str) -> tuple[Disposition, ...]:
        own = self.by_category.get(category, {})
        return own.get(grade) or self.by_grade.get(grade, ())


ENDS: dict[Disposition, End] = {
    Disposition.RESTOCK: "stock_new",
    Disposition.OUTLET: "stock_graded",
    Disposition.SECOND_HAND: "stock_graded",
    Disposition.REPAIR: "stock_graded",  # repaired, then stocked with the grade the final check gives
    Disposition.SUPPLIER: "supplier",
    Disposition.RECYCLE: "recycled",
    Disposition.E_WASTE: "recycled",
}

DISPOSITIONS = DispositionTable(
    by_grade={
        Grade.A: (Disposition.RESTOCK,),
        Grade.B: (Disposition.OUTLET,),
        Grade.C: (Disposition.SECOND_HAND,),
        Grade.D: (Disposition.REPAIR, Disposition.SUPPLIER),
        Grade.SCRAP: (Disposition.RECYCLE,),
    },
    by_category={"electronics": {Grade.SCRAP: (Disposition.E_WASTE,)}},
    ends=ENDS,
)


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    grade: Grade
    disposition: Disposition
    end: End
    by: str
    at: dt.datetime


def decide(
    item_id: str,
    grade: Grade,
    category: str,
    by: str,
    at: dt.datetime,
    chosen: Disposition | None = None,
    table: DispositionTable = DISPOSITIONS,
) -> Decision:
    """The table's disposition for ``grade`` in ``category`` (the first, or ``chosen`` among the allowed)."""
    allowed = table.allowed(grade, category)
    if not allowed:
        raise DispositionError(f"The disposition table has nothing for grade {grade.value}; add it to the data.")
    disposition = allowed[0] if chosen is None else chosen
    if disposition not in allowed:
        names = " or ".join(d.value for d in allowed)
        raise DispositionError(f"A grade {grade.value} {category} item goes to {names}, not to {disposition.value}.")
    if disposition not in table.ends:
        raise DispositionError(f"The table does not say where {disposition.value} ends; add it to the data.")
    return Decision(item_id=item_id, grade=grade, disposition=disposition, end=table.ends[disposition], by=by, at=at)
