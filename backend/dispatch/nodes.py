"""The routing nodes of the OR-Tools model: one per stop, one chain per door fed by
several shops, one per hub (see :mod:`backend.dispatch.solver` for the model in short)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from backend.dispatch.diagnosis import MAX_GROUP_PERMUTATIONS, Group, unplanned_for_group
from backend.dispatch.model import (
    Problem,
    Stop,
    Unplanned,
)
from backend.dispatch.windows import (
    BIG,
    DL_PER_L,
    GRAMS_PER_KG,
    earliest_start,
    scaled,
    travel_time,
)


@dataclass
class Node:
    """A routing node: one stop, a chain of shops visited back to back, or a hub."""

    members: list[int]  # stop positions in visiting order (empty for a hub)
    entry: int  # location where the node is entered
    exit: int  # location where it is left
    inner_t: dict[float, int]  # time from service start at entry to leaving, per speed factor
    inner_travel: dict[float, int] = field(default_factory=dict)  # travel part of inner_t
    inner_d: int = 0  # distance ridden inside the node
    windows: list[tuple[int, int]] = field(default_factory=list)  # service start at entry
    dem_g: int = 0
    dem_dl: int = 0
    hub_g: int = 0  # of what it hands over, the part loaded at the start hub
    hub_dl: int = 0
    kind: str = "hub"  # hub_delivery | pickup_delivery | pickup | return | chain | hub
    group: Group | None = None


def _simple_node(
    stops: list[Stop],
    k: int,
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    by_id: dict[str, Stop],
) -> Node:
    s = stops[k]
    own_g, own_dl = scaled(s.weight_kg, GRAMS_PER_KG), scaled(s.volume_l, DL_PER_L)
    hub_g = hub_dl = 0
    if s.kind == "pickup":
        kind = "pickup"  # set to "return" below when no delivery names it
        g, dl = own_g, own_dl
    elif s.pickups:
        kind = "pickup_delivery"
        # Hands over the shops' goods and its own hub-loaded part.
        g = -sum(scaled(by_id[p].weight_kg, GRAMS_PER_KG) for p in s.pickups) - own_g
        dl = -sum(scaled(by_id[p].volume_l, DL_PER_L) for p in s.pickups) - own_dl
        hub_g, hub_dl = own_g, own_dl
    else:
        kind = "hub_delivery"
        g, dl = -own_g, -own_dl
        hub_g, hub_dl = own_g, own_dl
    return Node(
        members=[k],
        entry=s.location,
        exit=s.location,
        inner_t={f: s.service_s for f in factors},
        windows=list(windows[k]),
        dem_g=g,
        dem_dl=dl,
        hub_g=hub_g,
        hub_dl=hub_dl,
        kind=kind,
    )


_OPEN = [(-BIG, BIG)]


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _chain(
    problem: Problem,
    pickups: list[int],
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    domain_factors: set[float] | None = None,
    pin: dict[int, tuple[int, int]] | None = None,
) -> Node | None:
    """The shops of one door as one node, visited back to back in the best order.

    OR-Tools pairs one pickup with one delivery; a door fed by several shops
    becomes a native pair (chain node, door). The chain's order is the shortest
    one whose windows leave a common start time for every speed factor; inside
    it the bike does not wait; shops pinned in a sequence keep their pinned
    order. None if no order fits.
    """
    stops = problem.stops
    T, D = problem.time_s, problem.dist_m
    pin = pin or {}
    if math.factorial(len(pickups)) <= MAX_GROUP_PERMUTATIONS:
        orders = [list(p) for p in itertools.permutations(pickups)]
        if any(k in pin for k in pickups):
            orders = [
                o
                for o in orders
                if all(
                    pin[a][1] < pin[b][1]
                    for a, b in itertools.combinations([k for k in o if k in pin], 2)
                    if pin[a][0] == pin[b][0]
                )
            ]
    else:  # nearest neighbour from the first shop
        order = [pickups[0]]
        rest = set(pickups[1:])
        while rest:
            here = stops[order[-1]].location
            nxt = min(rest, key=lambda k: D[here][stops[k].location])
            order.append(nxt)
            rest.remove(nxt)
        # pinned shops take the slots of pinned shops in their pinned order
        slots = [j for j, k in enumerate(order) if k in pin]
        for j, k in zip(slots, sorted((order[j] for j in slots), key=lambda k: pin[k]), strict=True):
            order[j] = k
        orders = [order]
    first_starts = sorted({a for k in pickups for a, _ in windows[k]}) or [0]
    best: tuple[int, Node] | None = None
    for order, anchor in itertools.product(orders, [None, *first_starts]):
        # anchor None: no waiting inside the chain; else the waits of the earliest
        # schedule that starts at ``anchor`` are kept as fixed offsets
        domain = list(_OPEN)
        inner_t: dict[float, int] = {}
        inner_travel: dict[float, int] = {}
        for f in factors:
            off = 0
            travel = 0
            for j, k in enumerate(order):
                if j:
                    leg = travel_time(T[stops[order[j - 1]].location][stops[k].location], f)
                    off += stops[order[j - 1]].service_s + leg
                    travel += leg
                if anchor is not None:
                    st = earliest_start(windows[k], anchor + off)
                    if st is None:
                        domain = []
                        break
                    off = st - anchor
                if windows[k] and (domain_factors is None or f in domain_factors):
                    domain = _intersect(domain, [(a - off, b - off) for a, b in windows[k]])
            inner_t[f] = off + stops[order[-1]].service_s
            inner_travel[f] = travel
        if not domain:
            continue
        dist = sum(D[stops[a].location][stops[b].location] for a, b in itertools.pairwise(order))
        score = inner_t[factors[0]] * 1_000_000 + dist
        if best is None or score < best[0]:
            node = Node(
                members=order,
                entry=stops[order[0]].location,
                exit=stops[order[-1]].location,
                inner_t=inner_t,
                inner_travel=inner_travel,
                inner_d=dist,
                windows=[] if domain == _OPEN else domain,
                dem_g=sum(scaled(stops[k].weight_kg, GRAMS_PER_KG) for k in order),
                dem_dl=sum(scaled(stops[k].volume_l, DL_PER_L) for k in order),
                kind="chain",
            )
            best = (score, node)
    return None if best is None else best[1]


def make_nodes(
    problem: Problem,
    plannable: list[Group],
    windows: list[list[tuple[int, int]]],
    factors: list[float],
    pin: dict[int, tuple[int, int]],
    unplanned: list[Unplanned],
) -> tuple[list[Node], list[tuple[int, int]]]:
    """One node per plannable stop, except that the shops feeding one door are
    visited back to back as one "chain" node (see :func:`_chain`)."""
    stops = list(problem.stops)
    vehicles = problem.vehicles
    by_id = {s.id: s for s in stops}
    nodes: list[Node] = []
    pair_nodes: list[tuple[int, int]] = []  # (pickup node, delivery node)
    for g in plannable:
        if g.delivery is not None and len(g.pickups) > 1:
            chain = _chain(
                problem,
                g.pickups,
                windows,
                factors,
                {vehicles[v].speed_factor for v in g.feasible},
                pin,
            )
            if chain is None:
                g.reason, g.reason_stop = "window_unreachable", g.delivery
                g.detail = (
                    f"the shops {', '.join(stops[k].id for k in g.pickups)} cannot be visited"
                    f" back to back within their windows"
                )
                unplanned.extend(unplanned_for_group(stops, g))
                continue
            nodes.append(chain)
            pair_nodes.append((len(nodes) - 1, len(nodes)))
            nodes.append(_simple_node(stops, g.delivery, windows, factors, by_id))
            nodes[-1].group = g
            nodes[-2].group = g
            continue
        first = len(nodes)
        for k in g.members:
            nodes.append(_simple_node(stops, k, windows, factors, by_id))
            nodes[-1].group = g
            if g.delivery is None and nodes[-1].kind == "pickup":
                nodes[-1].kind = "return"  # no delivery names it: back to the end hub
        if g.delivery is not None:
            pair_nodes.append((first, first + 1))
    return nodes, pair_nodes


def pinned_node_sequences(
    problem: Problem, nodes: list[Node], pin: dict[int, tuple[int, int]]
) -> list[tuple[int, list[int]]]:
    """Per sequence of a vehicle in the problem: (vehicle, its modelled nodes in order)."""
    vpos = {v.id: i for i, v in enumerate(problem.vehicles)}
    node_of = {k: n for n, nd in enumerate(nodes) for k in nd.members}
    by_seq: dict[int, list[int]] = {}
    for k, (qi, _rank) in sorted(pin.items(), key=lambda item: item[1]):
        n = node_of.get(k)
        if n is not None and n not in by_seq.get(qi, ()):  # a chain's shops: one node
            by_seq.setdefault(qi, []).append(n)
    return [
        (vpos[problem.sequences[qi].vehicle], seq)
        for qi, seq in by_seq.items()
        if problem.sequences[qi].vehicle in vpos and len(seq) > 1
    ]
