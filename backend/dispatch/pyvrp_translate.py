"""PyVRP on days it can only relax: its plan as a plan or a first solution (issue #15 part 5).

:func:`backend.dispatch.pyvrp_engine.unsupported` names what PyVRP 0.14 cannot
express exactly. For such a day :func:`relax` makes a *relaxation* PyVRP can
plan, on the same bikes:

* the shops of a basket of several shops become one *chain*, as in the
  OR-Tools model (:mod:`backend.dispatch.nodes`): a new matrix place entered
  at the first shop and left at the last (its row is the last shop's row plus
  the ride through the shops, its column the first shop's column), visited in
  the shortest order, with the shops' services summed and the window of
  start times that suits every shop when the bike does not wait inside. The
  chain and its door are one PyVRP ``Shipment``: the basket stays whole, on
  one bike, the shops before the door;
* a basket's hub-loaded goods are a visit of their own at the door (a plain
  delivery from the hub, no service time, the door's windows): PyVRP 0.14 has
  no visit that both hands over hub goods and shop goods, and no same-vehicle
  groups. The load is exact when both visits ride on one bike, which costs
  nothing extra (the same place), so the search keeps them together; folding
  drops the hub-goods visit (the door hands the goods over). This is the one
  thing relaxed about baskets: the two visits may ride on two bikes, and then
  the shipment's bike carries the hub goods uncounted. (It was the shops to
  the door before: the load between the hub and the shops was under-counted
  on every basket, so most folded plans broke a payload.);
* a lone visit keeps its lock (``Stop.vehicles``, exact in PyVRP:
  :func:`keep_locks`), and a pinned one is locked on its pin's bike: only
  the pin's order is left out (a folded route that breaks it is repaired by
  OR-Tools' warm start), as are a basket's locks and soft due times (and every
  lock, when neither load dimensions nor routing profiles keep them,
  :func:`locks_kept`).

PyVRP's routes are folded back onto the day (:func:`fold`: each chain becomes
its shops, in its order) and go two ways:

* as a plan of their own (``"pyvrp-relaxed"``) when what was relaxed holds
  anyway: it passes the independent checker
  (:func:`backend.dispatch.feasibility.check`; a folded plan whose hub goods
  overload a bike, or whose shops miss a window, or a pin's stops, put in
  order, miss one, is dropped) and the portfolio judges it like any plan (a
  due time left out costs what it costs, ``plan_cost``);
* as the first solution of an OR-Tools search on the real day for the rest of
  the limit (``"pyvrp-relaxed+ortools"``, through ``initial_routes``: the warm
  start keeps what fits, repairs a route that breaks a rule and inserts the
  stops that are left).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import msgspec
import numpy as np

from backend.dispatch import pyvrp_copy
from backend.dispatch.lock_codes import exact as lock_exact
from backend.dispatch.lock_codes import lock_loads
from backend.dispatch.model import Plan, Problem, Stop, Window
from backend.dispatch.pyvrp_engine import plan_from_sequences, solve_pyvrp, unsupported
from backend.dispatch.pyvrp_search import Watch

# the share of the limit PyVRP gets on the relaxation (see solve_relaxed): RELAX_SHARE, and
# split, once a plan of it passed, RELAX_SHARE_SPLIT; the least OR-Tools keeps to repair
# whatever PyVRP overran (the run may then end that much late)
RELAX_SHARE = 0.5
# on a day of more stops than this PyVRP gets RELAX_SHARE_BIG (OR-Tools the floor): OR-Tools'
# search barely moves on such a day (city 2,000, plain: its first solution stood for 100 s),
# so its half went to repairs. Relaxed runs of 10 s, 0.5 against 0.8, by seed: city 2,000
# baskets (1,874 stops) 117,142 / 112,472, 115,987 / 111,463; city 1,000 baskets (946)
# 63,637 / 62,573, 65,700 / 64,386; city 2,000 locks (1,436) 86,276 / 86,065, 86,546 /
# 86,711, 87,093 / 86,008; below it half is as good or better: city 1,000 locks (693)
# 46,708 / 46,760, 46,278 / 46,444; city 500 baskets (474) 33,851 / 34,330, 33,284 / 33,273,
# 34,268 / 34,387
RELAX_SHARE_BIG = 0.8
RELAX_BIG_STOPS = 800
RELAX_SHARE_SPLIT = 0.95
ORTOOLS_FLOOR = 0.2
_CHAIN = "\x1fchain"  # a chain's id is its door's and this: no stop id of ours has it
_HUB_GOODS = "\x1fhub"  # a basket's hub goods' visit: its door's id and this
# split, a relaxed plan must pass folded on its own (no OR-Tools after it), and folding
# delays a route a few minutes (the door's service where its last visit is) and keeps a
# shop's goods on board to the door: its windows and shifts end FOLD_SLACK_S earlier and
# its bikes carry FOLD_SLACK_SHARE of their payload and volume. Demo day, baskets, one split
# run of 10 s, seeds 1-12, mean (best of seeds 1-2, 3-4, ... as the product's two runs):
# without slack 23,530 (23,210), 53 % of the folds checked passing; 120 s and 0.99 23,211
# (22,943), 58 %; 180 s and 0.98 23,296 (23,120), 76 %; 300 s and 0.97 23,248 (22,974)
FOLD_SLACK_S = 120
FOLD_SLACK_SHARE = 0.99
# a shop's delivery at its door, split: its door's id, this and the shop's id (the first
# shop's; the others' are _BESIDE, like the hub goods' visit away from the door's place)
_PART = "\x1fpart"
_BESIDE = "\x1fbeside"
# what PyVRP pays for a visit at a basket's door that is not next to the door's first
# visit (another bike, or stops between): folded, every visit's goods ride to the first, so
# apart they break a payload (demo day, split, 5 s, seeds 1-3: 5, 0 and 21 broken rules
# without it; 0, 1 and 0 at 120 s)
BESIDE_DOOR_COST = 120


class Relaxation(msgspec.Struct, frozen=True, kw_only=True):
    """A relaxed day and the way back to the real one."""

    problem: Problem
    # chain stop id -> its shops' ids, in visiting order; a shop's delivery at its door -> (door id,)
    chains: dict[str, tuple[str, ...]]
    baskets: dict[str, tuple[str, ...]]  # a basket's door id -> its shops' ids
    places: dict[str, int]  # the day's stop id -> its place
    exact: bool  # no lock, pin or due time relaxed: a folded plan may be a plan of the day


def _order(T: np.ndarray, shops: list[Stop]) -> list[Stop]:
    """The shops in the order of least riding between them (every order up to 4 shops)."""

    def ride(order: tuple[Stop, ...]) -> int:
        return sum(int(T[a.location][b.location]) for a, b in itertools.pairwise(order))

    orders: list[tuple[Stop, ...]] = list(itertools.permutations(shops)) if len(shops) <= 4 else [tuple(shops)]
    return list(orders[min(range(len(orders)), key=lambda i: ride(orders[i]))])


def _chain_window(T: np.ndarray, shops: list[Stop]) -> tuple[Window, ...]:
    """Start times at the first shop that suit every shop's (first) window without waiting."""
    lo, hi, offset = None, None, 0
    for k, s in enumerate(shops):
        if k:
            offset += shops[k - 1].service_s + int(T[shops[k - 1].location][s.location])
        if s.windows:
            a, b = s.windows[0].start - offset, s.windows[0].end - offset
            lo, hi = (a, b) if lo is None or hi is None else (max(lo, a), min(hi, b))
    if lo is None or hi is None:
        return ()
    return (Window(lo, hi),) if lo <= hi else shops[0].windows[:1]


