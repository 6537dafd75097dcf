"""Handing a task list to another worker: a worker takes one over for themselves (explicitly —
a step on someone else's list is refused), a supervisor (dispatcher of the hub, or an admin)
gives it to any returns worker of the hub. Written to the return's history. The supervisor's
view lists the workers who are on with their load (returns_assign.py says what "on" means)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import ReturnEvent, ReturnInspection, User
from backend.errors import Conflict, Forbidden, Invalid
from backend.returns import templates
from backend.services.returns_assign import OPEN, loads, on_duty
from backend.services.returns_events import emit_returns
from backend.services.returns_inspection import desk_hub
from backend.services.returns_tasks import row_of, view_of
from backend.services.sessions import Principal
from backend.structs import Body

SUPERVISORS = frozenset({"dispatcher", "admin"})


class HandOverIn(Body, kw_only=True):
    worker: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]  # a username


async def workers(user: Principal, now: dt.datetime) -> list[dict[str, Any]]:
    """The hub's returns workers who are on, with the steps still on their hands."""
    hub = desk_hub(user)
    load = await loads(hub)
    return [
        {"username": w["username"], "displayName": w["display_name"], "openSteps": load.get(w["username"], 0)}
        for w in await on_duty(hub, now)
    ]


async def hand_over(item_id: int, data: HandOverIn, user: Principal, now: dt.datetime) -> dict[str, Any]:
    """The item's list to ``data.worker``; the same worker again changes nothing."""
    me = user.user.username
    if user.role not in SUPERVISORS and data.worker != me:
        raise Forbidden("Only a supervisor gives a list to someone else; to take it over yourself, give your own name.")
    async with transaction():
        await write_guard("return_item", item_id)
        row = await row_of(item_id, user)
        if not row["task"]:
            raise Conflict(f"Item {item_id} has no task list; finish it.")
        if row["status"] != OPEN:
            raise Conflict(f"The task list of item {item_id} is through ({row['status']}); nothing to hand over.")
        to = await (
            User.select(User.id, User.username)
            .where(
                (User.username == data.worker)
                & (User.role == "returns")
                & (User.active.eq(True))
                & (User.hub_id == row["hub"])
            )
            .first()
        )
        if to is None:
            raise Invalid(f"{data.worker!r} is not a returns worker of this hub; pick one from the list of workers.")
        task = msgspec.convert(row["task"], templates.TaskList)
        if task.worker != to["username"]:
            await ReturnInspection.update(
                {
                    ReturnInspection.task: msgspec.to_builtins(msgspec.structs.replace(task, worker=to["username"])),
                    ReturnInspection.worker: to["id"],
                }
            ).where(ReturnInspection.id == row["id"])
            taken = "took it over" if to["username"] == me else f"gave it to {to['username']}"
            detail = f"item {item_id}: task list of {task.worker or 'nobody'}; {me} {taken}"
            await ReturnEvent.insert(
                ReturnEvent(request=row["request"], at=now, state="assigned", by_user=user.id, detail=detail)
            )
            await emit_returns("return.assigned", {"itemId": item_id, "worker": to["username"]}, hub_id=row["hub"])
        row = await row_of(item_id, user)
    return await view_of(row, now)
