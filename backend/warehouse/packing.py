"""Packing one order at the pack station: the tote's contents verified by scans, a box
chosen from a catalogue, and the shop's packing options applied.

Pure: the service (``backend/services/warehouse_packing.py``) reads the order's picked
lines and the shop's options, keeps the ``PackState`` and writes the parcel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import msgspec

FILL = 0.8  # share of a box's inside that goods fill: the rest is padding and air


class PackError(Exception):
    """A refused packing step: a sentence for the packer and a code for the app."""

    def __init__(self, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra


class Box(msgspec.Struct, frozen=True, kw_only=True):
    """A box size: inside dimensions in mm, the weight it carries, its own weight."""

    code: str
    length_mm: int
    width_mm: int
    height_mm: int
    max_kg: float
    tare_g: int

    @property
    def volume_ml(self) -> float:
        return self.length_mm * self.width_mm * self.height_mm / 1000

    @property
    def diagonal_mm(self) -> float:
        """The longest thing that lies flat in it, corner to corner of the floor."""
        return math.hypot(self.length_mm, self.width_mm)


# The hub's catalogue, smallest first; data, so a hub with other boxes passes its own.
BOXES: tuple[Box, ...] = (
    Box(code="S", length_mm=250, width_mm=180, height_mm=100, max_kg=5, tare_g=150),
    Box(code="M", length_mm=350, width_mm=250, height_mm=150, max_kg=10, tare_g=250),
    Box(code="L", length_mm=450, width_mm=350, height_mm=250, max_kg=20, tare_g=400),
    Box(code="XL", length_mm=600, width_mm=400, height_mm=400, max_kg=30, tare_g=700),
)


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """Units of one SKU going into the box."""

    sku: str
    quantity: int
    volume_ml: int
    weight_g: int
    longest_mm: int = 0  # 0: unknown, only the volume decides


def _fits(box: Box, items: Sequence[Item], fill: float) -> bool:
    volume = sum(i.volume_ml * i.quantity for i in items)
    weight_kg = (sum(i.weight_g * i.quantity for i in items) + box.tare_g) / 1000
    longest = max((i.longest_mm for i in items), default=0)
    return volume <= box.volume_ml * fill and weight_kg <= box.max_kg and longest <= box.diagonal_mm


def suggest_box(items: Sequence[Item], boxes: Sequence[Box] = BOXES, fill: float = FILL) -> Box:
    """The smallest box (by volume) the items fit: their volume within ``fill`` of it, their
    weight with the box's within what it carries, the longest item flat on its floor."""
    for box in sorted(boxes, key=lambda b: b.volume_ml):
        if _fits(box, items, fill):
            return box
    raise PackError(
        "no_box_fits",
        "No box of the catalogue holds all of this order; pack it in two parcels and tell the dispatcher.",
    )


def choose_box(code: str, items: Sequence[Item], boxes: Sequence[Box] = BOXES, fill: float = FILL) -> Box:
    """The packer's choice (overriding the suggestion), refused when the items do not fit it."""
    box = next((b for b in boxes if b.code == code), None)
    if box is None:
        known = ", ".join(b.code for b in boxes)
        raise PackError("unknown_box", f"There is no box {code!r}; choose one of {known}.")
    if not _fits(box, items, fill):
        raise PackError(
            "box_too_small",
            f"The goods do not fit box {box.code}; take the suggested {suggest_box(items, boxes, fill).code} "
            "or a larger one.",
        )
    return box


def parcel_measure(items: Sequence[Item], box: Box) -> tuple[float, float]:
    """The closed parcel's weight (kg: goods and box) and volume (litres: the box's)."""
    weight_g = sum(i.weight_g * i.quantity for i in items) + box.tare_g
    return round(weight_g / 1000, 3), round(box.volume_ml / 1000, 2)


# --- verifying the tote's contents -----------------------------------------------------------


