"""A customer's return request, decided: which of an order's lines may go back, and
what the return costs or earns, under the shop's policy.

Pure: the order's lines, its delivery date, today and the policy come in as values
(today is passed in, there is no clock here); the answer is accepted lines with their
fee and the exchange bonus, or a ``Refused`` with a sentence the customer can act on.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import msgspec

from backend.returns.vocabulary import HandIn, Outcome, Reason, ReturnPolicy

OTHER_TEXT_MAX = 500


class Refused(ValueError):
    """A request that cannot be taken; ``code`` names why (``already_returned`` is a conflict
    with what happened before, every other code a request that cannot be right)."""

    def __init__(self, code: str, sentence: str) -> None:
        super().__init__(sentence)
        self.code = code
        self.sentence = sentence


class OrderedLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the order as bought, and how many of it are in a return already."""

    line_id: int
    sku: str
    category: str = "general"
    name: str = ""
    quantity: int
    returned: int = 0


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    """What the customer sends back of one line, and why."""

    line_id: int
    quantity: int
    reason: Reason
    text: str = ""  # the customer's own words; required for OTHER


class Ask(msgspec.Struct, frozen=True, kw_only=True):
    items: tuple[Choice, ...]
    outcome: Outcome
    hand_in: HandIn


class Returnable(msgspec.Struct, frozen=True, kw_only=True):
    """A line as the portal lists it: how many may go back, or why none may."""

    line: OrderedLine
    returnable: int
    why_not: str = ""  # "" when some may go back
    code: str = ""


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    line_id: int
    sku: str
    quantity: int
    reason: Reason
    text: str
    fee_cents: int  # for the whole quantity


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    lines: tuple[Accepted, ...]
    outcome: Outcome
    hand_in: HandIn
    fee_cents: int
    bonus_cents: int  # credit added for an exchange (0 for a refund)


def last_day(delivered_on: dt.date, policy: ReturnPolicy) -> dt.date:
    """The last day a return may be registered."""
    return delivered_on + dt.timedelta(days=policy.window_days)


def window_open(delivered_on: dt.date | None, today: dt.date, policy: ReturnPolicy) -> bool:
    return delivered_on is not None and delivered_on <= today <= last_day(delivered_on, policy)


def returnable(
    lines: tuple[OrderedLine, ...] | list[OrderedLine],
    delivered_on: dt.date | None,
    today: dt.date,
    policy: ReturnPolicy,
) -> list[Returnable]:
    """Every line with how many may still go back and, for the others, why not."""
    if delivered_on is None:
        why, code = "This order has not been delivered yet; a return can be registered once it has.", "not_delivered"
        return [Returnable(line=x, returnable=0, why_not=why, code=code) for x in lines]
    if not window_open(delivered_on, today, policy):
        why = (
            f"The return window of {policy.window_days} days ended on {last_day(delivered_on, policy):%d-%m-%Y}; "
            "contact the shop if the item is defective."
        )
        return [Returnable(line=x, returnable=0, why_not=why, code="window_closed") for x in lines]
    out = []
    for x in lines:
        left = x.quantity - x.returned
        if not policy.returnable(x.sku, x.category):
            out.append(
                Returnable(
                    line=x, returnable=0, why_not="This item cannot be returned (shop policy).", code="not_returnable"
                )
            )
        elif left <= 0:
            why = "This item is already in a return."
            out.append(Returnable(line=x, returnable=0, why_not=why, code="already_returned"))
        else:
            out.append(Returnable(line=x, returnable=left))
    return out


def decide(
    lines: tuple[OrderedLine, ...] | list[OrderedLine],
    delivered_on: dt.date | None,
    today: dt.date,
    policy: ReturnPolicy,
    ask: Ask,
) -> Decision:
    """The request accepted with its fee and bonus, or ``Refused`` with the first reason it cannot be."""
    if not ask.items:
        raise Refused("no_items", "Choose at least one item to return.")
    twice = [lid for lid, n in Counter(c.line_id for c in ask.items).items() if n > 1]
    if twice:
        raise Refused("line_twice", "An item is chosen twice; choose each item once with the quantity to return.")
    by_id = {r.line.line_id: r for r in returnable(lines, delivered_on, today, policy)}
    accepted = []
    for c in ask.items:
        r = by_id.get(c.line_id)
        if r is None:
            raise Refused("unknown_line", f"Item {c.line_id} is not part of this order.")
        name = r.line.name or r.line.sku
        if r.code:
            raise Refused(
                r.code, f"{name}: {r.why_not}" if r.code in ("not_returnable", "already_returned") else r.why_not
            )
        if c.quantity < 1:
            raise Refused("bad_quantity", f"{name}: return at least 1.")
        if c.quantity > r.returnable:
            more = "" if r.line.returned == 0 else f" ({r.line.returned} already in a return)"
            raise Refused(
                "too_many", f"{name}: you can return at most {r.returnable}, you bought {r.line.quantity}{more}."
            )
        text = c.text.strip()
        if c.reason is Reason.OTHER and not text:
            raise Refused("other_without_text", f"{name}: tell us in a few words why you return it.")
        if len(text) > OTHER_TEXT_MAX:
            raise Refused("text_too_long", f"{name}: keep the explanation under {OTHER_TEXT_MAX} characters.")
        fee = policy.fee_cents(c.reason) * c.quantity
        accepted.append(
            Accepted(line_id=c.line_id, sku=r.line.sku, quantity=c.quantity, reason=c.reason, text=text, fee_cents=fee)
        )
    bonus = policy.exchange_bonus_cents if ask.outcome is Outcome.EXCHANGE else 0
    return Decision(
        lines=tuple(accepted),
        outcome=ask.outcome,
        hand_in=ask.hand_in,
        fee_cents=sum(a.fee_cents for a in accepted),
        bonus_cents=bonus,
    )


class Unit(msgspec.Struct, frozen=True, kw_only=True):
    """One unit of an accepted line: each is received, graded, refunded and stocked on its own."""

    line_id: int
    sku: str
    reason: Reason
    text: str
    fee_cents: int  # its share of the line's fee
    bonus_cents: int  # its share of the request's exchange bonus


def shares(total: int, n: int) -> list[int]:
    """``total`` cents over ``n`` parts, the first parts a cent more where it does not divide."""
    return [total // n + (1 if k < total % n else 0) for k in range(n)] if n else []


def units(decision: Decision) -> list[Unit]:
    """The decision one unit at a time; the fees and the bonus add up to the decision's, exactly once."""
    out = []
    for a in decision.lines:
        out += [
            Unit(line_id=a.line_id, sku=a.sku, reason=a.reason, text=a.text, fee_cents=fee, bonus_cents=0)
            for fee in shares(a.fee_cents, a.quantity)
        ]
    bonus = shares(decision.bonus_cents, len(out))
    return [msgspec.structs.replace(u, bonus_cents=b) for u, b in zip(out, bonus, strict=True)]