def relax(problem: Problem, *, matrices: bool = True, split: bool = False) -> Relaxation:
    """``problem`` relaxed so that PyVRP can plan it (see the module docstring); without
    ``matrices`` the chains' rows and columns are not built (to ask what PyVRP can plan).
    With ``split`` a basket of several shops is not a chain but one shipment per shop, each
    to a visit of its own at the door (:func:`_split_basket`), and the day is stricter by
    ``FOLD_SLACK_S`` and ``FOLD_SLACK_SHARE`` (:func:`with_slack`)."""
    T = np.asarray(problem.time_s, dtype=np.int64)
    D = np.asarray(problem.dist_m, dtype=np.int64)
    n = len(T)
    by_id = {s.id: s for s in problem.stops}
    collected = {p for s in problem.stops for p in s.pickups}
    exact = not problem.sequences
    locks = _locks(problem, collected)
    out: list[Stop] = []
    chains: dict[str, tuple[str, ...]] = {}
    # per new chain place: (first shop's place, last shop's place, inner ride s, inner ride m)
    places: list[tuple[int, int, int, int]] = []
    slack = False
    for s in problem.stops:
        if s.vehicles != locks.get(s.id, ()) or s.due_s is not None:
            exact = False  # a lock dropped (a basket's) or narrowed to a pin's bike, or a due time
            s = msgspec.structs.replace(s, vehicles=locks.get(s.id, ()), due_s=None)
        if s.id in collected:
            continue  # with its door, below
        if s.kind != "delivery" or not s.pickups:
            out.append(s)
            continue
        shops = [msgspec.structs.replace(by_id[p], vehicles=(), due_s=None) for p in s.pickups]
        if len(shops) > 1 and split:
            slack = True  # a plan of it must pass folded on its own
            visits = _split_basket(s, shops)
            chains.update({v.id: (s.id,) for v in visits if v.pickups})
        else:
            visits, order = _chain_basket(s, shops, T, D, places, n)
            chains.update({v.id: order for v in visits[:1] if v.id.endswith(_CHAIN)})
        out.extend(visits)
        if s.weight_kg > 0 or s.volume_l > 0:  # the hub goods: a visit of their own at the door
            out.append(msgspec.structs.replace(s, id=s.id + _HUB_GOODS, pickups=(), service_s=0))
    if locks and not locks_kept(msgspec.structs.replace(problem, stops=tuple(out)), n + len(places)):
        # neither load dimensions nor a routing profile per group of bikes keep them: relaxed too
        exact = exact and not any(s.vehicles for s in out)
        out = [msgspec.structs.replace(s, vehicles=()) for s in out]
    time_s, dist_m = (_with_chains(M, places, k) for M, k in ((T, 2), (D, 3))) if matrices else (T, D)
    relaxed = msgspec.structs.replace(problem, time_s=time_s, dist_m=dist_m, stops=tuple(out), sequences=())
    if slack:
        relaxed = with_slack(relaxed, FOLD_SLACK_S, FOLD_SLACK_SHARE)
    return Relaxation(
        problem=relaxed,
        chains=chains,
        baskets={s.id: s.pickups for s in problem.stops if s.kind == "delivery" and s.pickups},
        places={s.id: s.location for s in problem.stops},
        exact=exact,
    )


