"""Planner quality on the Solomon and Li & Lim suites: gap to best-known, feasibility.

``run_plan_bench`` solves each instance with the planner
(:func:`backend.dispatch.portfolio.solve_best`: its runs at once on the cores
of a process pool, the best checked plan wins; ``engines`` chooses the runs,
e.g. ``("ortools",)`` to measure OR-Tools alone), checks every plan with
:func:`backend.dispatch.feasibility.check` (and re-times it
with exact distances), and returns one JSON-able dict. Progress goes to stderr.
Gaps are on each route's distance recomputed with exact Euclidean distances,
against the distance-only best-known column (Solomon ``distance_only``; Li & Lim
``distance``, the only one it has) or, with ``objective="vehicles"``, against the
vehicles-then-distance column. ``same_vehicles_share`` is the share of instances
(with a best-known value) where the plan uses exactly as many bikes as that
best-known solution.

With ``peer="pyvrp"`` every instance is solved a second time by PyVRP
(:mod:`backend.bench.pyvrp_peer`), right after ours, never at the same time,
with the same wall-clock limit and the same integer problem; the peer's plan
goes through the same checker and exact-distance recomputation.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.dispatch import benchmarks as B
from backend.dispatch.feasibility import check
from backend.dispatch.portfolio import DEFAULT_ENGINES, ENGINES, solve_best
from backend.dispatch.solver import DEFAULT_FIRST_SOLUTION, DEFAULT_METAHEURISTIC

SUITES = ("solomon", "lilim100")
PEERS = ("pyvrp",)
REPO_ROOT = Path(__file__).resolve().parents[2]


def bench_dir(suite: str) -> Path:
    """``$LAADBAK_BENCH_DIR/<suite>`` if set, else ``<repo>/../shared/bench/<suite>``."""
    base = os.environ.get("LAADBAK_BENCH_DIR")
    root = Path(base) if base else REPO_ROOT.parent / "shared" / "bench"
    return root / suite


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_plan_bench(
    suite: str,
    instances: list[str] | None = None,
    files: list[str] | None = None,
    bks: str | None = None,
    time_limit_s: float = 10.0,
    objective: str = "distance",
    *,
    first_solution: str | None = None,
    metaheuristic: str | None = None,
    peer: str | None = None,
    peer_seed: int = 0,
    engines: tuple[str, ...] = DEFAULT_ENGINES,
) -> dict[str, Any]:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r} (one of {', '.join(SUITES)})")
    if objective not in ("distance", "vehicles"):
        raise ValueError(f"unknown objective {objective!r}")
    if not time_limit_s > 0:
        raise ValueError(f"the time limit must be above 0 seconds, got {time_limit_s}")
    engines = parse_engines(",".join(engines))  # unknown runs stop here, before any solving
    solve_peer = None
    if peer is not None:
        if peer not in PEERS:
            raise ValueError(f"unknown peer solver {peer!r} (one of {', '.join(PEERS)})")
        from backend.bench import pyvrp_peer

        pyvrp_peer.require_pyvrp()  # PeerUnavailable (how to install it) before any solving
        solve_peer = pyvrp_peer.solve_peer
    data = bench_dir(suite)
    if files:
        paths = [Path(f) for f in files]
    else:
        if not data.is_dir():
            raise FileNotFoundError(f"no benchmark data at {data} (set LAADBAK_BENCH_DIR)")
        by_name = {p.stem.upper(): p for p in data.glob("*.txt")}
        if instances:
            missing = [i for i in instances if i.upper() not in by_name]
            if missing:
                raise ValueError(f"unknown instances for {suite}: {', '.join(missing)}")
            paths = [by_name[i.upper()] for i in instances]
        else:
            paths = [by_name[k] for k in sorted(by_name, key=_sort_key)]
    bks_path = Path(bks) if bks else data / "bks.csv"
    best = B.read_bks(bks_path) if bks_path.is_file() else {}

    rows: list[dict[str, Any]] = []
    pool = _pool(len(engines))
    t_all = time.perf_counter()
    run = _Run(
        lilim=suite == "lilim100" and not files,
        objective=objective,
        best=best,
        time_limit_s=time_limit_s,
        ortools={"first_solution": first_solution, "metaheuristic": metaheuristic},
        engines=engines,
        pool=pool,
        solve_peer=solve_peer,
        peer=peer,
        peer_seed=peer_seed,
    )
    try:
        for n, path in enumerate(paths, start=1):
            rows.append(_instance_row(run, path, f"[{n}/{len(paths)}]"))
    finally:
        pool.shutdown(cancel_futures=True)

    gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
    summary: dict[str, Any] = {
        "suite": suite,
        "objective": objective,
        "time_limit_s": time_limit_s,
        "instances": len(rows),
        "mean_gap_pct": round(statistics.fmean(gaps), 3) if gaps else None,
        "median_gap_pct": round(statistics.median(gaps), 3) if gaps else None,
        "max_gap_pct": round(max(gaps), 3) if gaps else None,
        "feasible": sum(r["feasible"] for r in rows),
        "violations": sum(r["violations"] for r in rows),
        "exact_time_violations": sum(r["exact_time_violations"] for r in rows),
        "vehicles": sum(r["vehicles"] for r in rows),
        "bks_vehicles": sum(r["bks_vehicles"] or 0 for r in rows),
        "same_vehicles_share": _same_vehicles_share(rows, "vehicles"),
        "mean_seconds": round(statistics.fmean(r["seconds"] for r in rows), 3) if rows else None,
        "wall_s": round(time.perf_counter() - t_all, 1),
        "first_solution": first_solution or DEFAULT_FIRST_SOLUTION,
        "metaheuristic": metaheuristic or DEFAULT_METAHEURISTIC,
        "by_class": _by_class(rows),
        "engines": list(engines),
        # whose plan won, per instance: "ortools", "pyvrp" or "ortools+pyvrp" (PyVRP from OR-Tools')
        "engine_wins": dict(Counter(r["engine"] for r in rows)),
        "cpu_count": os.cpu_count(),
    }
    if peer is not None:
        summary.update(_peer_summary(peer, rows))
    return {"instances": rows, "summary": summary}


@dataclass(frozen=True)
class _Run:
    """What every instance of one bench run is solved with."""

    lilim: bool  # the Li & Lim file format
    objective: str
    best: dict[str, Any]
    time_limit_s: float
    ortools: dict[str, Any]
    engines: tuple[str, ...]
    pool: concurrent.futures.Executor
    solve_peer: Any
    peer: str | None
    peer_seed: int


def _instance_row(run: _Run, path: Path, tag: str) -> dict[str, Any]:
    inst = B.read_lilim(path) if run.lilim else B.read_instance(path)
    problem = B.to_problem(inst, run.objective)  # type: ignore[arg-type]
    coords = [(c.x, c.y) for c in inst.nodes]  # matrix place i is node i
    t0 = time.perf_counter()
    scores: list[dict[str, Any]] = []
    plan = solve_best(
        problem,
        run.time_limit_s,
        executor=run.pool,
        engines=run.engines,
        coords=coords,
        report=scores,
        **run.ortools,
    )
    seconds = time.perf_counter() - t0
    violations = check(problem, plan)
    distance = B.exact_distance(inst, plan)
    bk = run.best.get(inst.name.upper()) or run.best.get(path.stem.upper())
    ref = ref_vehicles = None
    if bk is not None:
        if run.objective == "distance" and bk.distance_only is not None:
            ref, ref_vehicles = bk.distance_only, bk.distance_only_vehicles
        else:
            ref, ref_vehicles = bk.distance, bk.vehicles
    gap = _gap(distance, ref)
    row: dict[str, Any] = {
        "instance": inst.name,
        "vehicles": len([r for r in plan.routes if r.stops]),
        "distance": round(distance, 3),
        "bks_distance": ref,
        "bks_vehicles": ref_vehicles,
        "gap_pct": gap,
        "seconds": round(seconds, 3),
        "feasible": not violations and not plan.unplanned,
        "violations": len(violations),
        "unplanned": len(plan.unplanned),
        "exact_time_violations": B.exact_time_violations(inst, plan),
        "status": plan.status,
        "engine": plan.engine,  # whose plan won
        "engines": scores,  # every engine's plan: violations, unplanned, cost by the objective
    }
    _progress(
        f"{tag} {inst.name}: {row['vehicles']} bikes, {distance:.2f}"
        f" (bks {ref}, gap {gap}%), {seconds:.1f} s,"
        f" {'feasible' if row['feasible'] else 'INFEASIBLE'}, {plan.engine}'s plan"
    )
    if run.solve_peer is not None:
        # after ours, never beside it: the machine's cores are not shared between the two
        row.update(
            _peer_row(
                run.solve_peer(problem, run.time_limit_s, seed=run.peer_seed, coords=coords),
                inst,
                problem,
                ref,
                row,
                run.objective,
            )
        )
        _progress(
            f"{tag} {inst.name} {run.peer}: {row['peer_vehicles']} bikes,"
            f" {row['peer_distance']} (gap {row['peer_gap_pct']}%), {row['peer_seconds']} s,"
            f" {row['peer_status']}, {'feasible' if row['peer_feasible'] else 'INFEASIBLE'}"
            f" by our checker; ours/peer {row['ratio_vs_peer']}"
        )

    return row


def _pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` solver processes, started before the clock runs."""
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")
    )
    list(pool.map(_warm, range(max(1, workers))))
    return pool


