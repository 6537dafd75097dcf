"""The map bench's figures: positions matched to markers, frames, targets and ratios."""

from __future__ import annotations

from backend.bench.map_bench_couriers import Walker
from backend.bench.map_bench_figures import (
    TARGETS,
    frame_figures,
    latency_figures,
    long_task_figures,
    parse_pos,
    position_latencies,
    split,
    summary,
)


def test_a_sent_position_matches_the_first_time_its_courier_showed_it() -> None:
    sent = [
        (7, 52.370216, 4.895168, 1000.0),
        (7, 52.370300, 4.895200, 6000.0),
        (8, 52.370216, 4.895168, 1000.0),  # another courier at the same place: shown later
        (9, 52.1, 4.1, 1000.0),  # never shown
    ]
    seen = [
        ("7", "52.370216,4.895168", 1120.0),
        ("7", "52.370216,4.895168", 1500.0),  # a re-render of the same place: not a new move
        ("8", "52.370216,4.895168", 1450.0),
        ("7", "52.370300,4.895200", 6080.5),
        ("7", "garbage", 6100.0),
        ("x", "52.1,4.1", 1100.0),
    ]
    latencies, missed = position_latencies(sent, seen)
    assert latencies == [120.0, 80.5, 450.0]
    assert missed == 1


def test_a_place_shown_before_it_was_sent_is_not_that_send() -> None:
    sent = [(7, 52.5, 4.5, 10_000.0)]
    latencies, missed = position_latencies(sent, [("7", "52.500000,4.500000", 2_000.0)])
    assert (latencies, missed) == ([], 1)
    # within the clock's skew it is the same moment
    latencies, missed = position_latencies(sent, [("7", "52.500000,4.500000", 9_998.0)])
    assert (latencies, missed) == ([0.0], 0)


def test_the_time_to_the_marker_splits_into_server_and_page() -> None:
    sent = [(7, 52.5, 4.5, 1000.0), (7, 52.6, 4.6, 6000.0), (8, 52.5, 4.5, 1000.0)]
    arrived = [("7", "52.5,4.5", 1400.0), ("7", "52.6,4.6", 6900.0), ("8", "52.5,4.5", 1950.0)]
    seen = [("7", "52.500000,4.500000", 1430.0), ("7", "52.600000,4.600000", 6960.0)]
    parts = split(sent, arrived, seen)
    assert parts["sent_to_socket"] == {"p50_ms": 900.0, "p95_ms": 950.0, "max_ms": 950.0}
    assert parts["socket_to_marker"] == {"p50_ms": 30.0, "p95_ms": 60.0, "max_ms": 60.0}


def test_six_decimals_compare_as_integers() -> None:
    assert parse_pos("52.370216,4.895168") == (52370216, 4895168)
    assert parse_pos("52.3702160001,4.8951680001") == (52370216, 4895168)
    assert parse_pos("") is None
    assert parse_pos("1,2,3") is None


def test_frames_summary_and_ratios() -> None:
    frames = frame_figures([16.0, 17.0, 15.0, 120.0], busy_ms=168.0)
    assert frames == {
        "frames": 4,
        "mean_ms": 42.0,
        "work_per_frame_ms": 42.0,
        "p95_ms": 120.0,
        "longest_ms": 120.0,
        "over_50ms": 1,
        "refreshes_missed": 6,  # 120 ms is 7 refreshes of 16.7 ms
    }
    out = summary(frames, [100.0, 200.0, 1000.0])
    assert out["mean_frame_ms"] == {"value": 42.0, "target": 16.0, "ratio": 2.625}
    assert out["longest_frame_ms"] == {"value": 120.0, "target": 100.0, "ratio": 1.2}
    assert out["p95_position_to_marker_ms"] == {"value": 1000.0, "target": 500.0, "ratio": 2.0}
    assert set(out) == set(TARGETS)
    assert summary(frame_figures([16.7, 16.6], busy_ms=9.0), [])["mean_frame_ms"]["value"] == 4.5
    assert frame_figures([16.7])["work_per_frame_ms"] is None  # no trace: not made up
    empty = summary(frame_figures([]), [])
    assert all(v["value"] is None and v["ratio"] is None for v in empty.values())
    assert latency_figures([100.0, 300.0], 3, 1) == {
        "sent": 3,
        "matched": 2,
        "missed": 1,
        "p50_ms": 100.0,
        "p95_ms": 300.0,
        "max_ms": 300.0,
    }


