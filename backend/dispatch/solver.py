"""Solve a :class:`~backend.dispatch.model.Problem` with OR-Tools routing: the engine's names.

The engine lives in small modules: :mod:`~backend.dispatch.diagnosis` (groups,
stops no bike could serve), :mod:`~backend.dispatch.nodes` and
:mod:`~backend.dispatch.ortools_model` (the model), :mod:`~backend.dispatch.ortools_search`
(``solve``), :mod:`~backend.dispatch.warm_start`, :mod:`~backend.dispatch.insertion`
and :mod:`~backend.dispatch.restore` (first solutions from routes),
:mod:`~backend.dispatch.scheduling` (the schedule of a route) and
:mod:`~backend.dispatch.pool` (the process pool). This module keeps the
description of the model and the engine's public names in one place.

Pure: no web, database or network imports. ``solve`` is synchronous and holds
the GIL for the whole search, so a server must call it through
:func:`solve_async` / :func:`solve_in_pool` (a process pool), never on the
event loop or in a thread.

Model in short
--------------
* One routing node per plannable stop, plus one depot node per distinct hub
  location used as a start or end (vehicles may start and end at different
  hubs). All arc data are node-indexed matrices registered with
  ``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector`` (no Python
  callbacks in the search loop).
* Time: one transit matrix per distinct ``speed_factor``
  (``round(time / factor)`` + service time of the *from* node), waiting allowed
  (slack), service-start windows on the stop cumuls (hull + removed gaps for
  several windows), shifts on the route start/end cumuls.
* Loads (payload in grams, volume in decilitres): a hub-loaded delivery has a
  negative demand and the start cumul is free, so the start load is what the
  route will hand over; a pickup is positive; a delivery with pickups unloads
  what its pickups collected *plus* its own ``weight_kg``/``volume_l``, which
  (as for every delivery) is loaded at the hub. A pickup that no
  delivery names is a return and stays on board to the end hub. With returns
  and hub-loaded deliveries on one route, the free start cumul could
  under-state the start load (a return collected before a hub parcel is handed
  over lowers the minimum start load). An extra "returns" dimension and the
  constraint ``load(end) >= returns(end)`` (which is ``load(start) >= hub
  goods of the route``) closes that gap.
* Pickup and delivery: OR-Tools 9.15 keeps one pickup/delivery position per
  node, so a node must not be in several ``AddPickupAndDelivery`` pairs (the
  second pair silently overwrites the first position; debug builds abort), and
  ``AddPickupAndDeliverySets`` means *alternatives*, not "all of". Extra
  same-vehicle/same-activity constraints on a third node were tried: no
  insertion heuristic or local-search move can then activate or move the
  group (3+ nodes at once), so whole groups got dropped. What works: the
  shops feeding one door become one *chain node* (entered at the first shop,
  left at the last; its transit carries the inner services and rides; its
  window is the set of start times that fit every shop's window, with the
  waits of an anchored schedule kept as fixed offsets), paired natively with
  the door. The order of the shops is the shortest one that fits (exhaustive
  up to 6 shops, nearest neighbour beyond). Limitation: no other stop between
  the shops of one door. Every pair also gets the explicit ``ActiveVar`` and
  ``VehicleVar`` equalities and a time precedence (``AddPickupAndDelivery``
  alone did not keep a pair's activity equal in a test with returns).
* First solution: ``PATH_CHEAPEST_ARC`` (better than
  ``PARALLEL_CHEAPEST_INSERTION`` on Solomon at 10 s: 2.1% vs 2.5% mean gap on
  8 instances), falling back to other strategies when it leaves stops out
  (it fails with the returns constraint); the metaheuristic then starts from
  the best first solution. Guided local search, lambda 0.3. Big days (more
  than ``ortools_search._COLD_INSERTION_NODES`` stop nodes) and days with
  locks or pins start instead from empty routes filled by a cheapest insertion
  in Python (:func:`~backend.dispatch.insertion.insert_unperformed`, all places
  of all routes checked at once with numpy): the strategies stall there (the
  returns constraint, pairs and locks left ~1,900 of 2,000 stops out). A
  small such day (at most ``_COLD_INSERTION_NODES`` stop nodes; a mixed fleet
  counts as locked when some bikes cannot serve some stops) tries the
  strategies too and starts from the best first solution by the objective:
  from insertion alone the demo day with baskets stayed ~25 % above. SAVINGS
  is skipped on big days (its memory) and the local search looks at
  ``ortools_search._LS_NEIGHBORS`` neighbours per node (with all nodes as
  neighbours its first neighbourhood on 5,000 stops ran for minutes, past the
  time limit). With
  ``initial_routes`` (re-planning) the routes in force are restored with
  ``ReadAssignmentFromRoutes`` and are the first solution instead. OR-Tools
  refuses the whole assignment when one route breaks one rule, so each route
  is first simulated with the model's rules and repaired (stops it cannot
  serve in place are taken out, a late courier's route re-ordered), stops no
  route holds are inserted where they fit, and routes still refused start
  empty (found by halving the set of vehicles).
* Pinned orders (``Problem.sequences``): the pinned stops' groups may only
  use the pinned vehicle; the order is a node precedence on a visit-counter
  dimension ("Position") between every two pinned nodes of a sequence (the
  routing's precedences are skipped when a node is unperformed, so a dropped
  stop in the middle must not free the others; time cumuls cannot order two
  stops at one door without service time). Pinned stops that no plan could
  serve in their place are diagnosed (``pinned_order``).
* Several loops a shift: a bike that may reload (``Vehicle.reload_s``) gets a
  few optional, free copies of its hub that only it may visit, taking
  ``reload_s`` there; loads and returns reset there (slack), a "Loop" dimension
  counts them and keeps a shop and its door on one loop
  (:mod:`~backend.dispatch.ortools_reloads`). The insertion that starts a big
  day plans loops too (a reload where it halves a bike's fullest loop, while
  stops are left out); a warm start keeps the loops in force (``initial_loops``)
  and what is on a bike before its first reload (``on_board``). The plan is
  read in loops.
* Every stop is optional (disjunction with a large penalty, ``PROMISED_WEIGHT``
  times larger for a stop on a route in force: a re-plan drops a new stop
  rather than one a customer was promised); stops that no
  vehicle could serve even alone are diagnosed before the solve and never
  enter the model. Groups (pickups + their delivery) stay whole.
* Speed: the node matrices are read from the problem's rows and columns of
  the nodes only (a focused re-plan shares a whole day's matrix with a small
  model); the distance matrix is only registered when a cost or range uses
  it; the matrices may be numpy arrays. The cyclic garbage collector is paused
  during a solve (a day's matrix is millions of Python ints it would walk).
  A model of 2,000 nodes still takes seconds to build (each matrix is handed
  over as Python lists): live re-plans of big days go through
  :mod:`backend.dispatch.replan`'s focus.
"""

from __future__ import annotations

from backend.dispatch.diagnosis import diagnose
from backend.dispatch.ortools_model import LATE_COST_PER_S, PROMISED_WEIGHT
from backend.dispatch.ortools_search import DEFAULT_FIRST_SOLUTION, DEFAULT_METAHEURISTIC, solve
from backend.dispatch.pool import (
    die_with_parent,
    get_pool,
    shutdown_pool,
    solve_async,
    solve_in_pool,
)
from backend.dispatch.windows import travel_time, without_gc

__all__ = [
    "DEFAULT_FIRST_SOLUTION",
    "DEFAULT_METAHEURISTIC",
    "LATE_COST_PER_S",
    "PROMISED_WEIGHT",
    "diagnose",
    "die_with_parent",
    "get_pool",
    "shutdown_pool",
    "solve",
    "solve_async",
    "solve_in_pool",
    "travel_time",
    "without_gc",
]