def _warm(_: int) -> None:
    """The engines' imports, paid once per worker and not by the first instance."""
    from backend.dispatch import portfolio, pyvrp_engine

    with contextlib.suppress(pyvrp_engine.PyVRPUnavailable):
        pyvrp_engine.require_pyvrp()
    del portfolio


def _gap(distance: float | None, ref: float | None) -> float | None:
    if distance is None or not ref:
        return None
    return round(100.0 * (distance - ref) / ref, 3) + 0.0  # + 0.0: no "-0.0"


def _peer_row(
    result: Any,
    inst: B.Instance,
    problem: Any,
    ref: float | None,
    ours: dict[str, Any],
    objective: str,
) -> dict[str, Any]:
    """The peer's figures for one instance, judged like ours (checker, exact distances)."""
    plan = result.plan
    if plan is None:  # the problem uses what the peer cannot model
        return {
            "peer_status": result.status,
            "peer_reason": result.reason,
            "peer_distance": None,
            "peer_gap_pct": None,
            "peer_vehicles": None,
            "peer_seconds": result.seconds,
            "peer_feasible": False,
            "peer_violations": None,
            "peer_unplanned": None,
            "peer_exact_time_violations": None,
            "ratio_vs_peer": None,
            "distance_ratio_vs_peer": None,
            "vehicles_vs_peer": None,
        }
    violations = check(problem, plan)
    distance = B.exact_distance(inst, plan)
    feasible = not violations and not plan.unplanned
    vehicles = len([r for r in plan.routes if r.stops])
    return {
        "peer_status": result.status,  # the peer's own verdict on its best solution
        "peer_distance": round(distance, 3),
        "peer_gap_pct": _gap(distance, ref),
        "peer_vehicles": len([r for r in plan.routes if r.stops]),
        "peer_seconds": result.seconds,
        "peer_feasible": feasible,
        "peer_violations": len(violations),
        "peer_unplanned": len(plan.unplanned),
        "peer_exact_time_violations": B.exact_time_violations(inst, plan),
        **ratio_fields(ours, round(distance, 3), vehicles, feasible, objective),
    }


