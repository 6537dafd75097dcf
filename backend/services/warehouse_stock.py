"""The warehouse's stock in the database: products, bins and the ledger of movements.

The pure core (``backend/warehouse/ledger.py``) decides whether movements may be
recorded; this module reads the movements it needs, hands them to a ``Ledger``,
and writes what it accepted, in the caller's transaction. Every write of a hub's
warehouse (stock, waves, picking) holds :func:`hold_hub` first, so two pickers
taking the last unit of a bin are applied one after the other, on SQLite (its
IMMEDIATE transactions) and on PostgreSQL (an advisory lock until commit).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import Product, Shop, StockMovement, WarehouseBin
from backend.errors import Invalid
from backend.services.hub_scope import require_hub, require_same_hub
from backend.services.scanner_settings import wedge_of
from backend.structs import Out
from backend.warehouse.barcodes import parse_scan
from backend.warehouse.layout import Layout, Location, position
from backend.warehouse.ledger import Ledger, Movement, Place, StockError
from backend.warehouse.products import Catalogue, ProductError
from backend.warehouse.products import Product as CoreProduct

DOCK = Place("dock", "dock")


async def hold_hub(hub_id: int) -> None:
    """Inside a write transaction: other warehouse writers of the hub wait until it ends."""
    await write_guard("warehouse", hub_id)


# --- products and bins -----------------------------------------------------------------


async def full_catalogue() -> Catalogue:
    """Every product (graded variants with their base item): for reading scans."""
    rows = await Product.select().output(load_json=True)
    try:
        return Catalogue(
            CoreProduct(
                sku=r["sku"],
                name=r["name"],
                barcodes=tuple(r["gtins"] or ()),
                weight_g=r["weight_g"],
                volume_ml=r["volume_ml"],
                category=r["category"],
                grade=r["grade"],
                base_sku=r["base_sku"],
            )
            for r in rows
        )
    except ProductError as e:
        raise Invalid(str(e)) from None


async def scanned_product(code: str, hub_id: int | None = None) -> CoreProduct:
    """The product a packer or sorter at ``hub_id`` scanned (that hub's scanner prefix and
    suffix taken off): its GTIN (or GS1-128) read and looked up, or refused with a sentence
    (``unreadable``, ``not_a_product``, ``unknown_product``)."""
    wedge = await wedge_of(hub_id)
    scan = parse_scan(code, prefix=wedge.prefix, suffix=wedge.suffix)
    if scan.kind == "unknown":
        raise Invalid(scan.error or f"{code!r} cannot be read; scan again.", code="unreadable")
    if scan.kind != "product":
        raise Invalid(f"{scan.code} is not a product; scan the item's barcode.", code="not_a_product")
    product = (await full_catalogue()).find_gtin(scan.code)
    if product is None:
        raise Invalid(
            f"No product has barcode {scan.text}; put the item aside for the hub lead.", code="unknown_product"
        )
    return product


async def bins_of(hub_id: int) -> dict[str, dict[str, Any]]:
    """The hub's bins by code."""
    rows = await WarehouseBin.select().where(WarehouseBin.hub == hub_id)
    return {r["code"]: r for r in rows}


# --- the ledger ------------------------------------------------------------------------


def place_of(row: dict[str, Any]) -> Place:
    kind = row["place_kind"]
    if kind == "shop":
        return Place("shop", str(row["shop"]))
    if kind == "dock":
        return DOCK
    return Place("bin", row["bin"])


async def ledger_for(hub_id: int, skus: Iterable[str]) -> Ledger:
    """The ledger of the hub's movements of ``skus``."""
    rows = (
        await StockMovement.select()
        .where((StockMovement.hub == hub_id) & StockMovement.sku.is_in(sorted(set(skus)) or [""]))
        .order_by(StockMovement.id)
    )
    try:
        return Ledger(
            Movement(
                id=r["key"],
                kind=r["kind"],
                place=place_of(r),
                sku=r["sku"],
                quantity=r["quantity"],
                reason=r["reason"],
                user=str(r["by_user"] or "system"),
                at=r["at"],
            )
            for r in rows
        )
    except StockError as e:  # cannot happen for rows this module wrote
        raise Invalid(f"The stock ledger of hub {hub_id} does not add up: {e}") from None


