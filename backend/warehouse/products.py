"""Products the hub stocks, and finding one by SKU or by a scanned barcode.

A reconditioned item is its own variant with its own stock: SKU "JAS-42" in grade "B"
is "JAS-42/B". It shares the base product's name, weight and volume unless told
otherwise, but not its barcodes: the maker's GTIN on the box says nothing about the
grade, so a graded item is found by its own label (or its SKU).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from backend.warehouse.barcodes import BarcodeError, validate_gtin

GRADE_RE = re.compile(r"^[A-Z][0-9A-Z]?$")  # "A", "B", "C", "B2"
VARIANT_SEP = "/"


class ProductError(ValueError):
    """A product or a lookup that cannot be right; the message is a sentence."""


class Product(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    name: str
    barcodes: tuple[str, ...] = ()  # GTINs as printed (8, 12, 13 or 14 digits)
    weight_g: int
    volume_ml: int
    category: str = "general"  # what kind of thing it is: inspection checklists and returns go by it
    grade: str | None = None  # reconditioned grade; None for a new item
    base_sku: str | None = None  # the new item's SKU when this is a graded variant


def variant_sku(sku: str, grade: str) -> str:
    return f"{sku}{VARIANT_SEP}{grade}"


def split_sku(sku: str) -> tuple[str, str | None]:
    """("JAS-42", "B") for "JAS-42/B"; ("JAS-42", None) for "JAS-42"."""
    base, sep, grade = sku.rpartition(VARIANT_SEP)
    return (base, grade) if sep and base and GRADE_RE.match(grade) else (sku, None)


def graded(product: Product, grade: str, *, barcodes: Iterable[str] = (), weight_g: int | None = None) -> Product:
    """The reconditioned variant of ``product`` in ``grade``."""
    if product.grade is not None:
        raise ProductError(f"{product.sku} is already a graded item; grade the new item {product.base_sku} instead.")
    if not GRADE_RE.match(grade):
        raise ProductError(f"{grade!r} is not a grade (one capital letter, maybe a digit: A, B, C2).")
    return Product(
        sku=variant_sku(product.sku, grade),
        name=f"{product.name} ({grade})",
        barcodes=tuple(barcodes),
        weight_g=product.weight_g if weight_g is None else weight_g,
        volume_ml=product.volume_ml,
        category=product.category,
        grade=grade,
        base_sku=product.sku,
    )


class Catalogue:
    """The products by SKU and by GTIN (GTIN-14, so UPC-A and EAN-13 of one item agree)."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.by_sku: dict[str, Product] = {}
        self.by_gtin: dict[str, Product] = {}
        for p in products:
            if p.sku in self.by_sku:
                raise ProductError(f"SKU {p.sku} appears twice in the catalogue.")
            if p.weight_g < 0 or p.volume_ml < 0:
                raise ProductError(f"{p.sku}: weight and volume cannot be negative.")
            self.by_sku[p.sku] = p
            for code in p.barcodes:
                try:
                    gtin = validate_gtin(code)
                except BarcodeError as e:
                    raise ProductError(f"{p.sku}: {e}".replace("; scan again.", ".")) from None
                if gtin in self.by_gtin and self.by_gtin[gtin].sku != p.sku:
                    raise ProductError(f"Barcode {code} is on both {self.by_gtin[gtin].sku} and {p.sku}.")
                self.by_gtin[gtin] = p
        for p in self.by_sku.values():
            if p.base_sku is not None and p.base_sku not in self.by_sku:
                raise ProductError(f"{p.sku} is a grade of {p.base_sku}, which is not in the catalogue.")

    def product(self, sku: str) -> Product:
        try:
            return self.by_sku[sku]
        except KeyError:
            raise ProductError(f"There is no product {sku}.") from None

    def find_gtin(self, code: str) -> Product | None:
        """The product with barcode ``code`` (any GTIN length); None when none has it.
        A wrong check digit raises BarcodeError with its sentence."""
        return self.by_gtin.get(validate_gtin(code))

    def variants(self, sku: str) -> list[Product]:
        """The graded variants of the new item ``sku``, by grade."""
        return sorted((p for p in self.by_sku.values() if p.base_sku == sku), key=lambda p: p.grade or "")
