"""A real server process killed (SIGKILL) in the middle of a customer's redirect
and in the middle of the re-plan it saves, then restarted on the same database:
the customer's replay with the same Idempotency-Key gets the answer that is
true, nothing is half applied, and every phone sees what the dispatcher sees."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import signal
import sqlite3
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.db.engine import make_engine, migrate, use_database
from backend.db.tables import Hub, Order, Shift, Stop
from backend.services.context import Context
from backend.services.demo import seed
from backend.services.planning import plan_day
from backend.settings import load_settings
from tests.live.server import LiveServer, run


async def _seed_rest_of_today(db: Path, geo) -> int:  # noqa: ANN001
    """A seeded day planned for what is left of today: every window and shift runs
    from now to the evening, so a re-plan now can keep every stop (a day seeded
    with morning windows is refused by any re-plan in the afternoon)."""
    use_database(make_engine(f"sqlite:///{db}"))
    await migrate()
    today = dt.date.today()
    now = dt.datetime.now().replace(second=0, microsecond=0)
    city = await seed(geo, today, orders_count=12, couriers=2, seed=7)
    late = dt.datetime.combine(today, dt.time(23, 30))
    await Hub.update({Hub.opening_hours: []}).where(Hub.id == city.hub_id)
    await Shift.update({Shift.start: now - dt.timedelta(hours=1), Shift.end: late}).where(Shift.hub == city.hub_id)
    await Stop.update({Stop.window_start: now, Stop.window_end: late}).where(Stop.hub == city.hub_id)
    await Order.update({Order.window_start: now, Order.window_end: late, Order.slot: ""}).where(
        Order.hub == city.hub_id
    )
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        ctx = Context(geo=geo, settings=load_settings({"LAADBAK_SECRET_KEY": "live"}), pool=pool)
        await plan_day(ctx, city.hub_id, today, 2.0)
    return city.hub_id


def _db(live: LiveServer) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{live.db}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def _redirectable_order(live: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order whose delivery can be redirected now, and the first choice offered for it."""
    with _db(live) as db:
        orders = [
            dict(r)
            for r in db.execute(
                'SELECT o.id, o.tracking_token FROM customer_order o JOIN stop s ON s."order" = o.id '
                "WHERE s.kind = 'delivery' AND s.status = 'planned' ORDER BY o.id"
            )
        ]
    for order in orders:
        view = httpx.get(f"{live.base}/track/{order['tracking_token']}/status", timeout=10).json()
        choices = [
            {k: o[k] for k in ("kind", "window", "pickupPointId") if k in o}
            for o in view["redirectOptions"]
            if o["kind"] in ("window", "pickup_point")
        ]
        if choices:
            return order, choices[0]
    pytest.skip("no delivery of the seeded day can be redirected at this time of day")


def _state(live: LiveServer, order_id: int) -> dict[str, Any]:
    """What a redirect touches, as committed."""
    with _db(live) as db:
        stops = [
            tuple(r)
            for r in db.execute(
                "SELECT id, status FROM stop WHERE \"order\" = ? AND kind = 'delivery' ORDER BY id", (order_id,)
            )
        ]
        order = tuple(
            db.execute(
                "SELECT status, address, window_start, window_end, pickup_point FROM customer_order WHERE id = ?",
                (order_id,),
            ).fetchone()
        )
        events = db.execute(
            "SELECT COUNT(*) FROM outbox_event WHERE kind = 'order.redirected' AND "
            "json_extract(payload, '$.orderId') = ?",
            (order_id,),
        ).fetchone()[0]
        routes = [tuple(r) for r in db.execute("SELECT id, version FROM route WHERE current = 1 ORDER BY id")]
        answers = db.execute("SELECT COUNT(*) FROM idempotency_record").fetchone()[0]
    return {"stops": stops, "order": order, "redirected_events": events, "routes": routes, "answers": answers}


def _phones_equal_dispatch(live: LiveServer, hub_id: int) -> None:
    dispatcher = {"Authorization": f"Bearer {live.login('dispatcher')}"}
    day = dt.date.today().isoformat()
    routes = httpx.get(
        f"{live.base}/routes", params={"hubId": hub_id, "date": day}, headers=dispatcher, timeout=10
    ).json()
    assert routes
    with _db(live) as db:
        usernames = {
            r["id"]: r["username"]
            for r in db.execute("SELECT c.id, u.username FROM courier c JOIN app_user u ON u.id = c.user")
        }
    for route in routes:
        phone = httpx.get(
            f"{live.base}/courier/today",
            timeout=10,
            headers={"Authorization": f"Bearer {live.login(usernames[route['courierId']])}"},
        ).json()
        assert phone["route"]["id"] == route["id"] and phone["route"]["version"] == route["version"]
        assert [(s["stopId"], s["status"]) for s in phone["route"]["stops"]] == [
            (s["stopId"], s["status"]) for s in route["stops"]
        ]


