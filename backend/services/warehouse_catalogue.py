"""The product catalogue, kept by the dispatchers: add and change a product (SKU, name,
GTINs, weight, volume, category, the partner shop selling it), add a graded
(reconditioned) variant, list and search.

The catalogue is one for every hub (a SKU means the same everywhere); a product sold by a
partner shop belongs to that shop's hub, and only that hub's dispatchers change it. The
core checks what a product may be (``backend/warehouse/products.py``, GTIN check digits
in ``barcodes.py``): every change is tried on the whole catalogue first."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import Product, Shop
from backend.errors import Conflict, Invalid, NotFound
from backend.services.hub_scope import require_hub, require_same_hub
from backend.services.warehouse_stock import full_catalogue
from backend.structs import Body, DbId, Out
from backend.warehouse.barcodes import BarcodeError, validate_gtin
from backend.warehouse.products import Catalogue, ProductError, graded
from backend.warehouse.products import Product as CoreProduct

Sku = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,59}$")]  # "/" is for grades
Gtins = Annotated[list[Annotated[str, msgspec.Meta(max_length=20)]], msgspec.Meta(max_length=10)]
Grams = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Millilitres = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
Category = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z_]{0,31}$")]


class ProductFields(Body, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    gtins: Gtins = []
    weight_g: Grams
    volume_ml: Millilitres
    category: Category = "general"
    shop_id: DbId | None = None  # the partner shop selling it (ship-from-store)


class ProductIn(ProductFields, kw_only=True):
    sku: Sku


class GradeIn(Body):
    grade: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][0-9A-Z]?$")]  # A, B, C2
    gtins: Gtins = []  # the variant's own labels (the maker's barcode says nothing of the grade)
    weight_g: Grams | None = None  # default: the new item's


class ProductOut(Out):
    id: int
    sku: str
    name: str
    gtins: list[str]
    weight_g: int
    volume_ml: int
    category: str
    shop_id: int | None
    grade: str | None
    base_sku: str | None


def _out(r: dict[str, Any]) -> ProductOut:
    return ProductOut(
        id=r["id"],
        sku=r["sku"],
        name=r["name"],
        gtins=list(r["gtins"] or []),
        weight_g=r["weight_g"],
        volume_ml=r["volume_ml"],
        category=r["category"],
        shop_id=r["shop"],
        grade=r["grade"],
        base_sku=r["base_sku"],
    )


def _gtins(codes: list[str]) -> tuple[str, ...]:
    """The GTINs as given, each checked (its check digit), named by its place in the list."""
    for i, code in enumerate(codes):
        try:
            validate_gtin(code.strip())
        except BarcodeError as e:
            raise Invalid(f"gtins[{i}]: {e}".replace("; scan again.", "."), field=f"gtins[{i}]") from None
    return tuple(c.strip() for c in codes)


async def _check_shop(hub_id: int, shop_id: int | None) -> None:
    if shop_id is None:
        return
    shop = await Shop.select(Shop.hub).where(Shop.id == shop_id).first()
    if shop is None:
        raise Invalid(f"shopId {shop_id} does not exist.", field="shopId")
    require_same_hub("shopId", shop_id, shop["hub"], hub_id)


async def _row(hub_id: int, product_id: int) -> dict[str, Any]:
    """The product, if this hub may change it (not one sold by another hub's shop)."""
    row = await Product.select().where(Product.id == product_id).output(load_json=True).first()
    if row is not None and row["shop"] is not None:
        shop = await Shop.select(Shop.hub).where(Shop.id == row["shop"]).first()
        if shop is not None and shop["hub"] not in (None, hub_id):
            row = None
    if row is None:
        raise NotFound(f"There is no product {product_id} that hub {hub_id} keeps.")
    return row


def _try(catalogue: Catalogue, product: CoreProduct) -> None:
    """The catalogue with ``product`` added or replaced must hold together (a GTIN on one product only)."""
    others = [p for p in catalogue.by_sku.values() if p.sku != product.sku]
    try:
        Catalogue([*others, product])
    except ProductError as e:
        raise Conflict(str(e)) from None


async def create(hub_id: int, data: ProductIn) -> ProductOut:
    await require_hub(hub_id)
    await _check_shop(hub_id, data.shop_id)
    core = CoreProduct(
        sku=data.sku,
        name=data.name.strip(),
        barcodes=_gtins(data.gtins),
        weight_g=data.weight_g,
        volume_ml=data.volume_ml,
        category=data.category,
    )
    async with transaction():
        await write_guard("catalogue", 0)  # one writer of the catalogue at a time: checked, then written
        catalogue = await full_catalogue()
        if data.sku in catalogue.by_sku:
            raise Conflict(f"There is a product {data.sku} already; change it, or choose another SKU.")
        _try(catalogue, core)
        written = await Product.insert(_row_of(core, data.shop_id))
    return await read(hub_id, int(written[0]["id"]))


def _row_of(p: CoreProduct, shop_id: int | None) -> Product:
    return Product(
        sku=p.sku,
        name=p.name,
        gtins=list(p.barcodes),
        weight_g=p.weight_g,
        volume_ml=p.volume_ml,
        shop=shop_id,
        category=p.category,
        grade=p.grade,
        base_sku=p.base_sku,
    )


async def update(hub_id: int, product_id: int, data: ProductFields) -> ProductOut:
    """Change everything but the SKU (stock and order lines go by it)."""
    await require_hub(hub_id)
    await _check_shop(hub_id, data.shop_id)
    gtins = _gtins(data.gtins)
    async with transaction():
        await write_guard("catalogue", 0)
        row = await _row(hub_id, product_id)
        catalogue = await full_catalogue()
        core = msgspec.structs.replace(
            catalogue.product(str(row["sku"])),
            name=data.name.strip(),
            barcodes=gtins,
            weight_g=data.weight_g,
            volume_ml=data.volume_ml,
            category=data.category,
        )
        _try(catalogue, core)
        await Product.update(
            {
                Product.name: core.name,
                Product.gtins: list(core.barcodes),
                Product.weight_g: core.weight_g,
                Product.volume_ml: core.volume_ml,
                Product.category: core.category,
                Product.shop: data.shop_id,
            }
        ).where(Product.id == product_id)
    return await read(hub_id, product_id)


async def add_grade(hub_id: int, product_id: int, data: GradeIn) -> ProductOut:
    """The reconditioned variant of a new item: SKU ``<sku>/<grade>``, its own stock and labels."""
    await require_hub(hub_id)
    gtins = _gtins(data.gtins)
    async with transaction():
        await write_guard("catalogue", 0)
        row = await _row(hub_id, product_id)
        catalogue = await full_catalogue()
        try:
            core = graded(catalogue.product(str(row["sku"])), data.grade, barcodes=gtins, weight_g=data.weight_g)
        except ProductError as e:
            raise Invalid(str(e), field="grade") from None
        if core.sku in catalogue.by_sku:
            raise Conflict(f"There is a product {core.sku} already: grade {data.grade} of {row['sku']} exists.")
        _try(catalogue, core)
        written = await Product.insert(_row_of(core, row["shop"]))
    return await read(hub_id, int(written[0]["id"]))


async def read(hub_id: int, product_id: int) -> ProductOut:
    return _out(await _row(hub_id, product_id))


async def search(hub_id: int, q: str = "", limit: int = 50) -> list[ProductOut]:
    """Products whose SKU or name holds ``q`` (any case), or whose GTIN is ``q``; by SKU."""
    await require_hub(hub_id)
    needle = q.strip().casefold()
    try:
        gtin = validate_gtin(needle) if needle else None
    except BarcodeError:
        gtin = None
    rows = await Product.select().order_by(Product.sku).output(load_json=True)

    def matches(r: dict[str, Any]) -> bool:  # in Python: the same on SQLite and PostgreSQL
        if needle in r["sku"].casefold() or needle in r["name"].casefold():
            return True
        return gtin is not None and any(_gtin14(c) == gtin for c in r["gtins"] or ())

    return [_out(r) for r in rows if matches(r)][:limit]


def _gtin14(code: str) -> str | None:
    try:
        return validate_gtin(code)
    except BarcodeError:
        return None
