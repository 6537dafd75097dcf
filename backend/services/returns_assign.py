"""Who works a reconditioning task list: a new list goes to the least-loaded returns worker of
the hub who is on (the core's ``templates.assign``), in the inspection's transaction.

"On" is kept simple on purpose: an active ``returns`` user of the hub with a live session —
logged in and neither logged out nor expired (a session lasts ``token_ttl_s``, 12 hours: about
a working day). There is no clock-in for the desk; a login is the nearest thing that exists.
Nobody on: the list stays open and the first worker who starts it takes it. A worker's load is
the steps not yet done on their open lists, so a list handed to someone counts at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from backend.db.locks import write_guard
from backend.db.tables import ReturnInspection, Session, User
from backend.returns import templates

OPEN = "tasks"


async def on_duty(hub: int, now: dt.datetime) -> list[dict[str, Any]]:
    """The hub's returns workers who are on, by user id (the core breaks a tie by this order)."""
    live = await (
        Session.select(Session.user)
        .where((Session.expires_at > now) & (Session.user.role == "returns") & (Session.user.hub_id == hub))
        .distinct()
    )
    ids = sorted({r["user"] for r in live})
    if not ids:
        return []
    return list(
        await User.select(User.id, User.username, User.display_name)
        .where(User.id.is_in(ids) & User.active.eq(True))
        .order_by(User.id)
    )


async def loads(hub: int) -> dict[str, int]:
    """Per worker (username) the steps not yet done on their open lists."""
    rows = await (
        ReturnInspection.select(ReturnInspection.task, ReturnInspection.events)
        .where((ReturnInspection.hub == hub) & (ReturnInspection.status == OPEN))
        .output(load_json=True)
    )
    out: dict[str, int] = {}
    for r in rows:
        worker = (r["task"] or {}).get("worker")
        if not worker:
            continue
        done = {e["step_id"] for e in r["events"] if e["kind"] == "done"}
        out[worker] = out.get(worker, 0) + len(r["task"]["steps"]) - len(done)
    return out


async def assign_new(hub: int, task: templates.TaskList, now: dt.datetime) -> tuple[templates.TaskList, int | None]:
    """The new list with its worker (and that worker's user id); unchanged when nobody is on.

    Under the hub's guard until the inspection commits: two inspections at once (PostgreSQL)
    would otherwise both read the loads without the other's new list, and give both lists to
    the same worker."""
    await write_guard("returns_assign", hub)
    workers = await on_duty(hub, now)
    if not workers:
        return task, None
    batch = templates.Batch(template=task.template, lists=(task,))
    (given,) = templates.assign([batch], [w["username"] for w in workers], await loads(hub))
    ids = {w["username"]: w["id"] for w in workers}
    return msgspec.structs.replace(task, worker=given.worker), ids[given.worker or ""]