def with_slack(problem: Problem, seconds: int, share: float) -> Problem:
    """``problem`` with every window and shift ending ``seconds`` earlier (one that would be
    left shorter than twice that stays as it is) and its bikes carrying ``share`` of their
    payload and volume: a stricter day, each of whose plans keeps that slack."""

    def earlier(w: Window) -> Window:
        return Window(w.start, w.end - seconds) if w.end - seconds >= w.start + 2 * seconds else w

    stops = tuple(msgspec.structs.replace(s, windows=tuple(earlier(w) for w in s.windows)) for s in problem.stops)
    vehicles = tuple(
        msgspec.structs.replace(v, shift=earlier(v.shift), payload_kg=v.payload_kg * share, volume_l=v.volume_l * share)
        for v in problem.vehicles
    )
    return msgspec.structs.replace(problem, stops=stops, vehicles=vehicles)


def _chain_basket(
    door: Stop, shops: list[Stop], T: np.ndarray, D: np.ndarray, places: list[tuple[int, int, int, int]], n: int
) -> tuple[list[Stop], tuple[str, ...]]:
    """A basket's shops as one pickup (a lone shop, or a chain of several at a new place,
    added to ``places``) and the door as its delivery (the shops' goods only); and the
    shops' ids in the order the chain visits them."""
    if len(shops) == 1:
        shop = shops[0]
    else:
        shops = _order(T, shops)
        pairs = list(itertools.pairwise(shops))
        places.append(
            (
                shops[0].location,
                shops[-1].location,
                sum(int(T[a.location][b.location]) for a, b in pairs),
                sum(int(D[a.location][b.location]) for a, b in pairs),
            )
        )
        shop = Stop(
            id=door.id + _CHAIN,
            kind="pickup",
            location=n + len(places) - 1,
            windows=_chain_window(T, shops),
            service_s=sum(x.service_s for x in shops),
            weight_kg=sum(x.weight_kg for x in shops),
            volume_l=sum(x.volume_l for x in shops),
        )
    door_visit = msgspec.structs.replace(door, pickups=(shop.id,), weight_kg=0.0, volume_l=0.0)
    return [shop, door_visit], tuple(x.id for x in shops)


