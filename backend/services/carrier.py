"""Bike or carrier at a hub: its rules (set by its dispatcher) and the decision taken
when an order is written. An order the rules send to a carrier keeps its stops out of
the planner's day (status ``carrier``) and is listed for handover (services/handover.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from backend.db.carrier_tables import CarrierOrder, CarrierRule
from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import Bike, Stop
from backend.dispatch.carrier import BikeSize, CarrierRules, Decision, Shipment, biggest_bike, decide
from backend.services import checkout_changes
from backend.services.hub_scope import require_hub

CARRIER_STATUS = "carrier"  # a stop's status when a carrier, not a bike, delivers it


async def rules_of(hub_id: int) -> CarrierRules:
    """The hub's rules (the defaults when its dispatcher set none)."""
    row = await CarrierRule.select(CarrierRule.rules).where(CarrierRule.hub == hub_id).output(load_json=True).first()
    return CarrierRules() if row is None else msgspec.convert(row["rules"], CarrierRules)


async def bikes_of(hub_id: int) -> list[BikeSize]:
    """The bikes the hub plans with: its own and the shared ones."""
    rows = await Bike.select(Bike.payload_kg, Bike.volume_l).where((Bike.hub == hub_id) | Bike.hub.is_null())
    return [BikeSize(r["payload_kg"], r["volume_l"]) for r in rows]


async def _out(hub_id: int, rules: CarrierRules) -> dict[str, Any]:
    big = biggest_bike(await bikes_of(hub_id))
    return {
        "hubId": hub_id,
        "rules": msgspec.to_builtins(rules),
        # What the limits left out stand for now: the hub's biggest bike.
        "biggestBike": {"payloadKg": big.payload_kg, "volumeL": big.volume_l},
    }


async def read_rules(hub_id: int) -> dict[str, Any]:
    await require_hub(hub_id)
    return await _out(hub_id, await rules_of(hub_id))


async def write_rules(hub_id: int, rules: CarrierRules) -> dict[str, Any]:
    """Set the hub's rules (all of them); orders taken from now on follow them."""
    await require_hub(hub_id)
    value = msgspec.to_builtins(rules)
    async with transaction():
        # Two first PUTs at once: the second waits here and then finds the first's row
        # (without the guard, both saw none and one insert failed as a 409).
        await write_guard("carrier_rules", hub_id)
        if await CarrierRule.exists().where(CarrierRule.hub == hub_id):
            await CarrierRule.update({CarrierRule.rules: value}).where(CarrierRule.hub == hub_id)
        else:
            await CarrierRule.insert(CarrierRule(hub=hub_id, rules=value))
    checkout_changes.changed(hub_id)  # the check-out's options follow them from the next call
    return await _out(hub_id, rules)


async def decision_for(hub_id: int, shipment: Shipment) -> Decision | None:
    """Bike or carrier by the hub's rules; None when its dispatcher has set none. The one
    decision both order intake (:func:`route_order`) and the check-out's options ask for."""
    inputs = await decision_inputs(hub_id)
    return None if inputs is None else decide(*inputs, shipment)


async def decision_inputs(hub_id: int) -> tuple[CarrierRules, list[BikeSize]] | None:
    """What :func:`decide` takes for the hub: its rules and bikes; None when it has no rules."""
    if not await CarrierRule.exists().where(CarrierRule.hub == hub_id):
        return None
    return await rules_of(hub_id), await bikes_of(hub_id)


async def route_order(order_id: int, hub_id: int, day: dt.date, shipment: Shipment) -> Decision:
    """Decide bike or carrier for a new order; call inside the order's transaction.

    A hub whose dispatcher has set no rules has no carrier to hand over to: its bikes
    take every order, and one no bike can carry is unplanned with its reason, as before."""
    decision = await decision_for(hub_id, shipment)
    if decision is None:
        return Decision(mode="bike", reason="no_carrier", detail="The hub hands nothing to a carrier.")
    if decision.carrier is None:
        return decision
    await CarrierOrder.insert(
        CarrierOrder(
            order=order_id,
            hub=hub_id,
            plan_date=day,
            carrier=decision.carrier,
            reason=decision.reason,
            detail=decision.detail,
            country=shipment.country.upper(),
            duties=decision.duties or "",
        )
    )
    await Stop.update({Stop.status: CARRIER_STATUS}).where(Stop.order == order_id)
    return decision
