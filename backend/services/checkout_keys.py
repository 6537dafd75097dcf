"""The shops' check-out keys: which shop a key is, and which hub serves that shop, kept
for :data:`KEPT_S` seconds between calls.

Every check-out call shows its key; looking it up and the shop's hub were two queries of
each options call. A good key is kept (by its hash) for a few seconds: a key revoked, or
a shop moved to another hub, is seen within that. A wrong key is never kept: it is asked
for again each time, so no amount of guessing fills the memory.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from backend.db.engine import current_engine
from backend.db.tables import Shop, ShopApiKey
from backend.errors import Conflict, Unauthorized

KEPT_S = 10.0
KEPT_MAX = 10_000

_shops: dict[str, tuple[Any, float, int]] = {}  # key hash -> (engine, when read, shop)
_hubs: dict[int, tuple[Any, float, int]] = {}  # shop -> (engine, when read, hub)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def forget() -> None:
    """Keep nothing (a new app in this process)."""
    _shops.clear()
    _hubs.clear()


def _fresh(kept: tuple[Any, float, int] | None) -> int | None:
    if kept is None or kept[0] is not current_engine() or time.monotonic() - kept[1] >= KEPT_S:
        return None
    return kept[2]


def _keep(store: dict[Any, tuple[Any, float, int]], key: Any, value: int) -> None:
    if len(store) >= KEPT_MAX:
        store.clear()  # many shops in a few seconds: start again rather than sort
    store[key] = (current_engine(), time.monotonic(), value)


async def shop_of_key(key: str | None) -> int:
    """The shop a check-out key belongs to; Unauthorized for none, a wrong or a revoked one."""
    if not key:
        raise Unauthorized("Send the shop's check-out API key in the X-Api-Key header.")
    hashed = key_hash(key.strip())
    shop = _fresh(_shops.get(hashed))
    if shop is not None:
        return shop
    row = await ShopApiKey.select(ShopApiKey.shop, ShopApiKey.revoked_at).where(ShopApiKey.key_hash == hashed).first()
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("This X-Api-Key is not valid (wrong or revoked); ask the hub for a new one.")
    _keep(_shops, hashed, int(row["shop"]))
    return int(row["shop"])


async def hub_of_shop(shop_id: int) -> int:
    """The hub that serves the shop; Conflict when none does yet."""
    hub = _fresh(_hubs.get(shop_id))
    if hub is not None:
        return hub
    row = await Shop.select(Shop.hub).where(Shop.id == shop_id).first()
    if row is None or row["hub"] is None:
        raise Conflict("This shop is not served by a hub yet; ask the hub to link the shop first.")
    _keep(_hubs, shop_id, int(row["hub"]))
    return int(row["hub"])
