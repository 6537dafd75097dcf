"""Locks kept in PyVRP by load dimensions: a few dimensions for any number of bikes.

A visit locked on some bikes (``Stop.vehicles``) is kept to them exactly by
routing profiles (:func:`backend.dispatch.pyvrp_translate.lock_profiles`), but
those copy the whole matrix per group of bikes: the city day of 2,000 stops with
a tenth of its deliveries locked has 52 groups, about 10 GB in PyVRP. Here each
distinct lock (a set of bikes) gets a *code*: ``width`` of ``m`` extra load
dimensions, all codes of the same weight ``(m + 1) // 2``. A visit under that lock
carries one unit in each dimension of its code; a bike has room (more than all
locked visits together) in the dimensions of the codes of the locks it is in,
and none in the others. A visit then fits only on a bike whose dimensions cover
its code; codes of one weight cover no other code, so where each bike is in one
lock at most (a stop under way on its bike, a dispatcher's lock on one courier)
that is exactly the lock's bikes, with ``m`` dimensions for ``C(m, (m + 1) // 2)``
locks (8 for 70). Where a bike is in several locks its dimensions are the union
of their codes and may cover a code of a lock it is not in: :func:`exact` says
whether that happens, and such a day keeps its locks by routing profiles where
they fit (:func:`backend.dispatch.pyvrp_translate.locks_kept`), else it is
relaxed or left to OR-Tools.

PyVRP weighs load excess as a penalty while it searches, so a visit may sit on
another bike for a while; a plan it returns is feasible in every dimension, and
the independent checker judges it as any plan.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import msgspec

from backend.dispatch import pyvrp_copy
from backend.dispatch.model import Problem

__all__ = ["codes", "exact", "lock_loads", "lock_neighbours", "lock_start", "width"]


def width(locks: int) -> int:
    """The fewest dimensions ``m`` with at least ``locks`` codes of weight ``(m + 1) // 2``."""
    m = 1
    while math.comb(m, (m + 1) // 2) < locks:
        m += 1
    return m


def codes(problem: Problem) -> dict[frozenset[str], frozenset[int]]:
    """Each distinct lock of ``problem``'s stops, in first-seen order, and its code (the
    dimensions, of ``width(len(locks))``, where a visit under it carries a unit)."""
    locks = list(dict.fromkeys(frozenset(s.vehicles) for s in problem.stops if s.vehicles))
    m = width(len(locks))
    return dict(zip(locks, (frozenset(c) for c in itertools.combinations(range(m), (m + 1) // 2)), strict=False))


def _room(problem: Problem, by_lock: dict[frozenset[str], frozenset[int]]) -> dict[str, frozenset[int]]:
    """Per bike, the dimensions it has room in: the union of its locks' codes."""
    out: dict[str, frozenset[int]] = {}
    for v in problem.vehicles:
        out[v.id] = frozenset().union(*(code for lock, code in by_lock.items() if v.id in lock))
    return out


def exact(problem: Problem) -> bool:
    """Every locked visit fits on its lock's bikes only (see the module docstring)."""
    by_lock = codes(problem)
    room = _room(problem, by_lock)
    return all(not code <= room[v.id] for lock, code in by_lock.items() for v in problem.vehicles if v.id not in lock)


def lock_loads(data: Any, mapping: Any, problem: Problem) -> tuple[Any, Any]:
    """``data`` (from :func:`backend.dispatch.pyvrp_engine.to_pyvrp`, which sees no locks)
    with the locks as load dimensions after its own (see the module docstring); the vehicle
    types split by the dimensions their bikes have room in."""
    by_lock = codes(problem)
    if not by_lock:
        return data, mapping
    m = width(len(by_lock))
    room = _room(problem, by_lock)
    clients = list(data.clients())
    full = max(1, sum(1 for k in mapping.clients if problem.stops[k].vehicles))

    def units(dims: frozenset[int], amount: int) -> list[int]:
        return [amount if i in dims else 0 for i in range(m)]

    none = units(frozenset(), 0)
    for ci, c in enumerate(clients):
        lock = problem.stops[mapping.clients[ci]].vehicles
        carried = units(by_lock[frozenset(lock)], 1) if lock else none
        clients[ci] = pyvrp_copy.client(c, delivery=[*c.delivery, *carried], pickup=[*c.pickup, *none])
    shipments = [pyvrp_copy.shipment(sh, amount=[*sh.amount, *none]) for sh in data.shipments()]
    vehicle_types = []
    type_ids: list[list[str]] = []
    for vt, ids in zip(data.vehicle_types(), mapping.vehicle_types, strict=True):
        by_room: dict[frozenset[int], list[str]] = {}
        for vid in ids:
            by_room.setdefault(room[vid], []).append(vid)
        for dims, same in by_room.items():
            vehicle_types.append(
                vt.replace(num_available=len(same), capacity=[*vt.capacity, *units(dims, full)], name=same[0])
            )
            type_ids.append(same)
    data = data.replace(clients=clients, shipments=shipments, vehicle_types=vehicle_types)
    return data, msgspec.structs.replace(mapping, vehicle_types=type_ids, lock_dims=m)


def _groups(data: Any, lock_dims: int) -> list[tuple[tuple[int, ...], list[int]]]:
    """The locked clients of ``data`` by their code (its last ``lock_dims`` load
    dimensions), one client per mutually exclusive group (a stop of several windows)."""
    real = data.num_load_dimensions - lock_dims
    by_code: dict[tuple[int, ...], list[int]] = {}
    seen: set[int] = set()
    for ci, c in enumerate(data.clients()):
        code = tuple(c.delivery[real:])
        if not any(code) or (c.group is not None and c.group in seen):
            continue
        if c.group is not None:
            seen.add(c.group)
        by_code.setdefault(code, []).append(ci)
    return list(by_code.items())


def lock_start(data: Any, lock_dims: int) -> Any:
    """A first PyVRP solution of ``data`` (with ``lock_dims`` lock dimensions) that rides
    each lock's visits on a bike of the lock, in the order their windows open; the search
    inserts the other visits. PyVRP's moves offer a visit only the routes its nearest
    visits ride: from an empty start each locked visit went in beside them, on their bike,
    and stayed there (city day of 2,000 stops, 143 locked: 88 still on another bike after
    5 s)."""
    from pyvrp import Activity, ActivityType, Route, Solution

    if not lock_dims:
        return Solution(data, [])
    real = data.num_load_dimensions - lock_dims
    types = list(data.vehicle_types())
    left = [vt.num_available for vt in types]
    riding: list[tuple[int, list[int]]] = []  # (vehicle type, its visits) per route begun
    for code, members in _groups(data, lock_dims):
        fits = {t for t, vt in enumerate(types) if all(vt.capacity[real + i] > 0 for i, x in enumerate(code) if x)}
        # a bike of the lock that already rides another lock's visits takes these too
        route = next((visits for t, visits in riding if t in fits), None)
        if route is None:
            free = sorted(t for t in fits if left[t])
            if not free:
                continue
            left[free[0]] -= 1
            route = []
            riding.append((free[0], route))
        route.extend(members)
    routes = []
    for t, visits in riding:
        order = sorted(visits, key=lambda ci: (data.client(ci).tw_early, ci))
        routes.append(Route(data, [Activity(ActivityType.CLIENT, ci) for ci in order], t))
    return Solution(data, routes)


def lock_neighbours(data: Any, neighbours: dict[Any, list[Any]], lock_dims: int) -> dict[Any, list[Any]]:
    """``neighbours`` (PyVRP's granular lists) with each locked visit's list holding the
    other visits of its lock too: they ride one route, wherever they are in the city."""
    from pyvrp import Activity, ActivityType

    if not lock_dims:
        return neighbours
    out = dict(neighbours)
    for _code, members in _groups(data, lock_dims):
        acts = [Activity(ActivityType.CLIENT, ci) for ci in members]
        for a in acts:
            have = list(out.get(a, []))
            out[a] = have + [b for b in acts if b != a and b not in have]
    return out
