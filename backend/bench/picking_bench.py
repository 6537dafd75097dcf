"""`laadbak bench picking`: walking per picked line, single orders against our batches.

A generated floor (20 aisles by default) and seeded random orders (500 with 1,500
lines by default, bins drawn uniformly). Figures, all walking metres per picked
line:

- ``baseline``: every order picked alone on the S-shape route;
- ``ours``: our batches (backend.warehouse.batching) on our paths (routing.route);
- ``reference``: per batch of ours, the best tour known from sources independent of our
  path: a long local search (``LONG_SEARCH_SEEDS`` seeds of ``LONG_SEARCH_RESTARTS``
  restarts, started from neither our path nor an exact tour) and, where the floor has at
  most two middle cross aisles, the exact programme (Ratliff-Rosenthal without middle cross
  aisles, its extension to blocks with one or two); beyond, our path too. Our paths come
  from the exact programme up to one middle cross aisle, so comparing them with that
  programme alone would be 0 by construction: the long search is the independent check.
  The gap of our paths to it per batch (mean, min, max): where our paths are exact, a
  positive gap means the search beat the programme; a negative one, our path beat the
  "exact" tour: either way the programme is wrong;
- where the reference is exact, ``long_search_gap_to_exact`` (the long search's metres over
  the programme's, less 1: a negative min means the search found a shorter tour than the
  "exact" one, so the programme is wrong) and ``local_search_gap_to_exact`` (the search as
  ``route`` runs it on larger floors, not started from an exact tour): how far the search can
  be trusted where the paths come from it. All metres are the walks' own (``length_of`` of the
  walking order), not a programme's claim.

``seconds`` is the time to batch and route all orders (the references and the
baseline are not in it): wall-clock, as the target reads, beside the CPU seconds
of the process (less swayed by other work on a shared machine), the ratio of the
wall seconds to the bound (``time_vs_bound``) and the machine's load average when
the run ended. Targets: at least 50 % less walking than the baseline, mean gap at
most 1 %, none above 3 %, batched and routed in at most 10 s.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from backend.warehouse.batching import Cart, PickOrder, make_batches, totes_for
from backend.warehouse.layout import Layout, Location, format_location, generated, parse_location
from backend.warehouse.routing import Route, improved, length_of, optimal, optimal_blocks, s_shape

TARGETS = {"reduction": 0.5, "mean_gap": 0.01, "max_gap": 0.03, "seconds": 10.0}
LONG_SEARCH_RESTARTS = 300
LONG_SEARCH_SEEDS = 3  # 65 batches of the full bench: ~3 s of CPU a seed
EXACT_REFERENCE_BLOCKS = 3  # beyond, the exact programme takes seconds a batch: the long search instead


def make_orders(layout: Layout, cart: Cart, orders: int, lines: int, seed: int) -> list[PickOrder]:
    """``orders`` orders holding ``lines`` lines in all (at least one each), bins uniform."""
    if lines < orders:
        raise ValueError(f"{orders} orders need at least {orders} lines, one each")
    rng = random.Random(seed)
    counts = [1] * orders
    for _ in range(lines - orders):
        counts[rng.randrange(orders)] += 1
    out = []
    for n, count in enumerate(counts):
        locs = tuple(
            format_location(layout, Location(rng.randint(1, layout.aisles), rng.randint(1, layout.bays), 1))
            for _ in range(count)
        )
        volume = sum(rng.uniform(0.5, 12.0) for _ in locs)
        weight = sum(rng.uniform(0.1, 4.0) for _ in locs)
        needed = min(totes_for(cart, volume, weight), cart.totes)
        volume, weight = min(volume, needed * cart.tote_volume), min(weight, needed * cart.tote_weight)
        out.append(PickOrder(id=f"o{n + 1:04d}", locations=locs, totes=needed, volume=volume, weight=weight))
    return out


def _reference_name(layout: Layout) -> dict[str, str | None]:
    exact = None
    if layout.blocks == 1:
        exact = "ratliff_rosenthal"
    elif layout.blocks <= EXACT_REFERENCE_BLOCKS:
        exact = "roodbergen_de_koster"
    return {"exact": exact, "search": f"local_search_{LONG_SEARCH_SEEDS}x{LONG_SEARCH_RESTARTS}_restarts"}


def _walked(layout: Layout, bins: list[Location], route: Route) -> float:
    """The metres of ``route``'s walking order, as walked (not what the programme says it is)."""
    return length_of(layout, bins, route.order)