def _split_basket(door: Stop, shops: list[Stop]) -> list[Stop]:
    """A basket's shops each with a delivery of its goods at the door: each shop is visited
    where it suits (several baskets' shops at one shop together), and the door's visits
    fold into one (:func:`_one_door`), which hands over all the goods and takes the door's
    service time (the first visit's)."""
    out: list[Stop] = []
    for k, shop in enumerate(shops):
        out.append(shop)
        part = msgspec.structs.replace(
            door,
            id=door.id + (_BESIDE if k else _PART) + shop.id,
            pickups=(shop.id,),
            weight_kg=0.0,
            volume_l=0.0,
            service_s=door.service_s if k == 0 else 0,
        )
        out.append(part)
    return out


def _locks(problem: Problem, collected: set[str]) -> dict[str, tuple[str, ...]]:
    """The bikes each lone visit stays on in the relaxation: its lock (PyVRP keeps it
    exactly, :func:`lock_profiles`), or the bike of the pin it is in (the pin's order is
    what is relaxed). A shop or a door of a basket is free there (a shipment step cannot
    be locked in PyVRP 0.14)."""
    bikes = {v.id for v in problem.vehicles}
    pinned = {sid: q.vehicle for q in problem.sequences if q.vehicle in bikes for sid in q.stops}
    out: dict[str, tuple[str, ...]] = {}
    for s in problem.stops:
        if s.id in collected or s.pickups:
            continue
        lock = s.vehicles
        if s.id in pinned and (not lock or pinned[s.id] in lock):
            lock = (pinned[s.id],)
        if lock:
            out[s.id] = lock
    return out


def _with_chains(M: np.ndarray, places: list[tuple[int, int, int, int]], inner: int) -> np.ndarray:
    """``M`` with a row and column per chain: out of its last shop (after the ride through
    the shops), into its first."""
    if not places:
        return M
    n, m = len(M), len(places)
    out = np.zeros((n + m, n + m), dtype=np.int64)
    out[:n, :n] = M
    for j, place in enumerate(places):
        out[n + j, :n] = place[inner] + M[place[1], :n]
    for j, place in enumerate(places):
        out[:, n + j] = out[:, place[0]]
        out[n + j, n + j] = 0
    return out


def can_relax(problem: Problem) -> bool:
    """PyVRP cannot plan ``problem`` as it is (one window per stop) but can plan its relaxation."""
    from backend.dispatch.portfolio import one_window

    if not problem.stops or not problem.vehicles or unsupported(one_window(problem)) is None:
        return False
    return unsupported(one_window(relax(problem, matrices=False).problem)) is None


def window_groups(data: Any, mapping: Any, problem: Problem, *, optional: bool) -> tuple[Any, Any]:
    """``data`` (from :func:`backend.dispatch.pyvrp_engine.to_pyvrp`) with each client stop of
    several windows as one client per window at its place, in a mutually exclusive group.

    Exact: a plan serves such a stop once, in one of its windows. The group is required
    unless visits are ``optional`` (its clients then keep their prize); its clients are
    optional, as PyVRP wants of a group's members. The new clients map back to the stop.
    """
    import pyvrp

    clients = list(data.clients())
    stops = list(mapping.clients)
    groups: list[Any] = []
    for ci, k in enumerate(mapping.clients):
        s = problem.stops[k]
        if len(s.windows) <= 1:
            continue
        c = clients[ci]
        members = []
        for j, w in enumerate(s.windows):
            member = pyvrp.Client(
                location=c.location,
                delivery=list(c.delivery),
                pickup=list(c.pickup),
                service_duration=c.service_duration,
                tw_early=int(w.start),
                tw_late=int(w.end),
                prize=c.prize,
                required=False,
                group=len(groups),
                name=f"{c.name}@{j}",
            )
            if j == 0:
                clients[ci] = member
                members.append(ci)
            else:
                members.append(len(clients))
                clients.append(member)
                stops.append(k)
        groups.append(pyvrp.ClientGroup(members, required=not optional))
    if not groups:
        return data, mapping
    return data.replace(clients=clients, groups=groups), msgspec.structs.replace(mapping, clients=stops)


# entering a stop locked on other bikes takes this long (and rides this far): no route can
_BLOCKED = 10**9
# matrix cells (distance and duration, every profile) lock_profiles may build: ~200 MB
MAX_PROFILE_CELLS = 25_000_000


