"""Stock as a ledger of movements, and allocating order lines to it.

Stock per (place, SKU) is the sum of its movements and never goes negative: a movement
that would make it so is refused whole, with a sentence. Two pickers taking the last
unit: the movements are applied one after the other (the service holds the lock), the
first gets it, the second is refused and reports a short pick. A movement carries an
id; recording the same id again changes nothing (a replayed scan).

Places are the hub's bins and the partner shops (kind "shop"): a line the hub cannot
fill may be collected from a shop instead (ship-from-store).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import msgspec

PlaceKind = Literal["bin", "shop", "dock"]  # dock: goods received, not yet put away
MovementKind = Literal["receipt", "put_away", "pick", "correction", "return"]


class StockError(ValueError):
    """A movement that cannot be recorded; the message is a sentence."""


class Place(msgspec.Struct, frozen=True, order=True):
    kind: PlaceKind
    code: str  # "A03-12-2" for a bin, the shop's id for a shop

    def __str__(self) -> str:
        return f"{self.kind} {self.code}"


class Movement(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # unique; the same id recorded twice is one movement (a replay)
    kind: MovementKind
    place: Place
    sku: str
    quantity: int  # signed: + into the place, - out of it
    reason: str
    user: str
    at: dt.datetime


_SIGN: dict[str, Literal[-1, 0, 1]] = {"receipt": 1, "return": 1, "pick": -1, "correction": 0, "put_away": 0}


class Ledger:
    """The movements and their running balances."""

    def __init__(self, movements: Iterable[Movement] = ()) -> None:
        self.movements: list[Movement] = []
        self._by_id: dict[str, Movement] = {}
        self._stock: dict[tuple[Place, str], int] = {}
        for m in movements:
            self.record(m)

    def stock(self, place: Place, sku: str) -> int:
        return self._stock.get((place, sku), 0)

    def stock_of(self, sku: str) -> dict[Place, int]:
        """Where ``sku`` is, with how many: places holding at least one."""
        return {p: n for (p, s), n in sorted(self._stock.items()) if s == sku and n > 0}

    def balances(self) -> dict[tuple[Place, str], int]:
        return {k: n for k, n in sorted(self._stock.items()) if n != 0}

    def record(self, *movements: Movement) -> list[Movement]:
        """Record ``movements`` all or none. Already recorded ids are skipped (a replay
        changes nothing twice); answers the movements now in the ledger for them."""
        for m in movements:
            if m.id in self._by_id and self._by_id[m.id] != m:
                raise StockError(f"Movement {m.id} was already recorded with other values; give it a new id.")
        fresh = [m for m in movements if m.id not in self._by_id]
        if len({m.id for m in fresh}) != len(fresh):
            raise StockError("Two movements share one id; give each its own.")
        after: dict[tuple[Place, str], int] = {}
        for m in fresh:
            self._check(m)
            key = (m.place, m.sku)
            after[key] = after.get(key, self.stock(*key)) + m.quantity
            if after[key] < 0:
                held = after[key] - m.quantity
                raise StockError(
                    f"{m.place} holds {held} of {m.sku}; taking {-m.quantity} would leave {after[key]}. "
                    "Report a short pick or count the place."
                )
        for m in fresh:
            self.movements.append(m)
            self._by_id[m.id] = m
        self._stock.update(after)
        return [self._by_id[m.id] for m in movements]

    @staticmethod
    def _check(m: Movement) -> None:
        sign = _SIGN[m.kind]
        if m.quantity == 0 and m.kind != "correction":  # a count that found the ledger right is kept too
            raise StockError(f"A {m.kind} of 0 {m.sku} changes nothing; give a quantity.")
        if sign and m.quantity * sign < 0:
            raise StockError(f"A {m.kind} cannot {'add' if sign < 0 else 'take'} stock; use a correction.")
        if m.kind == "pick" and m.place.kind == "dock":
            raise StockError(f"{m.sku} on the dock is not put away yet; pick from a bin or a shop.")
        if not m.reason.strip() or not m.user.strip():
            raise StockError("Every movement needs a reason and a user.")

    # The usual movements, built with the sign they need.
    def receive(self, id: str, place: Place, sku: str, qty: int, user: str, at: dt.datetime, reason: str) -> None:
        self.record(
            Movement(id=id, kind="receipt", place=place, sku=sku, quantity=qty, reason=reason, user=user, at=at)
        )

    def put_away(
        self, id: str, sku: str, qty: int, src: Place, dst: Place, user: str, at: dt.datetime, reason: str = "put away"
    ) -> None:
        """Move ``qty`` from ``src`` (the dock, or another bin) to ``dst``: two movements, both or none."""
        out = Movement(
            id=f"{id}:out", kind="put_away", place=src, sku=sku, quantity=-qty, reason=reason, user=user, at=at
        )
        into = msgspec.structs.replace(out, id=f"{id}:in", place=dst, quantity=qty)
        self.record(out, into)

    def pick(self, id: str, place: Place, sku: str, qty: int, user: str, at: dt.datetime, reason: str) -> None:
        self.record(Movement(id=id, kind="pick", place=place, sku=sku, quantity=-qty, reason=reason, user=user, at=at))

    def count(self, id: str, place: Place, sku: str, counted: int, user: str, at: dt.datetime, reason: str) -> int:
        """A correction to what was counted; answers the change. A count that agrees is recorded
        as a correction of 0 (it was counted then, and a replay finds it)."""
        if counted < 0:
            raise StockError(f"A count cannot be negative ({counted}).")
        if id in self._by_id:
            return self._by_id[id].quantity
        delta = counted - self.stock(place, sku)
        self.record(
            Movement(id=id, kind="correction", place=place, sku=sku, quantity=delta, reason=reason, user=user, at=at)
        )
        return delta


# ---- allocation -------------------------------------------------------------------------------


class Line(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    order_id: int
    sku: str
    quantity: int


class Take(msgspec.Struct, frozen=True):
    place: Place
    quantity: int


class Allocation(msgspec.Struct, frozen=True, kw_only=True):
    """Where one line comes from: bins of the hub, or one shop (ship-from-store), and what is short."""

    line: Line
    takes: tuple[Take, ...] = ()
    short: int = 0

    @property
    def shop(self) -> Place | None:
        return next((t.place for t in self.takes if t.place.kind == "shop"), None)


# Given the bins holding a SKU (place, available) and the quantity wanted: the order to take them in.
BinOrder = Callable[[Sequence[tuple[Place, int]], int], list[Place]]


def fewest_bins_nearest(distance: Callable[[Place], float] | None = None) -> BinOrder:
    """One bin that holds it all, nearest first (by ``distance``, else by code); otherwise the
    fullest bins first, so the line takes as few bins as it can."""

    def near(p: Place) -> float:
        return distance(p) if distance is not None else 0.0

    def order(candidates: Sequence[tuple[Place, int]], wanted: int) -> list[Place]:
        whole = sorted((p for p, n in candidates if n >= wanted), key=lambda p: (near(p), p.code))
        if whole:
            rest = sorted((p for p, n in candidates if n < wanted), key=lambda p: (near(p), p.code))
            return whole + rest
        return [p for p, _ in sorted(candidates, key=lambda c: (-c[1], near(c[0]), c[0].code))]

    return order


def allocate(
    lines: Iterable[Line],
    stock: Callable[[str], dict[Place, int]],
    *,
    bin_order: BinOrder | None = None,
    shops: bool = True,
    shop_order: Callable[[Place], float] | None = None,
) -> list[Allocation]:
    """Each line to bins of the hub, in ``bin_order``; when the hub cannot fill it, to one shop
    that holds it all (nearest by ``shop_order``, else by code); else what the hub has and the
    rest short. Earlier lines keep what they took: ``stock`` (e.g. ``Ledger.stock_of``) is read once per SKU."""
    order = bin_order or fewest_bins_nearest()
    left: dict[str, dict[Place, int]] = {}
    out = []
    for line in lines:
        if line.quantity <= 0:
            raise StockError(f"Line {line.id} asks for {line.quantity} of {line.sku}; a line needs at least 1.")
        have = left.setdefault(line.sku, dict(stock(line.sku)))
        bins = [(p, n) for p, n in have.items() if p.kind == "bin" and n > 0]
        if shops and sum(n for _, n in bins) < line.quantity:
            fits = [p for p, n in have.items() if p.kind == "shop" and n >= line.quantity]
            if fits:
                shop = min(fits, key=lambda p: (shop_order(p) if shop_order else 0.0, p.code))
                have[shop] -= line.quantity
                out.append(Allocation(line=line, takes=(Take(shop, line.quantity),)))
                continue
        wanted, takes = line.quantity, []
        for place in order(bins, wanted):
            if wanted == 0:
                break
            n = min(wanted, have[place])
            if n > 0:
                takes.append(Take(place, n))
                have[place] -= n
                wanted -= n
        out.append(Allocation(line=line, takes=tuple(takes), short=wanted))
    return out
