"""Consistency of multi-step changes: events carry final states, re-plans of one
hub are serialised across processes, and a save on stale routes is refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

from backend.db.engine import transaction
from backend.db.tables import OutboxEvent, Route, Stop
from backend.realtime.outbox import latest_seq
from backend.services import replanning
from backend.services.disruptions import take_same_day_order
from backend.settings import REPO_ROOT
from tests.api.helpers import service_ctx, tomorrow
from tests.api.test_planning import _addresses
from tests.api.test_replanning import _current_routes, _holders, _planned_day, _same_day

# docs/courier-protocol.md: the statuses a stop on a route can have.
PROTOCOL_STOP_STATUSES = {"planned", "arrived", "delivered", "failed", "collected"}


async def _route_events(after: int = 0) -> list[dict]:
    return (
        await OutboxEvent.select()
        .where((OutboxEvent.id > after) & OutboxEvent.kind.is_in(["route.planned", "route.updated"]))
        .output(load_json=True)
    )


async def test_every_stop_in_a_route_event_has_a_status_the_protocol_lists(client, geo) -> None:
    _, hub, _ = await _planned_day(client, geo)
    planned = await _route_events()
    assert planned and all(e["kind"] == "route.planned" for e in planned)
    seen = max(e["id"] for e in planned)
    now = dt.datetime.combine(tomorrow(), dt.time(10, 0))
    _, result = await take_same_day_order(
        service_ctx(client), _same_day(hub, geo, "SD-STATUS", ("13:00", "18:00")), now, time_limit_s=1.0
    )
    assert result is not None and result["changedCouriers"]
    updated = await _route_events(seen)
    assert updated and all(e["kind"] == "route.updated" for e in updated)
    statuses = {s["status"] for e in planned + updated for s in e["payload"]["stops"]}
    assert statuses <= PROTOCOL_STOP_STATUSES, statuses


def _start_replan_process(url: str, hub: int, reference: str, address: str, go: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.api.replan_process",
            url,
            str(hub),
            tomorrow().isoformat(),
            reference,
            address,
            str(go),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _one_current_route_per_courier_and_one_holder_per_stop(routes: list[dict]) -> dict[int, list[int]]:
    couriers = [r["courier"] for r in routes]
    assert len(couriers) == len(set(couriers)), f"two routes in force for one courier: {sorted(couriers)}"
    holders = _holders(routes)
    assert all(len(c) == 1 for c in holders.values()), holders
    return holders


async def test_two_processes_replanning_one_hub_at_once_lose_no_update(client, geo, settings, tmp_path) -> None:
    _, hub, _ = await _planned_day(client, geo)
    go = tmp_path / "go"
    addresses = _addresses(geo)
    procs = [
        _start_replan_process(settings.database_url, hub, ref, addresses[510 + 9 * i], go)
        for i, ref in enumerate(("PROC-A", "PROC-B"))
    ]
    try:
        for ref in ("PROC-A", "PROC-B"):  # both ready (map loaded, database bound), then both at once
            ready = go.with_name(f"go.{ref}.ready")
            for _ in range(600):
                if ready.exists() or any(p.poll() is not None for p in procs):
                    break
                await asyncio.sleep(0.05)
        go.touch()
        for p in procs:
            out, _ = await asyncio.to_thread(p.communicate, timeout=120)
            assert p.returncode == 0, out.decode()[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    holders = _one_current_route_per_courier_and_one_holder_per_stop(await _current_routes(hub))
    new = await Stop.select(Stop.id, Stop.status).where(Stop.order.reference.is_in(["PROC-A", "PROC-B"]))
    assert len(new) == 2 and all(s["status"] == "planned" for s in new), new
    assert all(s["id"] in holders for s in new)  # the later save kept the earlier one's stop
    # One after the other: every version of a courier's route follows the one before it.
    for courier in {r["courier"] for r in await _current_routes(hub)}:
        versions = sorted(
            r["version"]
            for r in await Route.select(Route.version).where((Route.hub == hub) & (Route.courier == courier))
        )
        assert versions == list(range(1, len(versions) + 1)), versions


async def test_a_save_on_routes_that_changed_while_solving_is_refused_and_worked_out_again(
    client, geo, monkeypatch
) -> None:
    _, hub, routes = await _planned_day(client, geo)
    day = tomorrow()
    bumped = routes[0]
    real_load_day = replanning.load_day
    calls: list[int] = []

    async def load_day_then_someone_saves(*args, **kwargs):
        out = await real_load_day(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:  # another writer saves a new version of one route while this one solves
            async with transaction():
                await Route.update({Route.current: False}).where(Route.id == bumped["id"])
                stored = await Route.select().where(Route.id == bumped["id"]).output(load_json=True).first()
                row = {k: v for k, v in stored.items() if k != "id"}
                await Route.insert(Route(**{**row, "version": bumped["version"] + 1, "current": True}))
        return out

    monkeypatch.setattr(replanning, "load_day", load_day_then_someone_saves)
    seq = await latest_seq()
    now = dt.datetime.combine(day, dt.time(10, 0))
    await orders_write(client, hub, geo)
    result = await replanning.replan_hub(service_ctx(client), hub, day, now, reason="stale test", time_limit_s=1.0)
    assert result["applied"] and len(calls) == 2, (result, calls)
    after = await _current_routes(hub)
    _one_current_route_per_courier_and_one_holder_per_stop(after)
    mine = next(r for r in after if r["courier"] == bumped["courier"])
    assert mine["version"] >= bumped["version"] + 1  # on top of the other writer's version, not beside it
    runs = await OutboxEvent.count().where((OutboxEvent.id > seq) & (OutboxEvent.kind == "plan.replanned"))
    assert runs == 1  # the refused save left nothing behind


async def orders_write(client, hub: int, geo) -> None:
    """A new open stop, so the re-plan has something to change."""
    from backend.services import orders

    prepared = await orders.prepare(_same_day(hub, geo, "STALE-1", ("13:00", "18:00")), geo, tomorrow())
    async with transaction():
        await orders.write(prepared, dt.datetime.now())