def ratio_fields(
    ours: dict[str, Any], peer_distance: float, peer_vehicles: int, peer_ok: bool, objective: str
) -> dict[str, Any]:
    """Ours against the peer on one instance, by the instance's objective.

    ``distance_ratio_vs_peer``: ours / peer exact distance, when both plans are
    feasible. ``ratio_vs_peer`` is that ratio where it compares like with like:
    always for ``objective="distance"``; for ``"vehicles"`` (fewest bikes first)
    only when both use as many bikes. A plan with fewer bikes is the better one
    there whatever its distance, and ``vehicles_vs_peer`` (ours minus the peer's)
    says who won on bikes.
    """
    both = bool(peer_ok and ours["feasible"] and peer_distance > 0)
    distance_ratio = round(ours["distance"] / peer_distance, 4) if both else None
    same = objective == "distance" or ours["vehicles"] == peer_vehicles
    return {
        "ratio_vs_peer": distance_ratio if same else None,
        "distance_ratio_vs_peer": distance_ratio,
        "vehicles_vs_peer": ours["vehicles"] - peer_vehicles if both else None,
    }


def _same_vehicles_share(rows: list[dict[str, Any]], key: str) -> float | None:
    """Share of instances (with a best-known vehicle count) where ``key`` equals it."""
    known = [r for r in rows if r.get("bks_vehicles") is not None and r.get(key) is not None]
    if not known:
        return None
    return round(sum(r[key] == r["bks_vehicles"] for r in known) / len(known), 3)


