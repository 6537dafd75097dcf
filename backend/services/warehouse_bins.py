"""A hub's bins, kept by its dispatcher: a range of bins added from the layout (zone, aisles,
bays, levels), the list with what each holds, and retiring a bin that is empty.

Codes and positions come from the core's layout (``backend/warehouse/layout.py``), as
``warehouse_stock.add_bins`` makes them for the demo: ``A03-12-2`` is zone A, aisle 3, bay
12, level 2; odd bays on the left, even on the right. An aisle belongs to one zone (the
floor's walking order needs it)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.tables import StockMovement, WarehouseBin
from backend.errors import Conflict, Invalid, NotFound
from backend.realtime.outbox import emit
from backend.services.hub_scope import require_hub
from backend.services.warehouse_stock import AISLE_M, BAY_M, bin_code, bins_of, hold_hub, ledger_for
from backend.services.warehouse_waves import active_units
from backend.structs import Body, Out
from backend.warehouse.layout import Layout, Location, position
from backend.warehouse.ledger import Place

MAX_BINS = 5000  # bins one request may add
Aisle = Annotated[int, msgspec.Meta(ge=1, le=99)]
Bay = Annotated[int, msgspec.Meta(ge=1, le=99)]
Level = Annotated[int, msgspec.Meta(ge=1, le=9)]


class BinRangeIn(Body, kw_only=True):
    zone: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]$")] = "A"
    aisle_from: Aisle
    aisle_to: Aisle
    bay_from: Bay = 1
    bay_to: Bay
    levels: Level = 1  # levels 1 to this


class BinOut(Out):
    code: str
    zone: str
    aisle: int
    bay: int
    level: int
    x: float
    y: float
    stock: dict[str, int]  # SKU -> units by the ledger


def _check_range(data: BinRangeIn) -> None:
    if data.aisle_to < data.aisle_from:
        raise Invalid(f"aisleTo ({data.aisle_to}) is before aisleFrom ({data.aisle_from}).", field="aisleTo")
    if data.bay_to < data.bay_from:
        raise Invalid(f"bayTo ({data.bay_to}) is before bayFrom ({data.bay_from}).", field="bayTo")
    n = (data.aisle_to - data.aisle_from + 1) * (data.bay_to - data.bay_from + 1) * data.levels
    if n > MAX_BINS:
        raise Invalid(f"That is {n} bins; add at most {MAX_BINS} at a time.")


async def add_range(hub_id: int, data: BinRangeIn) -> dict[str, Any]:
    """Add every bin of the range; none when one of them exists already (409) or an aisle
    is another zone's (422)."""
    await require_hub(hub_id)
    _check_range(data)
    floor = Layout(
        aisles=data.aisle_to,
        positions=math.ceil(data.bay_to / 2),
        levels=data.levels,
        aisle_pitch=AISLE_M,
        bay_width=BAY_M,
    )
    wanted = [
        (a, b, lv)
        for a in range(data.aisle_from, data.aisle_to + 1)
        for b in range(data.bay_from, data.bay_to + 1)
        for lv in range(1, data.levels + 1)
    ]
    async with transaction():
        await hold_hub(hub_id)
        bins = await bins_of(hub_id)
        for row in bins.values():
            if data.aisle_from <= row["aisle"] <= data.aisle_to and row["zone"] != data.zone:
                raise Invalid(
                    f"Aisle {row['aisle']} is in zone {row['zone']}, not {data.zone}; an aisle belongs to one zone.",
                    field="zone",
                )
        codes = [bin_code(data.zone, a, b, lv) for a, b, lv in wanted]
        if taken := [c for c in codes if c in bins]:
            more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
            raise Conflict(f"Bin {taken[0]}{more} already exist(s) at hub {hub_id}; add a range of new bins.")
        rows = []
        for (a, b, lv), code in zip(wanted, codes, strict=True):
            x, y = position(floor, Location(a, b, lv))
            rows.append(WarehouseBin(hub=hub_id, code=code, zone=data.zone, aisle=a, bay=b, level=lv, x=x, y=y))
        await WarehouseBin.insert(*rows)
        await emit("warehouse.bins.added", {"count": len(codes), "first": codes[0], "last": codes[-1]}, hub_id=hub_id)
    return {"added": len(codes), "codes": codes}


async def list_bins(hub_id: int, zone: str | None = None, aisle: int | None = None) -> list[BinOut]:
    await require_hub(hub_id)
    bins = await bins_of(hub_id)
    skus = {r["sku"] for r in await StockMovement.select(StockMovement.sku).where(StockMovement.hub == hub_id)}
    ledger = await ledger_for(hub_id, skus)
    held: dict[str, dict[str, int]] = {}
    for (place, sku), n in ledger.balances().items():
        if place.kind == "bin":
            held.setdefault(place.code, {})[sku] = n
    rows = sorted(bins.values(), key=lambda r: (r["zone"], r["aisle"], r["bay"], r["level"]))
    return [
        BinOut(
            code=r["code"],
            zone=r["zone"],
            aisle=r["aisle"],
            bay=r["bay"],
            level=r["level"],
            x=r["x"],
            y=r["y"],
            stock=held.get(r["code"], {}),
        )
        for r in rows
        if (zone is None or r["zone"] == zone) and (aisle is None or r["aisle"] == aisle)
    ]


async def retire(hub_id: int, code: str) -> dict[str, Any]:
    """Remove an empty bin no open batch means to pick from; its ledger history stays."""
    await require_hub(hub_id)
    canonical = code.strip().upper()
    async with transaction():
        await hold_hub(hub_id)
        bins = await bins_of(hub_id)
        if canonical not in bins:
            raise NotFound(f"Hub {hub_id} has no bin {code!r}.")
        skus = {
            r["sku"]
            for r in await StockMovement.select(StockMovement.sku).where(
                (StockMovement.hub == hub_id) & (StockMovement.bin == canonical)
            )
        }
        ledger = await ledger_for(hub_id, skus)
        place = Place("bin", canonical)
        if held := {s: ledger.stock(place, s) for s in sorted(skus) if ledger.stock(place, s) > 0}:
            what = ", ".join(f"{n} × {s}" for s, n in held.items())
            raise Conflict(
                f"Bin {canonical} still holds {what}; move or count the stock out first, then retire the bin.",
                code="bin_not_empty",
            )
        if any(b == canonical for b, _ in await active_units(hub_id)):
            raise Conflict(
                f"An open pick batch still means to pick from bin {canonical}; retire it once the batch is done.",
                code="bin_in_use",
            )
        await WarehouseBin.delete().where((WarehouseBin.hub == hub_id) & (WarehouseBin.code == canonical))
        await emit("warehouse.bin.retired", {"code": canonical}, hub_id=hub_id)
    return {"retired": canonical}