def lock_profiles_cells(problem: Problem, places: int | None = None) -> int:
    """How many matrix cells :func:`lock_profiles` would build for ``problem``'s locks
    (on ``places`` matrix places: the problem's own when None)."""
    locked = [s for s in problem.stops if s.vehicles]
    if not locked:
        return 0
    kinds = {(v.speed_factor, frozenset(s.id for s in locked if v.id in s.vehicles)) for v in problem.vehicles}
    size = (len(problem.time_s) if places is None else places) + len(locked)
    return 2 * len(kinds) * size * size


def keep_locks(data: Any, mapping: Any, problem: Problem) -> tuple[Any, Any]:
    """``data`` with its locks kept: by load dimensions where their codes are exact
    (:mod:`backend.dispatch.lock_codes`), else by routing profiles (:func:`lock_profiles`).

    Load dimensions copy no matrix, and with their start and neighbour lists the search
    found cheaper plans than with profiles on the city day of 500 stops, locks mix, 10 s,
    seeds 1-3: 27,532, 27,481, 27,660 against 27,712, 28,071, 29,132 (with profiles PyVRP
    struggled to serve every visit and left some out first)."""
    if lock_exact(problem):
        return lock_loads(data, mapping, problem)
    return lock_profiles(data, mapping, problem)


def locks_kept(problem: Problem, places: int | None = None) -> bool:
    """PyVRP can keep ``problem``'s locks (on ``places`` matrix places: its own when None):
    by load dimensions, or by routing profiles within ``MAX_PROFILE_CELLS``."""
    return lock_exact(problem) or lock_profiles_cells(problem, places) <= MAX_PROFILE_CELLS


def lock_profiles(data: Any, mapping: Any, problem: Problem) -> tuple[Any, Any]:
    """``data`` (from :func:`backend.dispatch.pyvrp_engine.to_pyvrp`, which sees no locks)
    with each lone visit locked on some bikes (``Stop.vehicles``) kept to them.

    Exact, by routing profiles: a locked visit gets a place of its own (a copy of its
    place's row and column), the bikes are split into vehicle types by the locked
    visits they may serve, and each such type rides a profile of its own in which
    entering a visit locked on other bikes takes ``_BLOCKED`` seconds and metres, far
    past any shift: a route through it is never feasible. The plan is still checked.
    """

    clients = list(data.clients())
    locked = [ci for ci, k in enumerate(mapping.clients) if problem.stops[k].vehicles]
    if not locked:
        return data, mapping
    n = data.num_locations
    place = {ci: n + j for j, ci in enumerate(locked)}
    locations = list(data.locations())
    for ci in locked:
        locations.append(locations[clients[ci].location])
        clients[ci] = pyvrp_copy.client(clients[ci], location=place[ci])

    def extended(M: np.ndarray) -> np.ndarray:
        src = [clients_src[ci] for ci in locked]
        out = np.zeros((n + len(locked), n + len(locked)), dtype=np.int64)
        out[:n, :n] = M
        out[n:, :n] = M[src, :]
        out[:, n:] = out[:, src]
        out[n:, n:][np.diag_indices(len(locked))] = 0
        return out

    clients_src = {ci: data.client(ci).location for ci in locked}
    dist = [extended(np.asarray(M)) for M in data.distance_matrices()]
    dur = [extended(np.asarray(M)) for M in data.duration_matrices()]
    may = {ci: set(problem.stops[mapping.clients[ci]].vehicles) for ci in locked}
    profiles: dict[tuple[int, frozenset[int]], int] = {}
    out_dist: list[np.ndarray] = []
    out_dur: list[np.ndarray] = []
    vehicle_types = []
    type_ids: list[list[str]] = []
    for t, vt in enumerate(data.vehicle_types()):
        by_sig: dict[frozenset[int], list[str]] = {}
        for vid in mapping.vehicle_types[t]:
            by_sig.setdefault(frozenset(ci for ci in locked if vid in may[ci]), []).append(vid)
        for sig, ids in by_sig.items():
            key = (vt.profile, sig)
            if key not in profiles:
                profiles[key] = len(out_dist)
                blocked = [place[ci] for ci in locked if ci not in sig]
                for src, out in ((dist, out_dist), (dur, out_dur)):
                    M = src[vt.profile].copy()
                    M[:, blocked] = _BLOCKED
                    M[blocked, blocked] = 0  # PyVRP wants a zero diagonal
                    out.append(M)
            vehicle_types.append(vt.replace(num_available=len(ids), profile=profiles[key]))
            type_ids.append(ids)
    data = data.replace(
        locations=locations,
        clients=clients,
        vehicle_types=vehicle_types,
        distance_matrices=out_dist,
        duration_matrices=out_dur,
    )
    return data, msgspec.structs.replace(mapping, vehicle_types=type_ids)


