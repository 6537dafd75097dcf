"""Sending Web Push: the server's VAPID keys, and a sender that never blocks a
request. What to send, and when, is the relay's (``push_relay``)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from backend.db.tables import PushSubscription
from backend.errors import Invalid
from backend.realtime.background import Background
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

    def __init__(
        self,
        vapid: Vapid,
        subject: str,
        ttl_s: int = 3600,
        maxsize: int = 10_000,
        endpoints: PushEndpoints | None = None,
    ) -> None:
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
        info = {
            "endpoint": subscription["endpoint"],
            "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]},
        }
        claims = {"sub": self.subject}  # a fresh dict each call: pywebpush fills in aud and exp
        try:
            await self.endpoints.check(subscription["endpoint"])  # DNS may have changed since it was saved
        except Invalid as exc:
            log.warning("push not sent to %s: %s", subscription["endpoint"][:60], exc.detail)
            return False
        try:
            # The endpoints' session connects to public addresses only and follows no redirect.
            await asyncio.to_thread(
                webpush,
                info,
                json.dumps(message),
                vapid_private_key=self.vapid,
                vapid_claims=claims,
                ttl=self.ttl_s,
                timeout=10,
                requests_session=self.endpoints.http,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in GONE:
                await PushSubscription.delete().where(PushSubscription.endpoint == subscription["endpoint"])
                log.info("push subscription gone (%s); removed", status)
                return False
            raise
        self.sent += 1
        return True
