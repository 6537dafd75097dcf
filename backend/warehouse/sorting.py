"""Sorting a picked pick-then-sort batch to its orders at the sort station.

The batch was picked per (bin, SKU) for all its orders together; here each unit goes to
one order's tote. Each order line expects the units picked for it (short units are not
expected). Scanning an item answers which order gets it: of the lines of that SKU with
units left, the least complete one (sorted / expected), ties to the first in the batch's
order — deterministic, and the orders fill evenly so a short shelf hurts none first.

Pure: the service (``backend/services/warehouse_sorting.py``) reads the batch's lines and
keeps the ``SortState``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import msgspec


class SortError(Exception):
    """A refused sort step: a sentence for the sorter and a code for the app."""

    def __init__(self, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra


class ToSort(msgspec.Struct, frozen=True, kw_only=True):
    """An order line of the batch and the units of it to sort (those picked)."""

    order_id: int
    line_id: int
    sku: str
    units: int


class SortState(msgspec.Struct, kw_only=True):
    """The lines in the batch's order, each order's tote, and the scans (scan id -> line id)."""

    lines: tuple[ToSort, ...]
    totes: dict[int, str] = {}
    scans: dict[str, int] = {}

    def sorted_units(self) -> dict[int, int]:
        out = {line.line_id: 0 for line in self.lines}
        for line_id in self.scans.values():
            out[line_id] += 1
        return out

    def orders(self) -> list[int]:
        return list(dict.fromkeys(line.order_id for line in self.lines))


class Placed(msgspec.Struct, frozen=True, kw_only=True):
    """A scan's outcome: the state after it, where the unit goes, and whether it was a replay."""

    state: SortState
    order_id: int
    line_id: int
    tote: str
    left: int  # units the order still waits for
    replayed: bool = False


def start(lines: Sequence[ToSort]) -> SortState:
    return SortState(lines=tuple(lines))


def left(state: SortState, order_id: int) -> int:
    """Units the order still waits for."""
    done = state.sorted_units()
    return sum(line.units - done[line.line_id] for line in state.lines if line.order_id == order_id)


def complete(state: SortState, order_id: int) -> bool:
    return left(state, order_id) == 0


def finished(state: SortState) -> bool:
    return all(complete(state, o) for o in state.orders())


def bind_tote(state: SortState, order_id: int, code: str, in_use: Mapping[str, int] | None = None) -> SortState:
    """The order's goods go into tote ``code``. Refused: an order not in the batch, a tote bound
    to another order (here or elsewhere: ``in_use`` code -> order), a second tote for an order
    already sorting into one. The same binding again changes nothing."""
    if order_id not in state.orders():
        raise SortError("not_in_batch", f"Order {order_id} is not in this batch; check the order number.")
    if state.totes.get(order_id) == code:
        return state
    holder = next((o for o, c in state.totes.items() if c == code), None)
    if holder is None:
        holder = (in_use or {}).get(code)
    if holder is not None and holder != order_id:
        raise SortError("tote_in_use", f"Tote {code} holds order {holder}; take an empty tote.", orderId=holder)
    if order_id in state.totes:
        raise SortError(
            "order_has_tote",
            f"Order {order_id} already sorts into tote {state.totes[order_id]}; keep using that one.",
            tote=state.totes[order_id],
        )
    return SortState(lines=state.lines, totes={**state.totes, order_id: code}, scans=state.scans)


def next_line(state: SortState, sku: str, name: str = "") -> ToSort:
    """The line the next unit of ``sku`` goes to. Refused: a SKU not in the batch
    (``not_in_batch``), one unit more than was picked for it (``extra``)."""
    label = name or sku
    lines = [line for line in state.lines if line.sku == sku]
    if not lines:
        raise SortError("not_in_batch", f"{label} is not part of this batch; put it aside for the hub lead.")
    done = state.sorted_units()
    open_ = [(i, line) for i, line in enumerate(lines) if done[line.line_id] < line.units]
    if not open_:
        total = sum(line.units for line in lines)
        raise SortError("extra", f"One {label} too many: the batch holds {total}; put the extra one aside.")
    _, line = min(open_, key=lambda il: (Fraction(done[il[1].line_id], il[1].units), il[0]))
    return line


def scan_item(state: SortState, scan_id: str, sku: str, name: str = "") -> Placed:
    """Sort one unit of ``sku``: it goes to the order ``next_line`` picks, into its tote. The same
    scan id again counts nothing (and answers the same order). Refused, nothing changed: the
    errors of ``next_line``, and an order that has no tote yet (``no_tote``: bind one first)."""
    if scan_id in state.scans:
        line = next(x for x in state.lines if x.line_id == state.scans[scan_id])
        return Placed(
            state=state,
            order_id=line.order_id,
            line_id=line.line_id,
            tote=state.totes[line.order_id],
            left=left(state, line.order_id),
            replayed=True,
        )
    line = next_line(state, sku, name)
    tote = state.totes.get(line.order_id)
    if tote is None:
        raise SortError(
            "no_tote",
            f"{name or sku} goes to order {line.order_id}, which has no tote yet; scan an empty tote for it.",
            orderId=line.order_id,
        )
    after = SortState(lines=state.lines, totes=state.totes, scans={**state.scans, scan_id: line.line_id})
    return Placed(state=after, order_id=line.order_id, line_id=line.line_id, tote=tote, left=left(after, line.order_id))
