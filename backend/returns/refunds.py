"""The refund for one returned item, as an itemised breakdown, and recording it once.

The amount follows from the price, the reason, the grade, the findings, what the customer asked
for, and the fee and exchange bonus the return request agreed under the shop's ReturnPolicy of
that day (a policy changed since does not change them); the deductions are data
(``RefundTable``): a percentage of the price per grade and per finding (missing parts, missing
accessories), applied only for reasons that are the customer's doing (never for a defect, damage
on arrival or a wrong item). Every amount is a line with a code and a sentence, so a refund can
be audited line by line. Money is in euro cents; a percentage is rounded down, in the
customer's favour; the total is never below 0.

``RefundLedger`` records a refund once per item: asking again with the same breakdown answers the
same record (a replay), asking with another amount is refused — never a second payment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import msgspec

from backend.returns.vocabulary import SELLERS_FAULT, Grade, Outcome, Reason


class RefundError(ValueError):
    """A refund that cannot be computed or recorded; the message is a sentence."""


class RefundTable(msgspec.Struct, frozen=True, kw_only=True):
    grade_pct: Mapping[Grade, int]  # deducted from the price for the item's grade
    finding_pct: Mapping[str, int] = {}  # deducted per finding (question id), e.g. parts missing
    deduct_for: frozenset[Reason] = frozenset(Reason) - SELLERS_FAULT


REFUNDS = RefundTable(
    grade_pct={Grade.A: 0, Grade.B: 10, Grade.C: 25, Grade.D: 50, Grade.SCRAP: 100},
    finding_pct={"accessories_complete": 15, "parts_complete": 20, "complete": 20},
)


class Line(msgspec.Struct, frozen=True, kw_only=True):
    code: str  # "price", "grade", "finding:<id>", "fee", "exchange_bonus", "floor"
    cents: int  # signed: what it adds to the total
    note: str  # a sentence for the audit


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    outcome: Outcome  # refund: money back; exchange: credit towards the new item
    lines: tuple[Line, ...]
    total_cents: int


def euro(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}€{abs(cents) // 100}.{abs(cents) % 100:02d}"


def compute(
    item_id: str,
    *,
    price_cents: int,
    reason: Reason,
    outcome: Outcome,
    grade: Grade,
    findings: Iterable[str] = (),
    fee_cents: int = 0,
    bonus_cents: int = 0,
    table: RefundTable = REFUNDS,
) -> Refund:
    """The itemised refund of one item. ``fee_cents`` and ``bonus_cents`` are the item's share of
    what the request agreed with the customer (requests.units), not the shop's policy of today."""
    if price_cents < 0:
        raise RefundError(f"Item {item_id} has a negative price ({price_cents} cents); check the order.")
    lines = [Line(code="price", cents=price_cents, note=f"Paid for the item: {euro(price_cents)}.")]
    if reason in table.deduct_for:
        lines += _deductions(price_cents, grade, findings, table)
    if fee_cents < 0 or bonus_cents < 0:
        raise RefundError(f"Item {item_id} has a negative fee or bonus; check the return request.")
    if fee_cents:
        note = f"Return fee for the reason {reason.value}, as agreed with the return: {euro(fee_cents)}."
        lines.append(Line(code="fee", cents=-fee_cents, note=note))
    if outcome is Outcome.EXCHANGE and bonus_cents:
        note = f"Bonus credit for an exchange, as agreed with the return: {euro(bonus_cents)}."
        lines.append(Line(code="exchange_bonus", cents=bonus_cents, note=note))
    total = sum(line.cents for line in lines)
    if total < 0:
        lines.append(Line(code="floor", cents=-total, note="Deductions and fees never exceed what was paid."))
        total = 0
    return Refund(item_id=item_id, outcome=outcome, lines=tuple(lines), total_cents=total)


def _deductions(price: int, grade: Grade, findings: Iterable[str], table: RefundTable) -> list[Line]:
    out = []
    pct = table.grade_pct.get(grade, 0)
    if pct:
        cut = price * pct // 100
        out.append(Line(code="grade", cents=-cut, note=f"Grade {grade.value}: {pct}% of the price, {euro(cut)}."))
    for f in dict.fromkeys(findings):  # each finding once, in order
        pct = table.finding_pct.get(f, 0)
        if pct:
            cut = price * pct // 100
            out.append(Line(code=f"finding:{f}", cents=-cut, note=f"Finding {f}: {pct}% of the price, {euro(cut)}."))
    return out


class RefundRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # "refund:<item id>": one per item, whatever is asked
    refund: Refund
    by: str
    at: dt.datetime


class RefundLedger:
    """The refunds recorded, one per item."""

    def __init__(self, records: Iterable[RefundRecord] = ()) -> None:
        self.records: dict[str, RefundRecord] = {}
        for r in records:
            self.record(r.refund, r.by, r.at)

    def record(self, refund: Refund, by: str, at: dt.datetime) -> RefundRecord:
        """Record ``refund``; the same refund again answers the first record (nothing paid twice)."""
        if not by.strip():
            raise RefundError("Say who records the refund.")
        before = self.records.get(refund.item_id)
        if before is not None:
            if before.refund != refund:
                raise RefundError(
                    f"Item {refund.item_id} was already refunded {euro(before.refund.total_cents)} "
                    f"on {before.at:%Y-%m-%d} by {before.by}; a refund is paid once."
                )
            return before
        rec = RefundRecord(id=f"refund:{refund.item_id}", refund=refund, by=by, at=at)
        self.records[refund.item_id] = rec
        return rec

    def paid_cents(self) -> int:
        return sum(r.refund.total_cents for r in self.records.values())
