"""Planner quality on the Solomon and Li & Lim suites: gap to best-known, feasibility.

``run_plan_bench`` solves each instance with :func:`backend.dispatch.solver.solve`,
checks every plan with :func:`backend.dispatch.feasibility.check` (and re-times it
with exact distances), and returns one JSON-able dict. Progress goes to stderr.
Gaps are on each route's distance recomputed with exact Euclidean distances,
against the distance-only best-known column (Solomon ``distance_only``; Li & Lim
``distance``, the only one it has) or, with ``objective="vehicles"``, against the
vehicles-then-distance column.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from backend.dispatch import benchmarks as B
from backend.dispatch.feasibility import check
from backend.dispatch.solver import DEFAULT_FIRST_SOLUTION, DEFAULT_METAHEURISTIC, solve

SUITES = ("solomon", "lilim100")
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
) -> dict[str, Any]:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r} (one of {', '.join(SUITES)})")
    if objective not in ("distance", "vehicles"):
        raise ValueError(f"unknown objective {objective!r}")
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
    t_all = time.perf_counter()
    for n, path in enumerate(paths, start=1):
        inst = B.read_lilim(path) if suite == "lilim100" and not files else B.read_instance(path)
        problem = B.to_problem(inst, objective)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        plan = solve(
            problem, time_limit_s, first_solution=first_solution, metaheuristic=metaheuristic
        )
        seconds = time.perf_counter() - t0
        violations = check(problem, plan)
        distance = B.exact_distance(inst, plan)
        bk = best.get(inst.name.upper()) or best.get(path.stem.upper())
        ref = ref_vehicles = None
        if bk is not None:
            if objective == "distance" and bk.distance_only is not None:
                ref, ref_vehicles = bk.distance_only, bk.distance_only_vehicles
            else:
                ref, ref_vehicles = bk.distance, bk.vehicles
        gap = None if not ref else round(100.0 * (distance - ref) / ref, 3)
        row = {
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
        }
        rows.append(row)
        _progress(
            f"[{n}/{len(paths)}] {inst.name}: {row['vehicles']} bikes, {distance:.2f}"
            f" (bks {ref}, gap {gap}%), {seconds:.1f} s,"
            f" {'feasible' if row['feasible'] else 'INFEASIBLE'}"
        )

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
        "mean_seconds": round(statistics.fmean(r["seconds"] for r in rows), 3) if rows else None,
        "wall_s": round(time.perf_counter() - t_all, 1),
        "first_solution": first_solution or DEFAULT_FIRST_SOLUTION,
        "metaheuristic": metaheuristic or DEFAULT_METAHEURISTIC,
        "by_class": _by_class(rows),
        "cpu_count": os.cpu_count(),
    }
    return {"instances": rows, "summary": summary}


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
    )
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m backend.bench.plan_bench")
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
