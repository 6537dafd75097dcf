"""How a hub picks: the way of working (sort while picking, or pick then sort), its cart
(totes, tote volume and weight) and its lead time (how long before a slot's cut-off its
wave is released, by hand or on its own: services/wave_release.py). Kept per hub, set by
its dispatcher; a wave release uses them unless it says otherwise. A hub nobody has set
picks with the defaults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import msgspec

from backend.db.engine import transaction
from backend.db.tables import PickingSettings
from backend.services.hub_scope import require_hub
from backend.structs import Body, Out
from backend.warehouse.waves import Cart, Mode

ModeName = Literal["sort_while_picking", "pick_then_sort"]
DEFAULT_MODE: ModeName = "sort_while_picking"
DEFAULT_LEAD_MINUTES = 120  # two hours: time to pick and pack a wave before its slot's cut-off


class CartIn(Body):
    totes: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    tote_volume: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 40.0  # litres
    tote_weight: Annotated[float, msgspec.Meta(gt=0, le=200)] = 15.0  # kg


class SettingsIn(Body):
    mode: ModeName = DEFAULT_MODE
    cart: CartIn = msgspec.field(default_factory=CartIn)
    # Up to 12 hours: a wave released before the day's first orders are in helps nobody.
    lead_minutes: Annotated[int, msgspec.Meta(ge=0, le=720)] = DEFAULT_LEAD_MINUTES


class SettingsOut(Out):
    hub_id: int
    mode: str
    cart: dict[str, float]
    lead_minutes: int


async def settings_of(hub_id: int) -> tuple[Mode, Cart]:
    """The hub's way of working and cart (the defaults when none were set)."""
    row = await PickingSettings.select().where(PickingSettings.hub == hub_id).first()
    if row is None:
        return DEFAULT_MODE, Cart()
    mode: Mode = row["mode"]
    return mode, Cart(totes=row["totes"], tote_volume=row["tote_volume"], tote_weight=row["tote_weight"])


async def leads_of(hub_ids: Iterable[int]) -> dict[int, dt.timedelta]:
    """Each hub's lead time: how long before a slot's cut-off its wave is released."""
    ids = sorted(set(hub_ids))
    rows = await PickingSettings.select(PickingSettings.hub, PickingSettings.lead_minutes).where(
        PickingSettings.hub.is_in(ids or [-1])
    )
    kept = {r["hub"]: r["lead_minutes"] for r in rows}
    return {h: dt.timedelta(minutes=kept.get(h, DEFAULT_LEAD_MINUTES)) for h in ids}


def _out(hub_id: int, mode: str, cart: Cart, lead: dt.timedelta) -> SettingsOut:
    return SettingsOut(
        hub_id=hub_id,
        mode=mode,
        cart={"totes": cart.totes, "toteVolume": cart.tote_volume, "toteWeight": cart.tote_weight},
        lead_minutes=lead // dt.timedelta(minutes=1),
    )


async def read(hub_id: int) -> SettingsOut:
    await require_hub(hub_id)
    mode, cart = await settings_of(hub_id)
    return _out(hub_id, mode, cart, (await leads_of([hub_id]))[hub_id])


async def write(hub_id: int, data: SettingsIn) -> SettingsOut:
    """Set the hub's picking settings (all of them: what is left out takes its default)."""
    await require_hub(hub_id)
    values: dict[Any, Any] = {
        PickingSettings.mode: data.mode,
        PickingSettings.totes: data.cart.totes,
        PickingSettings.tote_volume: data.cart.tote_volume,
        PickingSettings.tote_weight: data.cart.tote_weight,
        PickingSettings.lead_minutes: data.lead_minutes,
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
                    lead_minutes=data.lead_minutes,
                )
            )
    cart = Cart(totes=data.cart.totes, tote_volume=data.cart.tote_volume, tote_weight=data.cart.tote_weight)
    return _out(hub_id, data.mode, cart, dt.timedelta(minutes=data.lead_minutes))
