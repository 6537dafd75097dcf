"""Several loops a shift in the OR-Tools model: reload nodes (issue #15 part 2).

PyVRP has reload depots (:mod:`backend.dispatch.reloads`); OR-Tools gets the same
through *reload nodes*: per bike that may reload (``Vehicle.reload_s``) a few
optional copies of its hub (``reload_place``), only that bike may visit them,
leaving one out costs nothing, and a visit takes ``reload_s`` seconds there (the
node's time at the place, like a stop's service). So a day OR-Tools plans alone
(locks on shop pairs, pins, soft due times: what PyVRP cannot express) rides loops
too, and the engines compete on the same days.

At a reload node the bike loads again:

* payload and volume: a reload node's slack may be up to the largest capacity,
  every other node's is zero; so the load leaving the hub is what came back
  plus what the next loop hands over (loads stay within capacity everywhere).
  What came back (returns, goods not handed over) is counted as still on board:
  conservative, never a loop over capacity (a dimension's slack is never
  negative, and no transit is negative but a delivery's);
* the returns dimension (``load(end) >= returns(end)``, see
  :mod:`backend.dispatch.solver`) holds at each reload node too: what was loaded
  up to there covers the hub goods handed over up to there;
* a "Loop" dimension counts the reloads (at most the bike's ``max_reloads``), and
  a shop and its door are on the same loop (what a shop hands over is not left
  at the hub between loops).

The plan is read back as stop orders with the positions where a loop starts and
timed by :func:`backend.dispatch.scheduling.loop_route`, the one schedule
function; the checker judges it like any plan.
"""

from __future__ import annotations

import math
from typing import Any

from backend.dispatch.model import Vehicle
from backend.dispatch.nodes import Node

# reload nodes per bike when its ``max_reloads`` does not say: enough for the loops the
# day needs on the whole fleet, at most this many (each is a node the search moves)
MAX_RELOAD_NODES = 4


def reload_counts(vehicles: list[Vehicle], nodes: list[Node], n_stop_nodes: int) -> list[int]:
    """How many reload nodes each bike gets: none for a bike that rides one loop; else the
    loops the day's goods need on the fleet (at least one reload), bounded by
    ``MAX_RELOAD_NODES`` and the bike's ``max_reloads``."""
    if not any(v.reload_s is not None for v in vehicles):
        return [0] * len(vehicles)
    need = 0.0
    for dem_attr, cap_attr, unit in (("dem_g", "payload_kg", 1000), ("dem_dl", "volume_l", 10)):
        total = sum(abs(getattr(nd, dem_attr)) for nd in nodes[:n_stop_nodes])
        fleet = sum(getattr(v, cap_attr) * unit for v in vehicles)
        if total and fleet > 0 and math.isfinite(fleet):
            need = max(need, total / fleet)
    if need == 0.0:
        return [0] * len(vehicles)  # nothing to carry: a reload never helps
    est = min(MAX_RELOAD_NODES, max(1, math.ceil(need)))
    return [
        0 if v.reload_s is None else est if v.max_reloads is None else min(est, max(0, v.max_reloads)) for v in vehicles
    ]


def add_reload_nodes(
    vehicles: list[Vehicle], nodes: list[Node], n_stop_nodes: int, factors: list[float]
) -> dict[int, int]:
    """Append the reload nodes to ``nodes`` (after the hubs); returns node -> its bike's index."""
    reload_of: dict[int, int] = {}
    for vi, (v, k) in enumerate(zip(vehicles, reload_counts(vehicles, nodes, n_stop_nodes), strict=True)):
        for _ in range(k):
            reload_of[len(nodes)] = vi
            place = v.reload_place
            nodes.append(
                Node(
                    members=[],
                    entry=place,
                    exit=place,
                    inner_t=dict.fromkeys(factors, int(v.reload_s or 0)),
                    kind="reload",
                )
            )
    return reload_of


def reload_slack(caps: list[int], reload_of: dict[int, int]) -> int:
    """A load dimension's slack bound: what a bike may load at a reload (0 without reloads)."""
    return max(caps) if reload_of else 0


def only_reloads_slack(routing: Any, manager: Any, dim: Any, reload_of: dict[int, int]) -> None:
    """Zero slack on every node but the reload nodes (the load changes only by the demands there)."""
    reload_idx = {manager.NodeToIndex(n) for n in reload_of}
    for i in range(routing.Size()):
        if i not in reload_idx:
            dim.SlackVar(i).SetValue(0)


def constrain_reloads(
    routing: Any,
    manager: Any,
    vehicles: list[Vehicle],
    n_nodes: int,
    reload_of: dict[int, int],
    pair_nodes: list[tuple[int, int]],
    first_loop: frozenset[int] = frozenset(),
) -> None:
    """Reload nodes: free to leave out, each on its own bike only; at most ``max_reloads``
    a bike; a shop and its door on one loop; the ``first_loop`` stop nodes (goods on the bike
    now, in a re-plan) before its first reload: on the loop it rides."""
    if not reload_of:
        return
    solver = routing.solver()
    everyone = set(range(len(vehicles)))
    for n, vi in reload_of.items():
        i = manager.NodeToIndex(n)
        routing.AddDisjunction([i], 0)
        routing.VehicleVar(i).RemoveValues(sorted(everyone - {vi, -1}))
    loop_cb = routing.RegisterUnaryTransitVector([1 if n in reload_of else 0 for n in range(n_nodes)])
    caps = [n_nodes if v.max_reloads is None else max(0, int(v.max_reloads)) for v in vehicles]
    routing.AddDimensionWithVehicleCapacity(loop_cb, 0, caps, True, "Loop")
    loop = routing.GetDimensionOrDie("Loop")
    for p, d in pair_nodes:
        solver.Add(loop.CumulVar(manager.NodeToIndex(p)) == loop.CumulVar(manager.NodeToIndex(d)))
    for n in sorted(first_loop):
        loop.CumulVar(manager.NodeToIndex(n)).SetValue(0)


def loop_breaks(seq_len_at_reloads: list[int], n_stops: int) -> list[int]:
    """Positions where a new loop starts, from the stop counts seen at each reload visit:
    a reload before the first stop or after the last (or twice in a row) is no loop."""
    return sorted({b for b in seq_len_at_reloads if 0 < b < n_stops})


def keep_loops(
    seqs: list[list[int]], nodes: list[Node], stop_ids: list[str], reload_of: dict[int, int], loops: dict[str, int]
) -> list[list[int]]:
    """The node sequences of routes in force with their loops: a reload node of the bike
    between two nodes whose stops ride different loops (``loops``: stop id -> its loop in
    force), as long as the bike has reload nodes left. A warm start without them is one
    loop a bike: the repair then drops what does not fit in one loop (issue #15)."""
    spare: dict[int, list[int]] = {}
    for n, vi in sorted(reload_of.items()):
        spare.setdefault(vi, []).append(n)
    out = []
    for vi, seq in enumerate(seqs):
        mine = spare.get(vi, [])
        new: list[int] = []
        last: int | None = None
        for node in seq:
            members = nodes[node].members
            loop = max((loops.get(stop_ids[k], 1) for k in members), default=1)
            if last is not None and loop != last and mine and new:
                new.append(mine.pop(0))
            last = loop
            new.append(node)
        out.append(new)
    return out
