"""The bench harness reads a server's log: warnings counted, and the figures it logs as it stops."""

from __future__ import annotations

from pathlib import Path

from backend.bench.harness.server import ServerProcess

WARN = "WARNING - 2026-12-05 07:42:57,531 - "
INFO = "INFO - 2026-12-05 07:50:00,000 - "
LOG = "\n".join(
    [
        INFO + "piccolo.engine.base - base - Running Sqlite version 3.4",
        WARN + "laadbak.db - engine - a write transaction held the writer for 120 ms (waited 0 ms) in f (a.py:33)",
        WARN + "laadbak.stalls - stall_watch - event loop held 349 ms so far, at: raw_decode (d.py:353); other: none",
        WARN + "laadbak.stalls - stall_watch - event loop stall ended after about 830 ms",
        WARN + "laadbak.stalls - stall_watch - garbage collection of generation 2 held the loop 140 ms",
        INFO + "laadbak.stalls - stall_watch - loop figures: longest_lag_ms=831.5 stalls=1 longest_stall_ms=830.0 "
        "longest_gc_ms=140.2 longest_gc_generation=2 gc_over_threshold=1 gc_collections=77",
        INFO + "laadbak.db - app - writer figures: holds=1500 slow=1 longest_hold_ms=120.4 longest_wait_ms=35.0 "
        "longest_in=attempt (a.py:33)",
    ]
)


def test_the_figures_a_server_logs_as_it_stops_are_read_beside_its_warnings(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, "sqlite:///unused")
    server.log_path.write_text(LOG)
    read = server.warnings()
    assert read["loop"] == {
        "longest_lag_ms": 831.5,
        "stalls": 1,
        "longest_stall_ms": 830.0,
        "longest_gc_ms": 140.2,
        "longest_gc_generation": 2,
        "gc_over_threshold": 1,
        "gc_collections": 77,
    }
    assert read["writer"]["longest_hold_ms"] == 120.4 and read["writer"]["holds"] == 1500
    assert read["writer"]["longest_in"] == "attempt (a.py:33)"
    assert read["slowest_write_ms"] == 120 and read["loop_stalls"] == 1 and read["longest_loop_stall_ms"] == 830
    assert read["warnings"] == 2  # the slow write and the collection; the figures are not warnings


def test_a_server_that_has_not_stopped_has_no_figures_yet(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, "sqlite:///unused")
    server.log_path.write_text("\n".join(LOG.splitlines()[:5]))
    read = server.warnings()
    assert read["loop"] is None and read["writer"] is None
