"""Return figures of a hub for a range of ISO weeks: loads what was sold (delivered order lines),
what came back (return items with their fee, refund and task timers) and asks the pure core
(backend/returns/figures.py). A return counts in the week its item was sold. See docs/returns.md."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any, Literal

from backend.db.tables import Order, OrderLine, Product, ReturnInspection, ReturnItem, ReturnRefund, ReturnRequest
from backend.errors import Invalid
from backend.returns import figures as core
from backend.returns import tasks
from backend.returns.vocabulary import Reason
from backend.services.returns_settings import settings_of
from backend.services.returns_tasks import work_of

MAX_WEEKS = 53
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
Table = Literal["rates", "reasons", "costs"]


def parse_week(value: str, name: str) -> dt.date:
    """The Monday of an ISO week written ``YYYY-Www``; a 422 naming the parameter otherwise."""
    m = WEEK.match(value.strip())
    try:
        if m is None:
            raise ValueError
        return dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise Invalid(f"{name} must be an ISO week such as 2026-W49; {value!r} is not.", field=name) from None


def week_range(start: str, end: str) -> tuple[dt.date, dt.date]:
    """The first Monday and the last Sunday of ``from``..``to`` (at most 53 weeks, in order)."""
    first, last = parse_week(start, "from"), parse_week(end, "to")
    if last < first:
        raise Invalid(f"to ({end}) is before from ({start}); give the earlier week first.", field="to")
    weeks = (last - first).days // 7 + 1
    if weeks > MAX_WEEKS:
        raise Invalid(f"to is {weeks} weeks after from; ask for at most {MAX_WEEKS} weeks at a time.", field="to")
    return first, last + dt.timedelta(days=6)


async def _load(hub_id: int, first: dt.date, last: dt.date) -> tuple[list[core.Sold], list[core.Returned]]:
    in_range = (Order.hub == hub_id) & (Order.delivery_date >= first) & (Order.delivery_date <= last)
    orders = await Order.select(Order.id, Order.delivery_date).where(in_range & (Order.status == "delivered"))
    sold_on = {o["id"]: o["delivery_date"] for o in orders}
    lines = await OrderLine.select(OrderLine.sku, OrderLine.quantity, OrderLine.short, OrderLine.order).where(
        OrderLine.order.is_in(list(sold_on) or [0])
    )
    requests = await ReturnRequest.select(
        ReturnRequest.id, ReturnRequest.order.delivery_date.as_alias("sold_on")
    ).where(
        (ReturnRequest.hub == hub_id)
        & (ReturnRequest.order.delivery_date >= first)
        & (ReturnRequest.order.delivery_date <= last)
    )
    req = {r["id"]: r for r in requests}
    items = await ReturnItem.select().where(
        ReturnItem.request.is_in(list(req) or [0]) & (ReturnItem.status != "missing")
    )
    ids = [i["id"] for i in items] or [0]
    refunds = {r["item"]: r["total_cents"] for r in await ReturnRefund.select().where(ReturnRefund.item.is_in(ids))}
    labour = {
        r["item"]: _minutes(r)
        for r in await ReturnInspection.select().where(ReturnInspection.item.is_in(ids)).output(load_json=True)
    }
    skus = {ln["sku"] for ln in lines} | {i["sku"] for i in items}
    category = {
        p["sku"]: p["category"]
        for p in await Product.select(Product.sku, Product.category).where(Product.sku.is_in(list(skus) or [""]))
    }
    sold = [
        core.Sold(
            sku=ln["sku"],
            category=category.get(ln["sku"], "general"),
            on=sold_on[ln["order"]],
            quantity=ln["quantity"] - ln["short"],
        )
        for ln in lines
        if ln["quantity"] > ln["short"]
    ]
    returned = []
    for i in sorted(items, key=lambda i: i["id"]):
        # a row is one unit (a row of several is from before units had rows of their own: its units count)
        units = i["received"] if i["status"] in ("received", "unexpected") else i["quantity"]
        fee = i["fee_cents"]  # the unit's share of the request's fee, as agreed
        for n in range(max(units, 1)):
            first_unit = n == 0
            returned.append(
                core.Returned(
                    item_id=str(i["id"]),
                    sku=i["sku"],
                    category=category.get(i["sku"], "general"),
                    reason=_reason(i["reason"]),
                    sold_on=req[i["request"]]["sold_on"],
                    fee_cents=fee if first_unit else 0,
                    refund_cents=refunds.get(i["id"], 0) if first_unit else 0,
                    labour_minutes=labour.get(i["id"], 0.0) if first_unit else 0.0,
                )
            )
    return sold, returned


def _minutes(row: dict[str, Any]) -> float:
    work = work_of(row)
    return tasks.labour_minutes(work) if work else 0.0


def _reason(value: str) -> Reason:
    try:
        return Reason(value)
    except ValueError:
        return Reason.OTHER  # an unexpected item has no reason given


def _weeks(first: dt.date, last: dt.date) -> list[str]:
    return [core.iso_week(first + dt.timedelta(weeks=n)) for n in range((last - first).days // 7 + 1)]


async def _by_product(sold: list[core.Sold], returned: list[core.Returned]) -> list[dict[str, Any]]:
    """Per week of sale and product: sold, returned, the rate and the reasons given (most first)."""
    given: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in core.reasons(returned, by="sku"):
        given.setdefault((c.week, c.key), []).append({"reason": str(c.reason), "count": c.count})
    rates = core.rates(sold, returned, by="sku")
    skus = sorted({r.key for r in rates}) or [""]
    names = {
        p["sku"]: p
        for p in await Product.select(Product.sku, Product.name, Product.category).where(Product.sku.is_in(skus))
    }
    return [
        {
            "week": r.week,
            "sku": r.key,
            "name": names.get(r.key, {}).get("name") or r.key,
            "category": names.get(r.key, {}).get("category") or "general",
            "sold": r.sold,
            "returned": r.returned,
            "rate": r.rate,
            "reasons": sorted(given.get((r.week, r.key), []), key=lambda g: -g["count"]),
        }
        for r in rates
    ]


async def figures(hub_id: int, start: str, end: str) -> dict[str, Any]:
    """Per week of sale: sold, returned, rate and cost; the top reasons; rates and reasons by
    category and by product."""
    first, last = week_range(start, end)
    sold, returned = await _load(hub_id, first, last)
    by_cat = core.rates(sold, returned, by="category")
    rate = (await settings_of(hub_id)).labour_cents_per_hour
    costs = {c.week: c for c in core.costs(returned, rate)}
    n_sold: Counter[str] = Counter()
    n_back: Counter[str] = Counter()
    for r in by_cat:
        n_sold[r.week] += r.sold
        n_back[r.week] += r.returned
    weeks = []
    for w in _weeks(first, last):
        c = costs.get(w)
        weeks.append(
            {
                "week": w,
                "sold": n_sold[w],
                "returned": n_back[w],
                "rate": round(n_back[w] / n_sold[w], 4) if n_sold[w] else None,
                "feesCents": c.fees_cents if c else 0,
                "refundsCents": c.refunds_cents if c else 0,
                "labourMinutes": c.labour_minutes if c else 0.0,
                "labourCents": c.labour_cents if c else 0,
                "netCents": c.net_cents if c else 0,
            }
        )
    return {
        "hubId": hub_id,
        "from": core.iso_week(first),
        "to": core.iso_week(last),
        "labourCentsPerHour": rate,
        "weeks": weeks,
        "topReasons": [{"reason": str(r), "count": n} for r, n in core.top_reasons(returned, 5)],
        "byCategory": [
            {"week": r.week, "category": r.key, "sold": r.sold, "returned": r.returned, "rate": r.rate} for r in by_cat
        ],
        "byProduct": await _by_product(sold, returned),
        "reasonsByCategory": [
            {"week": r.week, "category": r.key, "reason": str(r.reason), "count": r.count}
            for r in core.reasons(returned, by="category")
        ],
    }


async def figures_csv(hub_id: int, start: str, end: str, table: Table, by: core.By) -> str:
    """One table of the figures as CSV: rates or reasons per week and SKU/category, or the costs per week."""
    first, last = week_range(start, end)
    sold, returned = await _load(hub_id, first, last)
    rows: list[Any]
    kind: type[Any]
    if table == "rates":
        rows, kind = core.rates(sold, returned, by=by), core.Rate
    elif table == "reasons":
        rows, kind = core.reasons(returned, by=by), core.ReasonCount
    else:
        rows, kind = core.costs(returned, (await settings_of(hub_id)).labour_cents_per_hour), core.Cost
    return core.to_csv(rows) or ",".join(kind.__struct_fields__) + "\n"  # no rows: the header alone
