"""The words every part of returns shares: why a customer sends an item back, what they
want instead, the grade an inspected item gets, where it goes next, and a shop's policy.

Kept as data in one place so that the portal, the inspection desk, the refund and the
task lists agree, and so a shop's policy is a value that can be stored and changed."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Reason(StrEnum):
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    LOOKS_DIFFERENT = "looks_different"
    DEFECTIVE = "defective"
    DAMAGED_ON_ARRIVAL = "damaged_on_arrival"
    WRONG_ITEM = "wrong_item"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"  # with the customer's own text


class Outcome(StrEnum):
    """What the customer asks for."""

    REFUND = "refund"
    EXCHANGE = "exchange"


class HandIn(StrEnum):
    """How the parcel comes back."""

    PICKUP_POINT = "pickup_point"  # a code and QR shown at the point
    COURIER = "courier"  # a pickup stop in a chosen slot, door to hub


class Grade(StrEnum):
    A = "A"  # as new
    B = "B"  # light wear
    C = "C"  # visible wear
    D = "D"  # defective
    SCRAP = "scrap"


class Disposition(StrEnum):
    RESTOCK = "restock"  # back into stock as new
    OUTLET = "outlet"  # reconditioned, sold in the outlet
    SECOND_HAND = "second_hand"  # reconditioned, sold second-hand
    REPAIR = "repair"  # repaired, or back to the supplier
    SUPPLIER = "supplier"
    RECYCLE = "recycle"
    E_WASTE = "e_waste"  # recycled through the e-waste stream (electronics)


# The seller's mistake or the item's fault: free to return whatever the policy's fee.
SELLERS_FAULT = frozenset({Reason.DEFECTIVE, Reason.DAMAGED_ON_ARRIVAL, Reason.WRONG_ITEM})


class ReturnPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """One shop's rules. Money in euro cents."""

    window_days: int = 14  # counted from the day the order was delivered
    not_returnable_skus: frozenset[str] = frozenset()
    not_returnable_categories: frozenset[str] = frozenset()
    free_reasons: frozenset[Reason] = SELLERS_FAULT
    changed_mind_fee_cents: int = 0  # charged when the reason is changed_mind (and not free)
    other_fee_cents: int = 0  # charged for every other reason that is not free
    exchange_bonus_cents: int = 0  # credit added when the customer takes an exchange

    def fee_cents(self, reason: Reason) -> int:
        """What the customer pays for returning an item for this reason."""
        if reason in self.free_reasons:
            return 0
        return self.changed_mind_fee_cents if reason is Reason.CHANGED_MIND else self.other_fee_cents

    def returnable(self, sku: str, category: str) -> bool:
        return sku not in self.not_returnable_skus and category not in self.not_returnable_categories


DEFAULT_POLICY = ReturnPolicy()
