"""``laadbak bench ws --processes N``: the couriers spread over N serving processes.

The N ``laadbak serve`` processes and one ``laadbak worker`` share one
PostgreSQL database and one Redis (the outbox feed and the job queue; the
serving processes solve nothing, ``LAADBAK_SOLVER_QUEUE``). Client process k
talks to serving process k mod N, the dispatcher to process 0, so most
couriers and the dispatcher are on different processes: the bench checks
that each courier and the dispatcher saw that courier's stop events in the
same order (``cross_process``).

:class:`ServerGroup` reads as one server for the bench's figures: CPU, memory,
threads and open files summed over the serving processes, and the warnings
of all their logs.
"""

from __future__ import annotations

import concurrent.futures
import secrets
from pathlib import Path
from typing import Any

from backend.bench.harness.server import ServerProcess, WorkerProcess


class ServerGroup(ServerProcess):
    """N serving processes and the solver workers; its ``base`` is process 0's."""

    def __init__(
        self,
        var_dir: Path,
        database_url: str,
        *,
        processes: int,
        redis_url: str,
        map_path: Path | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        secret = secrets.token_urlsafe(32)
        env = {
            **(env or {}),  # the bench clock's
            "REDIS_URL": redis_url,
            "LAADBAK_SOLVER_QUEUE": "1",
            "LAADBAK_JOBS_QUEUE": f"bench-ws-{secrets.token_hex(4)}",  # jobs of this run only
        }

        def one(kind: type[ServerProcess], name: str) -> Any:
            return kind(var_dir, database_url, map_path=map_path, secret_key=secret, env=env, log_name=name)

        self.servers = [one(ServerProcess, f"server{k}.log") for k in range(processes)]
        self.workers: list[WorkerProcess] = [one(WorkerProcess, f"worker{k}.log") for k in range(workers)]
        first = self.servers[0]
        self.var_dir, self.database_url, self.map_path = var_dir, database_url, map_path
        self.port, self.base, self.ws_base, self.log_path = first.port, first.base, first.ws_base, first.log_path
        self.proc = None
        self.started: dict[str, Any] = {}
        self.ended: dict[str, Any] = {}

    def bases(self) -> list[dict[str, str]]:
        """The http and ws base of each serving process."""
        return [{"base": s.base, "ws_base": s.ws_base} for s in self.servers]

    def start(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(len(self.servers) + len(self.workers)) as starting:
            for done in [starting.submit(p.start) for p in (*self.servers, *self.workers)]:
                done.result()
        self.proc = self.servers[0].proc
        self.started = self.describe()

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.proc is not None:  # the last figures while the processes are there to be read
            self.ended = self.describe("processes_end")
        for p in (*self.servers, *self.workers):
            p.stop(timeout_s)
        self.proc = None

    def describe(self, phase: str = "processes") -> dict[str, Any]:
        """Each process's pid, memory and CPU so far (the solver worker's CPU is the re-plans')."""

        def one(p: ServerProcess) -> dict[str, Any]:
            return {"pid": p.pid, "rss_mb": _round(p.rss_mb()), "cpu_s": _round(p.cpu_s())}

        return {
            "phase": phase,
            "serving": [{**one(s), "base": s.base} for s in self.servers],
            "solver_workers": [one(w) for w in self.workers],
            "dispatcher_on": 0,
        }

    def figures(
        self, instances: list[dict[str, Any]], results: list[dict[str, Any]], dispatcher_order: list[Any]
    ) -> dict[str, Any]:
        """After the run: each process's figures (a row of ``instances``) and the order check."""
        instances.extend([self.started, self.ended or self.describe("processes_end")])
        return cross_process(results, dispatcher_order, len(self.servers))

    @property
    def pid(self) -> int:
        return self.servers[0].pid

    def _sum(self, values: list[Any]) -> Any:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    def rss_mb(self) -> float | None:
        return self._sum([s.rss_mb() for s in self.servers])

    def threads(self) -> int | None:
        return self._sum([s.threads() for s in self.servers])

    def cpu_s(self) -> float | None:
        return self._sum([s.cpu_s() for s in self.servers])

    def fds(self) -> int | None:
        return self._sum([s.fds() for s in self.servers])

    def nofile(self) -> int | None:
        return self.servers[0].nofile()

    def warnings(self) -> dict[str, Any]:
        each = [s.warnings() for s in self.servers]
        by_text: dict[str, int] = {}
        held_at: dict[str, int] = {}
        for w in each:
            for key, n in w["by_text"].items():
                by_text[key] = by_text.get(key, 0) + n
            for key, n in w["loop_held_at"].items():
                held_at[key] = held_at.get(key, 0) + n
        return {
            "warnings": sum(w["warnings"] for w in each),
            "by_text": dict(sorted(by_text.items(), key=lambda kv: -kv[1])[:10]),
            "slowest_write_ms": max((w["slowest_write_ms"] or 0 for w in each), default=0) or None,
            "loop_stalls": sum(w["loop_stalls"] for w in each),
            "longest_loop_stall_ms": max((w["longest_loop_stall_ms"] or 0 for w in each), default=0) or None,
            "loop_held_at": dict(sorted(held_at.items(), key=lambda kv: -kv[1])[:8]),
            "worker_warnings": sum(w.warnings()["warnings"] for w in self.workers),
        }


def bases_of(server: ServerProcess) -> list[dict[str, str]]:
    """The http and ws base of each serving process: client k talks to the k-th mod N."""
    return server.bases() if isinstance(server, ServerGroup) else [{"base": server.base, "ws_base": server.ws_base}]


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def cross_process(
    results: list[dict[str, Any]], dispatcher_order: list[tuple[int, str]], processes: int
) -> dict[str, Any]:
    """Whether each courier and the dispatcher saw the courier's stop events in the same order.

    ``results[k]["orders"]``: the (stop, status) events each courier of client k heard, in
    order; client k was on serving process k mod ``processes``, the dispatcher on process 0.
    """
    where = {key: i for i, key in enumerate(dispatcher_order)}
    couriers = other = mismatched = mismatched_other = missing_at_dispatcher = 0
    for k, res in enumerate(results):
        elsewhere = k % processes != 0
        for order in res["orders"].values():
            keys = [tuple(key) for key in order]
            couriers += 1
            other += elsewhere
            seen = [where[key] for key in keys if key in where]
            missing_at_dispatcher += len(keys) - len(seen)
            if seen != sorted(seen):
                mismatched += 1
                mismatched_other += elsewhere
    return {
        "processes": processes,
        "couriers_checked": couriers,
        "couriers_on_other_process_than_dispatcher": other,
        "order_mismatches": mismatched,
        "order_mismatches_across_processes": mismatched_other,
        "events_missing_at_dispatcher": missing_at_dispatcher,
        "same_order": mismatched == 0 and missing_at_dispatcher == 0,
    }
