"""The quick answer first: a change of stops is answered by inserting them into the routes in
force (backend/dispatch/quick.py), and the solver's better plan follows as a ``replan_better``
job, published only when it gains enough and nothing changed meanwhile."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Job, PlanRun, Stop
from backend.dispatch.model import Plan, Problem, Vehicle, Window
from backend.dispatch.model import Stop as PStop
from backend.dispatch.scheduling import loop_route
from backend.services.replanning import improve_hub, plan_gain, replan_hub
from tests.api.helpers import post_ok, service_ctx, tomorrow
from tests.api.test_planning import _addresses
from tests.api.test_replanning import _current_routes, _holders, _planned_day


async def _new_order(client, geo, h: dict, hub: int, reference: str, address: int) -> int:
    new = await post_ok(
        client,
        "/orders",
        {
            "reference": reference,
            "hubId": hub,
            "customerName": "Late Lunch",
            "date": tomorrow().isoformat(),
            "address": _addresses(geo)[address],
            "window": {"start": "13:00", "end": "18:00"},
            "parcels": [{"weightKg": 2, "volumeL": 5}],
        },
        h,
    )
    return (await Stop.select(Stop.id).where(Stop.order == new["id"]).first())["id"]


async def _runs(hub: int) -> list[int]:
    return [r["id"] for r in await PlanRun.select(PlanRun.id).where(PlanRun.hub == hub).order_by(PlanRun.id)]


async def test_a_new_order_is_answered_by_insertion_and_the_solvers_search_follows_as_a_job(
    client, geo, monkeypatch
) -> None:
    import backend.services.replanning as replanning

    h, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    before = {r["courier"]: [s["stopId"] for s in r["stops"]] for r in routes}
    new_stop = await _new_order(client, geo, h, hub, "QUICK-1", 500)
    now = dt.datetime.combine(day, dt.time(11, 0))
    result = await replan_hub(service_ctx(client), hub, day, now, reason="new order QUICK-1", time_limit_s=1.0)

    assert result["applied"] and result["quick"] is True, result
    assert result["violations"] == 0 and result["unplanned"] == 0 and result["solveS"] == 0
    after = await _current_routes(hub)
    holders = _holders(after)
    assert len(holders[new_stop]) == 1 and all(len(c) == 1 for c in holders.values())
    (taker,) = holders[new_stop]
    assert result["changedCouriers"] == [taker]
    # the routes in force kept their order: the taker's with the new stop in it, the others as they were
    for r in after:
        ids = [s["stopId"] for s in r["stops"]]
        assert [sid for sid in ids if sid != new_stop] == before.get(r["courier"], []), r["courier"]

    job = await Job.select().where(Job.key == f"replan_better:{result['planRunId']}").first().output(load_json=True)
    assert job is not None and job["kind"] == "replan_better"  # its status: the worker may have woken
    assert job["payload"] == {
        "hubId": hub,
        "date": day.isoformat(),
        "reason": "new order QUICK-1",
        "planRunId": result["planRunId"],
    }

    # A search for an older answer does nothing: a newer re-plan came since.
    runs = await _runs(hub)
    assert await improve_hub(service_ctx(client), hub, day, now, reason="old", after_run=runs[0]) is None
    assert await _runs(hub) == runs
    # Nor while a follow-up of a change is due: the worker runs one job at a time, answers first.
    # The app's worker is stopped meanwhile, or its poll could take the due job before the check.
    await client.app.state.jobs.stop()
    await Job.insert(
        Job(kind="replan", key="other", payload={}, status="pending", run_after=dt.datetime.now() - dt.timedelta(1))
    )
    real = replanning.work_out

    async def no_search(*args, **kw):  # the search must not even start
        raise AssertionError("searched while a follow-up was due")

    monkeypatch.setattr(replanning, "work_out", no_search)
    assert await improve_hub(service_ctx(client), hub, day, now, reason="x", after_run=runs[-1]) is None
    monkeypatch.setattr(replanning, "work_out", real)
    await Job.delete().where(Job.key == "other")
    await client.app.state.jobs.start()
    # The search for this answer publishes only a better plan, checked, with every stop still planned.
    better = await improve_hub(service_ctx(client), hub, day, now, reason="new order QUICK-1", after_run=runs[-1])
    if better is None:
        assert await _runs(hub) == runs and await _current_routes(hub) == after
    else:
        assert better["applied"] and better["reason"] == "new order QUICK-1: a better plan"
        assert better["violations"] == 0 and better["quick"] is False
        assert set(_holders(await _current_routes(hub))) == set(holders)


async def test_a_replan_that_must_be_the_solvers_leaves_no_job(client, geo) -> None:
    # as the dispatcher's POST /hubs/{id}/replan asks: quick=False, even with a stop to insert
    h, hub, _ = await _planned_day(client, geo)
    day = tomorrow()
    new_stop = await _new_order(client, geo, h, hub, "BY-HAND", 400)
    now = dt.datetime.combine(day, dt.time(11, 0))
    result = await replan_hub(service_ctx(client), hub, day, now, reason="by hand", time_limit_s=1.0, quick=False)
    assert result["applied"] and result["quick"] is False and result["violations"] == 0, result
    assert len(_holders(await _current_routes(hub))[new_stop]) == 1
    assert not await Job.select().where(Job.kind == "replan_better")


def _line() -> Problem:
    # a hub at 0 and stops every km along a line, 5 m/s: 200 s a km
    pts = [0, 1000, 2000, 3000]
    time = [[abs(a - b) // 5 for b in pts] for a in pts]
    stops = tuple(PStop(id=str(i), kind="delivery", location=i, weight_kg=1.0) for i in (1, 2, 3))
    bike = Vehicle(
        id="shift-1", start_location=0, end_location=0, shift=Window(0, 86400), payload_kg=50.0, volume_l=100.0
    )
    return Problem(time_s=time, dist_m=time, vehicles=(bike,), stops=stops)


def _plan(problem: Problem, order: list[int]) -> Plan:
    route = loop_route(problem, problem.vehicles[0], [k - 1 for k in order], [])
    return Plan(routes=(route,), unplanned=(), cost=0, distance_m=0, duration_s=0, solve_s=0.0, status="x")


def test_plan_gain_is_what_the_new_order_saves_and_nothing_for_leaving_stops_out() -> None:
    problem = _line()
    zigzag = [{"shift": 1, "stops": [{"stop_id": 3, "loop": 1}, {"stop_id": 1}, {"stop_id": 2}]}]
    # 0 -> 3 -> 1 -> 2 -> 0 rides 3+2+1+2 = 8 km; 0 -> 1 -> 2 -> 3 -> 0 rides 6 km: 2 km saved
    assert plan_gain(problem, zigzag, _plan(problem, [1, 2, 3])) == 400
    assert plan_gain(problem, zigzag, _plan(problem, [3, 1, 2])) == 0
    # cheaper by leaving stop 3 out is no better plan
    assert plan_gain(problem, zigzag, _plan(problem, [1, 2])) == -1
