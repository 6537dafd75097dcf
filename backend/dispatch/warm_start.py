"""Warm start from the routes in force: map them to nodes and repair what breaks a rule."""

from __future__ import annotations

from backend.dispatch.model import (
    Vehicle,
)
from backend.dispatch.nodes import Node
from backend.dispatch.ortools_model import Model
from backend.dispatch.windows import earliest_start


def initial_node_sequences(
    vehicles: list[Vehicle],
    nodes: list[Node],
    stop_node: dict[str, int],
    pair_nodes: list[tuple[int, int]],
    initial_routes: dict[str, list[str]],
    seq_nodes: list[tuple[int, list[int]]] | None = None,
) -> list[list[int]]:
    """Per vehicle (in problem order), the routing nodes of ``initial_routes``.

    Stop ids map to their node (the shops of one door share a chain node, which
    is kept once, where its first shop appears). Unknown vehicles and stop ids,
    stops that were not modelled (diagnosed unplannable), nodes seen before
    (on this or an earlier vehicle) and nodes on a vehicle that may not serve
    them are skipped; pinned nodes take the places of the vehicle's pinned
    nodes in their pinned order; a pickup/delivery pair is kept only when both
    are on the same vehicle, pickup first. What is left is a partial solution
    whose missing stops start unperformed.
    """
    vpos = {v.id: vi for vi, v in enumerate(vehicles)}
    seqs: list[list[int]] = [[] for _ in vehicles]
    seen: set[int] = set()
    for vid, ids in initial_routes.items():
        vi = vpos.get(vid)
        if vi is None:
            continue
        for sid in ids:
            node = stop_node.get(sid)
            if node is None or node in seen:
                continue
            g = nodes[node].group
            if g is not None and vi not in g.feasible:
                continue
            seen.add(node)
            seqs[vi].append(node)
    for vi, pinned in seq_nodes or ():
        rank = {n: r for r, n in enumerate(pinned)}
        slots = [j for j, n in enumerate(seqs[vi]) if n in rank]
        for j, n in zip(slots, sorted((seqs[vi][j] for j in slots), key=rank.__getitem__), strict=True):
            seqs[vi][j] = n
    where = {node: (vi, j) for vi, seq in enumerate(seqs) for j, node in enumerate(seq)}
    broken: set[int] = set()
    for pn, dn in pair_nodes:
        p, d = where.get(pn), where.get(dn)
        if p is None or d is None or p[0] != d[0] or p[1] > d[1]:
            broken.update((pn, dn))
    return [[n for n in seq if n not in broken] for seq in seqs]


def feasible_subsequence(m: Model, vi: int, seq: list[int]) -> list[int]:
    """The nodes of ``seq`` that vehicle ``vi`` can serve in this order, greedily.

    Simulates the model's rules from the start of the shift: travel at the
    vehicle's speed, time at each node, windows (waiting allowed), the shift
    end and the range (a node is kept only if the bike can still ride home
    from it in time and within range, so the last one kept closes the route),
    and the loads: with the start load free, a route fits when the hub-loaded
    goods plus the highest rise of the load fit the capacity, per loop (a reload node
    starts one); goods on the bike now (``m.first_loop``) before its first reload. A node
    that breaks a rule is skipped; the next ones are tried from the last kept one. (OR-Tools
    refuses a whole route that breaks one: its stops then all started unperformed.)
    """
    v = m.vehicles[vi]
    f = v.speed_factor
    tr, inner, D = m.travel[f], m.inner[f], m.dist
    start = m.manager.IndexToNode(m.routing.Start(vi))
    end = m.manager.IndexToNode(m.routing.End(vi))
    lo = max(0, v.shift.start)
    hi = max(lo, min(v.shift.end, m.horizon))
    max_d = v.max_distance_m
    any_time = [(0, m.horizon)]
    t, prev, dist = lo, start, 0
    # per load dimension: (prefix, lowest prefix, highest prefix, hub-loaded so far)
    state = [(0, 0, 0, 0) for _ in m.loads]
    kept: list[int] = []
    reloaded = False
    for node in seq:
        if reloaded and node in m.first_loop:
            continue
        windows = m.node_windows[node] if node < len(m.node_windows) else []
        st = earliest_start(windows or any_time, t + tr.item(prev, node))
        if st is None:
            continue
        leave = st + inner.item(node)
        if leave + tr.item(node, end) > hi:
            continue
        d = dist + D.item(prev, node)
        if max_d is not None and d + D.item(node, end) > max_d:
            continue
        if node in m.reload_of:
            # a new loop: it starts with what came back on board (see insertion._loop_rows)
            kept.append(node)
            t, prev, dist, reloaded = leave, node, d, True
            state = [(c, c, c, 0) for c in (max(-low, h, 0) + p for p, low, _high, h in state)]
            continue
        new_state = []
        for (dem, hub, caps), (p, low, high, h) in zip(m.loads, state, strict=True):
            p2 = p + dem.item(node)
            low2, high2, h2 = min(low, p2), max(high, p2), h + hub.item(node)
            if max(-low2, h2) + high2 > caps[vi]:
                break
            new_state.append((p2, low2, high2, h2))
        else:
            kept.append(node)
            t, prev, dist, state = leave, node, d, new_state
    return kept


def repair(m: Model, seqs: list[list[int]]) -> list[list[int]]:
    """Each vehicle's node sequence made feasible on its own; pairs kept whole.

    OR-Tools refuses a whole warm start when one route breaks a rule; here each
    route keeps what it can serve in its order (:func:`feasible_subsequence`),
    and a pickup or delivery left out takes its partner with it, as does a pair
    whose pickup and delivery ride different loops (a shop and its door ride one
    loop in the model; the insertion puts such a pair in again); then the route
    is simulated again (removing a pickup can change the loads).
    """
    partner: dict[int, int] = {}
    for p, d in m.pair_nodes:
        partner[p], partner[d] = d, p
    out = [feasible_subsequence(m, vi, seq) if seq else [] for vi, seq in enumerate(seqs)]
    while True:
        kept = {n for seq in out for n in seq}
        orphans = {n for n in kept if n in partner and partner[n] not in kept}
        if m.reload_of:
            orphans |= {n for seq in out for n in _straddling(m, seq, partner)}
        if not orphans:
            return out
        out = [
            feasible_subsequence(m, vi, [n for n in seq if n not in orphans]) if orphans.intersection(seq) else seq
            for vi, seq in enumerate(out)
        ]


def _straddling(m: Model, seq: list[int], partner: dict[int, int]) -> set[int]:
    """The nodes of ``seq`` whose pair partner rides another loop of it (a reload between)."""
    loop_of: dict[int, int] = {}
    loop = 0
    for n in seq:
        if n in m.reload_of:
            loop += 1
        else:
            loop_of[n] = loop
    return {n for n, lp in loop_of.items() if n in partner and loop_of.get(partner[n], lp) != lp}
