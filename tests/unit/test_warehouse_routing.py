"""Pick paths: distances along the aisles, S-shape, the exact programme against brute force,
the local search for floors with middle cross aisles."""

from __future__ import annotations

import itertools
import random

import msgspec
import pytest

from backend.warehouse.layout import Layout, Location, generated
from backend.warehouse.routing import (
    Route,
    distance,
    improved,
    length_of,
    matrix,
    optimal,
    optimal_blocks,
    route,
    s_shape,
    spot,
    tour_length,
)

# 3 aisles 3 m apart, 5 m long (3 bay positions a side), depot at the head of aisle 1
TINY = Layout(aisles=3, positions=3, depot_aisle=1)
# 3 aisles of 2 blocks: cross aisles at y = 0, 5, 10
BLOCKS = Layout(aisles=3, positions=3, blocks=2, depot_aisle=2)


def brute_force(layout: Layout, locations: list[Location]) -> float:
    spots = sorted({spot(layout, loc) for loc in locations})
    dist = matrix(layout, spots)
    orders = itertools.permutations(range(1, len(spots) + 1))
    return min(tour_length(dist, order) for order in orders) if spots else 0.0


def test_distances_follow_the_aisles() -> None:
    a, b = spot(TINY, Location(1, 1)), spot(TINY, Location(1, 5))  # y 1.5 and 3.5
    assert distance(TINY, a, b) == 2.0
    # aisle 1 at y 1.5 to aisle 3 at y 3.5: over the front 1.5 + 6 + 3.5, over the back 3.5 + 6 + 1.5
    assert distance(TINY, a, spot(TINY, Location(3, 5))) == 11.0
    # near the back of both aisles: over the back cross aisle
    assert distance(TINY, spot(TINY, Location(1, 6)), spot(TINY, Location(2, 5))) == 1.5 + 3 + 1.5
    # over the middle cross aisle (y 5): from y 3.5 in aisle 1 to y 6.5 in aisle 2
    assert distance(BLOCKS, spot(BLOCKS, Location(1, 5)), spot(BLOCKS, Location(2, 7))) == 1.5 + 3 + 1.5
    spots = [spot(BLOCKS, Location(a, b)) for a, b in [(1, 5), (2, 7), (3, 12)]]
    d = matrix(BLOCKS, spots)
    assert d[1, 2] == distance(BLOCKS, spots[0], spots[1]) and d[0, 3] == 3 + 8.5


def test_s_shape_walks_whole_aisles_and_is_longer_than_the_optimum() -> None:
    picks = [Location(1, 1), Location(2, 1)]  # both 1.5 m into their aisles
    assert s_shape(TINY, picks).length == 2 * 5 + 2 * 3
    assert optimal(TINY, picks).length == 2 * 1.5 + 3 + 2 * 1.5 + 3
    # an odd last aisle is entered from the front and left the same way
    three = [Location(1, 1), Location(2, 6), Location(3, 3)]
    walk = s_shape(TINY, three)
    assert walk.length == 2 * 5 + 2 * 2.5 + 2 * 6
    assert walk.order == (0, 1, 2)


NAMED = {
    "nothing": [],
    "one pick": [Location(2, 3)],
    "depot aisle only": [Location(1, 1), Location(1, 6)],
    "both ends of every aisle": [Location(a, b) for a in (1, 2, 3) for b in (1, 6)],
    "empty aisle between": [Location(1, 5), Location(3, 2)],
    "right of the depot, far end": [Location(3, 6), Location(3, 1), Location(2, 4)],
    "duplicates share a spot": [Location(2, 3), Location(2, 4, 2), Location(3, 1)],
}


@pytest.mark.parametrize("name", NAMED)
def test_the_exact_programme_equals_brute_force_on_named_instances(name: str) -> None:
    picks = NAMED[name]
    for depot in (1, 2, 3):
        layout = msgspec.structs.replace(TINY, depot_aisle=depot)
        tour = optimal(layout, picks)
        assert tour.length == pytest.approx(brute_force(layout, picks))
        assert sorted(tour.order) == list(range(len(picks)))
        assert length_of(layout, picks, tour.order) == pytest.approx(tour.length)
        assert s_shape(layout, picks).length >= tour.length - 1e-9


