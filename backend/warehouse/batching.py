"""Orders grouped into batches that fit a cart, chosen to keep the walking short.

Pure: stdlib and msgspec. A cart carries ``totes`` totes; an order needs its own
totes (sort while picking), enough for its volume and weight. A batch fits when
its orders' totes fit the cart.

The walk of a batch is estimated per aisle (the cheapest of: through, in and back
from the front, from the back, from both ends leaving the largest gap) plus twice
the span of the aisles from the depot: close to the optimal tour and cheap to
update when one order joins or leaves. Batches are built by seeds: the unbatched
order whose own walk is longest opens a batch, and the order that adds the least
walk joins it until the cart is full. A local search then moves single orders between
batches and swaps pairs of orders of two batches while that shortens the
estimate and the carts have room (``passes`` rounds at most; a swap is screened
by the sum of its one-order changes, then tried exactly). Each batch is
finally routed with :func:`backend.warehouse.routing.route`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Protocol

import msgspec

from backend.warehouse.layout import Layout, Location, LocationError, bay_y, parse_location
from backend.warehouse.routing import route


class BatchError(ValueError):
    """Orders that cannot be batched as given: the sentence says which and why."""


class Cart(msgspec.Struct, frozen=True, kw_only=True):
    totes: int = 8
    tote_volume: float = 40.0  # litres
    tote_weight: float = 15.0  # kg


class PickOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    locations: tuple[str, ...]  # bin codes of its lines
    totes: int = 1
    volume: float = 0.0
    weight: float = 0.0


class Batch(msgspec.Struct, frozen=True):
    orders: tuple[str, ...]
    # walking order: (order id, index into that order's locations)
    path: tuple[tuple[str, int], ...]
    length: float  # metres, depot to depot
    totes: int


def totes_for(cart: Cart, volume: float, weight: float) -> int:
    """The totes an order of this volume and weight needs (at least one)."""
    return max(1, math.ceil(volume / cart.tote_volume - 1e-9), math.ceil(weight / cart.tote_weight - 1e-9))


def check_order(cart: Cart, order: PickOrder) -> None:
    """Raise BatchError with a sentence when the order cannot go on a cart as given."""
    if not order.locations:
        raise BatchError(f"order {order.id} has no lines to pick")
    if order.totes < 1:
        raise BatchError(f"order {order.id} needs at least one tote")
    if order.totes > cart.totes:
        raise BatchError(f"order {order.id} needs {order.totes} totes, more than a cart's {cart.totes}")
    if totes_for(cart, order.volume, order.weight) > order.totes:
        need = totes_for(cart, order.volume, order.weight)
        raise BatchError(
            f"order {order.id} ({order.volume:g} l, {order.weight:g} kg) needs {need} totes, not {order.totes}"
        )


class _Walk:
    """The walking estimate of a set of picks, kept per aisle so that adding or taking
    one order's picks costs the aisles it touches."""

    def __init__(self, layout: Layout) -> None:
        self.length = layout.length
        self.pitch = layout.aisle_pitch
        self.depot = layout.depot_aisle
        self.ys: dict[int, list[float]] = {}
        self.cost: dict[int, float] = {}
        self.lo = self.hi = self.depot  # the aisles walked to, the depot's included
        self.known: dict[tuple[str, int], float] = {}  # change for an order joining or leaving, until the next apply

    def aisle(self, ys: list[float]) -> float:
        if not ys:
            return 0.0
        L = self.length
        gap = max(map(operator.sub, ys[1:], ys), default=0.0)
        return min(L, 2 * ys[-1], 2 * (L - ys[0]), 2 * (L - gap))

    def span(self, aisles: Iterable[int]) -> float:
        lo = hi = self.depot
        for a in aisles:
            lo, hi = min(lo, a), max(hi, a)
        return 2 * self.pitch * (hi - lo)

    def total(self) -> float:
        return sum(self.cost.values()) + 2 * self.pitch * (self.hi - self.lo)

    def aisle_delta(self, picks: dict[int, list[float]], sign: int) -> float:
        """The change of the aisles' part when ``picks`` (aisle -> ys) join (+1) or leave (-1)."""
        change = 0.0
        for a, ys in picks.items():
            old = self.ys.get(a, [])
            new = sorted(old + ys) if sign > 0 else _without(old, ys)
            change += self.aisle(new) - self.cost.get(a, 0.0)
        return change

    def span_delta(self, picks: dict[int, list[float]], sign: int) -> float:
        if sign > 0:
            lo, hi = min(self.lo, min(picks)), max(self.hi, max(picks))
            return 2 * self.pitch * ((hi - lo) - (self.hi - self.lo))
        kept = [a for a in self.ys if a not in picks or len(self.ys[a]) > len(picks[a])]
        return self.span(kept) - 2 * self.pitch * (self.hi - self.lo)

    def delta(self, picks: dict[int, list[float]], sign: int) -> float:
        return self.aisle_delta(picks, sign) + self.span_delta(picks, sign)

    def change(self, order: str, picks: dict[int, list[float]], sign: int) -> float:
        """:meth:`delta` for an order, remembered until the batch changes."""
        key = (order, sign)
        if key not in self.known:
            self.known[key] = self.delta(picks, sign)
        return self.known[key]

    def apply(self, picks: dict[int, list[float]], sign: int) -> None:
        self.known = {}
        for a, ys in picks.items():
            old = self.ys.get(a, [])
            new = sorted(old + ys) if sign > 0 else _without(old, ys)
            if new:
                self.ys[a], self.cost[a] = new, self.aisle(new)
            else:
                self.ys.pop(a, None)
                self.cost.pop(a, None)
        self.lo, self.hi = min([self.depot, *self.ys]), max([self.depot, *self.ys])


