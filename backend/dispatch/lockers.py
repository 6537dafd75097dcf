"""A locker bank's compartments: which one a parcel goes in (pure: plain values in and out).

A compartment is a box of inner width, height and depth (cm) with a weight limit; a
parcel is known by its weight, its volume and, when given, its longest side. A parcel
fits a compartment when its weight, its volume and its longest side are within the
compartment's. The choice is the smallest free compartment that fits (by volume, then by
label): the big ones stay free for big parcels. Several parcels are placed largest
first, so that a small one does not take the only compartment a large one fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

Refusal = Literal["", "too_large", "full"]


class Compartment(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    label: str
    width_cm: float
    height_cm: float
    depth_cm: float
    max_weight_kg: float
    free: bool = True

    @property
    def volume_l(self) -> float:
        return self.width_cm * self.height_cm * self.depth_cm / 1000.0

    @property
    def longest_cm(self) -> float:
        # A parcel's longest side can lie along the compartment's diagonal face at best;
        # the longest inner side is the safe bound.
        return max(self.width_cm, self.height_cm, self.depth_cm)


class Box(msgspec.Struct, frozen=True, kw_only=True):
    """A parcel as the locker sees it."""

    key: str  # the caller's name for it (a barcode)
    weight_kg: float
    volume_l: float
    longest_side_cm: float | None = None


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    compartment_id: int | None  # None: refused
    label: str = ""
    refusal: Refusal = ""
    detail: str = ""


def fits(c: Compartment, box: Box) -> bool:
    """Whether ``box`` goes in ``c`` (free or not)."""
    if box.weight_kg > c.max_weight_kg or box.volume_l > c.volume_l:
        return False
    return box.longest_side_cm is None or box.longest_side_cm <= c.longest_cm


def _size_key(c: Compartment) -> tuple[float, str, int]:
    return (c.volume_l, c.label, c.id)


def largest(compartments: Sequence[Compartment]) -> Compartment | None:
    return max(compartments, key=_size_key, default=None)


def choose(compartments: Sequence[Compartment], box: Box) -> Placement:
    """The smallest free compartment that fits ``box``; refused with the reason when none:
    ``too_large`` (bigger than every compartment of the bank) or ``full`` (the fitting ones
    are all taken)."""
    fitting = sorted((c for c in compartments if fits(c, box)), key=_size_key)
    if not fitting:
        big = largest(compartments)
        limit = (
            f"the largest compartment is {big.width_cm:g}x{big.height_cm:g}x{big.depth_cm:g} cm "
            f"({big.volume_l:g} L, at most {big.max_weight_kg:g} kg)"
            if big is not None
            else "this locker has no compartments yet"
        )
        return Placement(
            key=box.key,
            compartment_id=None,
            refusal="too_large",
            detail=f"Parcel {box.key} ({box.weight_kg:g} kg, {box.volume_l:g} L) fits no compartment: {limit}.",
        )
    free = next((c for c in fitting if c.free), None)
    if free is None:
        return Placement(
            key=box.key,
            compartment_id=None,
            refusal="full",
            detail=f"Every compartment that parcel {box.key} fits is taken ({len(fitting)} of that size or larger).",
        )
    return Placement(key=box.key, compartment_id=free.id, label=free.label)


def place_all(compartments: Sequence[Compartment], boxes: Sequence[Box]) -> list[Placement]:
    """A compartment for each box, largest box first, each taken compartment no longer free;
    answered in the boxes' order. Any refusal is in its placement (the caller decides whether
    one refusal refuses all)."""
    left = list(compartments)
    placed: dict[str, Placement] = {}
    for box in sorted(boxes, key=lambda b: (-b.volume_l, -b.weight_kg, b.key)):
        p = choose(left, box)
        placed[box.key] = p
        if p.compartment_id is not None:
            left = [msgspec.structs.replace(c, free=False) if c.id == p.compartment_id else c for c in left]
    return [placed[b.key] for b in boxes]


def free_count(compartments: Sequence[Compartment]) -> int:
    return sum(1 for c in compartments if c.free)
