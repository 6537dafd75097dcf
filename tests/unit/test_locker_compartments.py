"""Which compartment of a locker bank a parcel goes in: the smallest free one that fits,
refused as too large or as full, several parcels largest first."""

from __future__ import annotations

from backend.dispatch.lockers import Box, Compartment, choose, fits, free_count, place_all


def bank(*taken: str) -> list[Compartment]:
    """S: 40x10x60 (24 L, 10 kg), M: 40x20x60 (48 L), L: 40x40x60 (96 L, 25 kg); two S."""
    sizes = {
        "S1": (40, 10, 60, 10),
        "S2": (40, 10, 60, 10),
        "M1": (40, 20, 60, 15),
        "L1": (40, 40, 60, 25),
    }
    return [
        Compartment(id=i, label=label, width_cm=w, height_cm=h, depth_cm=d, max_weight_kg=kg, free=label not in taken)
        for i, (label, (w, h, d, kg)) in enumerate(sizes.items(), start=1)
    ]


def box(key: str = "P1", kg: float = 1.0, litres: float = 5.0, side: float | None = None) -> Box:
    return Box(key=key, weight_kg=kg, volume_l=litres, longest_side_cm=side)


def test_the_smallest_free_compartment_that_fits_is_chosen() -> None:
    assert choose(bank(), box(litres=5)).label == "S1"
    assert choose(bank("S1"), box(litres=5)).label == "S2"
    assert choose(bank("S1", "S2"), box(litres=5)).label == "M1"  # a bigger one when the small are taken
    assert choose(bank(), box(litres=30)).label == "M1"
    assert choose(bank(), box(litres=30, kg=20)).label == "L1"  # too heavy for M1


def test_weight_volume_and_longest_side_each_count() -> None:
    s = bank()[0]
    assert fits(s, box(kg=10, litres=24, side=60))
    assert not fits(s, box(kg=10.5, litres=1))
    assert not fits(s, box(litres=24.1))
    assert not fits(s, box(litres=1, side=61))


def test_a_parcel_bigger_than_every_compartment_is_refused_with_the_largest_size() -> None:
    p = choose(bank(), box(key="BIG", litres=97))
    assert (p.compartment_id, p.refusal) == (None, "too_large")
    assert "BIG" in p.detail and "40x40x60 cm" in p.detail and "96 L" in p.detail
    assert choose([], box()).refusal == "too_large"


def test_no_free_fitting_compartment_is_full_even_when_smaller_ones_are_free() -> None:
    p = choose(bank("L1"), box(litres=60))
    assert (p.compartment_id, p.refusal) == (None, "full")
    assert "taken" in p.detail
    assert free_count(bank("L1")) == 3


def test_several_parcels_are_placed_largest_first() -> None:
    # Answered in the parcels' order; the 60 L one (only L1 fits it) is placed first.
    placed = place_all(bank("S1", "S2"), [box("SMALL", litres=20), box("LARGE", litres=60)])
    assert [(p.key, p.label) for p in placed] == [("SMALL", "M1"), ("LARGE", "L1")]
    two = place_all(bank("S1", "S2", "M1"), [box("A", litres=5), box("B", litres=5)])
    assert [(p.label, p.refusal) for p in two] == [("L1", ""), ("", "full")]
