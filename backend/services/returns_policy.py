"""A shop's return policy, read and set by the dispatcher of the shop's hub: the window, what
cannot go back, which reasons are free, the fees and the exchange bonus. The portal and the
refund read it through ``returns_portal.policy_of``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.tables import Shop, ShopReturnPolicy
from backend.errors import NotFound
from backend.returns.vocabulary import Reason, ReturnPolicy
from backend.services.returns_portal import policy_of
from backend.structs import Body

Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Names = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=500)]


class PolicyIn(Body):
    window_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 14
    not_returnable_skus: Names = []
    not_returnable_categories: Names = []
    free_reasons: list[Reason] = msgspec.field(default_factory=lambda: sorted(ReturnPolicy().free_reasons))
    changed_mind_fee_cents: Cents = 0
    other_fee_cents: Cents = 0
    exchange_bonus_cents: Cents = 0


async def _shop_of_my_hub(shop_id: int, role: str, hub_id: int | None) -> None:
    shop = await Shop.select(Shop.id, Shop.hub).where(Shop.id == shop_id).first()
    if shop is None or (role != "admin" and shop["hub"] != hub_id):
        raise NotFound(f"There is no shop {shop_id} at your hub.")


def _view(shop_id: int, p: ReturnPolicy) -> dict[str, Any]:
    return {
        "shopId": shop_id,
        "windowDays": p.window_days,
        "notReturnableSkus": sorted(p.not_returnable_skus),
        "notReturnableCategories": sorted(p.not_returnable_categories),
        "freeReasons": sorted(r.value for r in p.free_reasons),
        "changedMindFeeCents": p.changed_mind_fee_cents,
        "otherFeeCents": p.other_fee_cents,
        "exchangeBonusCents": p.exchange_bonus_cents,
    }


async def shop_policy(shop_id: int, role: str, hub_id: int | None) -> dict[str, Any]:
    await _shop_of_my_hub(shop_id, role, hub_id)
    return _view(shop_id, await policy_of(shop_id))


async def set_shop_policy(shop_id: int, data: PolicyIn, role: str, hub_id: int | None) -> dict[str, Any]:
    """Replace the shop's policy whole; returns from now on follow it (returns made before keep their fee)."""
    await _shop_of_my_hub(shop_id, role, hub_id)
    policy = ReturnPolicy(
        window_days=data.window_days,
        not_returnable_skus=frozenset(data.not_returnable_skus),
        not_returnable_categories=frozenset(data.not_returnable_categories),
        free_reasons=frozenset(data.free_reasons),
        changed_mind_fee_cents=data.changed_mind_fee_cents,
        other_fee_cents=data.other_fee_cents,
        exchange_bonus_cents=data.exchange_bonus_cents,
    )
    stored = msgspec.to_builtins(policy)
    async with transaction():
        await ShopReturnPolicy.delete().where(ShopReturnPolicy.shop == shop_id)
        await ShopReturnPolicy.insert(ShopReturnPolicy(shop=shop_id, policy=stored))
    return _view(shop_id, policy)
