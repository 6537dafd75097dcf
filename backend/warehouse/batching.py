"""Orders grouped into batches that fit a cart, chosen to keep the walking short.

Pure: stdlib and msgspec. A cart carries ``totes`` totes; an order needs its own
totes (sort while picking), enough for its volume and weight. A batch fits when
its orders' totes fit the cart.

The walk of a batch is estimated per aisle (the cheapest of: through, in and back
from the front, from the back, from both ends leaving the largest gap) plus twice
the span of the aisles from the depot: close to the optimal tour and cheap to
update when one order joins or leaves (an aisle's picks are a bitmask of bay
positions, and the metres of a mask are looked up in a table kept for the run).
Batches are built by seeds: the unbatched order whose own walk is longest opens a
batch, and the order that adds the least walk joins it until the cart is full. A
local search then moves single orders between batches and swaps pairs of orders
of two batches while that shortens the estimate and the carts have room
(``passes`` rounds at most; a swap is screened by the sum of its one-order
changes, then tried exactly). Each batch is finally routed with
:func:`backend.warehouse.routing.route`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Sequence
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


# An order's picks: aisle -> (bitmask of the bay positions it stands at, picks per position)
Picks = dict[int, tuple[int, dict[int, int]]]


class _Floor:
    """What the estimate needs of the floor, and the metres of an aisle walked to a set of
    positions, kept by the set's bitmask: the batches of a run meet the same sets again and
    again, so most estimates are dictionary look-ups."""

    def __init__(self, layout: Layout) -> None:
        self.length = layout.length
        self.pitch = layout.aisle_pitch
        self.depot = layout.depot_aisle
        self.ys = [bay_y(layout, 2 * p + 1) for p in range(layout.positions * layout.blocks)]
        self.costs: dict[int, float] = {0: 0.0}

    def cost(self, mask: int) -> float:
        metres = self.costs.get(mask)
        if metres is None:
            ys = [y for p, y in enumerate(self.ys) if mask >> p & 1]
            L = self.length
            gap = max(map(operator.sub, ys[1:], ys), default=0.0)
            metres = self.costs[mask] = min(L, 2 * ys[-1], 2 * (L - ys[0]), 2 * (L - gap))
        return metres


class _Walk:
    """The walking estimate of a set of picks, kept per aisle so that adding or taking
    one order's picks costs the aisles it touches."""

    def __init__(self, floor: _Floor) -> None:
        self.floor = floor
        self.masks: dict[int, int] = {}  # aisle -> positions walked to
        self.held: dict[int, dict[int, int]] = {}  # aisle -> picks per position
        self.lo = self.hi = floor.depot  # the aisles walked to, the depot's included
        self.known: dict[tuple[str, int], float] = {}  # change for an order joining or leaving, until the next apply
        self.version = 0  # counts the changes: a pair of batches found settled stays so while neither changes

    def _left(self, a: int, picks: tuple[int, dict[int, int]]) -> int:
        """The positions of aisle ``a`` still walked to once ``picks`` leave."""
        mask, held = self.masks[a], self.held[a]
        for p, k in picks[1].items():
            if held[p] == k:
                mask &= ~(1 << p)
        return mask

    def total(self) -> float:
        cost = self.floor.cost
        return sum(cost(m) for m in self.masks.values()) + 2 * self.floor.pitch * (self.hi - self.lo)

    def aisle_delta(self, picks: Picks, sign: int) -> float:
        """The change of the aisles' part when ``picks`` join (+1) or leave (-1)."""
        floor, costs, masks, change = self.floor, self.floor.costs, self.masks, 0.0
        for a, mine in picks.items():
            old = masks.get(a, 0)
            new = old | mine[0] if sign > 0 else self._left(a, mine)
            if new != old:  # an aisle walked to the same spots costs the same
                metres = costs.get(new)
                change += (floor.cost(new) if metres is None else metres) - costs[old]
        return change

    def span_delta(self, picks: Picks, sign: int) -> float:
        if sign > 0:
            lo, hi = min(self.lo, min(picks)), max(self.hi, max(picks))
        else:
            kept = [a for a in self.masks if a not in picks or self._left(a, picks[a])]
            lo, hi = min([self.floor.depot, *kept]), max([self.floor.depot, *kept])
        return 2 * self.floor.pitch * ((hi - lo) - (self.hi - self.lo))

    def delta(self, picks: Picks, sign: int) -> float:
        return self.aisle_delta(picks, sign) + self.span_delta(picks, sign)

    def change(self, order: str, picks: Picks, sign: int) -> float:
        """:meth:`delta` for an order, remembered until the batch changes."""
        key = (order, sign)
        known = self.known.get(key)
        if known is None:
            known = self.known[key] = self.delta(picks, sign)
        return known

    def apply(self, picks: Picks, sign: int) -> None:
        self.known = {}
        self.version += 1
        for a, (mask, counts) in picks.items():
            held = self.held.setdefault(a, {})
            for p, k in counts.items():
                held[p] = held.get(p, 0) + sign * k
                if not held[p]:
                    del held[p]
            if held:
                self.masks[a] = self.masks.get(a, 0) | mask if sign > 0 else self.mask_of(held)
                self.floor.cost(self.masks[a])  # in the table from now on: the deltas read it directly
            else:
                self.masks.pop(a, None)
                del self.held[a]
        self.lo, self.hi = min([self.floor.depot, *self.masks]), max([self.floor.depot, *self.masks])

    @staticmethod
    def mask_of(held: dict[int, int]) -> int:
        mask = 0
        for p in held:
            mask |= 1 << p
        return mask


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
    picks: dict[str, Picks] = {}
    for o in orders:
        per: dict[int, dict[int, int]] = {}
        for loc in locs[o.id]:
            at = per.setdefault(loc.aisle, {})
            at[(loc.bay - 1) // 2] = at.get((loc.bay - 1) // 2, 0) + 1
        picks[o.id] = {a: (_Walk.mask_of(at), at) for a, at in per.items()}
    totes = {o.id: o.totes for o in orders}
    floor = _Floor(layout)
    groups = _seed(floor, cart, [o.id for o in orders], picks, totes)
    groups = _improve(floor, cart, groups, picks, totes, passes)
    return [_routed(layout, ids, locs, totes) for ids in groups if ids]


def _seed(floor: _Floor, cart: Cart, ids: list[str], picks: dict[str, Picks], totes: dict[str, int]) -> list[list[str]]:
    left = sorted(ids, key=lambda i: (-_Walk(floor).delta(picks[i], +1), i))
    ends = {i: (min(picks[i]), max(picks[i])) for i in ids}
    on_aisle: dict[int, list[str]] = {}
    for i in ids:
        for a in picks[i]:
            on_aisle.setdefault(a, []).append(i)
    pitch2 = 2 * floor.pitch
    groups: list[list[str]] = []
    while left:
        seed = left.pop(0)
        walk, group, room = _Walk(floor), [seed], cart.totes - totes[seed]
        walk.apply(picks[seed], +1)
        # the aisles' part of each candidate's delta changes only when an order on its aisles joins
        part: dict[str, float] = {}
        lo, hi = min(floor.depot, *picks[seed]), max(floor.depot, *picks[seed])
        while True:
            # the order that fits and adds the least (of equal ones the first id); one pass, no key tuples
            nxt: str | None = None
            least = 0.0
            for i in left:
                if totes[i] > room:
                    continue
                aisles = part.get(i)
                if aisles is None:
                    aisles = part[i] = walk.aisle_delta(picks[i], +1)
                e0, e1 = ends[i]
                added = aisles + pitch2 * ((e1 if e1 > hi else hi) - (e0 if e0 < lo else lo))
                if nxt is None or added < least or (added == least and i < nxt):
                    nxt, least = i, added
            if nxt is None:
                break
            lo, hi = min(lo, ends[nxt][0]), max(hi, ends[nxt][1])
            walk.apply(picks[nxt], +1)
            group.append(nxt)
            room -= totes[nxt]
            left.remove(nxt)
            for a in picks[nxt]:
                for i in on_aisle[a]:
                    part.pop(i, None)
        groups.append(group)
    return groups


def _improve(
    floor: _Floor,
    cart: Cart,
    groups: list[list[str]],
    picks: dict[str, Picks],
    totes: dict[str, int],
    passes: int,
) -> list[list[str]]:
    """Move one order to another batch, or swap two, while the summed estimate drops."""
    walks = []
    for g in groups:
        w = _Walk(floor)
        for i in g:
            w.apply(picks[i], +1)
        walks.append(w)
    load = [sum(totes[i] for i in g) for g in groups]
    settled: dict[tuple[int, int], tuple[int, int]] = {}
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
        better = _swaps(cart, groups, walks, load, picks, totes, settled) or better
        if not better:
            break
    return groups


def _swaps(
    cart: Cart,
    groups: list[list[str]],
    walks: list[_Walk],
    load: list[int],
    picks: dict[str, Picks],
    totes: dict[str, int],
    settled: dict[tuple[int, int], tuple[int, int]],
) -> bool:
    """Swap two orders of two batches where that shortens the summed estimate. Pairs are
    screened by the sum of the four one-order changes (a pair of batches is skipped when
    even its best two cannot gain), then tried exactly. ``settled`` keeps the pairs where no
    swap gained, at their batches' versions: unchanged since, they are not looked at again."""
    swapped = False
    for s in range(len(groups)):
        for t in range(s + 1, len(groups)):
            if not groups[s] or not groups[t] or settled.get((s, t)) == (walks[s].version, walks[t].version):
                continue
            settled[s, t] = (walks[s].version, walks[t].version)
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
                versions = walks[s].version, walks[t].version
                _move(walks, groups, load, totes, picks, i, s, t)
                _move(walks, groups, load, totes, picks, j, t, s)
                if walks[s].total() + walks[t].total() < before - 1e-9:
                    swapped = True
                    break
                _move(walks, groups, load, totes, picks, i, t, s)
                _move(walks, groups, load, totes, picks, j, s, t)
                # the same batches again: what was known holds
                walks[s].known, walks[t].known = known
                walks[s].version, walks[t].version = versions
    return swapped


def _move(
    walks: list[_Walk],
    groups: list[list[str]],
    load: list[int],
    totes: dict[str, int],
    picks: dict[str, Picks],
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
