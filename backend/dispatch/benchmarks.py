"""Readers for the Solomon (VRPTW) and Li & Lim (PDPTW) benchmark files.

Pure: no web or database imports. Conventions (see DESIGN "Data shipped"):
Euclidean distances, travel time = distance. The :class:`Problem` built here
works on distances scaled by ``SCALE`` (1000) and truncated to integers (travel
times rounded up, see :func:`to_problem`), with windows and service times
scaled by the same factor. The scale is fine enough that rounding every leg up
costs no best-known solution its feasibility (at 10, routes of lr106 and lr107
that meet their windows in exact arithmetic missed them after rounding); gaps are computed on each
route's distance recomputed with exact double-precision Euclidean distances
(:func:`exact_distance`), the unit of the best-known values.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from backend.dispatch.model import Plan, Problem, Stop, Vehicle, Window

SCALE = 1000
UNLIMITED_VOLUME_L = 1e9
VEHICLE_FIXED_COST = 1_000_000_000  # "vehicles" objective: one bike outweighs any distance

Objective = Literal["distance", "vehicles"]


@dataclass(frozen=True)
class Customer:
    id: int
    x: float
    y: float
    demand: float
    ready: float
    due: float
    service: float
    pickup: int = 0  # Li & Lim: on a delivery line, the index of its pickup
    delivery: int = 0  # Li & Lim: on a pickup line, the index of its delivery


@dataclass(frozen=True)
class Instance:
    name: str
    kind: Literal["solomon", "lilim"]
    vehicles: int
    capacity: float
    nodes: tuple[Customer, ...]  # nodes[0] is the depot

    @property
    def customers(self) -> tuple[Customer, ...]:
        return self.nodes[1:]


@dataclass(frozen=True)
class BestKnown:
    instance: str
    vehicles: int | None
    distance: float | None  # vehicles first, then distance
    distance_only_vehicles: int | None = None
    distance_only: float | None = None  # distance alone


def read_solomon(path: str | Path) -> Instance:
    """Parse a Solomon file: name, VEHICLE (number, capacity), CUSTOMER rows of 7 numbers."""
    text = Path(path).read_text()
    lines = [ln.strip() for ln in text.splitlines()]
    name = next((ln for ln in lines if ln), Path(path).stem)
    vehicles = capacity = None
    nodes: list[Customer] = []
    section = ""
    for ln in lines:
        up = ln.upper()
        if up.startswith("VEHICLE"):
            section = "vehicle"
            continue
        if up.startswith("CUSTOMER"):
            section = "customer"
            continue
        nums = _numbers(ln)
        if not nums:
            continue
        if section == "vehicle" and len(nums) >= 2 and vehicles is None:
            vehicles, capacity = int(nums[0]), float(nums[1])
        elif section == "customer" and len(nums) >= 7:
            i, x, y, q, a, b, s = nums[:7]
            nodes.append(Customer(int(i), x, y, q, a, b, s))
    if vehicles is None or capacity is None or not nodes:
        raise ValueError(f"{path}: not a Solomon instance")
    _check_ids(path, nodes)
    return Instance(name, "solomon", vehicles, capacity, tuple(nodes))


def read_lilim(path: str | Path) -> Instance:
    """Parse a Li & Lim file.

    First line: vehicles, capacity, speed. Then per node: id x y demand ready due
    service pickup_index delivery_index (a pickup names its delivery, a delivery
    its pickup; node 0 is the depot).
    """
    rows = [_numbers(ln) for ln in Path(path).read_text().splitlines()]
    rows = [r for r in rows if r]
    if not rows or len(rows[0]) < 2:
        raise ValueError(f"{path}: not a Li & Lim instance")
    vehicles, capacity = int(rows[0][0]), float(rows[0][1])
    nodes = []
    for r in rows[1:]:
        if len(r) < 9:
            raise ValueError(f"{path}: expected 9 columns, got {len(r)}")
        i, x, y, q, a, b, s, p, d = r[:9]
        nodes.append(Customer(int(i), x, y, q, a, b, s, int(p), int(d)))
    _check_ids(path, nodes)
    return Instance(Path(path).stem, "lilim", vehicles, capacity, tuple(nodes))


def read_instance(path: str | Path) -> Instance:
    """Solomon or Li & Lim, told apart by the content."""
    text = Path(path).read_text()
    if "CUSTOMER" in text.upper():
        return read_solomon(path)
    return read_lilim(path)


def read_bks(path: str | Path) -> dict[str, BestKnown]:
    """bks.csv: ``instance,vehicles,distance[,distance_only_vehicles,distance_only]``."""
    out: dict[str, BestKnown] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            name = row["instance"].strip()
            out[name.upper()] = BestKnown(
                instance=name,
                vehicles=_int(row.get("vehicles")),
                distance=_float(row.get("distance")),
                distance_only_vehicles=_int(row.get("distance_only_vehicles")),
                distance_only=_float(row.get("distance_only")),
            )
    return out


def to_problem(
    inst: Instance,
    objective: Objective = "distance",
    time_rounding: Literal["ceil", "trunc"] = "ceil",
) -> Problem:
    """The benchmark as a Laadbak :class:`Problem`, scaled by ``SCALE``.

    Distances (the cost) are truncated to integers. Travel times equal the
    distances but are rounded up by default (``time_rounding="ceil"``): truncated
    times are a little optimistic, and a plan timed with them can miss a window
    by a fraction once re-timed with exact distances (see
    :func:`exact_time_violations`); rounded up, every plan the checker accepts is
    also feasible in exact arithmetic. ``"trunc"`` gives time = truncated distance.
    """
    if objective not in ("distance", "vehicles"):
        raise ValueError(f"unknown objective {objective!r}")
    if time_rounding not in ("ceil", "trunc"):
        raise ValueError(f"unknown time rounding {time_rounding!r}")
    n = len(inst.nodes)
    pts = [(c.x, c.y) for c in inst.nodes]
    exact = [[math.dist(pts[i], pts[j]) * SCALE for j in range(n)] for i in range(n)]
    dist = [[int(d) for d in row] for row in exact]
    times = [[math.ceil(d - 1e-9) for d in row] for row in exact] if time_rounding == "ceil" else dist
    depot = inst.nodes[0]
    shift = Window(_t(depot.ready), _t(depot.due))
    fixed = VEHICLE_FIXED_COST if objective == "vehicles" else 0
    vehicles = tuple(
        Vehicle(
            id=f"v{k + 1}",
            start_location=0,
            end_location=0,
            shift=shift,
            payload_kg=float(inst.capacity),
            volume_l=UNLIMITED_VOLUME_L,
            fixed_cost=fixed,
        )
        for k in range(inst.vehicles)
    )
    stops = []
    for idx, c in enumerate(inst.nodes[1:], start=1):
        common: dict[str, Any] = {
            "id": str(c.id),
            "location": idx,
            "windows": (Window(_t(c.ready), _t(c.due)),),
            "service_s": _t(c.service),
        }
        if inst.kind == "solomon":
            stops.append(Stop(kind="delivery", weight_kg=float(c.demand), **common))
        elif c.delivery:  # a pickup names its delivery
            stops.append(Stop(kind="pickup", weight_kg=float(abs(c.demand)), **common))
        elif c.pickup:
            stops.append(
                Stop(
                    kind="delivery",
                    weight_kg=0.0,  # it hands over what its pickup collected, nothing from the hub
                    pickups=(str(inst.nodes[c.pickup].id),),
                    **common,
                )
            )
        else:  # neither: plain hub delivery
            stops.append(Stop(kind="delivery", weight_kg=float(abs(c.demand)), **common))
    return Problem(time_s=times, dist_m=dist, vehicles=vehicles, stops=tuple(stops), cost="distance")


def exact_route_distances(inst: Instance, plan: Plan) -> list[float]:
    """Each route's length with exact Euclidean distances, in the instance's unit."""
    by_id = {str(c.id): c for c in inst.nodes[1:]}
    depot = inst.nodes[0]
    out = []
    for r in plan.routes:
        pts = [(depot.x, depot.y)] + [(by_id[s.stop_id].x, by_id[s.stop_id].y) for s in r.stops]
        pts.append((depot.x, depot.y))
        out.append(sum(math.dist(a, b) for a, b in itertools.pairwise(pts)))
    return out


def exact_distance(inst: Instance, plan: Plan) -> float:
    return sum(exact_route_distances(inst, plan))


def exact_time_violations(inst: Instance, plan: Plan, eps: float = 1e-6) -> int:
    """Time-window breaks when the plan's visit orders are re-timed with exact distances.

    The solver works on truncated distances, which are slightly optimistic; the
    best-known solutions are feasible in exact arithmetic. Waiting is allowed.
    """
    by_id = {str(c.id): c for c in inst.nodes[1:]}
    depot = inst.nodes[0]
    bad = 0
    for r in plan.routes:
        t = depot.ready
        prev = depot
        for s in r.stops:
            c = by_id[s.stop_id]
            t = max(t + math.dist((prev.x, prev.y), (c.x, c.y)), c.ready)
            if t > c.due + eps:
                bad += 1
            t += c.service
            prev = c
        if t + math.dist((prev.x, prev.y), (depot.x, depot.y)) > depot.due + eps:
            bad += 1
    return bad


def _t(value: float) -> int:
    return round(value * SCALE)


_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _numbers(line: str) -> list[float]:
    if not line or not re.match(r"^\s*-?\d", line):
        return []
    return [float(x) for x in _NUM.findall(line)]


def _check_ids(path: str | Path, nodes: list[Customer]) -> None:
    if [c.id for c in nodes] != list(range(len(nodes))):
        raise ValueError(f"{path}: node ids must run 0, 1, 2, ... in order")


def _int(v: str | None) -> int | None:
    v = (v or "").strip()
    return int(float(v)) if v else None


def _float(v: str | None) -> float | None:
    v = (v or "").strip()
    return float(v) if v else None
