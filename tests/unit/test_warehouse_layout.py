"""The warehouse floor: bin codes read and written, positions, the generator."""

from __future__ import annotations

import pytest

from backend.warehouse.layout import (
    Layout,
    Location,
    LocationError,
    Zone,
    bay_y,
    check_layout,
    format_location,
    generated,
    parse_location,
    position,
)

# 4 aisles, 2 blocks of 3 bay positions a side: bays 1..12, aisle length 2 * (3 + 2) = 10 m
SMALL = Layout(aisles=4, positions=3, levels=3, blocks=2, zones=(Zone("A", 1, 2), Zone("B", 3, 4)))


def test_a_code_is_read_and_written_back() -> None:
    loc = parse_location(SMALL, "B03-12-2")
    assert loc == Location(aisle=3, bay=12, level=2)
    assert format_location(SMALL, loc) == "B03-12-2"
    assert parse_location(SMALL, " a01-01-1 ") == Location(1, 1, 1)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("A1", "not a bin code"),
        ("A01-02", "not a bin code"),
        ("01-02-1", "not a bin code"),
        ("A05-01-1", "no aisle 5"),
        ("A01-13-1", "no bay 13"),
        ("A01-01-4", "no level 4"),
        ("A01-00-1", "no bay 0"),
        ("B01-01-1", "aisle 1 is in zone A"),
    ],
)
def test_a_bad_code_says_what_is_wrong(code: str, words: str) -> None:
    with pytest.raises(LocationError, match=words):
        parse_location(SMALL, code)


def test_positions_follow_aisles_blocks_and_sides() -> None:
    assert SMALL.length == 10.0 and SMALL.cross_ys == (0.0, 5.0, 10.0)
    # bays 1 and 2 face each other at the first position, 1 m past the front cross aisle's centre
    assert bay_y(SMALL, 1) == bay_y(SMALL, 2) == 1.5
    assert bay_y(SMALL, 6) == 3.5
    # bay 7 is the first of the second block: past the middle cross aisle
    assert bay_y(SMALL, 7) == 6.5
    assert position(SMALL, Location(3, 12, 1)) == (6.0, 8.5)
    assert SMALL.depot == (0.0, 0.0)


def test_the_generator_makes_zones_blocks_and_a_middle_depot() -> None:
    layout = generated(aisles=20, bays=40, cross_aisles=1)
    assert layout.blocks == 2 and layout.positions == 10 and layout.bays == 40
    assert [(z.name, z.first, z.last) for z in layout.zones] == [("A", 1, 10), ("B", 11, 20)]
    assert layout.depot_aisle == 10
    assert format_location(layout, Location(11, 40, 4)) == "B11-40-4"
    with pytest.raises(ValueError, match="do not split"):
        generated(bays=30, cross_aisles=1)


def test_a_layout_that_cannot_be_a_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="depot"):
        check_layout(Layout(aisles=3, positions=2, depot_aisle=4))
    with pytest.raises(ValueError, match="zones must cover"):
        check_layout(Layout(aisles=3, positions=2, zones=(Zone("A", 1, 2),)))