def _figures(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(sum(values) / len(values), 5),
        "min": round(min(values), 5),
        "max": round(max(values), 5),
    }


def run_picking_bench(
    orders: int = 500, lines: int | None = None, aisles: int = 20, cross_aisles: int = 0, seed: int = 7
) -> dict[str, Any]:
    lines = 3 * orders if lines is None else lines
    if orders < 1 or aisles < 1 or cross_aisles < 0:
        raise ValueError("--orders and --aisles must be at least 1, --cross-aisles at least 0")
    blocks = cross_aisles + 1
    # about 40 bays an aisle, as many in every block
    layout = generated(aisles=aisles, bays=2 * blocks * max(1, round(20 / blocks)), cross_aisles=cross_aisles)
    cart = Cart()
    given = make_orders(layout, cart, orders, lines, seed)
    locs = {o.id: [parse_location(layout, c) for c in o.locations] for o in given}

    baseline = sum(s_shape(layout, locs[o.id]).length for o in given)
    started, cpu_started = time.perf_counter(), time.process_time()
    batches = make_batches(layout, cart, given)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started

    gaps, search_gaps, long_gaps, reference, ours = [], [], [], 0.0, 0.0
    for b in batches:
        bins = [locs[i][k] for i, k in b.path]
        walked = length_of(layout, bins, range(len(bins)))  # our path, in its walking order
        long = min(
            _walked(layout, bins, improved(layout, bins, restarts=LONG_SEARCH_RESTARTS, seed=s, outer_start=False))
            for s in range(1, LONG_SEARCH_SEEDS + 1)
        )
        if layout.blocks <= EXACT_REFERENCE_BLOCKS:
            # our path's metres bound the programme: the same answer, pruned
            exact = _walked(
                layout, bins, optimal(layout, bins) if layout.blocks == 1 else optimal_blocks(layout, bins, walked)
            )
            # the search alone (not started from the exact tour of a one-block floor)
            alone = _walked(layout, bins, improved(layout, bins, outer_start=layout.blocks > 1))
            search_gaps.append(alone / exact - 1 if exact else 0.0)
            long_gaps.append(long / exact - 1 if exact else 0.0)
            best = min(exact, long)
        else:
            best = min(walked, long)
        gaps.append(walked / best - 1 if best else 0.0)
        reference += best
        ours += walked

    batched = [i for b in batches for i in b.orders]
    reduction = 1 - ours / baseline if baseline else 0.0
    mean_gap, max_gap = sum(gaps) / len(gaps), max(gaps)
    result: dict[str, Any] = {
        "orders": orders,
        "lines": lines,
        "aisles": aisles,
        "cross_aisles": cross_aisles,
        "seed": seed,
        "cart": {"totes": cart.totes, "tote_volume_l": cart.tote_volume, "tote_weight_kg": cart.tote_weight},
        "batches": len(batches),
        "orders_batched": len(batched),
        "orders_batched_once": len(set(batched)) == len(batched) == len(given),
        "reference": _reference_name(layout),
        "m_per_line": {
            "baseline_single_order_s_shape": round(baseline / lines, 3),
            "ours": round(ours / lines, 3),
            "reference": round(reference / lines, 3),
        },
        "reduction_vs_baseline": round(reduction, 4),
        "gap_to_reference": _figures(gaps),
        "seconds_batch_and_route": round(seconds, 3),
        "cpu_seconds_batch_and_route": round(cpu_seconds, 3),
        "time_vs_bound": round(seconds / TARGETS["seconds"], 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "targets": TARGETS,
        "targets_met": {
            "reduction": reduction >= TARGETS["reduction"],
            "mean_gap": mean_gap <= TARGETS["mean_gap"],
            "max_gap": max_gap <= TARGETS["max_gap"],
            "seconds": seconds <= TARGETS["seconds"],
        },
    }
    if search_gaps:
        result["local_search_gap_to_exact"] = _figures(search_gaps)
        result["long_search_gap_to_exact"] = _figures(long_gaps)
    return result