def _without(ys: list[float], gone: list[float]) -> list[float]:
    out = list(ys)
    for y in gone:
        out.remove(y)
    return out


def _parse(layout: Layout, order: PickOrder) -> list[Location]:
    try:
        return [parse_location(layout, code) for code in order.locations]
    except LocationError as exc:
        raise BatchError(f"order {order.id}: {exc}") from None


def make_batches(layout: Layout, cart: Cart, orders: Sequence[PickOrder], passes: int = 3) -> list[Batch]:
    """Every order in exactly one batch that fits the cart, each batch routed."""
    seen: set[str] = set()
    for o in orders:
        if o.id in seen:
            raise BatchError(f"order {o.id} is given twice")
        seen.add(o.id)
        check_order(cart, o)
    locs = {o.id: _parse(layout, o) for o in orders}
    picks: dict[str, dict[int, list[float]]] = {}
    for o in orders:
        per: dict[int, list[float]] = {}
        for loc in locs[o.id]:
            per.setdefault(loc.aisle, []).append(bay_y(layout, loc.bay))
        picks[o.id] = {a: sorted(ys) for a, ys in per.items()}
    totes = {o.id: o.totes for o in orders}
    groups = _seed(layout, cart, [o.id for o in orders], picks, totes)
    groups = _improve(layout, cart, groups, picks, totes, passes)
    return [_routed(layout, ids, locs, totes) for ids in groups if ids]


def _seed(
    layout: Layout, cart: Cart, ids: list[str], picks: dict[str, dict[int, list[float]]], totes: dict[str, int]
) -> list[list[str]]:
    left = sorted(ids, key=lambda i: (-_Walk(layout).delta(picks[i], +1), i))
    ends = {i: (min(picks[i]), max(picks[i])) for i in ids}
    pitch2 = 2 * layout.aisle_pitch
    groups: list[list[str]] = []
    while left:
        seed = left.pop(0)
        walk, group, room = _Walk(layout), [seed], cart.totes - totes[seed]
        walk.apply(picks[seed], +1)
        # the aisles' part of each candidate's delta changes only when an order on its aisles joins
        part: dict[str, float] = {}
        lo, hi = min(layout.depot_aisle, *picks[seed]), max(layout.depot_aisle, *picks[seed])
        while True:
            fits = [i for i in left if totes[i] <= room]
            if not fits:
                break
            for i in fits:
                if i not in part:
                    part[i] = walk.aisle_delta(picks[i], +1)
            nxt = min(fits, key=lambda i: (part[i] + pitch2 * (max(hi, ends[i][1]) - min(lo, ends[i][0])), i))
            lo, hi = min(lo, ends[nxt][0]), max(hi, ends[nxt][1])
            walk.apply(picks[nxt], +1)
            group.append(nxt)
            room -= totes[nxt]
            left.remove(nxt)
            touched = picks[nxt].keys()
            part = {i: v for i, v in part.items() if i != nxt and not touched & picks[i].keys()}
        groups.append(group)
    return groups


def _improve(
    layout: Layout,
    cart: Cart,
    groups: list[list[str]],
    picks: dict[str, dict[int, list[float]]],
    totes: dict[str, int],
    passes: int,
) -> list[list[str]]:
    """Move one order to another batch, or swap two, while the summed estimate drops."""
    walks = []
    for g in groups:
        w = _Walk(layout)
        for i in g:
            w.apply(picks[i], +1)
        walks.append(w)
    load = [sum(totes[i] for i in g) for g in groups]
    for _ in range(passes):
        better = False
        for s, g in enumerate(groups):
            for i in list(g):
                out = walks[s].change(i, picks[i], -1)
                for t in range(len(groups)):
                    if t == s or load[t] + totes[i] > cart.totes:
                        continue
                    if out + walks[t].change(i, picks[i], +1) < -1e-9:
                        _move(walks, groups, load, totes, picks, i, s, t)
                        better = True
                        break
        better = _swaps(cart, groups, walks, load, picks, totes) or better
        if not better:
            break
    return groups