def test_the_exact_programme_equals_brute_force_on_random_tiny_floors() -> None:
    rng = random.Random(16)
    for _ in range(60):
        layout = generated(aisles=rng.randint(1, 6), bays=rng.choice([4, 8, 12]))
        layout = msgspec.structs.replace(layout, depot_aisle=rng.randint(1, layout.aisles))
        picks = [Location(rng.randint(1, layout.aisles), rng.randint(1, layout.bays)) for _ in range(rng.randint(1, 7))]
        tour = optimal(layout, picks)
        assert tour.length == pytest.approx(brute_force(layout, picks)), (layout, picks)
        assert length_of(layout, picks, tour.order) == pytest.approx(tour.length)
        assert s_shape(layout, picks).length >= tour.length - 1e-9


def test_the_blocks_programme_equals_brute_force_with_middle_cross_aisles() -> None:
    rng = random.Random(27)
    for _ in range(60):
        blocks = rng.randint(1, 3)
        layout = generated(aisles=rng.randint(1, 4), bays=2 * blocks * rng.randint(1, 3), cross_aisles=blocks - 1)
        layout = msgspec.structs.replace(layout, depot_aisle=rng.randint(1, layout.aisles))
        picks = [Location(rng.randint(1, layout.aisles), rng.randint(1, layout.bays)) for _ in range(rng.randint(1, 6))]
        tour = optimal_blocks(layout, picks)
        assert tour.length == pytest.approx(brute_force(layout, picks)), (layout, picks)
        assert length_of(layout, picks, tour.order) == pytest.approx(tour.length)
        assert sorted(tour.order) == list(range(len(picks)))
    # through the middle cross aisle (see below), and on one block the same as Ratliff-Rosenthal
    assert optimal(BLOCKS, [Location(1, 5), Location(3, 8)]).length == 25.0
    picks = NAMED["both ends of every aisle"]
    assert optimal_blocks(TINY, picks) == optimal(TINY, picks)


def test_a_bound_prunes_the_blocks_programme_without_changing_its_answer() -> None:
    rng = random.Random(11)
    for cross_aisles in (1, 2):
        layout = generated(aisles=10, bays=2 * (cross_aisles + 1) * 6, cross_aisles=cross_aisles)
        for _ in range(8):
            picks = [Location(rng.randint(1, 10), rng.randint(1, layout.bays)) for _ in range(rng.randint(1, 18))]
            exact = optimal_blocks(layout, picks)
            searched = improved(layout, picks, restarts=0).length
            for bound in (searched, exact.length):
                tour = optimal_blocks(layout, picks, bound=bound)
                assert tour.length == pytest.approx(exact.length), (layout, picks, bound)
                assert length_of(layout, picks, tour.order) == pytest.approx(exact.length)
                assert sorted(tour.order) == list(range(len(picks)))
            with pytest.raises(ValueError, match="must be the length of a tour"):
                optimal_blocks(layout, picks, bound=exact.length - 1.0)


def test_the_local_search_uses_middle_cross_aisles_and_finds_tiny_optima() -> None:
    assert improved(BLOCKS, []) == Route((), 0.0)
    rng = random.Random(3)
    for _ in range(30):
        picks = [Location(rng.randint(1, 3), rng.randint(1, 12)) for _ in range(rng.randint(1, 6))]
        tour = improved(BLOCKS, picks)
        assert tour.length == pytest.approx(brute_force(BLOCKS, picks)), picks
        assert sorted(tour.order) == list(range(len(picks)))
    # either side of the middle cross aisle (y 5) in aisles 1 (y 3.5) and 3 (y 6.5), the depot at aisle 2:
    # 3 + 3.5 out, 1.5 + 6 + 1.5 through the middle, 6.5 + 3 back (32 over the front or back cross aisle)
    picks = [Location(1, 5), Location(3, 8)]
    assert improved(BLOCKS, picks).length == 25.0


def test_a_larger_floor_orders_every_pick_once_and_beats_s_shape() -> None:
    rng = random.Random(5)
    floors = [generated(aisles=12, bays=24, cross_aisles=c) for c in (0, 1, 2)]
    for layout in floors:
        picks = [Location(rng.randint(1, 12), rng.randint(1, 24)) for _ in range(25)]
        tour = route(layout, picks)
        assert sorted(tour.order) == list(range(25))
        assert length_of(layout, picks, tour.order) == pytest.approx(tour.length)
        assert tour.length <= s_shape(layout, picks).length
