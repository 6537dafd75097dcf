"""Return figures: return rate and reasons per product and per category per ISO week, the top
reasons, the cost of returns (fees, refunds, labour minutes from the task timers), as CSV.

A return counts in the ISO week its item was *sold* (delivered), so a week's rate compares
like with like: of what was sold that week, how much came back (a recent week's rate still
grows while its return window is open).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import msgspec

from backend.returns.vocabulary import Reason

By = Literal["sku", "category"]


class Sold(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    category: str
    on: dt.date
    quantity: int = 1


class Returned(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    sku: str  # the new item's SKU (not a graded variant)
    category: str
    reason: Reason
    sold_on: dt.date
    fee_cents: int = 0  # the return fee kept (shown apart; already taken off refund_cents)
    refund_cents: int = 0  # paid back (or credited), the fee already taken off
    labour_minutes: float = 0.0  # tasks.labour_minutes of its task list


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    week: str
    key: str  # the SKU or the category
    sold: int
    returned: int
    rate: float | None  # returned / sold; None when nothing was sold that week


class ReasonCount(msgspec.Struct, frozen=True, kw_only=True):
    week: str
    key: str
    reason: Reason
    count: int


class Cost(msgspec.Struct, frozen=True, kw_only=True):
    week: str
    returns: int
    fees_cents: int
    refunds_cents: int
    labour_minutes: float
    labour_cents: int  # labour_minutes at the given hourly cost
    net_cents: int  # refunds + labour: the fees are already off the refunds (their "fee" line)


def iso_week(d: dt.date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def _key(x: Sold | Returned, by: By) -> str:
    return x.sku if by == "sku" else x.category


def rates(sold: Iterable[Sold], returned: Iterable[Returned], by: By = "sku") -> list[Rate]:
    """Per week and SKU (or category): sold, returned and the rate, by week then key."""
    n_sold: Counter[tuple[str, str]] = Counter()
    for s in sold:
        n_sold[(iso_week(s.on), _key(s, by))] += s.quantity
    n_back = Counter((iso_week(r.sold_on), _key(r, by)) for r in returned)
    out = []
    for week, key in sorted(set(n_sold) | set(n_back)):
        n, r = n_sold[(week, key)], n_back[(week, key)]
        out.append(Rate(week=week, key=key, sold=n, returned=r, rate=r / n if n else None))
    return out


def reasons(returned: Iterable[Returned], by: By = "sku") -> list[ReasonCount]:
    """How often each reason was given, per week and SKU (or category)."""
    order = {r: i for i, r in enumerate(Reason)}
    counts = Counter((iso_week(r.sold_on), _key(r, by), r.reason) for r in returned)
    return [
        ReasonCount(week=w, key=k, reason=reason, count=n)
        for (w, k, reason), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], order[kv[0][2]]))
    ]


def top_reasons(returned: Iterable[Returned], n: int = 3) -> list[tuple[Reason, int]]:
    """The ``n`` most given reasons, most first (ties in the order of the reasons list)."""
    order = {r: i for i, r in enumerate(Reason)}
    counts = Counter(r.reason for r in returned)
    return sorted(counts.items(), key=lambda kv: (-kv[1], order[kv[0]]))[:n]


def costs(returned: Iterable[Returned], labour_cents_per_hour: int = 0) -> list[Cost]:
    """The cost of returns per week (of sale)."""
    weeks: dict[str, list[Returned]] = {}
    for r in returned:
        weeks.setdefault(iso_week(r.sold_on), []).append(r)
    out = []
    for week in sorted(weeks):
        rs = weeks[week]
        fees, refunds = sum(r.fee_cents for r in rs), sum(r.refund_cents for r in rs)
        minutes = sum(r.labour_minutes for r in rs)
        labour = round(minutes * labour_cents_per_hour / 60)
        out.append(
            Cost(
                week=week,
                returns=len(rs),
                fees_cents=fees,
                refunds_cents=refunds,
                labour_minutes=round(minutes, 2),
                labour_cents=labour,
                net_cents=refunds + labour,
            )
        )
    return out


def to_csv(rows: Sequence[msgspec.Struct]) -> str:
    """Rows of one kind as CSV with a header of their field names (empty text for no rows)."""
    if not rows:
        return ""
    fields = rows[0].__struct_fields__
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(fields)
    for row in rows:
        w.writerow([_cell(getattr(row, f)) for f in fields])
    return buf.getvalue()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)
