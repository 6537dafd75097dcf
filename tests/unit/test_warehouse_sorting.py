"""The sort station's core: which order gets the next unit, totes, replays and refusals."""

from __future__ import annotations

import msgspec
import pytest

from backend.warehouse import sorting
from backend.warehouse.sorting import SortError, SortState, ToSort

LINES = (
    ToSort(order_id=7, line_id=1, sku="SODA", units=2),
    ToSort(order_id=7, line_id=2, sku="CHIPS", units=1),
    ToSort(order_id=9, line_id=3, sku="SODA", units=3),
    ToSort(order_id=9, line_id=4, sku="VASE", units=0),  # picked short: nothing expected
)


def _bound() -> SortState:
    state = sorting.bind_tote(sorting.start(LINES), 7, "T-0001")
    return sorting.bind_tote(state, 9, "T-0002")


def _code(e: pytest.ExceptionInfo[SortError]) -> str:
    return e.value.code


def test_units_go_to_the_least_complete_line_first_by_the_batchs_order() -> None:
    state = _bound()
    seen = []
    for i in range(5):
        placed = sorting.scan_item(state, f"s{i}", "SODA")
        state = placed.state
        seen.append((placed.order_id, placed.tote))
    # 0/2 vs 0/3: first by batch order; then 1/2 vs 0/3; 1/2 vs 1/3; 1/2 vs 2/3 ...
    assert seen == [(7, "T-0001"), (9, "T-0002"), (9, "T-0002"), (7, "T-0001"), (9, "T-0002")]
    assert sorting.left(state, 7) == 1 and sorting.complete(state, 9)
    assert not sorting.finished(state)
    state = sorting.scan_item(state, "c", "CHIPS").state
    assert sorting.complete(state, 7) and sorting.finished(state)  # the short VASE is not expected


def test_the_same_scan_id_counts_nothing_twice() -> None:
    first = sorting.scan_item(_bound(), "s1", "SODA")
    again = sorting.scan_item(first.state, "s1", "SODA")
    assert again.replayed and again.state == first.state
    assert (again.order_id, again.tote, again.left) == (first.order_id, first.tote, first.left) == (7, "T-0001", 2)


def test_a_unit_not_in_the_batch_or_one_too_many_is_refused_with_nothing_changed() -> None:
    state = _bound()
    with pytest.raises(SortError) as e:
        sorting.scan_item(state, "x", "SOAP", "Soap")
    assert _code(e) == "not_in_batch" and "Soap" in e.value.message
    with pytest.raises(SortError) as e:
        sorting.scan_item(state, "x", "VASE")  # short: none picked
    assert _code(e) == "extra"
    state = sorting.scan_item(state, "c", "CHIPS").state
    before = msgspec.to_builtins(state)
    with pytest.raises(SortError) as e:
        sorting.scan_item(state, "c2", "CHIPS")
    assert _code(e) == "extra" and "holds 1" in e.value.message
    assert msgspec.to_builtins(state) == before


def test_totes_one_per_order_and_never_another_orders() -> None:
    state = sorting.start(LINES)
    with pytest.raises(SortError) as e:
        sorting.scan_item(state, "s", "SODA")
    assert _code(e) == "no_tote" and e.value.extra == {"orderId": 7}
    state = sorting.bind_tote(state, 7, "T-0001")
    assert sorting.bind_tote(state, 7, "T-0001") == state  # again: no change
    with pytest.raises(SortError) as e:
        sorting.bind_tote(state, 9, "T-0001")
    assert _code(e) == "tote_in_use"
    with pytest.raises(SortError) as e:
        sorting.bind_tote(state, 9, "T-0005", in_use={"T-0005": 42})
    assert _code(e) == "tote_in_use" and "order 42" in e.value.message
    with pytest.raises(SortError) as e:
        sorting.bind_tote(state, 7, "T-0003")
    assert _code(e) == "order_has_tote"
    with pytest.raises(SortError) as e:
        sorting.bind_tote(state, 8, "T-0003")
    assert _code(e) == "not_in_batch"


def test_the_state_survives_json() -> None:
    state = sorting.scan_item(_bound(), "s1", "SODA").state
    assert msgspec.json.decode(msgspec.json.encode(state), type=SortState) == state
