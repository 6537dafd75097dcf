"""A server killed (SIGKILL) right after a failed stop was answered, then restarted
on the same database: the stop's next step is carried out exactly once, the answer
stands, a replay changes nothing, and the phone agrees with the dispatcher."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sqlite3
import time
import uuid
from typing import Any

import httpx

from tests.live.server import LiveServer, run, seed_day


def _h(token: str, key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}


def _query(live: LiveServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{live.db}?mode=ro", uri=True) as db:
        return db.execute(sql, args).fetchall()


def _next_steps(live: LiveServer, stop_id: int) -> list[dict[str, Any]]:
    rows = _query(live, "SELECT payload FROM outbox_event WHERE kind = 'order.next_step'")
    return [p for p in (json.loads(r[0]) for r in rows) if p["stopId"] == stop_id]


def _jobs(live: LiveServer) -> list[tuple[str, str]]:
    return _query(live, "SELECT key, status FROM job ORDER BY id")


def test_a_failed_stop_answered_just_before_a_kill_gets_its_next_step_once(tmp_path, geo) -> None:
    db = tmp_path / "live.sqlite"
    hub_id = run(seed_day(db, geo))
    live = LiveServer(tmp_path, db, env={"LAADBAK_CRASH_AT": "fail.answered"})
    live.start()
    try:
        courier = live.login("courier1")
        day = httpx.get(live.base + "/courier/today", headers=_h(courier)).json()
        stop = next(s for s in day["route"]["stops"] if s["kind"] == "delivery" and s["status"] == "planned")
        key = str(uuid.uuid4())
        url = f"{live.base}/courier/stops/{stop['stopId']}/fail"
        answer = httpx.post(url, json={"reason": "not_home"}, headers=_h(courier, key))
        assert answer.status_code == 200 and answer.json()["status"] == "failed", answer.text
        assert live.proc is not None
        assert live.proc.wait(30) == -signal.SIGKILL  # died where the next step would have started
        assert _next_steps(live, stop["stopId"]) == []  # nothing of it was done before the kill
        assert _jobs(live) == [(f"failed_stop:{stop['stopId']}", "running")]

        live.env = {}
        live.start()  # same database: the unfinished job is resumed at start-up
        deadline = time.monotonic() + 60
        while any(status != "done" for _, status in _jobs(live)) and time.monotonic() < deadline:
            time.sleep(0.2)
        jobs = _jobs(live)
        assert jobs and all(status == "done" for _, status in jobs), jobs
        (step,) = _next_steps(live, stop["stopId"])  # exactly once
        order_stops = _query(live, 'SELECT id, status FROM stop WHERE "order" = ? ORDER BY id', stop["orderId"])
        assert [sid for sid, _ in order_stops][0] == stop["stopId"]
        assert len(order_stops) == (1 if step["next"] == "hub" else 2), order_stops
        assert dict(order_stops)[stop["stopId"]] == "failed"  # the answer the courier was given is true

        courier = live.login("courier1")
        replay = httpx.post(url, json={"reason": "not_home"}, headers=_h(courier, key))
        assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.json() == answer.json()
        time.sleep(0.5)  # a replay starts nothing (the worker is woken after every write)
        assert _jobs(live) == jobs and len(_next_steps(live, stop["stopId"])) == 1
        assert len(_query(live, 'SELECT id FROM stop WHERE "order" = ?', stop["orderId"])) == len(order_stops)

        # Every phone sees what the dispatcher sees.
        dispatcher = live.login("dispatcher")
        routes = httpx.get(
            f"{live.base}/routes", params={"hubId": hub_id, "date": dt.date.today().isoformat()}, headers=_h(dispatcher)
        ).json()
        assert routes
        for route in routes:
            ((name,),) = _query(
                live,
                "SELECT u.username FROM courier c JOIN app_user u ON u.id = c.user WHERE c.id = ?",
                route["courierId"],
            )
            phone = httpx.get(live.base + "/courier/today", headers=_h(live.login(name))).json()
            assert phone["route"]["version"] == route["version"]
            assert [(s["stopId"], s["status"]) for s in phone["route"]["stops"]] == [
                (s["stopId"], s["status"]) for s in route["stops"]
            ], name
    finally:
        live.stop()