async def write_movements(hub_id: int, movements: Sequence[Movement], user_id: int | None) -> None:
    """Insert movements the core accepted (in the caller's transaction)."""
    if not movements:
        return
    await StockMovement.insert(
        *(
            StockMovement(
                hub=hub_id,
                place_kind=m.place.kind,
                bin=m.place.code if m.place.kind == "bin" else "",
                shop=int(m.place.code) if m.place.kind == "shop" else None,
                sku=m.sku,
                quantity=m.quantity,
                kind=m.kind,
                reason=m.reason[:200],
                by_user=user_id,
                at=m.at,
                key=m.id,
            )
            for m in movements
        )
    )


async def record(hub_id: int, ledger: Ledger, movements: Sequence[Movement], user_id: int | None) -> None:
    """Record ``movements`` in ``ledger`` (all or none, refused with the core's sentence) and write the new ones."""
    before = len(ledger.movements)
    try:
        ledger.record(*movements)
    except StockError as e:
        raise Invalid(str(e), code="stock") from None
    await write_movements(hub_id, ledger.movements[before:], user_id)


# --- the API's movements ---------------------------------------------------------------


class MovementIn(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    kind: Literal["receipt", "correction", "put_away", "return"]
    sku: str
    # receipt/return: units in (> 0); correction: what was counted (>= 0); put_away: units moved
    quantity: int
    bin: str | None = None  # the place (receipt: none = the dock); put_away: where from (none = the dock)
    shop_id: int | None = None  # a partner shop's stock instead of a bin (receipt, correction)
    to_bin: str | None = None  # put_away: where to
    reason: str = ""


class StockLine(Out):
    place: str  # bin | shop | dock
    bin: str | None
    shop_id: int | None
    sku: str
    quantity: int


async def _place(hub_id: int, bins: dict[str, dict[str, Any]], code: str | None, shop_id: int | None) -> Place:
    if code is not None and shop_id is not None:
        raise Invalid("Give a bin or a shopId, not both.")
    if shop_id is not None:
        shop = await Shop.select(Shop.id, Shop.hub).where(Shop.id == shop_id).first()
        if shop is None:
            raise Invalid(f"shopId {shop_id} does not exist.")
        require_same_hub("shopId", shop_id, shop["hub"], hub_id)
        return Place("shop", str(shop_id))
    if code is None:
        return DOCK
    canonical = code.strip().upper()
    if canonical not in bins:
        raise Invalid(f"Hub {hub_id} has no bin {code!r}; scan or type a bin of this warehouse (e.g. A01-01-1).")
    return Place("bin", canonical)


async def post_movement(hub_id: int, data: MovementIn, user_id: int, now: dt.datetime) -> dict[str, Any]:
    """A receipt, return, count (correction) or put-away, checked by the core's ledger."""
    await require_hub(hub_id)
    if not await Product.exists().where(Product.sku == data.sku):
        raise Invalid(f"There is no product {data.sku!r}; add it to the catalogue first.")
    reason = (
        data.reason.strip()
        or {
            "receipt": "goods received",
            "return": "returned",
            "correction": "counted",
            "put_away": "put away",
        }[data.kind]
    )
    key = f"api:{uuid.uuid4().hex}"
    async with transaction():
        await hold_hub(hub_id)
        bins = await bins_of(hub_id)
        place = await _place(hub_id, bins, data.bin, data.shop_id)
        ledger = await ledger_for(hub_id, [data.sku])
        before = len(ledger.movements)
        user = str(user_id)
        try:
            if data.kind in ("receipt", "return"):
                if data.quantity <= 0:
                    raise Invalid(f"A {data.kind} needs a quantity of at least 1, not {data.quantity}.")
                if data.kind == "return" and place.kind != "bin":
                    raise Invalid("A return goes into a bin: give the bin.")
                ledger.record(
                    Movement(
                        id=key,
                        kind=data.kind,
                        place=place,
                        sku=data.sku,
                        quantity=data.quantity,
                        reason=reason,
                        user=user,
                        at=now,
                    )
                )
            elif data.kind == "correction":
                if place == DOCK:
                    raise Invalid("A count is of a bin or a shop: give the bin or the shopId.")
                ledger.count(key, place, data.sku, data.quantity, user, now, reason)
            else:
                if data.to_bin is None:
                    raise Invalid("A put-away needs toBin, the bin the goods go into.")
                if data.quantity <= 0:
                    raise Invalid(f"A put-away needs a quantity of at least 1, not {data.quantity}.")
                dst = await _place(hub_id, bins, data.to_bin, None)
                ledger.put_away(key, data.sku, data.quantity, place, dst, user, now, reason)
        except StockError as e:
            raise Invalid(str(e), code="stock") from None
        fresh = ledger.movements[before:]
        await write_movements(hub_id, fresh, user_id)
        balances = {str(p): n for (p, s), n in ledger.balances().items() if s == data.sku}
    return {
        "movements": [
            {"key": m.id, "kind": m.kind, "place": str(m.place), "sku": m.sku, "quantity": m.quantity} for m in fresh
        ],
        "stock": balances,
    }


class FloorMovementIn(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """What a picker (or a dispatcher) posts on the floor: goods received into a bin, or a
    bin counted (a correction, with the reason it was off)."""

    kind: Literal["receipt", "correction"]
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    quantity: Annotated[int, msgspec.Meta(ge=0, le=100_000)]  # receipt: units in (>= 1); correction: counted
    bin: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


async def post_floor_movement(hub_id: int, data: FloorMovementIn, user_id: int, now: dt.datetime) -> dict[str, Any]:
    """A receipt into a bin or a count of a bin, through the same ledger as every movement."""
    if data.kind == "correction" and not data.reason.strip():
        raise Invalid("A correction needs a reason: say why the bin was off (e.g. 'damaged', 'found').", field="reason")
    movement = MovementIn(kind=data.kind, sku=data.sku, quantity=data.quantity, bin=data.bin, reason=data.reason)
    return await post_movement(hub_id, movement, user_id, now)


async def stock_of_hub(hub_id: int, sku: str | None = None) -> list[StockLine]:
    await require_hub(hub_id)
    query = StockMovement.select(StockMovement.sku).where(StockMovement.hub == hub_id)
    if sku is not None:
        query = query.where(StockMovement.sku == sku)
    skus = {r["sku"] for r in await query}
    ledger = await ledger_for(hub_id, skus)
    return [
        StockLine(
            place=p.kind,
            bin=p.code if p.kind == "bin" else None,
            shop_id=int(p.code) if p.kind == "shop" else None,
            sku=s,
            quantity=n,
        )
        for (p, s), n in ledger.balances().items()
    ]


# --- setting up a warehouse (the demo, tests) --------------------------------------------------

AISLE_M = 3.0  # metres between aisle centres
BAY_M = 1.0  # metres per bay along an aisle


def bin_code(zone: str, aisle: int, bay: int, level: int) -> str:
    return f"{zone}{aisle:02d}-{bay:02d}-{level}"


async def add_bins(hub_id: int, *, zone: str = "A", aisles: int = 4, bays: int = 10, levels: int = 2) -> list[str]:
    """A block of parallel aisles with bins on each bay and level (odd bays left, even right,
    as ``backend/warehouse/layout.py`` numbers them); answers their codes."""
    floor = Layout(aisles=aisles, positions=math.ceil(bays / 2), levels=levels, aisle_pitch=AISLE_M, bay_width=BAY_M)
    rows = [
        WarehouseBin(
            hub=hub_id,
            code=bin_code(zone, a, b, lv),
            zone=zone,
            aisle=a,
            bay=b,
            level=lv,
            x=position(floor, Location(a, b, lv))[0],
            y=position(floor, Location(a, b, lv))[1],
        )
        for a in range(1, aisles + 1)
        for b in range(1, bays + 1)
        for lv in range(1, levels + 1)
    ]
    await WarehouseBin.insert(*rows)
    return [r.code for r in rows]


async def add_products(products: Sequence[CoreProduct], shops: dict[str, int] | None = None) -> None:
    """Products into the catalogue (checked by the core's Catalogue first); ``shops``: SKU -> the shop selling it."""
    try:
        Catalogue(products)
    except ProductError as e:
        raise Invalid(str(e)) from None
    await Product.insert(
        *(
            Product(
                sku=p.sku,
                name=p.name,
                gtins=list(p.barcodes),
                weight_g=p.weight_g,
                volume_ml=p.volume_ml,
                shop=(shops or {}).get(p.sku),
                category=p.category,
                grade=p.grade,
                base_sku=p.base_sku,
            )
            for p in products
        )
    )


async def receive(hub_id: int, place: Place, sku: str, quantity: int, user_id: int | None, now: dt.datetime) -> None:
    """Goods received straight into a place (seeding): one receipt movement."""
    m = Movement(
        id=f"seed:{uuid.uuid4().hex}",
        kind="receipt",
        place=place,
        sku=sku,
        quantity=quantity,
        reason="opening stock",
        user=str(user_id or "system"),
        at=now,
    )
    await write_movements(hub_id, [m], user_id)
