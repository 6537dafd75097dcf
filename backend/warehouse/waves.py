"""Waves and pick lists: order lines released to pick by the cut-off of their delivery slot,
grouped into batches that fit a cart, and the two ways of working.

A slot's cut-off is data (the evening slot 18:00–22:00 is picked by 15:00); a wave is every
order whose slot shares one cut-off, released ``lead`` before it. Grouping orders into
batches is a ``batcher`` (``backend/warehouse/batching.py`` minimises walking; the default
is one order per batch), called as ``batcher(orders, cart) -> list[list[order_id]]``.

- sort while picking: every pick line says which tote on the cart it goes into; each order
  has its own totes.
- pick then sort: equal SKUs of all the batch's orders are picked together, one line per
  bin with the total; the sort station then gets a list per order.

Lines allocated to a partner shop are not picked: they become the shop's pickups.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import msgspec

from backend.warehouse.ledger import Allocation, Line
from backend.warehouse.products import Catalogue, Product

Mode = Literal["sort_while_picking", "pick_then_sort"]


class WaveError(ValueError):
    """Orders or a batching that cannot be released; the message is a sentence."""


class SlotCutOff(msgspec.Struct, frozen=True, kw_only=True):
    slot: str  # "evening"
    start: dt.time  # the delivery slot, for the supervisor's view
    end: dt.time
    cutoff: dt.time  # everything for the slot is picked by then


class Order(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    slot: str
    lines: tuple[Line, ...]


class Wave(msgspec.Struct, frozen=True, kw_only=True):
    cutoff: dt.time
    slots: tuple[str, ...]
    orders: tuple[Order, ...]

    def release_at(self, lead: dt.timedelta) -> dt.time:
        return release_time(self.cutoff, lead)


def release_time(cutoff: dt.time, lead: dt.timedelta) -> dt.time:
    """``lead`` before the cut-off, not before midnight (minutes: cut-offs are on the minute)."""
    minutes = max(0, cutoff.hour * 60 + cutoff.minute - lead // dt.timedelta(minutes=1))
    return dt.time(minutes // 60, minutes % 60)


def plan_waves(orders: Iterable[Order], cutoffs: Sequence[SlotCutOff]) -> list[Wave]:
    """The orders in waves, one per cut-off, earliest first."""
    by_slot = {c.slot: c for c in cutoffs}
    grouped: dict[dt.time, list[Order]] = defaultdict(list)
    for o in orders:
        if o.slot not in by_slot:
            known = ", ".join(sorted(by_slot)) or "none"
            raise WaveError(f"Order {o.id} is for slot {o.slot!r}, which has no cut-off (known: {known}).")
        grouped[by_slot[o.slot].cutoff].append(o)
    return [
        Wave(
            cutoff=cutoff,
            slots=tuple(sorted({o.slot for o in group})),
            orders=tuple(sorted(group, key=lambda o: o.id)),
        )
        for cutoff, group in sorted(grouped.items())
    ]


def released(waves: Iterable[Wave], now: dt.time, lead: dt.timedelta = dt.timedelta(hours=2)) -> list[Wave]:
    """The waves to pick at ``now``: released ``lead`` before their cut-off (a late one stays released)."""
    return [w for w in waves if now >= w.release_at(lead)]


# ---- carts and batches -----------------------------------------------------------------------


# Cart and BatchOrder have the fields (and units) of batching.py's Cart and PickOrder, so its
# batcher takes them as they are.
class Cart(msgspec.Struct, frozen=True, kw_only=True):
    totes: int = 8
    tote_volume: float = 40.0  # litres
    tote_weight: float = 15.0  # kg


class BatchOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the batcher sees it: where its picks are and how many totes it fills."""

    id: int
    locations: tuple[str, ...]
    totes: int
    volume: float  # litres
    weight: float  # kg


Batcher = Callable[[list[BatchOrder], Cart], list[list[int]]]


def one_order_per_batch(orders: list[BatchOrder], cart: Cart) -> list[list[int]]:
    return [[o.id] for o in orders]


def _units(allocs: Iterable[Allocation]) -> list[tuple[Allocation, str]]:
    """(allocation, bin) once per unit taken from a bin of the hub."""
    return [(a, t.place.code) for a in allocs for t in a.takes if t.place.kind == "bin" for _ in range(t.quantity)]


def tote_problem(product: Product, cart: Cart) -> str | None:
    """Why one unit of ``product`` cannot go into a tote of ``cart``, or None when it can."""
    if product.volume_ml > round(cart.tote_volume * 1000) or product.weight_g > round(cart.tote_weight * 1000):
        return (
            f"{product.sku} ({product.volume_ml / 1000:g} l, {product.weight_g / 1000:g} kg) does not fit in a tote "
            f"({cart.tote_volume:g} l, {cart.tote_weight:g} kg)"
        )
    return None


