"""Small helpers for API tests: users, logins, a hub with couriers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

from backend.db.tables import User
from backend.security import hash_password
from backend.services.context import Context

PASSWORD = "correct-horse-1"


@functools.cache
def password_hash(password: str) -> str:
    """One scrypt hash per password for the whole run (each costs ~70 ms of CPU, slow on
    purpose); logins still verify it for real."""
    return hash_password(password)


async def make_user(username: str, role: str, hub_id: int | None = None) -> int:
    rows = await User.insert(
        User(
            username=username,
            password_hash=password_hash(PASSWORD),
            role=role,
            display_name=username.title(),
            hub_id=hub_id,
        )
    )
    return rows[0]["id"]


async def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = await client.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def admin(client) -> dict[str, str]:
    await make_user("root", "admin")
    return await login(client, "root")


def tomorrow() -> dt.date:
    return dt.date.today() + dt.timedelta(days=1)


async def post_ok(client, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def problem(r, status: int) -> dict[str, Any]:
    """Assert a problem-details answer with a message, and return it."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["detail"], body
    return body


class FixedPlaces:
    """Couriers' positions as a test sets them (the position store's two questions)."""

    def __init__(self, places: dict[int, tuple[float, float]] | None = None) -> None:
        self._places = dict(places or {})

    def places(self) -> dict[int, tuple[float, float]]:
        return dict(self._places)

    def last(self, courier_id: int) -> dict[str, Any] | None:
        place = self._places.get(courier_id)
        return None if place is None else {"courierId": courier_id, "lat": place[0], "lon": place[1]}


def service_ctx(client, positions: dict[int, tuple[float, float]] | None = None) -> Context:
    """The app's service context with solves in a thread (no pool) and the positions given."""
    return dataclasses.replace(client.app.state.context, pool=None, positions=FixedPlaces(positions))


# A kept stop's fields as the database names them -> as the API does (the others are one word).
API_NAMES = {
    "stop_id": "stopId",
    "order_id": "orderId",
    "planned_eta": "plannedEta",
    "service_start": "serviceStart",
    "window_start": "windowStart",
    "window_end": "windowEnd",
    "travel_s": "travelS",
    "service_s": "serviceS",
    "load_kg": "loadKg",
    "distance_m": "distanceM",
}


def with_api_names(route: dict[str, Any]) -> dict[str, Any]:
    """A stored route row with its stops under the API's names, as the tests read them."""
    return {**route, "stops": [{API_NAMES.get(k, k): v for k, v in s.items()} for s in route["stops"]]}


async def done_by_the_worker(key: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """The job row of ``key`` once the app's own worker has run it: woken as the answer that
    wrote it was sent, else at its next poll. Reading it at once would race that worker, so
    this waits for ``done``; an error (a failed run) fails the test with the job's message."""
    import asyncio

    from backend.db.tables import Job

    for _ in range(int(timeout_s * 10)):
        row = await Job.select().where(Job.key == key).output(load_json=True).first()
        assert row is not None, f"no job {key} was written"
        if row["status"] == "done":
            return dict(row)
        assert not row["last_error"], f"job {key} failed: {row['last_error']}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {key} was not done within {timeout_s:g} s")


def no_room_for(monkeypatch, stop_id: int | str) -> None:
    """Re-plans find no place for ``stop_id``: the solver leaves it out (``no_capacity``)
    and there is no quick answer, so the solver's plan is the answer."""
    import msgspec

    import backend.dispatch.live_replan as live_replan
    import backend.services.replanning as replanning
    from backend.dispatch.model import Unplanned

    real, sid = live_replan.replan, str(stop_id)

    def without(problem, in_force, **kw):  # type: ignore[no-untyped-def]
        result = real(problem, in_force, **kw)
        plan = msgspec.structs.replace(
            result.plan,
            routes=tuple(
                msgspec.structs.replace(r, stops=tuple(p for p in r.stops if p.stop_id != sid))
                for r in result.plan.routes
            ),
            unplanned=(*result.plan.unplanned, Unplanned(stop_id=sid, reason="no_capacity", detail="test")),
        )
        return msgspec.structs.replace(result, plan=plan)

    monkeypatch.setattr(live_replan, "replan", without)
    monkeypatch.setattr(replanning, "quick_replan", lambda *a, **kw: None)
