"""Web Push: VAPID keys, a sender that never blocks a request, and a relay that
turns outbox events into push messages exactly once across workers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from backend.db.tables import Courier, PushSubscription, RelayCursor
from backend.realtime.background import Background
from backend.realtime.notifications import notifications_for
from backend.errors import Invalid
from backend.realtime.outbox import events_after
from backend.realtime.push_endpoint import PushEndpoints

log = logging.getLogger("laadbak.push")
GONE = (404, 410)


def load_vapid(var_dir: Path) -> Vapid:
    """The server's VAPID key pair, generated into var/ on first use."""
    path = var_dir / "vapid_private.pem"
    if path.exists():
        return Vapid.from_file(str(path))
    var_dir.mkdir(parents=True, exist_ok=True)
    vapid = Vapid()
    vapid.generate_keys()
    pem = vapid.private_pem()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return vapid


def application_server_key(vapid: Vapid) -> str:
    """The public key as browsers want it for pushManager.subscribe()."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushSender(Background):
    """Sends in the background; a full queue drops (and logs) rather than wait."""

    task_name = "push-sender"

    def __init__(self, vapid: Vapid, subject: str, ttl_s: int = 3600, maxsize: int = 10_000,
                 endpoints: PushEndpoints | None = None) -> None:
        self.vapid, self.subject, self.ttl_s = vapid, subject, ttl_s
        self.endpoints = endpoints or PushEndpoints()
        self.queue: asyncio.Queue[tuple[dict[str, Any], dict[str, Any]]] = asyncio.Queue(maxsize)
        self.sent = 0

    def enqueue(self, subscription: dict[str, Any], message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait((subscription, message))
        except asyncio.QueueFull:
            log.warning("push queue full; dropped a message for %s", subscription["endpoint"][:40])

    async def _run(self) -> None:
        while True:
            subscription, message = await self.queue.get()
            try:
                await self.send(subscription, message)
            except Exception:  # noqa: BLE001 - one bad endpoint must not stop the others
                log.exception("push to %s failed", subscription["endpoint"][:60])

    async def send(self, subscription: dict[str, Any], message: dict[str, Any]) -> bool:
        """One message; False when the push service says the subscription is gone (then it is deleted)."""
        info = {"endpoint": subscription["endpoint"],
                "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]}}
        claims = {"sub": self.subject}  # a fresh dict each call: pywebpush fills in aud and exp
        try:
            await self.endpoints.check(subscription["endpoint"])  # DNS may have changed since it was saved
        except Invalid as exc:
            log.warning("push not sent to %s: %s", subscription["endpoint"][:60], exc.detail)
            return False
        try:
            # The endpoints' session connects to public addresses only and follows no redirect.
            await asyncio.to_thread(webpush, info, json.dumps(message), vapid_private_key=self.vapid,
                                    vapid_claims=claims, ttl=self.ttl_s, timeout=10,
                                    requests_session=self.endpoints.http)
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in GONE:
                await PushSubscription.delete().where(PushSubscription.endpoint == subscription["endpoint"])
                log.info("push subscription gone (%s); removed", status)
                return False
            raise
        self.sent += 1
        return True


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
            from backend.realtime.outbox import latest_seq

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
        won = await RelayCursor.update({RelayCursor.last_id: events[-1]["id"]}).where(
            (RelayCursor.name == self.NAME) & (RelayCursor.last_id == cursor["last_id"])
        ).returning(RelayCursor.id)
        if not won:
            return len(events)  # another worker took this batch
        messages = [m for event in events for m in notifications_for(event)]
        if messages:
            subs = await subscriptions_of({(audience, key) for audience, key, _ in messages})
            for audience, key, message in messages:
                for sub in subs.get((audience, key), ()):
                    self.sender.enqueue(sub, message)
        return len(events)


async def subscriptions_of(wanted: set[tuple[str, int]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """A courier's phones (through their user), or the browsers following an
    order: for a whole batch of messages in two or three queries."""
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    couriers = [key for audience, key in wanted if audience == "courier"]
    orders = [key for audience, key in wanted if audience == "order"]
    if couriers:
        users = {r["id"]: r["user"] for r in await Courier.select(Courier.id, Courier.user).where(
            Courier.id.is_in(couriers)) if r["user"] is not None}
        courier_of = {user: cid for cid, user in users.items()}
        if users:
            for sub in await PushSubscription.select().where(PushSubscription.user_id.is_in(list(users.values()))):
                out.setdefault(("courier", courier_of[sub["user_id"]]), []).append(sub)
    if orders:
        for sub in await PushSubscription.select().where(PushSubscription.order_id.is_in(orders)):
            out.setdefault(("order", sub["order_id"]), []).append(sub)
    return out
