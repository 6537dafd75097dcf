"""One rule for references across hubs: an order, shift or courier of one hub
may name a shop, pickup point, courier or bike of the same hub, or one that
belongs to no hub (shared), never another hub's."""

from __future__ import annotations

from backend.errors import Invalid


def require_same_hub(what: str, item_id: int, item_hub: int | None, hub_id: int | None) -> None:
    if item_hub is not None and hub_id is not None and item_hub != hub_id:
        raise Invalid(f"{what} {item_id} belongs to hub {item_hub}, not to hub {hub_id}; "
                      f"choose one of hub {hub_id}.")
