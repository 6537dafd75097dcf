"""How good is a real day's plan? The product's plan against the best found with 10x the time.

For one day (a generated city day or the demo day) :func:`feature_mixes`
derives one problem per feature mix, on the same places and couriers:

* ``plain``: the day's plain deliveries (no shop pickups, no returns), one
  window each;
* ``baskets``: those plus the baskets (goods collected at one or two shops and
  handed over at one door, ``Stop.pickups``);
* ``windows``: the plain deliveries, a share (``SEVERAL_WINDOWS_SHARE``) of
  them with a second window (the customer may take it in the morning or the
  evening);
* ``multi_trip`` (also spelt ``multitrip``): the plain deliveries on bikes
  that reload at their hub (``Vehicle.reload_s`` = ``MULTI_TRIP_RELOAD_S``)
  and whose box holds about 1 / ``MULTI_TRIP_LOOPS`` of their share of the
  day's goods (never less than the largest parcel), so the day needs loops;
* ``locks``: the plain deliveries, a share (``LOCKED_SHARE``) of them locked
  on one courier (``Stop.vehicles``, as a re-plan keeps stops under way) and a
  few dispatcher's pins (``Problem.sequences``);
* ``day`` (on request only): the whole day as it is.

:func:`run_mix` plans each one as the product does (:func:`solve_best`, its
default runs, at the normal limit), then gives the engines ``factor`` times
that limit on the same problem (:func:`reference_engines`: OR-Tools alone for
the whole time, and, where PyVRP can express the problem, OR-Tools then PyVRP
from its plan and PyVRP cold; where it can only relax it, PyVRP on the
relaxation then OR-Tools from its plan, :mod:`backend.dispatch.pyvrp_translate`),
two runs at a time on the two workers. :func:`judge`
puts every plan through the independent checker
(:func:`backend.dispatch.feasibility.check`) and names the reference: the best
of all those plans *and the product's own* (fewest stops left out among the
plans without violations, then the lowest cost by the problem's objective,
:func:`backend.dispatch.portfolio.plan_cost`), so the reference is never worse
than the product's plan. ``ratio_to_reference`` is the product's cost over
the reference's, when both leave as many stops out (else None: the product's
plan is the worse one whatever it costs).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

import msgspec

from backend.dispatch.calendar import SLOTS, parse_hhmm
from backend.dispatch.feasibility import check
from backend.dispatch.model import Plan, Problem, Sequence, Stop, Window
from backend.dispatch.portfolio import (
    DEFAULT_ENGINES,
    choose,
    engines_for,
    plan_cost,
    pyvrp_can_plan,
    run_engine,
    solve_best,
)

MIXES = ("plain", "baskets", "windows", "multi_trip", "locks", "day")
DEFAULT_MIXES = ("plain", "baskets", "windows", "multi_trip", "locks")
DEFAULT_FACTOR = 10.0
TARGET_RATIO = 1.01  # issue #15: our cost at the normal limit / the best found at 10x
SEVERAL_WINDOWS_SHARE = 0.3
LOCKED_SHARE = 0.1
PINS = 3  # pinned sequences in the locks mix, of PIN_LENGTH stops each
PIN_LENGTH = 3
MULTI_TRIP_LOOPS = 3  # loops a bike needs, about, for its share of the multi_trip mix
MULTI_TRIP_RELOAD_S = 600


class QualityError(ValueError):
    """A bad option value, with a message a person can act on."""


def parse_mixes(text: str) -> tuple[str, ...]:
    """``"plain,locks"`` -> ("plain", "locks"); QualityError naming what is unknown."""
    mixes = tuple({"multitrip": "multi_trip"}.get(m.strip(), m.strip()) for m in str(text).split(",") if m.strip())
    unknown = [m for m in mixes if m not in MIXES]
    if unknown or not mixes:
        raise QualityError(f"--mixes takes some of {', '.join(MIXES)}; got {text!r}")
    return mixes


def check_factor(factor: float) -> float:
    if not factor >= 1:
        raise QualityError(
            f"--reference-factor must be at least 1 (the reference gets that many times the limit), got {factor}"
        )
    return float(factor)


# --------------------------------------------------------------------------- #
# The mixes
# --------------------------------------------------------------------------- #


def _plain(problem: Problem) -> list[Stop]:
    """Deliveries that collect nothing, one window each, free for any courier."""
    collected = {p for s in problem.stops for p in s.pickups}
    return [
        msgspec.structs.replace(s, windows=s.windows[:1], vehicles=(), due_s=None)
        for s in problem.stops
        if s.kind == "delivery" and not s.pickups and s.id not in collected
    ]


def _with(problem: Problem, stops: list[Stop], sequences: tuple[Sequence, ...] = ()) -> Problem:
    return msgspec.structs.replace(problem, stops=tuple(stops), sequences=sequences)


def _baskets(problem: Problem) -> Problem | str:
    by_id = {s.id: s for s in problem.stops}
    baskets = [s for s in problem.stops if s.kind == "delivery" and s.pickups]
    if not baskets:
        return "the day has no baskets (orders collected at shops)"
    keep = {s.id for s in _plain(problem)} | {s.id for s in baskets} | {p for s in baskets for p in s.pickups}
    return _with(problem, [msgspec.structs.replace(by_id[i], vehicles=(), due_s=None) for i in sorted(keep)])


def _second_window(w: Window) -> Window:
    """The other end of the day: the evening slot for a window opening before noon, else the morning."""
    name = "evening" if w.start < 12 * 3600 else "morning"
    a, b = SLOTS[name]
    return Window(parse_hhmm(a), parse_hhmm(b))


def _windows(problem: Problem, rng: random.Random) -> Problem | str:
    stops = _plain(problem)
    out, n = [], 0
    for s in stops:
        if s.windows and rng.random() < SEVERAL_WINDOWS_SHARE:
            other = _second_window(s.windows[0])
            if other.start > s.windows[0].end or other.end < s.windows[0].start:
                s = msgspec.structs.replace(s, windows=tuple(sorted((s.windows[0], other), key=lambda w: w.start)))
                n += 1
        out.append(s)
    return _with(problem, out) if n else "no delivery could take a second window"


def _multi_trip(problem: Problem) -> Problem | str:
    stops = _plain(problem)
    if not stops or not problem.vehicles:
        return "the day has no plain deliveries or no couriers"
    n = len(problem.vehicles) * MULTI_TRIP_LOOPS

    def box(values: list[float]) -> float:
        return max(max(values), sum(values) / n)

    kg, litres = box([s.weight_kg for s in stops]), box([s.volume_l for s in stops])
    vehicles = tuple(
        msgspec.structs.replace(
            v,
            payload_kg=min(v.payload_kg, kg),
            volume_l=min(v.volume_l, litres),
            reload_s=MULTI_TRIP_RELOAD_S,
            reload_location=v.start_location,
        )
        for v in problem.vehicles
    )
    return msgspec.structs.replace(_with(problem, stops), vehicles=vehicles)


def _can_serve(problem: Problem, v_idx: int, s: Stop) -> bool:
    """The courier can reach ``s`` within its first window and be back within the shift."""
    v = problem.vehicles[v_idx]
    there = int(problem.time_s[v.start_location][s.location] / v.speed_factor)
    back = int(problem.time_s[s.location][v.end_location] / v.speed_factor)
    w = s.windows[0] if s.windows else v.shift
    start = max(w.start, v.shift.start + there)
    return start <= w.end and start + s.service_s + back <= v.shift.end


def _locks(problem: Problem, rng: random.Random) -> Problem | str:
    stops = _plain(problem)
    taken: dict[str, list[Stop]] = {}
    out = []
    for s in stops:
        if rng.random() < LOCKED_SHARE:
            able = [i for i in range(len(problem.vehicles)) if _can_serve(problem, i, s)]
            if able:
                vid = problem.vehicles[rng.choice(able)].id
                s = msgspec.structs.replace(s, vehicles=(vid,))
                taken.setdefault(vid, []).append(s)
        out.append(s)
    if not taken:
        return "no delivery could be locked on a courier who can serve it"
    # pins: the most locked couriers' locked stops, topped up with free stops they can serve,
    # in the order their windows open
    pins: list[Sequence] = []
    pinned: set[str] = set()
    index = {v.id: i for i, v in enumerate(problem.vehicles)}
    for vid in sorted(taken, key=lambda v: (-len(taken[v]), v))[:PINS]:
        free = [s for s in out if not s.vehicles and s.id not in pinned and _can_serve(problem, index[vid], s)]
        run = (taken[vid] + rng.sample(free, k=min(len(free), PIN_LENGTH)))[:PIN_LENGTH]
        run.sort(key=lambda s: (s.windows[0].start if s.windows else 0, s.id))
        if len(run) >= 2:
            pins.append(Sequence(vehicle=vid, stops=tuple(s.id for s in run)))
            pinned.update(s.id for s in run)
    return _with(problem, out, tuple(pins))


def feature_mixes(problem: Problem, mixes: tuple[str, ...] = DEFAULT_MIXES, seed: int = 7) -> dict[str, Problem | str]:
    """One problem per mix of ``mixes`` (see the module docstring), or why the mix is not available."""
    out: dict[str, Problem | str] = {}
    for name in mixes:
        rng = random.Random(f"{seed}:{name}")
        if name == "plain":
            plain = _plain(problem)
            out[name] = _with(problem, plain) if plain else "the day has no plain deliveries"
        elif name == "baskets":
            out[name] = _baskets(problem)
        elif name == "windows":
            out[name] = _windows(problem, rng)
        elif name == "multi_trip":
            out[name] = _multi_trip(problem)
        elif name == "locks":
            out[name] = _locks(problem, rng)
        elif name == "day":
            out[name] = problem
        else:
            raise QualityError(f"unknown feature mix {name!r} (one of {', '.join(MIXES)})")
    return out


# --------------------------------------------------------------------------- #
# Planning and judging one mix
# --------------------------------------------------------------------------- #


def _score(problem: Problem, plan: Plan, role: str) -> dict[str, Any]:
    violations = check(problem, plan)
    return {
        "role": role,  # "product" or "reference"
        "engine": plan.engine,
        "cost": plan_cost(problem, plan),
        "unplanned": len(plan.unplanned),
        "violations": len(violations),
        "violation_rules": dict(Counter(v.rule for v in violations)),
        "vehicles": len([r for r in plan.routes if r.stops]),
        "distance_m": plan.distance_m,
        "solve_s": round(plan.solve_s, 3),
        "status": plan.status,
    }


def judge(problem: Problem, product: Plan, reference_plans: list[Plan]) -> dict[str, Any]:
    """The product's plan against the best of all plans (its own included), every plan checked."""
    plans = [product, *reference_plans]
    runs = [_score(problem, p, "product" if i == 0 else "reference") for i, p in enumerate(plans)]
    best, _ = choose(problem, plans)
    ref = runs[next(i for i, p in enumerate(plans) if p is best)]
    ours = runs[0]
    comparable = ours["violations"] == 0 and ours["unplanned"] <= ref["unplanned"] and ref["cost"] > 0
    ratio = round(ours["cost"] / ref["cost"], 4) if comparable else None
    return {
        "stops": len(problem.stops),
        "vehicles_available": len(problem.vehicles),
        "pyvrp_can_plan": pyvrp_can_plan(problem),
        "cost": ours["cost"],
        "unplanned": ours["unplanned"],
        "violations": ours["violations"],
        "violation_rules": ours["violation_rules"],
        "engine": ours["engine"],
        "reloads": sum(len(r.reloads) for r in product.routes),  # rides back to the hub between loops
        "reference_cost": ref["cost"],
        "reference_unplanned": ref["unplanned"],
        "reference_violations": ref["violations"],
        "reference_engine": ref["engine"],
        "reference_is_product": best is product,
        "ratio_to_reference": ratio,
        "meets_target": ratio is not None and ratio <= TARGET_RATIO and ref["violations"] == 0,
        "feasible": ours["violations"] == 0 and ref["violations"] == 0,
        "runs": runs,
    }


