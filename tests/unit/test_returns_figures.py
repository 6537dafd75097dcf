"""Return figures per ISO week of sale: rates and reasons per product and category, top reasons,
cost of returns, and the CSV of each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.returns.figures import Returned, Sold, costs, iso_week, rates, reasons, to_csv, top_reasons
from backend.returns.vocabulary import Reason

MON = dt.date(2026, 11, 30)  # ISO week 2026-W49
NEXT = dt.date(2026, 12, 7)  # 2026-W50

SOLD = [
    Sold(sku="JAS-42", category="clothing", on=MON, quantity=4),
    Sold(sku="JAS-44", category="clothing", on=MON + dt.timedelta(days=6), quantity=1),
    Sold(sku="LAMP", category="general", on=NEXT, quantity=2),
]


def back(item: str, sku: str, reason: Reason, on: dt.date = MON, category: str = "clothing", **kw: Any) -> Returned:
    return Returned(item_id=item, sku=sku, category=category, reason=reason, sold_on=on, **kw)


RETURNED = [
    back("r1", "JAS-42", Reason.TOO_SMALL, fee_cents=195, refund_cents=4305, labour_minutes=20),
    back("r2", "JAS-42", Reason.TOO_SMALL, refund_cents=4999),
    back("r3", "JAS-44", Reason.CHANGED_MIND, fee_cents=395, refund_cents=4604),
    back("r4", "LAMP", Reason.DEFECTIVE, on=NEXT, category="general", refund_cents=2500, labour_minutes=10),
    back("r5", "SOCK", Reason.TOO_LARGE, on=NEXT),  # sold before the data starts
]


def test_weeks_are_iso_weeks() -> None:
    assert (iso_week(MON), iso_week(MON + dt.timedelta(days=6)), iso_week(NEXT)) == ("2026-W49", "2026-W49", "2026-W50")
    assert iso_week(dt.date(2027, 1, 1)) == "2026-W53"


def test_return_rate_per_product_and_per_category_by_week_of_sale() -> None:
    by_sku = {(r.week, r.key): (r.sold, r.returned, r.rate) for r in rates(SOLD, RETURNED)}
    assert by_sku == {
        ("2026-W49", "JAS-42"): (4, 2, 0.5),
        ("2026-W49", "JAS-44"): (1, 1, 1.0),
        ("2026-W50", "LAMP"): (2, 1, 0.5),
        ("2026-W50", "SOCK"): (0, 1, None),
    }
    by_cat = [(r.week, r.key, r.sold, r.returned) for r in rates(SOLD, RETURNED, by="category")]
    assert by_cat == [("2026-W49", "clothing", 5, 3), ("2026-W50", "clothing", 0, 1), ("2026-W50", "general", 2, 1)]


def test_reasons_per_week_and_the_top_reasons() -> None:
    rows = [(r.week, r.key, r.reason.value, r.count) for r in reasons(RETURNED, by="category")]
    assert rows == [
        ("2026-W49", "clothing", "too_small", 2),
        ("2026-W49", "clothing", "changed_mind", 1),
        ("2026-W50", "clothing", "too_large", 1),
        ("2026-W50", "general", "defective", 1),
    ]
    assert top_reasons(RETURNED, 2) == [(Reason.TOO_SMALL, 2), (Reason.TOO_LARGE, 1)]


def test_cost_of_returns_from_fees_refunds_and_labour() -> None:
    w49, w50 = costs(RETURNED, labour_cents_per_hour=3000)
    assert (w49.week, w49.returns, w49.fees_cents, w49.refunds_cents, w49.labour_minutes) == (
        "2026-W49",
        3,
        590,
        13908,
        20.0,
    )
    assert (w49.labour_cents, w49.net_cents) == (1000, 13908 + 1000)  # the fees are already off the refunds
    assert (w50.labour_cents, w50.net_cents) == (500, 3000)


def test_csv_has_a_header_and_one_line_per_row() -> None:
    text = to_csv(rates(SOLD, RETURNED))
    lines = text.splitlines()
    assert lines[0] == "week,key,sold,returned,rate"
    assert lines[1:] == [
        "2026-W49,JAS-42,4,2,0.5",
        "2026-W49,JAS-44,1,1,1",
        "2026-W50,LAMP,2,1,0.5",
        "2026-W50,SOCK,0,1,",
    ]
    assert to_csv(reasons(RETURNED)).splitlines()[1] == "2026-W49,JAS-42,too_small,2"
    assert to_csv([]) == ""