def _one_live_destination(live: LiveServer, order_id: int) -> int:
    """The order has one delivery that is not cancelled, on exactly one route in force."""
    with _db(live) as db:
        live_stops = [
            r[0]
            for r in db.execute(
                "SELECT id FROM stop WHERE \"order\" = ? AND kind = 'delivery' AND status != 'cancelled'", (order_id,)
            )
        ]
        holders = (
            [
                r[0]
                for r in db.execute(
                    "SELECT r.id FROM route r, json_each(r.stops) j WHERE r.current = 1 AND "
                    "json_extract(j.value, '$.stop_id') = ?",
                    (live_stops[0],),
                )
            ]
            if len(live_stops) == 1
            else []
        )
    assert len(live_stops) == 1 and len(holders) == 1, (live_stops, holders)
    return live_stops[0]


@pytest.mark.parametrize("point", ["redirect.mid", "replan.mid"])
def test_a_redirect_killed_midway_is_whole_or_absent_and_its_replay_answers_true(tmp_path, geo, point) -> None:
    if dt.datetime.now().time() > dt.time(20, 30):
        pytest.skip("too late in the day for a redirect that a re-plan can take (windows end by 23:30)")
    db = tmp_path / "live.sqlite"
    hub_id = run(_seed_rest_of_today(db, geo))
    live = LiveServer(tmp_path, db, env={"LAADBAK_CRASH_AT": point})
    live.start()
    try:
        order, choice = _redirectable_order(live)
        before = _state(live, order["id"])
        url = f"{live.base}/track/{order['tracking_token']}/redirect"
        key = {"Idempotency-Key": str(uuid.uuid4())}
        try:
            r = httpx.post(url, json=choice, headers=key, timeout=30)
            pytest.fail(f"the server answered {r.status_code} {r.text} instead of dying at {point}")
        except httpx.TransportError:
            pass  # the server died before it answered
        assert live.proc is not None and live.proc.wait(10) == -signal.SIGKILL
        assert _state(live, order["id"]) == before  # nothing of it was committed
    finally:
        live.stop()

    again = LiveServer(tmp_path, db)  # the same database, no crash point
    again.start()
    try:
        first = httpx.post(url.replace(live.base, again.base), json=choice, headers=key, timeout=30)
        # The customer was never answered: the replay makes the redirect now, whole.
        assert first.status_code == 200, first.text
        answer = first.json()
        after = _state(again, order["id"])
        assert after["redirected_events"] == 1
        assert after["order"][0] == "redirected"
        new_stop = _one_live_destination(again, order["id"])
        assert new_stop == answer["stopId"]
        assert dict(after["stops"])[answer["previousStopId"]] == "cancelled"
        assert dict(after["stops"])[new_stop] == "planned"
        # A second replay gets the stored answer, changes nothing.
        replay = httpx.post(url.replace(live.base, again.base), json=choice, headers=key, timeout=30)
        assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.json() == answer and _state(again, order["id"]) == after
        _phones_equal_dispatch(again, hub_id)
    finally:
        again.stop()


def test_a_move_by_hand_killed_midway_leaves_no_hand_behind(tmp_path, geo) -> None:
    """A dispatcher's move is written with the routes that take it: killed in the
    middle of that save, neither the hand on the stop nor the routes remain."""
    if dt.datetime.now().time() > dt.time(20, 30):
        pytest.skip("too late in the day for a re-plan that keeps every stop (windows end by 23:30)")
    db = tmp_path / "live.sqlite"
    hub_id = run(_seed_rest_of_today(db, geo))
    live = LiveServer(tmp_path, db, env={"LAADBAK_CRASH_AT": "replan.mid"})
    live.start()
    try:
        dispatcher = {"Authorization": f"Bearer {live.login('dispatcher')}"}
        routes = httpx.get(
            f"{live.base}/routes",
            params={"hubId": hub_id, "date": dt.date.today().isoformat()},
            headers=dispatcher,
            timeout=10,
        ).json()
        giver = max(routes, key=lambda r: len(r["stops"]))
        stop = next(s for s in giver["stops"] if s["kind"] == "delivery" and s["status"] == "planned")
        with _db(live) as db_:
            taker = db_.execute(
                "SELECT courier FROM shift WHERE hub = ? AND courier != ? ORDER BY id", (hub_id, giver["courierId"])
            ).fetchone()[0]
            before = [tuple(r) for r in db_.execute("SELECT id, version FROM route WHERE current = 1 ORDER BY id")]
        try:
            r = httpx.post(
                f"{live.base}/stops/{stop['stopId']}/assign", json={"courierId": taker}, headers=dispatcher, timeout=30
            )
            pytest.fail(f"the server answered {r.status_code} {r.text} instead of dying mid-save")
        except httpx.TransportError:
            pass
        assert live.proc is not None and live.proc.wait(10) == -signal.SIGKILL
        with _db(live) as db_:
            assert db_.execute("SELECT COUNT(*) FROM dispatch_lock").fetchone()[0] == 0
            assert [
                tuple(r) for r in db_.execute("SELECT id, version FROM route WHERE current = 1 ORDER BY id")
            ] == before
    finally:
        live.stop()
    again = LiveServer(tmp_path, db)
    again.start()
    try:
        _phones_equal_dispatch(again, hub_id)
    finally:
        again.stop()
