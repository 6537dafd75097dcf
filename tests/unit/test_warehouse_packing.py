"""The packing core: a tote's contents verified by scans, a box from the catalogue, a
shop's packing options."""

from __future__ import annotations

import pytest

from backend.warehouse import packing
from backend.warehouse.packing import BOXES, Item, PackError, PackingOptions, PackState


def _state(**expected: int) -> PackState:
    return PackState(order_id=7, expected=dict(expected))


def test_every_unit_is_counted_once_and_a_replayed_scan_counts_nothing() -> None:
    s = _state(SODA=2, SOAP=1)
    s = packing.scan_item(s, "a", "SODA").state
    again = packing.scan_item(s, "a", "SODA")
    assert again.replayed and again.state.counted() == {"SODA": 1}
    assert packing.missing(s) == {"SOAP": 1, "SODA": 1}
    with pytest.raises(PackError) as e:
        packing.require_complete(s, {"SOAP": "Soap"})
    assert e.value.code == "missing" and "1 × Soap" in e.value.message
    s = packing.scan_item(packing.scan_item(s, "b", "SODA").state, "c", "SOAP").state
    assert packing.missing(s) == {}
    packing.require_complete(s)  # nothing left: no error


def test_wrong_items_are_refused_with_a_code_and_change_nothing() -> None:
    s = packing.scan_item(_state(SODA=1), "a", "SODA").state
    for sku, others, code in (
        ("SODA", {}, "extra"),
        ("CHIPS", {"CHIPS": 12}, "other_order"),
        ("VASE", {"CHIPS": 12}, "not_in_order"),
    ):
        with pytest.raises(PackError) as e:
            packing.scan_item(s, f"x-{sku}", sku, others)
        assert e.value.code == code
    assert s.counted() == {"SODA": 1}
    with pytest.raises(PackError) as e:
        packing.scan_item(s, "y", "CHIPS", {"CHIPS": 12}, "Chips")
    assert e.value.extra == {"orderId": 12} and "order 12" in e.value.message


def test_the_smallest_box_that_holds_the_volume_the_weight_and_the_longest_item() -> None:
    small = [Item(sku="SOAP", quantity=2, volume_ml=300, weight_g=200)]
    assert packing.suggest_box(small).code == "S"
    # 4 l is within S's 4.5 l but not within 80 % of it
    assert packing.suggest_box([Item(sku="X", quantity=1, volume_ml=4000, weight_g=100)]).code == "M"
    # light and small, but 40 cm long: only a box whose floor's diagonal takes it
    assert packing.suggest_box([Item(sku="UMB", quantity=1, volume_ml=500, weight_g=300, longest_mm=400)]).code == "M"
    # heavy: 12 kg of a small volume needs a box that carries it
    assert packing.suggest_box([Item(sku="IRON", quantity=12, volume_ml=100, weight_g=1000)]).code == "L"
    with pytest.raises(PackError) as e:
        packing.suggest_box([Item(sku="SOFA", quantity=1, volume_ml=200_000, weight_g=1000)])
    assert e.value.code == "no_box_fits"
    # the packer may take a larger box, never one too small or unknown
    assert packing.choose_box("L", small).code == "L"
    for code, why in (("S", "box_too_small"), ("Q", "unknown_box")):
        with pytest.raises(PackError) as e:
            packing.choose_box(code, [Item(sku="X", quantity=1, volume_ml=4000, weight_g=100)])
        assert e.value.code == why
    assert [b.code for b in sorted(BOXES, key=lambda b: b.volume_ml)] == ["S", "M", "L", "XL"]


def test_the_parcel_weighs_its_goods_and_its_box() -> None:
    items = [Item(sku="SODA", quantity=3, volume_ml=400, weight_g=350)]
    box = packing.suggest_box(items)
    weight, volume = packing.parcel_measure(items, box)
    assert weight == (3 * 350 + box.tare_g) / 1000
    assert volume == round(box.volume_ml / 1000, 2)


def test_a_shops_options_must_all_be_confirmed() -> None:
    gift = PackingOptions(gift_wrap=True, card=True, card_message="Happy birthday")
    assert gift.steps() == ["card", "gift_wrap"]
    with pytest.raises(PackError) as e:
        packing.require_options(gift, ["card"])
    assert e.value.code == "options_missing" and e.value.extra == {"missing": ["gift_wrap"]}
    with pytest.raises(PackError) as e:
        packing.require_options(gift, ["card", "gift_wrap", "glitter"])
    assert e.value.code == "unknown_option"
    packing.require_options(gift, ["gift_wrap", "card"])
    packing.require_options(PackingOptions(), [])
    both = packing.merged([gift, PackingOptions(branded_box=True, card=True, card_message="Thanks!")])
    assert both.steps() == ["branded_box", "card", "gift_wrap"]
    assert both.card_message == "Happy birthday\nThanks!"