def fill_totes(allocs: Sequence[Allocation], catalogue: Catalogue, cart: Cart) -> list[list[tuple[Allocation, str]]]:
    """One order's hub units into totes, first fit by volume and weight, largest first."""
    units = sorted(_units(allocs), key=lambda u: (-catalogue.product(u[0].line.sku).volume_ml, u[0].line.id, u[1]))
    cap_ml, cap_g = round(cart.tote_volume * 1000), round(cart.tote_weight * 1000)
    totes: list[list[tuple[Allocation, str]]] = []
    room: list[tuple[int, int]] = []
    for a, bin_code in units:
        p = catalogue.product(a.line.sku)
        if (problem := tote_problem(p, cart)) is not None:
            raise WaveError(f"{problem}; pick it apart.")
        for i, (vol, kg) in enumerate(room):
            if vol >= p.volume_ml and kg >= p.weight_g:
                totes[i].append((a, bin_code))
                room[i] = (vol - p.volume_ml, kg - p.weight_g)
                break
        else:
            totes.append([(a, bin_code)])
            room.append((cap_ml - p.volume_ml, cap_g - p.weight_g))
    return totes


def apart(allocs: Sequence[Allocation], catalogue: Catalogue, cart: Cart) -> dict[str, str]:
    """Line id -> why the cart cannot take the line's hub units: a unit larger or heavier than a
    tote, or the line alone needing more totes than the cart has. Such a line is not picked with
    the wave (the service flags it short, with the sentence); ``plan_batches`` takes the rest."""
    out = {}
    for a in allocs:
        if not _units([a]):
            continue
        problem = tote_problem(catalogue.product(a.line.sku), cart)
        if problem is None and (n := len(fill_totes([a], catalogue, cart))) > cart.totes:
            problem = f"{a.line.quantity} × {a.line.sku} need {n} totes and a cart has {cart.totes}"
        if problem is not None:
            out[a.line.id] = problem
    return out


def trips(allocs: Sequence[Allocation], catalogue: Catalogue, cart: Cart) -> list[list[Allocation]]:
    """One order that needs more totes than the cart, as trips of whole lines that each fit the
    cart (a picker expects a cart they can push, and a line never split over two batches):
    the lines largest first, each into the first trip it still fits."""
    out: list[list[Allocation]] = []
    volume = {a.line.id: sum(t.quantity for t in a.takes) * catalogue.product(a.line.sku).volume_ml for a in allocs}
    for a in sorted(allocs, key=lambda a: (-volume[a.line.id], a.line.id)):
        for trip in out:
            if len(fill_totes([*trip, a], catalogue, cart)) <= cart.totes:
                trip.append(a)
                break
        else:
            out.append([a])  # fits a cart alone: ``apart`` took out the lines that do not
    return out


def batch_orders(allocs: Sequence[Allocation], catalogue: Catalogue, cart: Cart) -> list[BatchOrder]:
    """The orders with hub picks, as the batcher takes them (orders served wholly by shops or short are left out)."""
    by_order: dict[int, list[Allocation]] = defaultdict(list)
    for a in allocs:
        by_order[a.line.order_id].append(a)
    out = []
    for order_id, mine in sorted(by_order.items()):
        units = _units(mine)
        if not units:
            continue
        products = [catalogue.product(a.line.sku) for a, _ in units]
        out.append(
            BatchOrder(
                id=order_id,
                locations=tuple(sorted({b for _, b in units})),
                totes=len(fill_totes(mine, catalogue, cart)),
                volume=sum(p.volume_ml for p in products) / 1000,
                weight=sum(p.weight_g for p in products) / 1000,
            )
        )
    return out


def checked_batches(orders: list[BatchOrder], cart: Cart, batcher: Batcher) -> list[list[int]]:
    """The batcher's answer, refused unless every order is in exactly one batch that fits the cart."""
    batches = batcher(orders, cart)
    seen = [o for b in batches for o in b]
    if sorted(seen) != sorted(o.id for o in orders):
        raise WaveError("The batcher did not put every order in exactly one batch.")
    totes = {o.id: o.totes for o in orders}
    for b in batches:
        if sum(totes[o] for o in b) > cart.totes:
            raise WaveError(f"A batch of orders {b} needs more than the cart's {cart.totes} totes.")
    return batches


# ---- pick lists -------------------------------------------------------------------------------


