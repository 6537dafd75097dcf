"""How a hub picks: the way of working (sort while picking, or pick then sort) and its cart
(totes, tote volume and weight). Kept per hub, set by its dispatcher; a wave release uses
them unless it says otherwise. A hub nobody has set picks with the defaults."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from backend.db.engine import transaction
from backend.db.tables import PickingSettings
from backend.services.hub_scope import require_hub
from backend.structs import Body, Out
from backend.warehouse.waves import Cart, Mode

ModeName = Literal["sort_while_picking", "pick_then_sort"]
DEFAULT_MODE: ModeName = "sort_while_picking"


class CartIn(Body):
    totes: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    tote_volume: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 40.0  # litres
    tote_weight: Annotated[float, msgspec.Meta(gt=0, le=200)] = 15.0  # kg


class SettingsIn(Body):
    mode: ModeName = DEFAULT_MODE
    cart: CartIn = msgspec.field(default_factory=CartIn)


class SettingsOut(Out):
    hub_id: int
    mode: str
    cart: dict[str, float]


async def settings_of(hub_id: int) -> tuple[Mode, Cart]:
    """The hub's way of working and cart (the defaults when none were set)."""
    row = await PickingSettings.select().where(PickingSettings.hub == hub_id).first()
    if row is None:
        return DEFAULT_MODE, Cart()
    mode: Mode = row["mode"]
    return mode, Cart(totes=row["totes"], tote_volume=row["tote_volume"], tote_weight=row["tote_weight"])


def _out(hub_id: int, mode: str, cart: Cart) -> SettingsOut:
    return SettingsOut(
        hub_id=hub_id,
        mode=mode,
        cart={"totes": cart.totes, "toteVolume": cart.tote_volume, "toteWeight": cart.tote_weight},
    )


async def read(hub_id: int) -> SettingsOut:
    await require_hub(hub_id)
    mode, cart = await settings_of(hub_id)
    return _out(hub_id, mode, cart)


async def write(hub_id: int, data: SettingsIn) -> SettingsOut:
    """Set the hub's picking settings (all of them: what is left out takes its default)."""
    await require_hub(hub_id)
    values: dict[Any, Any] = {
        PickingSettings.mode: data.mode,
        PickingSettings.totes: data.cart.totes,
        PickingSettings.tote_volume: data.cart.tote_volume,
        PickingSettings.tote_weight: data.cart.tote_weight,
    }
    async with transaction():
        if await PickingSettings.exists().where(PickingSettings.hub == hub_id):
            await PickingSettings.update(values).where(PickingSettings.hub == hub_id)
        else:
            await PickingSettings.insert(
                PickingSettings(
                    hub=hub_id,
                    mode=data.mode,
                    totes=data.cart.totes,
                    tote_volume=data.cart.tote_volume,
                    tote_weight=data.cart.tote_weight,
                )
            )
    cart = Cart(totes=data.cart.totes, tote_volume=data.cart.tote_volume, tote_weight=data.cart.tote_weight)
    return _out(hub_id, data.mode, cart)
