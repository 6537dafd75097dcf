"""The hub's warehouse floor: parallel aisles, cross aisles, bins and the depot.

Pure: stdlib and msgspec. The floor is a row of parallel aisles (numbered 1.. from
the left) joined by a front cross aisle (y = 0), a back cross aisle and, optionally,
middle cross aisles that cut the aisles into blocks. Along an aisle a block holds
``positions`` bay positions with a bay on each side: odd bays on the left, even on
the right, bays 1 and 2 nearest the front. A bin is (aisle, bay, level); its code
is ``<zone letter><aisle, 2 digits>-<bay, 2 digits>-<level>``, e.g. ``A03-12-2``.
Levels do not change the walk. The depot (the pack and sort station) stands on the
front cross aisle at the head of one aisle.

All lengths are metres; x runs along the front, y into the aisles, measured on the
centre lines of the aisles and cross aisles.
"""

from __future__ import annotations

import re

import msgspec


class LocationError(ValueError):
    """A bin code that cannot be read, or names no bin of the layout."""


class Zone(msgspec.Struct, frozen=True):
    """A named run of aisles, ``first`` to ``last`` inclusive; its name is the code's letter."""

    name: str
    first: int
    last: int


class Layout(msgspec.Struct, frozen=True, kw_only=True):
    """A floor of ``aisles`` parallel aisles cut into ``blocks`` by ``blocks - 1`` middle cross aisles."""

    aisles: int
    positions: int  # bay positions per side per block
    levels: int = 4
    blocks: int = 1
    bay_width: float = 1.0
    aisle_pitch: float = 3.0  # centre to centre of neighbouring aisles
    cross_aisle_width: float = 2.0
    depot_aisle: int = 1
    zones: tuple[Zone, ...] = ()

    @property
    def bays(self) -> int:
        """Bays per aisle, both sides, all blocks."""
        return 2 * self.positions * self.blocks

    @property
    def block_length(self) -> float:
        """From one cross aisle's centre line to the next one's."""
        return self.positions * self.bay_width + self.cross_aisle_width

    @property
    def length(self) -> float:
        """From the front cross aisle's centre line to the back one's."""
        return self.blocks * self.block_length

    @property
    def cross_ys(self) -> tuple[float, ...]:
        """The y of every cross aisle's centre line, front (0) to back."""
        return tuple(k * self.block_length for k in range(self.blocks + 1))

    @property
    def depot(self) -> tuple[float, float]:
        return (aisle_x(self, self.depot_aisle), 0.0)


class Location(msgspec.Struct, frozen=True, order=True):
    """One bin: aisle and bay from 1, level from 1 (the floor)."""

    aisle: int
    bay: int
    level: int = 1


_CODE = re.compile(r"([A-Z]{1,2})(\d{1,3})-(\d{1,3})-(\d{1,2})")


def check_layout(layout: Layout) -> None:
    """Raise ValueError with a sentence when the layout cannot be a floor."""
    if layout.aisles < 1 or layout.positions < 1 or layout.levels < 1 or layout.blocks < 1:
        raise ValueError("a layout needs at least one aisle, bay position, level and block")
    if min(layout.bay_width, layout.aisle_pitch, layout.cross_aisle_width) <= 0:
        raise ValueError("bay width, aisle pitch and cross aisle width must be positive")
    if not 1 <= layout.depot_aisle <= layout.aisles:
        raise ValueError(f"the depot stands at aisle {layout.depot_aisle}, but aisles run 1 to {layout.aisles}")
    covered = sorted(a for z in layout.zones for a in range(z.first, z.last + 1))
    if layout.zones and covered != list(range(1, layout.aisles + 1)):
        raise ValueError("the zones must cover every aisle exactly once")


def zone_of(layout: Layout, aisle: int) -> str:
    """The zone letter of an aisle ("A" when the layout names no zones)."""
    for z in layout.zones:
        if z.first <= aisle <= z.last:
            return z.name
    return "A"


def format_location(layout: Layout, loc: Location) -> str:
    check_location(layout, loc)
    return f"{zone_of(layout, loc.aisle)}{loc.aisle:02d}-{loc.bay:02d}-{loc.level}"


def parse_location(layout: Layout, code: str) -> Location:
    """The bin a code names, or LocationError saying what is wrong with it."""
    m = _CODE.fullmatch(code.strip().upper())
    if m is None:
        raise LocationError(f"{code!r} is not a bin code: write zone and aisle, bay and level, e.g. A03-12-2")
    zone, aisle, bay, level = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
    loc = Location(aisle, bay, level)
    check_location(layout, loc)
    if zone != zone_of(layout, aisle):
        raise LocationError(f"aisle {aisle} is in zone {zone_of(layout, aisle)}, not {zone}: check the code {code!r}")
    return loc


def check_location(layout: Layout, loc: Location) -> None:
    if not 1 <= loc.aisle <= layout.aisles:
        raise LocationError(f"there is no aisle {loc.aisle}: aisles run 1 to {layout.aisles}")
    if not 1 <= loc.bay <= layout.bays:
        raise LocationError(f"aisle {loc.aisle} has no bay {loc.bay}: bays run 1 to {layout.bays}")
    if not 1 <= loc.level <= layout.levels:
        raise LocationError(f"bay {loc.bay} has no level {loc.level}: levels run 1 to {layout.levels}")


def aisle_x(layout: Layout, aisle: int) -> float:
    return (aisle - 1) * layout.aisle_pitch


def bay_y(layout: Layout, bay: int) -> float:
    """Where the picker stands for a bay: both sides of a position share it."""
    position = (bay - 1) // 2
    block, within = divmod(position, layout.positions)
    return block * layout.block_length + layout.cross_aisle_width / 2 + (within + 0.5) * layout.bay_width


def position(layout: Layout, loc: Location) -> tuple[float, float]:
    """(x, y) of a bin: x along the front, y into its aisle."""
    return (aisle_x(layout, loc.aisle), bay_y(layout, loc.bay))


def generated(
    aisles: int = 20,
    bays: int = 40,
    cross_aisles: int = 0,
    levels: int = 4,
    depot_aisle: int | None = None,
    zone_aisles: int = 10,
) -> Layout:
    """A test and bench floor: ``bays`` per aisle (both sides) split over ``cross_aisles + 1``
    blocks, zones A, B, ... of ``zone_aisles`` aisles, the depot at the middle aisle."""
    blocks = cross_aisles + 1
    if bays < 2 * blocks or bays % (2 * blocks):
        raise ValueError(f"{bays} bays do not split into {blocks} blocks of bays on both sides")
    zones = tuple(
        Zone(chr(ord("A") + i), first, min(first + zone_aisles - 1, aisles))
        for i, first in enumerate(range(1, aisles + 1, zone_aisles))
    )
    layout = Layout(
        aisles=aisles,
        positions=bays // (2 * blocks),
        levels=levels,
        blocks=blocks,
        depot_aisle=depot_aisle if depot_aisle is not None else (aisles + 1) // 2,
        zones=zones,
    )
    check_layout(layout)
    return layout