def door_visits_together(data: Any, mapping: Any) -> tuple[Any, Any]:
    """``data`` (from :func:`backend.dispatch.pyvrp_engine.to_pyvrp`) where a basket's
    visits beside its door's first (its hub goods', its other shops' deliveries) cost
    ``BESIDE_DOOR_COST`` more to enter or leave from anywhere but the door: each at a copy of
    the door's place, so that PyVRP keeps them next to the door's first visit, on its bike.
    Only where the objective is PyVRP's distance (the riding): its durations, which rule
    the windows, stay the same (a day costed by duration has no such cost)."""
    if any(vt.unit_distance_cost == 0 for vt in data.vehicle_types()):
        return data, mapping
    clients, shipments = list(data.clients()), list(data.shipments())
    locations = list(data.locations())
    n = len(locations)
    base = list(range(n))  # each place's original place

    def copy(place: int) -> int:
        locations.append(locations[place])
        base.append(place)
        return len(base) - 1

    for ci, c in enumerate(clients):
        if c.name.endswith(_HUB_GOODS):
            clients[ci] = pyvrp_copy.client(c, location=copy(c.location))
    for si, sh in enumerate(shipments):
        if _BESIDE in sh.name:
            shipments[si] = pyvrp_copy.shipment(sh, delivery_location=copy(sh.delivery.location))
    if len(base) == n:
        return data, mapping
    at = np.asarray(base)
    copied = np.arange(len(base)) >= n
    apart = (copied[:, None] | copied[None, :]) & (at[:, None] != at[None, :])
    dist = [np.asarray(M)[np.ix_(at, at)] + BESIDE_DOOR_COST * apart for M in data.distance_matrices()]
    dur = [np.asarray(M)[np.ix_(at, at)] for M in data.duration_matrices()]
    for M in (*dist, *dur):
        np.fill_diagonal(M, 0)
    data = data.replace(
        locations=locations, clients=clients, shipments=shipments, distance_matrices=dist, duration_matrices=dur
    )
    return data, mapping


def fold(relaxation: Relaxation, plan: Plan) -> dict[str, list[str]]:
    """The relaxed plan's routes in the day's stop ids: each chain as its shops, in its order,
    and each basket's door once (:func:`_one_door`), after all its shops on its bike
    (:func:`shops_before_door`)."""
    routes: dict[str, list[str]] = {}
    for r in plan.routes:
        ids = [sid for ps in r.stops for sid in relaxation.chains.get(ps.stop_id, (ps.stop_id,))]
        if ids:
            routes[r.vehicle_id] = ids
    for door, shops in relaxation.baskets.items():
        _one_door(routes, door, shops)
    for door, shops in relaxation.baskets.items():
        shops_before_door(relaxation, routes, door, shops)
    return {vid: ids for vid, ids in routes.items() if ids}


def _one_door(routes: dict[str, list[str]], door: str, shops: tuple[str, ...]) -> None:
    """Keep one of the door's visits (its shops' deliveries, its hub goods'): on the bike that
    has most of the basket, the first after all the basket's shops there (else its last).
    In the relaxation each visit's goods ride only to it, so handing them all over at the
    first keeps every load within what the relaxation carried, as long as all of them were
    on that bike."""
    visits = (door, door + _HUB_GOODS)
    where = [(vid, j) for vid, ids in routes.items() for j, sid in enumerate(ids) if sid in visits]
    if not any(routes[vid][j] == door for vid, j in where):
        where = []  # the door is left out (no shop's goods delivered), and so are its hub goods
    mine = set(shops)
    share = {vid: sum(1 for sid in ids if sid in visits or sid in mine) for vid, ids in routes.items()}
    bike = max((vid for vid, _ in where), key=lambda vid: share[vid], default=None)
    last_shop = max((j for j, sid in enumerate(routes.get(bike or "", [])) if sid in mine), default=-1)
    here = [j for vid, j in where if vid == bike]
    keep = min((j for j in here if j > last_shop), default=max(here, default=-1))
    for vid, ids in routes.items():
        routes[vid] = [
            door if (vid, j) == (bike, keep) else sid
            for j, sid in enumerate(ids)
            if sid not in visits or (vid, j) == (bike, keep)
        ]


