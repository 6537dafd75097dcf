"""A return request decided by the pure core: every refusal, the fee and the exchange bonus."""

import datetime as dt

import pytest

from backend.returns.requests import Ask, Choice, OrderedLine, Refused, decide, returnable, shares, units
from backend.returns.vocabulary import HandIn, Outcome, Reason, ReturnPolicy

DELIVERED = dt.date(2026, 12, 1)
TODAY = dt.date(2026, 12, 5)
POLICY = ReturnPolicy(
    changed_mind_fee_cents=395, exchange_bonus_cents=500, not_returnable_categories=frozenset({"food"})
)
LINES = (
    OrderedLine(line_id=1, sku="JAS-42", category="clothing", name="Jas", quantity=2),
    OrderedLine(line_id=2, sku="HONEY", category="food", name="Honing", quantity=1),
    OrderedLine(line_id=3, sku="LAMP", category="electronics", name="Lamp", quantity=1, returned=1),
)


def ask(*items: Choice, outcome: Outcome = Outcome.REFUND) -> Ask:
    return Ask(items=items, outcome=outcome, hand_in=HandIn.PICKUP_POINT)


def refused(a: Ask, today: dt.date = TODAY, delivered: dt.date | None = DELIVERED) -> Refused:
    with pytest.raises(Refused) as e:
        decide(LINES, delivered, today, POLICY, a)
    assert e.value.sentence.endswith(".")
    return e.value


def test_accepted_with_fee_for_changed_mind_and_bonus_for_exchange() -> None:
    d = decide(LINES, DELIVERED, TODAY, POLICY, ask(Choice(line_id=1, quantity=2, reason=Reason.CHANGED_MIND)))
    assert d.fee_cents == 2 * 395 and d.bonus_cents == 0
    d = decide(
        LINES,
        DELIVERED,
        TODAY,
        POLICY,
        ask(Choice(line_id=1, quantity=1, reason=Reason.DEFECTIVE), outcome=Outcome.EXCHANGE),
    )
    assert d.fee_cents == 0 and d.bonus_cents == 500
    assert d.lines[0].sku == "JAS-42" and d.lines[0].quantity == 1


def test_a_decision_one_unit_at_a_time_keeps_its_fees_and_bonus_once() -> None:
    lines = (*LINES[:2], OrderedLine(line_id=4, sku="SJAAL", category="clothing", quantity=1))
    two = Choice(line_id=1, quantity=2, reason=Reason.CHANGED_MIND)
    one = Choice(line_id=4, quantity=1, reason=Reason.DEFECTIVE)
    d = decide(lines, DELIVERED, TODAY, POLICY, ask(two, one, outcome=Outcome.EXCHANGE))
    got = [(u.line_id, u.sku, u.reason, u.fee_cents, u.bonus_cents) for u in units(d)]
    assert got == [
        (1, "JAS-42", Reason.CHANGED_MIND, 395, 167),
        (1, "JAS-42", Reason.CHANGED_MIND, 395, 167),
        (4, "SJAAL", Reason.DEFECTIVE, 0, 166),
    ]
    assert sum(u.fee_cents for u in units(d)) == d.fee_cents and sum(u.bonus_cents for u in units(d)) == 500
    assert (shares(5, 3), shares(0, 2), shares(7, 0)) == ([2, 2, 1], [0, 0], [])


def test_last_day_of_the_window_is_still_open_and_the_day_after_is_refused() -> None:
    last = DELIVERED + dt.timedelta(days=14)
    assert decide(LINES, DELIVERED, last, POLICY, ask(Choice(line_id=1, quantity=1, reason=Reason.TOO_SMALL)))
    e = refused(ask(Choice(line_id=1, quantity=1, reason=Reason.TOO_SMALL)), today=last + dt.timedelta(days=1))
    assert e.code == "window_closed" and "15-12-2026" in e.sentence


def test_not_delivered_yet() -> None:
    assert refused(ask(Choice(line_id=1, quantity=1, reason=Reason.TOO_SMALL)), delivered=None).code == "not_delivered"


def test_not_returnable_item() -> None:
    e = refused(ask(Choice(line_id=2, quantity=1, reason=Reason.DEFECTIVE)))
    assert e.code == "not_returnable" and "Honing" in e.sentence


def test_already_returned() -> None:
    assert refused(ask(Choice(line_id=3, quantity=1, reason=Reason.DEFECTIVE))).code == "already_returned"


def test_more_than_bought() -> None:
    e = refused(ask(Choice(line_id=1, quantity=3, reason=Reason.TOO_SMALL)))
    assert e.code == "too_many" and "at most 2" in e.sentence


def test_other_without_text() -> None:
    e = refused(ask(Choice(line_id=1, quantity=1, reason=Reason.OTHER, text="   ")))
    assert e.code == "other_without_text"
    d = decide(LINES, DELIVERED, TODAY, POLICY, ask(Choice(line_id=1, quantity=1, reason=Reason.OTHER, text="colour")))
    assert d.lines[0].text == "colour"


def test_unknown_line_no_items_and_twice() -> None:
    assert refused(ask(Choice(line_id=99, quantity=1, reason=Reason.TOO_SMALL))).code == "unknown_line"
    assert refused(ask()).code == "no_items"
    c = Choice(line_id=1, quantity=1, reason=Reason.TOO_SMALL)
    assert refused(ask(c, c)).code == "line_twice"
    assert refused(ask(Choice(line_id=1, quantity=0, reason=Reason.TOO_SMALL))).code == "bad_quantity"


def test_returnable_lists_why_not_per_line() -> None:
    rows = {r.line.line_id: r for r in returnable(LINES, DELIVERED, TODAY, POLICY)}
    assert rows[1].returnable == 2 and rows[1].why_not == ""
    assert rows[2].code == "not_returnable" and rows[3].code == "already_returned"
