"""The figures of ``laadbak bench replan``: the summary of a run, and the report for people."""

from __future__ import annotations

import statistics
from typing import Any

from backend.bench.harness.stats import median, pct, ratio, top
from backend.bench.replan_disruptions import Disruption

TARGET_P95_MS = 1000.0
TARGET_COST_RATIO = 1.02


def summary(
    records: list[Disruption],
    cost: dict[str, Any],
    *,
    couriers: int,
    stops: int,
    replan_limit: float,
    cold_time_limit: float,
    run_s: float,
    server_cpu_s: float,
    clock: str,
    kinds_skipped: list[str],
    loops: dict[str, Any] | None = None,
    riding: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rows = [d.as_json() for d in records]
    changed = [r for r in rows if r["outcome"] == "changed"]
    lat = [r["first_ms"] for r in changed if r["first_ms"] is not None]
    p95 = pct(lat, 95)
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted({r["kind"] for r in rows}):
        mine = [r for r in rows if r["kind"] == kind]
        ms = [r["first_ms"] for r in mine if r["outcome"] == "changed" and r["first_ms"] is not None]
        by_kind[kind] = {
            "n": len(mine),
            **{
                o: sum(1 for r in mine if r["outcome"] == o)
                for o in ("changed", "no_change", "error", "timeout", "skipped")
            },
            "p50_ms": pct(ms, 50),
            "p95_ms": pct(ms, 95),
            "max_ms": top(ms),
            "server_total_p50_s": median([r["server_total_s"] for r in mine]),
            "server_solve_p50_s": median([r["server_solve_s"] for r in mine]),
            # the server's re-plan phase by phase (backend/services/replanning.py, work_out):
            # CPU-bound work in seconds, less shaken by a busy machine than the latencies
            "server_phases_p50_s": _phases_p50(mine),
            # from the end of the server's re-plan to the phone: the request's own work, saving,
            # the outbox relay (a poll when nothing pokes it), the socket
            "after_replan_p50_ms": median(
                [
                    r["first_ms"] - r["server_total_s"] * 1000
                    for r in mine
                    if r["outcome"] == "changed" and r["first_ms"] is not None and r["server_total_s"] is not None
                ]
            ),
        }
    errors: dict[str, int] = {}
    for r in rows:
        if r["outcome"] == "error":
            key = f"{r['kind']} {r['http_status']}: {(r['detail'] or '')[:90]}"
            errors[key] = errors.get(key, 0) + 1
    # Where the time goes, for the disruptions that reached a phone: the server's re-plan
    # (solve, and the rest of it: reading the day, matrices, pickling, checking) and what
    # follows it (the request's own work, saving, outbox relay, websocket).
    timed = [r for r in changed if r["first_ms"] is not None and r["server_total_s"] is not None]
    breakdown = {
        "disruptions": len(timed),
        "solve_p50_ms": median([r["server_solve_s"] * 1000 for r in timed]),
        "replan_other_p50_ms": median([(r["server_total_s"] - r["server_solve_s"]) * 1000 for r in timed]),
        "after_replan_p50_ms": median([r["first_ms"] - r["server_total_s"] * 1000 for r in timed]),
        "first_ms_p50": median([r["first_ms"] for r in timed]),
    }
    cost_ratio = cost.get("cost_ratio")
    return {
        "disruptions": len(rows),
        "changed": len(changed),
        "no_change": sum(1 for r in rows if r["outcome"] == "no_change"),
        "errors": sum(1 for r in rows if r["outcome"] == "error"),
        "timeouts": sum(1 for r in rows if r["outcome"] == "timeout"),
        "skipped": sum(1 for r in rows if r["outcome"] == "skipped"),
        "p50_ms": pct(lat, 50),
        "p95_ms": p95,
        "max_ms": top(lat),
        "all_affected_p95_ms": pct([r["all_ms"] for r in changed if r["all_ms"] is not None], 95),
        "http_p50_ms": pct([r["http_ms"] for r in rows if r["http_ms"] is not None], 50),
        "cost_ratio": cost_ratio,
        "cost_basis": cost.get("basis"),
        "cost_ratio_unequal": cost.get("cost_ratio_unequal"),
        "cold_planned": cost.get("cold_planned"),
        "restricted_cold_planned": cost.get("restricted_cold_planned"),
        "in_force_cost": cost.get("in_force_cost"),
        "cold_cost": cost.get("cold_cost"),
        "in_force_unplanned": cost.get("in_force_unplanned"),
        "cold_unplanned": cost.get("cold_unplanned"),
        "in_force_violations": cost.get("in_force_violations"),
        "in_force_late_s": cost.get("in_force_late_s"),
        "cold_late_s": cost.get("basis_late_s"),
        "objective_ratio": cost.get("objective_ratio"),
        "remaining_stops": cost.get("stops"),
        "couriers": couriers,
        "stops": stops,
        # several loops a shift: small bikes in the day, routes riding more than one loop
        # when the day was planned and at the end (the cost row's routes in force)
        **(loops or {}),
        "replan_time_limit_s": replan_limit,
        "cold_time_limit_s": cold_time_limit,
        "run_s": round(run_s, 1),
        "server_cpu_pct": round(100 * server_cpu_s / run_s, 1) if run_s else None,
        "clock": clock,
        "by_kind": by_kind,
        "errors_by": errors,
        "breakdown": breakdown,
        "kinds_not_available": kinds_skipped,
        # what the couriers did while the disruptions came (backend/bench/replan_riders.py)
        "riding": {k: v for k, v in (riding or {}).items() if k != "phase"},
        "target_p95_ms": TARGET_P95_MS,
        "target_cost_ratio": TARGET_COST_RATIO,
        "p95_vs_target": ratio(p95, TARGET_P95_MS, 3),
        "cost_ratio_vs_target": ratio(cost_ratio, TARGET_COST_RATIO, 4),
    }


def format_report(result: dict[str, Any]) -> str:
    """The result for a person: the headline figures, per kind, where the time goes, the cost."""
    s = result["summary"]
    lines = [
        f"laadbak bench replan: {s['couriers']} couriers, {s['stops']} stops, clock {s['clock']}, "
        f"re-plan limit {s['replan_time_limit_s']:g} s",
        f"multi-trip: {s.get('multi_trip_bikes', 0)} small bikes; routes in loops: "
        f"{s.get('planned_multi_loop_routes')} planned, {s.get('in_force_multi_loop_routes')} at the end",
        _riding_line(s.get("riding") or {}),
        f"{s['disruptions']} disruptions: {s['changed']} changed routes, "
        f"{s['no_change']} no change, {s['errors']} errors, {s['timeouts']} timeouts, "
        f"{s['skipped']} skipped",
        f"disruption -> phone: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms "
        f"(target p95 <= {s['target_p95_ms']:g} ms: x{s['p95_vs_target']})",
        f"cost of the remaining day, in force vs a {s['cold_time_limit_s']:g} s cold solve: ratio "
        f"{s['cost_ratio'] if s['cost_ratio'] is not None else 'n/a'} ({s['cost_basis']}"
        f"{'; unequal sets ' + str(s['cost_ratio_unequal']) if s['cost_ratio_unequal'] else ''}; "
        f"target <= {s['target_cost_ratio']}); in force {s['in_force_cost']}, unplanned: in force "
        f"{s['in_force_unplanned']}, cold {s['cold_unplanned']}",
        "",
        f"{'kind':<16}{'n':>4}{'chg':>5}{'none':>5}{'err':>5}{'t/o':>5}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'max ms':>9}{'srv s':>7}{'solve':>7}{'after':>7}",
    ]
    for kind, k in s["by_kind"].items():
        lines.append(
            f"{kind:<16}{k['n']:>4}{k['changed']:>5}{k['no_change']:>5}{k['error']:>5}{k['timeout']:>5}"
            f"{k['p50_ms'] or '-':>9}{k['p95_ms'] or '-':>9}{k['max_ms'] or '-':>9}"
            f"{k['server_total_p50_s'] or '-':>7}{k['server_solve_p50_s'] or '-':>7}"
            f"{round(k['after_replan_p50_ms']) if k['after_replan_p50_ms'] is not None else '-':>7}"
        )
    b = s["breakdown"]
    lines += [
        "",
        f"where the time goes (p50 of {b['disruptions']}): solve {b['solve_p50_ms']} ms, "
        f"rest of the re-plan {b['replan_other_p50_ms']} ms, "
        f"after it (request, save, relay, socket) {b['after_replan_p50_ms']} ms",
    ]
    for text, count in s["errors_by"].items():
        lines.append(f"error x{count}: {text}")
    return "\n".join(lines)


def _riding_line(r: dict[str, Any]) -> str:
    if not r.get("seconds"):
        return "couriers stood still while the disruptions came (--pace 0)"
    return (
        f"couriers rode meanwhile: a stop each {r['pace_s']:g} s, {r['stops_done']} stops done "
        f"({r['failed']} failed, {r['stops_per_s']}/s), {r['positions_per_s']} positions/s, "
        f"{r['reloads']} reloads; their actions p50 {r['action_p50_ms']} ms, p95 {r['action_p95_ms']} ms"
    )


def _phases_p50(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per phase of the server's re-plans (live, load, matrices, quick, solve, check, save...),
    the median seconds over the re-plans that had it."""
    seen: dict[str, list[float]] = {}
    for r in rows:
        for k, v in (r.get("server_phases") or {}).items():
            if not k.startswith("n.") and isinstance(v, int | float):
                seen.setdefault(k, []).append(float(v))
    return {k: round(statistics.median(v), 3) for k, v in sorted(seen.items())}