def door_of(relaxation: Relaxation, stop_id: str) -> str | None:
    """The basket door whose visit ``stop_id`` (a folded id: the door's, or its hub goods') is."""
    door = stop_id.removesuffix(_HUB_GOODS)
    return door if door in relaxation.baskets else None


def shops_before_door(relaxation: Relaxation, routes: dict[str, list[str]], door: str, shops: tuple[str, ...]) -> None:
    """A shop of the basket on another bike, or after the door, goes into the door's route
    before the door, where it adds the least riding."""
    bike = next((vid for vid, ids in routes.items() if door in ids), None)
    if bike is None:
        return
    T, place = relaxation.problem.time_s, relaxation.places
    start = next(v.start_location for v in relaxation.problem.vehicles if v.id == bike)
    for shop in shops:
        ids = routes[bike]
        if (shop in ids and ids.index(shop) < ids.index(door)) or not any(shop in other for other in routes.values()):
            continue  # in its place, or left out (whole() says the basket is not)
        for other in routes.values():
            if shop in other:
                other.remove(shop)
        path = [start, *(place[sid] for sid in ids)]
        c = place[shop]
        j = min(
            range(ids.index(door) + 1),
            key=lambda j: int(T[path[j]][c]) + int(T[c][path[j + 1]]) - int(T[path[j]][path[j + 1]]),
        )
        ids.insert(j, shop)


