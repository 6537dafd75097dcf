"""The push relay: reads the outbox after its cursor and hands the messages
that concern people (couriers, customers following an order) to the sender,
each event once across all workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from backend.db.tables import Courier, PushSubscription, RelayCursor
from backend.realtime.background import Background
from backend.realtime.notifications import notifications_for
from backend.realtime.outbox import events_after, latest_seq
from backend.realtime.push import PushSender

log = logging.getLogger("laadbak.push")


class PushRelay(Background):
    """Reads the outbox after its cursor and sends what concerns people.

    The cursor moves by a conditional update: of several workers reading the
    same range, one wins it and sends; the others move on.
    """

    NAME = "push"
    task_name = "push-relay"

    def __init__(self, sender: PushSender, every_s: float = 1.0) -> None:
        self.sender, self.every_s = sender, every_s

    async def start(self) -> None:
        if not await RelayCursor.exists().where(RelayCursor.name == self.NAME):
            with contextlib.suppress(Exception):  # a twin worker created it first
                await RelayCursor.insert(RelayCursor(name=self.NAME, last_id=await latest_seq()))
        await super().start()

    async def _run(self) -> None:
        while True:
            try:
                while await self.step():
                    pass
            except Exception:  # noqa: BLE001
                log.exception("push relay step failed")
            await asyncio.sleep(self.every_s)

    async def step(self) -> int:
        """Claim and send one batch; returns how many events it covered."""
        cursor = await RelayCursor.select(RelayCursor.last_id).where(RelayCursor.name == self.NAME).first()
        if cursor is None:
            return 0
        events = await events_after(cursor["last_id"], limit=200)
        if not events:
            return 0
        won = (
            await RelayCursor.update({RelayCursor.last_id: events[-1]["id"]})
            .where((RelayCursor.name == self.NAME) & (RelayCursor.last_id == cursor["last_id"]))
            .returning(RelayCursor.id)
        )
        if not won:
            return len(events)  # another worker took this batch
        messages = [m for event in events for m in notifications_for(event)]
        if messages:
            subs = await subscriptions_of({(audience, key) for audience, key, _ in messages})
            for audience, key, message in messages:
                for sub in subs.get((audience, key), ()):
                    self.sender.enqueue(sub, message)
        return len(events)


async def subscriptions_of(
    wanted: set[tuple[str, int]],
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """A courier's phones (through their user), or the browsers following an
    order: for a whole batch of messages in two or three queries."""
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    couriers = [key for audience, key in wanted if audience == "courier"]
    orders = [key for audience, key in wanted if audience == "order"]
    if couriers:
        users = {
            r["id"]: r["user"]
            for r in await Courier.select(Courier.id, Courier.user).where(Courier.id.is_in(couriers))
            if r["user"] is not None
        }
        courier_of = {user: cid for cid, user in users.items()}
        if users:
            for sub in await PushSubscription.select().where(PushSubscription.user_id.is_in(list(users.values()))):
                out.setdefault(("courier", courier_of[sub["user_id"]]), []).append(sub)
    if orders:
        for sub in await PushSubscription.select().where(PushSubscription.order_id.is_in(orders)):
            out.setdefault(("order", sub["order_id"]), []).append(sub)
    return out
