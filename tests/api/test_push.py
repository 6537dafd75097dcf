"""Web Push through a real local HTTP endpoint standing in for the push service.

The endpoint decrypts each message (RFC 8291, aes128gcm) with the
subscription's own keys, as a browser would, and can answer 410 Gone.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from backend.db.tables import Courier, PushSubscription
from backend.realtime.outbox import emit
from backend.realtime.push import PushRelay
from tests.api.helpers import login, make_user


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakePushService:
    """Receives pushes on 127.0.0.1 and decrypts them with the browser's keys."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.received: list[dict[str, Any]] = []
        self.answer = 201
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                plain = http_ece.decrypt(body, private_key=outer.private, auth_secret=outer.auth,
                                         version="aes128gcm")
                outer.received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "message": json.loads(plain)})
                self.send_response(outer.answer)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def subscription(self, name: str = "phone") -> dict[str, Any]:
        public = self.private.public_key().public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint)
        port = self.server.server_address[1]
        return {"endpoint": f"http://127.0.0.1:{port}/push/{name}",
                "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)}}

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def push_service():
    service = FakePushService()
    yield service
    service.close()


async def _subscribed_courier(client, push_service) -> tuple[int, dict[str, Any]]:
    uid = await make_user("rider", "courier")
    courier_id = (await Courier.insert(Courier(name="Rider", user=uid)))[0]["id"]
    headers = await login(client, "rider")
    sub = push_service.subscription()
    r = await client.post("/push/subscriptions", json=sub, headers=headers)
    assert r.status_code == 201, r.text
    key = (await client.get("/push/key")).json()["publicKey"]
    assert len(base64.urlsafe_b64decode(key + "==")) == 65  # an uncompressed P-256 point
    return courier_id, sub


async def test_a_push_arrives_encrypted_and_readable(client, push_service) -> None:
    await _subscribed_courier(client, push_service)
    row = await PushSubscription.select().first()
    sender = client.app.state.push
    assert await sender.send(row, {"title": "Hello", "body": "route changed"}) is True
    (got,) = push_service.received
    assert got["message"] == {"title": "Hello", "body": "route changed"}
    assert got["headers"]["content-encoding"] == "aes128gcm"
    assert int(got["headers"]["ttl"]) > 0
    assert got["headers"]["authorization"].startswith("vapid t=")


async def test_a_gone_subscription_is_removed(client, push_service) -> None:
    await _subscribed_courier(client, push_service)
    row = await PushSubscription.select().first()
    push_service.answer = 410
    assert await client.app.state.push.send(row, {"title": "x"}) is False
    assert await PushSubscription.count() == 0


async def test_the_relay_turns_a_route_change_into_one_push(client, push_service) -> None:
    courier_id, _ = await _subscribed_courier(client, push_service)
    await emit("route.updated", {"id": 7, "stops": [{"status": "planned", "late": True},
                                                    {"status": "delivered", "late": False}]},
               courier_id=courier_id, hub_id=None)
    relay = PushRelay(client.app.state.push)
    twin = PushRelay(client.app.state.push)  # a second worker reading the same outbox
    assert await relay.step() >= 1
    assert await twin.step() == 0  # the batch is taken: nothing is sent twice
    for _ in range(50):
        if push_service.received:
            break
        await asyncio.sleep(0.1)
    (got,) = push_service.received
    assert got["message"]["title"] == "Your route changed"
    assert got["message"]["body"] == "1 stops to go, 1 running late"