def pin_order(problem: Problem, routes: dict[str, list[str]]) -> dict[str, list[str]]:
    """``routes`` with each pin's stops on its bike in the pin's order (the relaxation keeps
    them on that bike, not in order): a pin out of order is taken out and its stops go back
    in its order, each where it adds the least riding after the one before (windows are
    for the checker and OR-Tools' warm start to judge)."""
    T = problem.time_s
    place = {s.id: s.location for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    out = {vid: list(ids) for vid, ids in routes.items()}
    for q in problem.sequences:
        ids, v = out.get(q.vehicle), vehicles.get(q.vehicle)
        pinned = [sid for sid in q.stops if ids is not None and sid in ids]
        if ids is None or v is None or [sid for sid in ids if sid in pinned] == pinned:
            continue
        rest = [sid for sid in ids if sid not in pinned]
        after = 0  # the first position the next pinned stop may take
        for sid in pinned:
            path = [v.start_location, *(place[x] for x in rest), v.end_location]
            c = place[sid]
            j = min(
                range(after, len(rest) + 1),
                key=lambda j: int(T[path[j]][c]) + int(T[c][path[j + 1]]) - int(T[path[j]][path[j + 1]]),
            )
            rest.insert(j, sid)
            after = j + 1
        out[q.vehicle] = rest
    return out


def whole(problem: Problem, routes: dict[str, list[str]]) -> bool:
    """Every basket of ``routes`` has all its shops before its door on one bike, and every
    planned shop's door is planned."""
    where = {sid: (vid, j) for vid, ids in routes.items() for j, sid in enumerate(ids)}
    for s in problem.stops:
        d = where.get(s.id)
        for p in s.pickups:
            at = where.get(p)
            if (d is None) != (at is None):
                return False
            if d is not None and at is not None and (at[0] != d[0] or at[1] > d[1]):
                return False
    return True


def folded_plan(problem: Problem, routes: dict[str, list[str]], solve_s: float = 0.0) -> Plan:
    """``routes`` timed on ``problem`` as a plan (unchecked: the portfolio's checker judges it).
    A stop no bike could serve even alone keeps the reason the diagnosis gives (``too_heavy``...),
    as in OR-Tools' plan, not the folded plan's "no room"."""
    from backend.dispatch.solver import diagnose

    index = {s.id: k for k, s in enumerate(problem.stops)}
    seqs = {vid: [index[sid] for sid in ids] for vid, ids in routes.items()}
    plan = plan_from_sequences(problem, seqs, solve_s=solve_s)
    if plan.unplanned:
        why = {u.stop_id: u for u in diagnose(problem)}
        plan = msgspec.structs.replace(plan, unplanned=tuple(why.get(u.stop_id, u) for u in plan.unplanned))
    return plan


def solve_relaxed(
    problem: Problem,
    time_limit_s: float,
    *,
    seed: int = 1,
    coords: list[tuple[float, float]] | None = None,
    ortools_kwargs: dict[str, Any] | None = None,
    split: bool = False,
) -> list[Plan]:
    """PyVRP on :func:`relax` of ``problem`` (``split``: its baskets of several shops split)
    for ``RELAX_SHARE`` of the limit (``RELAX_SHARE_BIG`` on a day of more than
    ``RELAX_BIG_STOPS`` stops), then OR-Tools on ``problem`` from its folded routes
    (pins in order, :func:`pin_order`) for the rest: the cheapest folded plan that passed
    the checker, if any, and OR-Tools' plan.

    PyVRP's last plan is folded (mended where a route breaks a rule,
    :func:`backend.dispatch.door_mend.mend`) and checked; split, so are its new best plans as
    they come (``pyvrp_search.WATCH_EVERY_S``), and once one has passed, PyVRP goes on to
    ``RELAX_SHARE_SPLIT`` of the limit and the cheapest that passed stands alone: OR-Tools'
    model keeps a basket's shops back to back, so it could only undo the split. Not split,
    OR-Tools gets the rest whatever passed: from PyVRP's plan it found 5-7 % cheaper
    plans on the city day of 500 stops, baskets and locks alike (PyVRP going on while its
    plans passed, and OR-Tools polishing for the rest, gave 29,643 against 28,369 on locks)."""
    from backend.dispatch.door_mend import mend
    from backend.dispatch.feasibility import check
    from backend.dispatch.portfolio import one_window, plan_cost
    from backend.dispatch.solver import solve

    t0 = time.perf_counter()
    relaxation = relax(problem, split=split)
    split = split and any(len(shops) > 1 for shops in relaxation.baskets.values())
    passed: list[tuple[int, Plan]] = []  # the cheapest folded plan that passed the checker

    def see(relaxed: Plan) -> None:
        routes = pin_order(problem, fold(relaxation, relaxed))
        if relaxed.status != "feasible" or not whole(problem, routes):
            return
        folded = folded_plan(problem, routes, time.perf_counter() - t0)
        broken = check(problem, folded)
        if broken and all(v.vehicle_id for v in broken):  # on routes, not a stop left out
            routes = mend(problem, relaxation, relaxed, routes, {str(v.vehicle_id) for v in broken})
            folded = folded_plan(problem, routes, time.perf_counter() - t0)
            broken = check(problem, folded) if whole(problem, routes) else broken
        if broken:
            return
        cost = plan_cost(problem, folded)
        if not passed or cost < passed[0][0]:
            passed[:] = [(cost, folded)]

    switch = t0 + time_limit_s * RELAX_SHARE  # split: where PyVRP goes on only if a plan passed
    share = RELAX_SHARE_BIG if len(problem.stops) > RELAX_BIG_STOPS else RELAX_SHARE
    # a benchmark's coordinates name the day's places, not the chains' new ones
    xy = coords if not relaxation.chains else None
    last = solve_pyvrp(
        one_window(relaxation.problem),
        time_limit_s * (RELAX_SHARE_SPLIT if split else share),
        seed=seed,
        coords=xy,
        # not split, only PyVRP's last is folded: each look costs the search its time
        watch=Watch(see, go_on=lambda: bool(passed), decide_at=switch) if split else None,
    )
    see(last)
    out: list[Plan] = []
    if passed:
        out.append(msgspec.structs.replace(passed[0][1], engine="pyvrp-relaxed", solve_s=time.perf_counter() - t0))
        if split:
            return out
    routes = pin_order(problem, fold(relaxation, last))
    # PyVRP stops between iterations, which on a big relaxed day take a second or more
    # each: OR-Tools keeps at least ORTOOLS_FLOOR of the limit to repair and insert
    rest = max(ORTOOLS_FLOOR * time_limit_s, time_limit_s - (time.perf_counter() - t0))
    kwargs = {k: v for k, v in (ortools_kwargs or {}).items() if k != "initial_routes"}
    then = solve(problem, rest, initial_routes=routes, **kwargs)
    out.append(msgspec.structs.replace(then, engine="pyvrp-relaxed+ortools", solve_s=time.perf_counter() - t0))
    return out