def _swaps(
    cart: Cart,
    groups: list[list[str]],
    walks: list[_Walk],
    load: list[int],
    picks: dict[str, dict[int, list[float]]],
    totes: dict[str, int],
) -> bool:
    """Swap two orders of two batches where that shortens the summed estimate. Pairs are
    screened by the sum of the four one-order changes (a pair of batches is skipped when
    even its best two cannot gain), then tried exactly."""
    swapped = False
    for s in range(len(groups)):
        for t in range(s + 1, len(groups)):
            if not groups[s] or not groups[t]:
                continue
            # i leaving s for t, j leaving t for s
            gain_i = {i: walks[s].change(i, picks[i], -1) + walks[t].change(i, picks[i], +1) for i in groups[s]}
            gain_j = {j: walks[t].change(j, picks[j], -1) + walks[s].change(j, picks[j], +1) for j in groups[t]}
            if min(gain_i.values()) + min(gain_j.values()) >= -1e-9:
                continue
            for i, j in sorted(
                ((i, j) for i in gain_i for j in gain_j if gain_i[i] + gain_j[j] < -1e-9),
                key=lambda p: (gain_i[p[0]] + gain_j[p[1]], p),
            ):
                if i not in groups[s] or j not in groups[t]:
                    continue
                if max(load[s] - totes[i] + totes[j], load[t] - totes[j] + totes[i]) > cart.totes:
                    continue
                before = walks[s].total() + walks[t].total()
                known = walks[s].known, walks[t].known
                _move(walks, groups, load, totes, picks, i, s, t)
                _move(walks, groups, load, totes, picks, j, t, s)
                if walks[s].total() + walks[t].total() < before - 1e-9:
                    swapped = True
                    break
                _move(walks, groups, load, totes, picks, i, t, s)
                _move(walks, groups, load, totes, picks, j, s, t)
                walks[s].known, walks[t].known = known  # the same batches again: what was known holds
    return swapped


def _move(
    walks: list[_Walk],
    groups: list[list[str]],
    load: list[int],
    totes: dict[str, int],
    picks: dict[str, dict[int, list[float]]],
    i: str,
    s: int,
    t: int,
) -> None:
    walks[s].apply(picks[i], -1)
    walks[t].apply(picks[i], +1)
    groups[s].remove(i)
    groups[t].append(i)
    load[s] -= totes[i]
    load[t] += totes[i]


class OrderFields(Protocol):
    """Any order with PickOrder's fields (waves.BatchOrder has them, with an int id)."""

    @property
    def id(self) -> Hashable: ...
    @property
    def locations(self) -> tuple[str, ...]: ...
    @property
    def totes(self) -> int: ...
    @property
    def volume(self) -> float: ...
    @property
    def weight(self) -> float: ...


class CartFields(Protocol):
    @property
    def totes(self) -> int: ...
    @property
    def tote_volume(self) -> float: ...
    @property
    def tote_weight(self) -> float: ...


def batcher(layout: Layout, passes: int = 3) -> Callable[[Sequence[OrderFields], CartFields], list[list[Hashable]]]:
    """:func:`make_batches` as ``waves.plan_batches`` calls a batcher: orders and a cart with
    these fields in, the orders' ids per batch out."""

    def batch(orders: Sequence[OrderFields], cart: CartFields) -> list[list[Hashable]]:
        ids = {str(o.id): o.id for o in orders}
        if len(ids) != len(orders):
            raise BatchError("two orders have the same id")
        mine = [
            PickOrder(id=str(o.id), locations=o.locations, totes=o.totes, volume=o.volume, weight=o.weight)
            for o in orders
        ]
        limits = Cart(totes=cart.totes, tote_volume=cart.tote_volume, tote_weight=cart.tote_weight)
        return [[ids[i] for i in b.orders] for b in make_batches(layout, limits, mine, passes)]

    return batch


def _routed(layout: Layout, ids: list[str], locs: dict[str, list[Location]], totes: dict[str, int]) -> Batch:
    lines = [(i, k) for i in ids for k in range(len(locs[i]))]
    r = route(layout, [locs[i][k] for i, k in lines])
    return Batch(tuple(ids), tuple(lines[n] for n in r.order), r.length, sum(totes[i] for i in ids))
