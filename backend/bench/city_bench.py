"""``laadbak bench plan --suite city``: the planner at scale, on generated days of the demo map.

:func:`generate_day` builds a day of ``stops`` stops at real places of the
street network (``backend/data/helsinki-centre.osm.pbf`` unless ``LAADBAK_MAP``
says otherwise), reproducible by ``seed``:

* deliveries to doors: geocoded addresses of the extract (about half), the
  rest at street nodes of the cargo-bike network (a door along that street);
  windows are the morning, afternoon and evening slots or a two-hour window
  chosen at checkout;
* deliveries to pickup points (parcel lockers, kiosks) within their hours;
* baskets: goods collected at one or two real shops (their OSM opening hours
  when they can be read and open long enough that day, else 10:00-19:00) and
  handed over at one door, on the same bike and after the pickups
  (``Stop.pickups``); the door's own hub parcels ride along on some of them;
* returns (``returns_share`` of the orders): a pickup at a door, brought back
  to the bike's end hub;
* ``hubs`` hubs spread over the centre, each with its couriers (one per
  ``STOPS_PER_COURIER`` stops, in turns): half ride 07:30-15:30, half
  13:30-22:00, on two bike types (180 kg / 700 L / 55 km at full speed,
  250 kg / 1200 L / 40 km at 0.9).

Every stop is one place of the matrices (hubs first), as a hub's day is in
``services/planning.py``; the matrices come from the network's
:meth:`~backend.dispatch.network.StreetNetwork.matrices` as int64 numpy
arrays (two n x n arrays: 400 MB at 5,000 places).

:func:`run_city_bench` runs every size in a fresh Python process
(``python -m backend.bench.city_bench --worker``), one after the other, so the
peak memory it reports (the worker's own ``ru_maxrss``) belongs to that size
alone. A worker loads the map, builds the day (``build_s``: generating it and
its matrices), then solves it once per time limit, each solve from scratch,
and checks every plan with the independent feasibility checker.
``first_feasible_s`` is the solver's ``timings["first_solution"]``: seconds from
the call (model build included) to its first solution (all constraints hold),
from the first solve (in ``--time-limits`` order) whose first solution left at
most ``FIRST_PLAN_MAX_OUT`` of the stops unperformed (``first_feasible_limit_s``;
``first_solution_unperformed_<limit>`` per solve). A first solution that leaves
most stops out is not counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from backend.dispatch.calendar import (
    SLOTS,
    OpeningPeriod,
    intersect,
    parse_hhmm,
    parse_osm_opening_hours,
    windows_on,
)
from backend.dispatch.model import Problem, Stop, Vehicle, Window

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SIZES = (1000, 2000, 5000)
DEFAULT_TIME_LIMITS = (10.0, 60.0)
DEFAULT_HUBS = 3
DEFAULT_RETURNS_SHARE = 0.08
DEFAULT_SEED = 7
DEFAULT_DAY = dt.date(2026, 11, 24)  # a Tuesday: shops keep their weekday hours
STOPS_PER_COURIER = 35
# share of the stops a first solution may leave out and still count as a first plan
FIRST_PLAN_MAX_OUT = 0.02
BASKET_SHARE = 0.12  # of the orders that are not returns
PICKUP_POINT_SHARE = 0.08
DOOR_AT_ADDRESS_SHARE = 0.5  # the other doors are street nodes
SNAP_OK_M = 60.0
# Targets of issue #5 (first feasible plan, seconds; peak memory, MB).
FIRST_FEASIBLE_TARGET_S = {2000: 5.0, 5000: 30.0}
PEAK_RSS_TARGET_MB = 4096.0

DEFAULT_SHOP_HOURS = [OpeningPeriod(days=["mo", "tu", "we", "th", "fr", "sa"], opens="10:00", closes="19:00")]
POINT_HOURS = (Window(parse_hhmm("07:00"), parse_hhmm("23:00")),)
BIKES = (  # payload kg, volume L, range km, speed factor
    (180.0, 700.0, 55, 1.0),
    (250.0, 1200.0, 40, 0.9),
)
SHIFTS = (("07:30", "15:30"), ("13:30", "22:00"))


class BenchError(ValueError):
    """A bad option value, with a message a person can act on."""


# --------------------------------------------------------------------------- #
# Option parsing (shared with the CLI)
# --------------------------------------------------------------------------- #


def parse_sizes(text: str) -> list[int]:
    """``"1000,2000"`` -> [1000, 2000]; BenchError for anything else."""
    out = []
    for part in str(text).split(","):
        part = part.strip().replace("_", "")
        try:
            n = int(part)
        except ValueError:
            raise BenchError(
                f"--stops takes comma-separated whole numbers, e.g. 1000,2000,5000; got {text!r}"
            ) from None
        if n < 2:
            raise BenchError(f"--stops: a day needs at least 2 stops, got {n}")
        out.append(n)
    return out


def parse_time_limits(text: str) -> list[float]:
    """``"10,60"`` -> [10.0, 60.0]; BenchError for anything else."""
    out = []
    for part in str(text).split(","):
        try:
            t = float(part.strip())
        except ValueError:
            raise BenchError(f"--time-limits takes comma-separated seconds, e.g. 10,60; got {text!r}") from None
        if not (t > 0 and math.isfinite(t)):
            raise BenchError(f"--time-limits: every limit must be above 0 seconds, got {part.strip()}")
        out.append(t)
    return out


def check_options(hubs: int, returns_share: float) -> None:
    if hubs < 1:
        raise BenchError(f"--hubs must be at least 1, got {hubs}")
    if not 0 <= returns_share < 1:
        raise BenchError(f"--returns-share must be at least 0 and below 1, got {returns_share}")


def limit_key(t: float) -> str:
    """10.0 -> ``"10s"``, 0.5 -> ``"0.5s"``: the suffix of the per-limit fields."""
    return f"{t:g}s"


# --------------------------------------------------------------------------- #
# The day
# --------------------------------------------------------------------------- #


class CityDay(msgspec.Struct, kw_only=True):
    problem: Problem
    places: list[tuple[float, float]]  # (lat, lon) per matrix index; hubs first
    hubs: list[tuple[float, float]]
    counts: dict[str, int]  # deliveries, pickup_point_deliveries, baskets, shop_pickups, returns...
    generate_s: float
    matrix_s: float


def load_geo(map_path: Path | str | None = None, cache_dir: Path | str | None = None) -> Any:
    """The map's street network, geocoder and shops (the network from the on-disk cache).

    Defaults as the settings have them: ``LAADBAK_MAP`` or the shipped extract,
    and ``<LAADBAK_VAR_DIR or var/>/cache``.
    """
    from backend.services.geo import Geo
    from backend.settings import DEFAULT_MAP

    if map_path is None:
        map_path = os.environ.get("LAADBAK_MAP") or DEFAULT_MAP
    if cache_dir is None:
        cache_dir = Path(os.environ.get("LAADBAK_VAR_DIR") or REPO_ROOT / "var") / "cache"
    if not Path(map_path).is_file():
        raise BenchError(f"the map {map_path} does not exist (LAADBAK_MAP)")
    return Geo.load(Path(map_path), Path(cache_dir))


def _snaps_ok(geo: Any, points: list[tuple[float, float]]) -> list[bool]:
    from backend.dispatch.network import PointOutsideMap

    out = []
    for lat, lon in points:
        try:
            out.append(geo.network.snap(lat, lon).distance_m < SNAP_OK_M)
        except PointOutsideMap:
            out.append(False)
    return out


def _hhmm(text: str) -> int:
    return parse_hhmm(text)


def _slot(name: str) -> Window:
    a, b = SLOTS[name]
    return Window(_hhmm(a), _hhmm(b))


def _shop_hours(raw: str | None, day: dt.date) -> tuple[Window, ...]:
    periods = parse_osm_opening_hours(raw or "")
    windows = windows_on(periods, day) if periods else None
    if windows and sum(w.end - w.start for w in windows) >= 5 * 3600:
        return windows
    return windows_on(DEFAULT_SHOP_HOURS, day) or ()


def generate_day(
    geo: Any,
    stops: int,
    *,
    hubs: int = DEFAULT_HUBS,
    returns_share: float = DEFAULT_RETURNS_SHARE,
    seed: int = DEFAULT_SEED,
    day: dt.date = DEFAULT_DAY,
    with_matrices: bool = True,
) -> CityDay:
    """A day of exactly ``stops`` stops with ``hubs`` hubs (see the module docstring).

    The same arguments give the same day. ``with_matrices=False`` leaves the
    matrices empty (for looking at the day without routing it).
    """
    if stops < 2:
        raise BenchError(f"a day needs at least 2 stops, got {stops}")
    check_options(hubs, returns_share)
    t0 = time.perf_counter()
    rng = random.Random(seed)
    city = _City(geo, day)
    hub_pts = _hub_points(city.addr_pts, hubs, rng)
    builder = _DayBuilder(city, rng, list(hub_pts))
    builder.fill(stops, returns_share)
    places, plan_stops, counts = builder.places, builder.stops, builder.counts
    couriers, vehicles = _vehicles(hubs, stops)
    counts["stops"] = len(plan_stops)
    counts["pickups"] = counts["shop_pickups"] + counts["returns"]
    counts["couriers"] = couriers
    counts["hubs"] = hubs
    counts["places"] = len(places)
    counts["distinct_places"] = len(set(places))
    generate_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    if with_matrices:
        time_m, dist_m = geo.network.matrices(places)
    else:
        time_m = dist_m = np.zeros((0, 0), dtype=np.int64)
    matrix_s = time.perf_counter() - t1
    problem = Problem(
        time_s=np.asarray(time_m, dtype=np.int64),
        dist_m=np.asarray(dist_m, dtype=np.int64),
        vehicles=tuple(vehicles),
        stops=tuple(plan_stops),
    )
    return CityDay(
        problem=problem,
        places=places,
        hubs=hub_pts,
        counts=counts,
        generate_s=round(generate_s, 3),
        matrix_s=round(matrix_s, 3),
    )


class _City:
    """The map's places a day is drawn from: addresses and street nodes (doors), shops with
    their hours on ``day``, pickup points; only those on the cargo-bike network."""

    def __init__(self, geo: Any, day: dt.date) -> None:
        net = geo.network
        addresses = sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber, a.lat, a.lon))
        addr_pts = [(a.lat, a.lon) for a in addresses]
        self.addr_pts = [p for p, ok in zip(addr_pts, _snaps_ok(geo, addr_pts), strict=True) if ok]
        if not self.addr_pts:
            raise BenchError("the map has no addresses on the cargo-bike network")
        self.node_pts = [(float(a), float(b)) for a, b in zip(net.lat, net.lon, strict=True)]
        shops = sorted((p for p in geo.pois if p.kind == "shop" and p.street), key=lambda p: p.source)
        shops = [p for p, ok in zip(shops, _snaps_ok(geo, [(p.lat, p.lon) for p in shops]), strict=True) if ok]
        self.shop_hours = {p.source: _shop_hours(p.opening_hours, day) for p in shops}
        self.open_for = {  # shops where goods for a basket in this slot can be collected in time
            slot: [p for p in shops if intersect(self.shop_hours[p.source], (Window(6 * 3600, _slot(slot).end - 900),))]
            for slot in ("afternoon", "evening")
        }
        points = sorted(
            (p for p in geo.pois if p.value in ("parcel_locker", "kiosk", "convenience", "supermarket")),
            key=lambda p: p.source,
        )
        self.points = [p for p, ok in zip(points, _snaps_ok(geo, [(p.lat, p.lon) for p in points]), strict=True) if ok]


def _hub_points(addr_pts: list[tuple[float, float]], hubs: int, rng: random.Random) -> list[tuple[float, float]]:
    """Hubs: spread on a ring around the centre, each at the nearest address."""
    lats = [p[0] for p in addr_pts]
    lons = [p[1] for p in addr_pts]
    clat, clon = statistics.fmean(lats), statistics.fmean(lons)
    rlat, rlon = (max(lats) - min(lats)) * 0.25, (max(lons) - min(lons)) * 0.25
    phase = rng.uniform(0, 2 * math.pi)
    hub_pts: list[tuple[float, float]] = []
    for k in range(hubs):
        if hubs == 1:
            target = (clat, clon)
        else:
            a = phase + 2 * math.pi * k / hubs
            target = (clat + rlat * math.sin(a), clon + rlon * math.cos(a))
        free = [p for p in addr_pts if p not in hub_pts] or addr_pts
        hub_pts.append(min(free, key=lambda p: (p[0] - target[0]) ** 2 + ((p[1] - target[1]) * 0.5) ** 2))
    return hub_pts


class _DayBuilder:
    """Draws the day's orders into stops, each at a new place after the hubs."""

    def __init__(self, city: _City, rng: random.Random, places: list[tuple[float, float]]) -> None:
        self.city, self.rng, self.places = city, rng, places
        self.stops: list[Stop] = []
        self.counts = {
            "deliveries": 0,
            "door_deliveries": 0,
            "pickup_point_deliveries": 0,
            "baskets": 0,
            "shop_pickups": 0,
            "returns": 0,
            "windowed": 0,
        }

    def door(self) -> tuple[float, float]:
        rng = self.rng
        return (
            rng.choice(self.city.addr_pts) if rng.random() < DOOR_AT_ADDRESS_SHARE else rng.choice(self.city.node_pts)
        )

    def add(
        self,
        kind: str,
        sid: str,
        place: tuple[float, float],
        windows: tuple[Window, ...],
        service: int,
        kg: float,
        litres: float,
        pickups: tuple[str, ...] = (),
    ) -> None:
        self.places.append(place)
        self.stops.append(
            Stop(
                id=sid,
                kind=kind,  # type: ignore[arg-type]
                location=len(self.places) - 1,
                windows=windows,
                service_s=service,
                weight_kg=round(kg, 1),
                volume_l=round(litres, 1),
                pickups=pickups,
            )
        )

    def parcels(self) -> tuple[float, float]:
        rng = self.rng
        n = rng.choice((1, 1, 1, 2))
        return (
            sum(rng.uniform(0.3, 5.0) for _ in range(n)),
            sum(rng.uniform(1.0, 12.0) for _ in range(n)),
        )

    def door_window(self) -> tuple[Window, ...]:
        roll = self.rng.random()
        if roll < 0.30:
            return (_slot("morning"),)
        if roll < 0.55:
            return (_slot("afternoon"),)
        if roll < 0.80:
            return (_slot("evening"),)
        self.counts["windowed"] += 1
        start = self.rng.randint(9, 19)
        return (Window(start * 3600, (start + 2) * 3600),)

    def fill(self, stops: int, returns_share: float) -> None:
        """Orders until there are exactly ``stops`` stops."""
        rng, counts, open_for = self.rng, self.counts, self.city.open_for
        order = 0
        while len(self.stops) < stops:
            order += 1
            left = stops - len(self.stops)
            roll = rng.random()
            if roll < returns_share:
                kg, litres = rng.uniform(0.5, 8.0), rng.uniform(2.0, 30.0)
                window: tuple[Window, ...] = (_slot("morning"),) if rng.random() < 0.5 else (_slot("afternoon"),)
                self.add("pickup", f"r{order}", self.door(), window, 120, kg, litres)
                counts["returns"] += 1
                continue
            kind = rng.random()
            if kind < BASKET_SHARE and open_for["afternoon"] and open_for["evening"] and left >= 2:
                self.basket(order, left)
                continue
            kg, litres = self.parcels()
            if kind < BASKET_SHARE + PICKUP_POINT_SHARE and self.city.points:
                pp = rng.choice(self.city.points)
                window = intersect(
                    self.door_window(),
                    POINT_HOURS if pp.value != "parcel_locker" else (Window(0, 86399),),
                )
                self.add(
                    "delivery",
                    f"d{order}",
                    (pp.lat, pp.lon),
                    window or (_slot("day"),),
                    60,
                    kg,
                    litres,
                )
                counts["pickup_point_deliveries"] += 1
            else:
                self.add("delivery", f"d{order}", self.door(), self.door_window(), 120, kg, litres)
                counts["door_deliveries"] += 1
            counts["deliveries"] += 1

    def basket(self, order: int, left: int) -> None:
        """Goods from one or two shops, collected there and delivered together at a door."""
        rng, counts = self.rng, self.counts
        n_shops = 2 if (rng.random() < 0.2 and left >= 3) else 1
        slot = rng.choice(("afternoon", "evening"))
        window = (_slot(slot),)
        chosen = rng.sample(self.city.open_for[slot], k=min(n_shops, len(self.city.open_for[slot])))
        ids = []
        for j, shop in enumerate(chosen):
            # collected during opening hours, a quarter of an hour before the door's window ends
            pw = intersect(self.city.shop_hours[shop.source], (Window(6 * 3600, window[0].end - 900),))
            sid = f"s{order}.{j + 1}"
            self.add(
                "pickup",
                sid,
                (shop.lat, shop.lon),
                pw,
                180,
                rng.uniform(0.3, 3.0),
                rng.uniform(1.0, 8.0),
            )
            ids.append(sid)
            counts["shop_pickups"] += 1
        own_kg, own_l = self.parcels() if rng.random() < 0.5 else (0.0, 0.0)
        self.add("delivery", f"d{order}", self.door(), window, 120, own_kg, own_l, tuple(ids))
        counts["baskets"] += 1
        counts["deliveries"] += 1
        counts["door_deliveries"] += 1