def test_a_rider_moves_along_its_path_and_stays_home_without_one() -> None:
    walker = Walker([(52.0, 4.0), (52.001, 4.0), (52.0, 4.0)])  # 111 m up, 111 m back
    a = walker.step(55.66)
    assert abs(a[0] - 52.0005) < 1e-6 and a[1] == 4.0
    b = walker.step(111.32)  # past the turn
    assert abs(b[0] - 52.0005) < 1e-6
    c = walker.step(222.64 * 3)  # laps the path again
    assert 52.0 <= c[0] <= 52.001
    assert Walker([(52.0, 4.0), (52.0, 4.0)]).step(100) == (52.0, 4.0)


def test_the_longest_tasks_come_with_the_events_before_them() -> None:
    tasks = [(10_000.0, 80.0), (20_000.0, 900.0), (30_000.0, 60.0)]
    events = [(18_900.0, "route.updated"), (19_900.0, "route.updated"), (19_950.0, "stop.updated"), (25_000.0, "x")]
    out = long_task_figures(tasks, events, origin_ms=5_000.0, top_n=2)
    assert out["count"] == 3 and out["longest_ms"] == 900.0
    assert out["longest"] == [
        {"ms": 900.0, "at_s": 15.0, "after_events": {"route.updated": 1, "stop.updated": 1}},
        {"ms": 80.0, "at_s": 5.0, "after_events": {}},
    ]
    assert long_task_figures([], events) == {"count": 0, "longest_ms": None, "longest": []}


def test_the_main_threads_busy_time_and_longest_tasks_come_from_the_trace() -> None:
    from backend.bench.map_bench_page import busy_ms, longest_tasks

    main, other = {"pid": 1, "tid": 7}, {"pid": 1, "tid": 9}
    trace = {
        "traceEvents": [
            {**main, "ph": "M", "name": "thread_name", "args": {"name": "CrRendererMain"}},
            {**other, "ph": "M", "name": "thread_name", "args": {"name": "Compositor"}},
            {**main, "ph": "X", "name": "RunTask", "ts": 1000, "dur": 4000},
            {
                **main,
                "ph": "X",
                "name": "FunctionCall",
                "ts": 1100,
                "dur": 3000,
                "args": {"data": {"url": "http://x/map.js", "functionName": "draw"}},
            },
            {**main, "ph": "X", "name": "Paint", "ts": 4200, "dur": 500},
            {**main, "ph": "X", "name": "ThreadControllerImpl::RunTask", "ts": 9000, "dur": 1500},
            {
                **main,
                "ph": "X",
                "name": "ThreadControllerImpl::RunTask",
                "ts": 9100,
                "dur": 200,
            },  # nested: counted once
            {**other, "ph": "X", "name": "RunTask", "ts": 1000, "dur": 90000},  # not the page's thread
        ]
    }
    assert busy_ms(trace) == 5.5
    tasks = longest_tasks(trace, top_n=1)
    assert tasks == [{"ms": 4.0, "parts": {"FunctionCall map.js draw": 3.0, "Paint": 0.5}}]


def test_the_busy_time_counts_only_between_the_pages_marks() -> None:
    from backend.bench.map_bench_page import busy_ms

    main = {"pid": 1, "tid": 7}
    trace = [
        {**main, "ph": "M", "name": "thread_name", "args": {"name": "CrRendererMain"}},
        {**main, "ph": "X", "name": "RunTask", "ts": 100, "dur": 900_000},  # starting the trace: before the marks
        {**main, "ph": "R", "name": "laadbak:stream", "ts": 1_000_000},
        {**main, "ph": "X", "name": "RunTask", "ts": 1_000_100, "dur": 3000},
        {**main, "ph": "R", "name": "laadbak:end", "ts": 2_000_000},
        {**main, "ph": "X", "name": "RunTask", "ts": 2_000_100, "dur": 7000},
    ]
    assert busy_ms(trace, "laadbak:stream", "laadbak:end") == 3.0
    assert busy_ms(trace) == 910.0