def _peer_summary(peer: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from backend.bench.pyvrp_peer import pyvrp_version

    ratios = [r["ratio_vs_peer"] for r in rows if r.get("ratio_vs_peer") is not None]
    distance_ratios = [r["distance_ratio_vs_peer"] for r in rows if r.get("distance_ratio_vs_peer") is not None]
    bikes = [r["vehicles_vs_peer"] for r in rows if r.get("vehicles_vs_peer") is not None]
    gaps = [r["peer_gap_pct"] for r in rows if r.get("peer_gap_pct") is not None]
    seconds = [r["peer_seconds"] for r in rows if r.get("peer_status") != "unavailable"]
    return {
        "peer": peer,
        "peer_version": pyvrp_version(),
        # ours / peer by the objective (see ratio_fields), mean where both plans are feasible
        "mean_ratio_vs_peer": round(statistics.fmean(ratios), 4) if ratios else None,
        "ratio_instances": len(ratios),
        # ours / peer distance on every instance both solved, whatever the bikes
        "mean_distance_ratio_vs_peer": (round(statistics.fmean(distance_ratios), 4) if distance_ratios else None),
        "fewer_vehicles_than_peer": sum(b < 0 for b in bikes),
        "more_vehicles_than_peer": sum(b > 0 for b in bikes),
        "peer_mean_gap_pct": round(statistics.fmean(gaps), 3) if gaps else None,
        "peer_median_gap_pct": round(statistics.median(gaps), 3) if gaps else None,
        "peer_feasible": sum(bool(r.get("peer_feasible")) for r in rows),
        "peer_unavailable": sum(r.get("peer_status") == "unavailable" for r in rows),
        "peer_vehicles": sum(r.get("peer_vehicles") or 0 for r in rows),
        "peer_same_vehicles_share": _same_vehicles_share(rows, "peer_vehicles"),
        "peer_mean_seconds": round(statistics.fmean(seconds), 3) if seconds else None,
    }


def parse_engines(text: str) -> tuple[str, ...]:
    """``"ortools,pyvrp"`` as a tuple; ValueError naming what is unknown."""
    engines = tuple(e.strip() for e in text.split(",") if e.strip())
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ValueError(f"unknown engines {', '.join(unknown) or repr(text)}: choose from {', '.join(ENGINES)}")
    return engines


def _sort_key(name: str) -> tuple[str, int]:
    head = name.rstrip("0123456789")
    num = name[len(head) :]
    return (head, int(num) if num else 0)


def _by_class(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean gap per instance class (R1, R2, C1, ..., LRC2)."""
    groups: dict[str, list[float]] = {}
    for r in rows:
        if r["gap_pct"] is None:
            continue
        name = r["instance"].upper()
        head = name.rstrip("0123456789")
        digits = name[len(head) :]
        cls = head + (digits[0] if digits else "")
        groups.setdefault(cls, []).append(r["gap_pct"])
    return {k: round(statistics.fmean(v), 3) for k, v in sorted(groups.items())}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", choices=list(SUITES), default="solomon")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--instances", help="comma-separated names, e.g. R101,C201")
    parser.add_argument("--files", nargs="+", help="instance files in the suite's format")
    parser.add_argument("--bks", help="best-known values CSV for --files")
    parser.add_argument("--objective", choices=["distance", "vehicles"], default="distance")
    parser.add_argument("--first-solution", help="OR-Tools FirstSolutionStrategy name")
    parser.add_argument("--metaheuristic", help="OR-Tools LocalSearchMetaheuristic name")
    parser.add_argument("--peer", choices=list(PEERS), help="solve every instance with this solver too (same limit)")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES), help="the planner runs (see portfolio)")
    parser.add_argument("--json", action="store_true", help="one line of JSON")


def main(args: argparse.Namespace) -> int:
    instances = [s.strip() for s in args.instances.split(",")] if args.instances else None
    result = run_plan_bench(
        args.suite,
        instances,
        args.files,
        args.bks,
        args.time_limit,
        objective=args.objective,
        first_solution=getattr(args, "first_solution", None),
        metaheuristic=getattr(args, "metaheuristic", None),
        peer=getattr(args, "peer", None),
        engines=parse_engines(args.engines),
    )
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m backend.bench.plan_bench")
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