def reference_engines(problem: Problem) -> tuple[str, ...]:
    """Every kind of run the product makes on ``problem``, and OR-Tools alone: where PyVRP can
    express the problem, OR-Tools then PyVRP from its plan and PyVRP cold (the search that wins
    most of the product's plans: without it at 10x, on the city day of 500 stops with several
    windows, the reference was OR-Tools' 22,606 where PyVRP cold reaches 22,499-22,566 in
    30-100 s); where it can only relax it, PyVRP on the relaxation then OR-Tools from its plan,
    with baskets of several shops as chains, and split where a basket has several shops."""
    if pyvrp_can_plan(problem):
        return ("ortools", "ortools+pyvrp", "pyvrp")
    return tuple(dict.fromkeys(engines_for(problem, ("ortools", "relaxed", "relaxed-split"))))


def run_mix(
    problem: Problem,
    limit_s: float,
    factor: float,
    pool: concurrent.futures.Executor,
    *,
    seed: int = 1,
) -> dict[str, Any]:
    """The product's plan at ``limit_s`` and the reference runs at ``factor`` x ``limit_s``, judged."""
    t0 = time.perf_counter()
    product = solve_best(problem, limit_s, executor=pool, engines=DEFAULT_ENGINES, seed=seed)
    product_s = time.perf_counter() - t0
    engines = reference_engines(problem)
    t1 = time.perf_counter()
    futures = [pool.submit(run_engine, e, problem, limit_s * factor, seed + 10 + k) for k, e in enumerate(engines)]
    reference = [p for f in futures for p in f.result()]
    out = judge(problem, product, reference)
    out.update(
        {
            "limit_s": limit_s,
            "reference_limit_s": limit_s * factor,
            "reference_engines": list(engines),
            "product_s": round(product_s, 3),
            "reference_s": round(time.perf_counter() - t1, 3),
        }
    )
    return out