class PickTask(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    bin: str
    sku: str
    quantity: int
    lines: tuple[tuple[str, int], ...]  # (line id, how many of the quantity are for it), in sort order
    order_id: int | None  # None when picking for many orders (pick then sort)
    tote: int | None  # the tote's place on the cart (1, 2, ...); None: no tote check


class SortLine(msgspec.Struct, frozen=True, kw_only=True):
    order_id: int
    line_id: str
    sku: str
    quantity: int


Path = Callable[[list[str]], list[str]]  # bins in walking order (routing.py); default: by code


def sort_while_picking(
    allocs: Sequence[Allocation], order_ids: Sequence[int], catalogue: Catalogue, cart: Cart, path: Path = sorted
) -> tuple[list[PickTask], dict[int, list[int]]]:
    """The batch's pick lines, each with its tote, in walking order; and each order's totes."""
    totes_of: dict[int, list[int]] = {}
    grouped: dict[tuple[str, str, str, int], int] = defaultdict(int)  # (bin, sku, line, tote) -> qty
    slot = 0
    for order_id in order_ids:
        mine = [a for a in allocs if a.line.order_id == order_id]
        totes_of[order_id] = []
        for content in fill_totes(mine, catalogue, cart):
            slot += 1
            totes_of[order_id].append(slot)
            for a, bin_code in content:
                grouped[(bin_code, a.line.sku, a.line.id, slot)] += 1
    if slot > cart.totes:
        raise WaveError(f"The batch needs {slot} totes; the cart has {cart.totes}.")
    rank = {b: i for i, b in enumerate(path(sorted({k[0] for k in grouped})))}
    orders = {a.line.id: a.line.order_id for a in allocs}
    tasks = [
        PickTask(
            id=f"{line}@{bin_code}#{tote}",
            bin=bin_code,
            sku=sku,
            quantity=n,
            lines=((line, n),),
            order_id=orders[line],
            tote=tote,
        )
        for (bin_code, sku, line, tote), n in sorted(grouped.items(), key=lambda kv: (rank[kv[0][0]], kv[0]))
    ]
    return tasks, totes_of


def pick_then_sort(allocs: Sequence[Allocation], path: Path = sorted) -> tuple[list[PickTask], list[SortLine]]:
    """One pick line per (bin, SKU) with the total over the batch's orders; then the sort list per order."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    lines: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    sort: dict[tuple[int, str], SortLine] = {}
    for a in allocs:
        for t in a.takes:
            if t.place.kind != "bin":
                continue
            key = (t.place.code, a.line.sku)
            totals[key] += t.quantity
            lines[key][a.line.id] = lines[key].get(a.line.id, 0) + t.quantity
            prev = sort.get((a.line.order_id, a.line.id))
            sort[(a.line.order_id, a.line.id)] = SortLine(
                order_id=a.line.order_id,
                line_id=a.line.id,
                sku=a.line.sku,
                quantity=t.quantity + (prev.quantity if prev else 0),
            )
    rank = {b: i for i, b in enumerate(path(sorted({b for b, _ in totals})))}
    tasks = [
        PickTask(
            id=f"{sku}@{b}", bin=b, sku=sku, quantity=n, lines=tuple(lines[(b, sku)].items()), order_id=None, tote=None
        )
        for (b, sku), n in sorted(totals.items(), key=lambda kv: (rank[kv[0][0]], kv[0]))
    ]
    return tasks, [sort[k] for k in sorted(sort)]


def shop_pickups(allocs: Iterable[Allocation]) -> dict[str, list[tuple[Line, int]]]:
    """Per partner shop, the lines a courier collects there (ship-from-store)."""
    out: dict[str, list[tuple[Line, int]]] = defaultdict(list)
    for a in allocs:
        for t in a.takes:
            if t.place.kind == "shop":
                out[t.place.code].append((a.line, t.quantity))
    return dict(sorted(out.items()))


class BatchPlan(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    mode: Mode
    order_ids: tuple[int, ...]
    tasks: tuple[PickTask, ...]
    sort_lines: tuple[SortLine, ...] = ()
    totes: dict[int, list[int]] = {}  # order -> its totes' places on the cart (sort while picking)


def plan_batches(
    allocs: Sequence[Allocation],
    catalogue: Catalogue,
    cart: Cart,
    mode: Mode,
    *,
    batcher: Batcher = one_order_per_batch,
    path: Path = sorted,
) -> list[BatchPlan]:
    """A wave's allocations into batches and their pick lists, in the hub's way of working.
    Every batch fits the cart: an order that needs more totes goes alone, in ``trips``; the
    lines ``apart`` names must be taken out first (their units fit no tote or no cart)."""
    orders = batch_orders(allocs, catalogue, cart)
    big = {o.id for o in orders if o.totes > cart.totes}
    groups = [
        (ids, [a for a in allocs if a.line.order_id in set(ids)])
        for ids in checked_batches([o for o in orders if o.id not in big], cart, batcher)
    ]
    for order_id in sorted(big):
        groups += [
            ([order_id], trip) for trip in trips([a for a in allocs if a.line.order_id == order_id], catalogue, cart)
        ]
    plans = []
    for number, (ids, mine) in enumerate(groups, start=1):
        if mode == "sort_while_picking":
            tasks, totes = sort_while_picking(mine, ids, catalogue, cart, path)
            plans.append(BatchPlan(number=number, mode=mode, order_ids=tuple(ids), tasks=tuple(tasks), totes=totes))
        else:
            tasks, sort = pick_then_sort(mine, path)
            plans.append(
                BatchPlan(number=number, mode=mode, order_ids=tuple(ids), tasks=tuple(tasks), sort_lines=tuple(sort))
            )
    return plans
