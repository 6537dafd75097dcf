"""The shared returns words: the policy's fee and what can be returned follow its data."""

from backend.returns.vocabulary import DEFAULT_POLICY, Reason, ReturnPolicy


def test_the_sellers_fault_is_free_and_changed_mind_pays_the_fee() -> None:
    policy = ReturnPolicy(changed_mind_fee_cents=395, other_fee_cents=100)
    assert policy.fee_cents(Reason.DEFECTIVE) == 0
    assert policy.fee_cents(Reason.WRONG_ITEM) == 0
    assert policy.fee_cents(Reason.CHANGED_MIND) == 395
    assert policy.fee_cents(Reason.TOO_SMALL) == 100


def test_changing_the_free_reasons_changes_the_fee() -> None:
    policy = ReturnPolicy(free_reasons=frozenset(), changed_mind_fee_cents=395, other_fee_cents=250)
    assert policy.fee_cents(Reason.DEFECTIVE) == 250


def test_not_returnable_by_sku_or_category() -> None:
    policy = ReturnPolicy(not_returnable_skus=frozenset({"SOCKS-W"}), not_returnable_categories=frozenset({"food"}))
    assert not policy.returnable("SOCKS-W", "clothing")
    assert not policy.returnable("HONEY-450", "food")
    assert policy.returnable("LAMP-DESK", "electronics")
    assert DEFAULT_POLICY.window_days == 14