def _warm(_: int) -> None:
    from backend.dispatch import pyvrp_engine

    with contextlib.suppress(pyvrp_engine.PyVRPUnavailable):
        pyvrp_engine.require_pyvrp()


def run_quality(
    problem: Problem,
    limit_s: float,
    *,
    factor: float = DEFAULT_FACTOR,
    mixes: tuple[str, ...] = DEFAULT_MIXES,
    seed: int = 7,
    pool: concurrent.futures.Executor | None = None,
    label: str = "",
) -> dict[str, Any]:
    """Every mix of ``mixes`` on ``problem``'s day: ``{mix: row}``; an unavailable mix says why."""
    from backend.dispatch.pool import new_pool

    own = pool is None
    executor = pool or new_pool(2)
    out: dict[str, Any] = {}
    try:
        list(executor.map(_warm, range(2)))  # the engines' imports, paid before any clock runs
        for name, mix in feature_mixes(problem, mixes, seed).items():
            if isinstance(mix, str):
                out[name] = {"available": False, "reason": mix, "ratio_to_reference": None, "meets_target": None}
                continue
            row = {"available": True, **run_mix(mix, limit_s, factor, executor)}
            out[name] = row
            print(
                f"quality {label}{name}: {row['stops']} stops, cost {row['cost']} ({row['unplanned']} unplanned,"
                f" {row['violations']} violations) vs reference {row['reference_cost']} ({row['reference_engine']},"
                f" {row['reference_unplanned']} unplanned): ratio {row['ratio_to_reference']}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        if own:
            executor.shutdown(cancel_futures=True)
    return out


def summarize(by_mix: list[dict[str, Any]]) -> dict[str, Any]:
    """Over one or more days' ``run_quality`` results: per mix the worst ratio, and whether all meet the target."""
    per: dict[str, list[dict[str, Any]]] = {}
    for result in by_mix:
        for name, row in result.items():
            per.setdefault(name, []).append(row)
    mixes: dict[str, Any] = {}
    for name, rows in per.items():
        ratios = [r["ratio_to_reference"] for r in rows if r.get("available")]
        if not any(r.get("available") for r in rows):
            mixes[name] = {"available": False, "reason": rows[0].get("reason")}
            continue
        known = [x for x in ratios if x is not None]
        mixes[name] = {
            "available": True,
            "max_ratio_to_reference": max(known) if len(known) == len(ratios) else None,
            "mean_ratio_to_reference": round(statistics.fmean(known), 4) if known else None,
            "meets_target": all(r.get("meets_target") for r in rows if r.get("available")),
            "violations": sum(r.get("violations") or 0 for r in rows if r.get("available")),
        }
    available = [m for m in mixes.values() if m["available"]]
    return {
        "target_ratio": TARGET_RATIO,
        "mixes": mixes,
        "all_meet_target": bool(available) and all(m["meets_target"] for m in available),
    }