def _vehicles(hubs: int, stops: int) -> tuple[int, list[Vehicle]]:
    """Enough couriers for the stops, taking turns: hubs, shifts (morning, afternoon-evening)
    and bike types all mix."""
    couriers = max(hubs, 2, math.ceil(stops / STOPS_PER_COURIER))
    vehicles = []
    for i in range(couriers):
        hub = i % hubs
        payload, volume, range_km, speed = BIKES[(i // 2) % 2]
        start, end = SHIFTS[i % 2]
        vehicles.append(
            Vehicle(
                id=f"h{hub + 1}-c{i // hubs + 1}",
                start_location=hub,
                end_location=hub,
                shift=Window(_hhmm(start), _hhmm(end)),
                payload_kg=payload,
                volume_l=volume,
                max_distance_m=range_km * 1000,
                speed_factor=speed,
            )
        )
    return couriers, vehicles


# --------------------------------------------------------------------------- #
# One size (in the worker process)
# --------------------------------------------------------------------------- #


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # Linux reports kilobytes (macOS bytes; this bench targets Linux)
    kb = resource.getrusage(who).ru_maxrss
    return round(kb / 1024 if sys.platform != "darwin" else kb / 2**20, 1)


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_size(
    stops: int,
    time_limits: list[float],
    *,
    hubs: int = DEFAULT_HUBS,
    returns_share: float = DEFAULT_RETURNS_SHARE,
    seed: int = DEFAULT_SEED,
    first_solution: str | None = None,
    metaheuristic: str | None = None,
    geo: Any = None,
    map_path: Path | str | None = None,
    cache_dir: Path | str | None = None,
    quality: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build one day and solve it once per time limit, in this process.

    ``quality`` (``limit_s``, ``factor``, ``mixes``): also the real-day quality
    benchmark on this day (:mod:`backend.bench.quality_bench`), in ``out["quality"]``.
    """
    from backend.dispatch.feasibility import check
    from backend.dispatch.solver import solve

    t0 = time.perf_counter()
    if geo is None:
        geo = load_geo(map_path, cache_dir)
    load_map_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    city = generate_day(geo, stops, hubs=hubs, returns_share=returns_share, seed=seed)
    build_s = time.perf_counter() - t1
    problem = city.problem
    out: dict[str, Any] = {
        "stops": len(problem.stops),
        "places": city.counts["places"],
        "couriers": len(problem.vehicles),
        "hubs": hubs,
        "day": city.counts,
        "load_map_s": round(load_map_s, 3),
        "build_s": round(build_s, 3),
        "matrix_s": city.matrix_s,
        "rss_after_build_mb": _rss_mb(),
    }
    _progress(
        f"city {stops}: {out['places']} places, {out['couriers']} couriers at {hubs} hubs,"
        f" built in {build_s:.1f} s (matrices {city.matrix_s:.1f} s)"
    )
    feasible = True
    for n, limit in enumerate(time_limits):
        key = limit_key(limit)
        timings: dict[str, float] = {}
        t2 = time.perf_counter()
        plan = solve(
            problem,
            limit,
            timings=timings,
            first_solution=first_solution,
            metaheuristic=metaheuristic,
        )
        wall = time.perf_counter() - t2
        violations = check(problem, plan)
        feasible = feasible and not violations
        first = timings.get("first_solution")
        if n == 0:
            out["first_feasible_s"] = None
            out["first_feasible_limit_s"] = None
        left_out = timings.get("first_solution_unperformed")
        out[f"first_solution_unperformed_{key}"] = None if left_out is None else int(left_out)
        # A first solution that leaves most stops out is no plan anyone would ride:
        # it counts only when it serves all but FIRST_PLAN_MAX_OUT of the stops.
        whole = left_out is None or left_out <= FIRST_PLAN_MAX_OUT * len(problem.stops)
        if out["first_feasible_s"] is None and first is not None and whole:
            # from the shortest limit that saw such a first solution (a big day's
            # model build alone can take longer than 10 s)
            out["first_feasible_s"] = round(first, 3)
            out["first_feasible_limit_s"] = limit
        reasons: dict[str, int] = {}
        for u in plan.unplanned:
            reasons[u.reason] = reasons.get(u.reason, 0) + 1
        out[f"cost_{key}"] = plan.cost
        out[f"unplanned_{key}"] = len(plan.unplanned)
        out[f"unplanned_reasons_{key}"] = reasons
        out[f"distance_m_{key}"] = plan.distance_m
        out[f"vehicles_{key}"] = len([r for r in plan.routes if r.stops])
        out[f"violations_{key}"] = len(violations)
        out[f"feasible_{key}"] = not violations
        out[f"solve_s_{key}"] = round(wall, 3)
        out[f"status_{key}"] = plan.status
        out[f"timings_{key}"] = {k: round(v, 3) for k, v in sorted(timings.items())}
        first = timings.get("first_solution")
        _progress(
            f"city {stops}, {key}: cost {plan.cost}, {len(plan.unplanned)} unplanned,"
            f" {len(violations)} violations, first solution after"
            f" {'none' if first is None else f'{first:.2f} s'}, {wall:.1f} s in all"
        )
    if quality:
        from backend.bench.quality_bench import run_quality

        out["quality"] = run_quality(
            problem,
            quality["limit_s"],
            factor=quality["factor"],
            mixes=tuple(quality["mixes"]),
            seed=seed,
            label=f"city {stops} ",
        )
        feasible = feasible and all(r.get("feasible") is not False for r in out["quality"].values())
    out["feasible"] = feasible
    out["peak_rss_mb"] = _rss_mb()
    return out


# --------------------------------------------------------------------------- #
# All sizes, one fresh process each
# --------------------------------------------------------------------------- #


def run_city_bench(
    sizes: list[int] | tuple[int, ...] = DEFAULT_SIZES,
    time_limits: list[float] | tuple[float, ...] = DEFAULT_TIME_LIMITS,
    *,
    hubs: int = DEFAULT_HUBS,
    returns_share: float = DEFAULT_RETURNS_SHARE,
    seed: int = DEFAULT_SEED,
    first_solution: str | None = None,
    metaheuristic: str | None = None,
    map_path: Path | str | None = None,
    cache_dir: Path | str | None = None,
    quality: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every size in its own freshly started Python process, one after the other.

    ``quality``: see :func:`run_size`; the summary's ``quality`` is over every size.
    """
    sizes = list(sizes)
    time_limits = list(time_limits)
    if not sizes:
        raise BenchError("--stops: give at least one size")
    if not time_limits:
        raise BenchError("--time-limits: give at least one limit")
    for n in sizes:
        if n < 2:
            raise BenchError(f"--stops: a day needs at least 2 stops, got {n}")
    for t in time_limits:
        if not t > 0:
            raise BenchError(f"--time-limits: every limit must be above 0 seconds, got {t}")
    check_options(hubs, returns_share)
    t0 = time.perf_counter()
    rows = []
    for n in sizes:
        spec = {
            "stops": n,
            "time_limits": time_limits,
            "hubs": hubs,
            "returns_share": returns_share,
            "seed": seed,
            "first_solution": first_solution,
            "metaheuristic": metaheuristic,
            "map_path": None if map_path is None else str(map_path),
            "cache_dir": None if cache_dir is None else str(cache_dir),
            "quality": quality,
        }
        rows.append(_run_worker(spec))
    summary: dict[str, Any] = {
        "suite": "city",
        "sizes": sizes,
        "time_limits_s": time_limits,
        "hubs": hubs,
        "returns_share": returns_share,
        "seed": seed,
        "feasible": all(r.get("feasible") is True for r in rows),
        "max_peak_rss_mb": max((r.get("peak_rss_mb") or 0.0 for r in rows), default=None),
        "targets": _targets(rows),
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_count": os.cpu_count(),
    }
    if quality:
        from backend.bench.quality_bench import summarize

        over = summarize([r.get("quality") or {} for r in rows])
        over.update(limit_s=quality["limit_s"], reference_factor=quality["factor"])
        summary["quality"] = over
        summary["targets"]["ratio_to_reference_le_1.01"] = over["all_meet_target"]
    return {"suite": "city", "sizes": rows, "summary": summary}


def _run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "backend.bench.city_bench", "--worker", json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env,
        cwd=str(REPO_ROOT),
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        why = (
            f"killed by signal {-proc.returncode} (out of memory?)"
            if proc.returncode < 0
            else f"exited with status {proc.returncode}"
        )
        return {
            "stops": spec["stops"],
            "error": f"the worker {why}; see its output above",
            "feasible": None,
            "peak_rss_mb": None,
        }
    return json.loads(lines[-1])


def _targets(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Issue #5's targets for the sizes that were run: met, missed, or not measured."""
    out: dict[str, Any] = {}
    for r in rows:
        n = r.get("stops")
        goal = FIRST_FEASIBLE_TARGET_S.get(n) if isinstance(n, int) else None
        if goal is not None:
            got = r.get("first_feasible_s")
            out[f"first_feasible_{n}_le_{goal:g}s"] = None if got is None else got <= goal
    peaks = [r.get("peak_rss_mb") for r in rows]
    out[f"peak_rss_le_{PEAK_RSS_TARGET_MB:g}mb"] = (
        None if any(p is None for p in peaks) else all(p is not None and p <= PEAK_RSS_TARGET_MB for p in peaks)
    )
    return out


def _worker_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    result = run_size(
        int(spec["stops"]),
        [float(t) for t in spec["time_limits"]],
        hubs=int(spec["hubs"]),
        returns_share=float(spec["returns_share"]),
        seed=int(spec["seed"]),
        first_solution=spec.get("first_solution"),
        metaheuristic=spec.get("metaheuristic"),
        map_path=spec.get("map_path"),
        cache_dir=spec.get("cache_dir"),
        quality=spec.get("quality"),
    )
    print(json.dumps(result), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.bench.city_bench")
    parser.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    parser.add_argument("--stops", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--time-limits", default=",".join(f"{t:g}" for t in DEFAULT_TIME_LIMITS))
    parser.add_argument("--hubs", type=int, default=DEFAULT_HUBS)
    parser.add_argument("--returns-share", type=float, default=DEFAULT_RETURNS_SHARE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.worker:
        return _worker_main(args.worker)
    try:
        result = run_city_bench(
            parse_sizes(args.stops),
            parse_time_limits(args.time_limits),
            hubs=args.hubs,
            returns_share=args.returns_share,
            seed=args.seed,
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