class PackState(msgspec.Struct, kw_only=True):
    """What the order should hold (SKU -> units picked) and the scans so far (scan id -> SKU)."""

    order_id: int
    expected: dict[str, int]
    scans: dict[str, str] = {}

    def counted(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for sku in self.scans.values():
            out[sku] = out.get(sku, 0) + 1
        return out


class Verified(msgspec.Struct, frozen=True, kw_only=True):
    """A scan's outcome: the state after it, and whether it was a replay."""

    state: PackState
    sku: str
    replayed: bool = False


def scan_item(
    state: PackState, scan_id: str, sku: str, other_orders: Mapping[str, int] | None = None, name: str = ""
) -> Verified:
    """Count one unit of ``sku`` into the parcel. The same scan id again counts nothing.
    Refused (``PackError``, nothing changed): a SKU this order does not hold (``other_order``
    when it is in another order's tote, else ``not_in_order``) and one unit too many (``extra``)."""
    if scan_id in state.scans:
        return Verified(state=state, sku=state.scans[scan_id], replayed=True)
    label = name or sku
    if sku not in state.expected:
        other = (other_orders or {}).get(sku)
        if other is not None:
            raise PackError(
                "other_order",
                f"{label} belongs to order {other}, not to this one; put it back in that order's tote.",
                orderId=other,
            )
        raise PackError("not_in_order", f"{label} is not part of this order; put it aside for the hub lead.")
    if state.counted().get(sku, 0) >= state.expected[sku]:
        raise PackError(
            "extra",
            f"One {label} too many: this order holds {state.expected[sku]}; put the extra one aside.",
        )
    return Verified(
        state=PackState(order_id=state.order_id, expected=state.expected, scans={**state.scans, scan_id: sku}), sku=sku
    )


def missing(state: PackState) -> dict[str, int]:
    """SKU -> units not scanned yet."""
    counted = state.counted()
    return {sku: n - counted.get(sku, 0) for sku, n in sorted(state.expected.items()) if n > counted.get(sku, 0)}


def require_complete(state: PackState, names: Mapping[str, str] | None = None) -> None:
    """Refuses (``missing``) while a unit of the order has not been scanned."""
    left = missing(state)
    if left:
        what = ", ".join(f"{n} × {(names or {}).get(sku, sku)}" for sku, n in left.items())
        raise PackError("missing", f"Scan every item before closing the parcel; still missing {what}.", missing=left)


# --- a shop's packing options ------------------------------------------------------------------

Option = Literal["branded_box", "card", "gift_wrap"]
OPTIONS: tuple[Option, ...] = ("branded_box", "card", "gift_wrap")


class PackingOptions(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """How a shop wants its goods packed: its branded box, a card with a message, gift wrap."""

    branded_box: bool = False
    card: bool = False
    card_message: str = ""
    gift_wrap: bool = False

    def steps(self) -> list[Option]:
        return [o for o in OPTIONS if getattr(self, o)]


def merged(options: Iterable[PackingOptions]) -> PackingOptions:
    """The options of an order whose goods come from several shops: every step any asks for,
    the cards' messages one after the other."""
    opts = list(options)
    return PackingOptions(
        branded_box=any(o.branded_box for o in opts),
        card=any(o.card for o in opts),
        card_message="\n".join(o.card_message for o in opts if o.card and o.card_message),
        gift_wrap=any(o.gift_wrap for o in opts),
    )


_SAY = {"branded_box": "pack it in the shop's branded box", "card": "add the card", "gift_wrap": "gift-wrap it"}


def require_options(options: PackingOptions, applied: Iterable[str]) -> None:
    """Refuses (``options_missing``) while a step the shop asks for is not confirmed."""
    done = set(applied)
    if unknown := sorted(done - set(OPTIONS)):
        raise PackError("unknown_option", f"There is no packing option {unknown[0]!r}; use {', '.join(OPTIONS)}.")
    left = [o for o in options.steps() if o not in done]
    if left:
        raise PackError(
            "options_missing",
            f"The shop asks you to {' and '.join(_SAY[o] for o in left)}; do it and confirm before closing.",
            missing=left,
        )
