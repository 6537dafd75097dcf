"""Web Push through a real local HTTP endpoint standing in for the push service.

The endpoint decrypts each message (RFC 8291, aes128gcm) with the
subscription's own keys, as a browser would, and can answer 410 Gone.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException

from backend.db.tables import Courier, PushSubscription
from backend.realtime.outbox import emit
from backend.realtime.push_endpoint import PushEndpoints, is_public
from backend.realtime.push_relay import PushRelay
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
                plain = http_ece.decrypt(body, private_key=outer.private, auth_secret=outer.auth, version="aes128gcm")
                outer.received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "message": json.loads(plain),
                    }
                )
                self.send_response(outer.answer)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def endpoints(self) -> PushEndpoints:
        """The rule with this service's origin listed, as LAADBAK_PUSH_ALLOWED_ORIGINS lists it."""
        return PushEndpoints(allowed_origins=(self.origin,))

    def subscription(self, name: str = "phone") -> dict[str, Any]:
        public = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        port = self.server.server_address[1]
        return {
            "endpoint": f"http://127.0.0.1:{port}/push/{name}",
            "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)},
        }

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def push_service():
    service = FakePushService()
    yield service
    service.close()


async def _subscribed_courier(client, push_service) -> tuple[int, dict[str, Any]]:
    # The fake push service listens on loopback, which the real rule refuses.
    client.app.state.push.endpoints = push_service.endpoints()
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
    await emit(
        "route.updated",
        {"id": 7, "stops": [{"status": "planned", "late": True}, {"status": "delivered", "late": False}]},
        courier_id=courier_id,
        hub_id=None,
    )
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


PRIVATE_ENDPOINTS = [
    "http://127.0.0.1:9/push/x",
    "https://127.0.0.1/push/x",
    "https://localhost/x",
    "https://10.0.0.1/x",
    "https://192.168.1.5/x",
    "https://169.254.169.254/latest",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://100.64.0.1/x",
    "https://0.0.0.0/x",
    "https://user:pw@fcm.googleapis.com/x",
]


async def test_a_push_endpoint_on_a_private_address_is_refused(client, push_service) -> None:
    uid = await make_user("rider", "courier")
    await Courier.insert(Courier(name="Rider", user=uid))
    headers = await login(client, "rider")
    for endpoint in PRIVATE_ENDPOINTS:
        body = {**push_service.subscription(), "endpoint": endpoint}
        r = await client.post("/push/subscriptions", json=body, headers=headers)
        assert r.status_code == 422, (endpoint, r.text)
        assert "push" in r.json()["detail"]
    assert await PushSubscription.count() == 0


async def test_a_saved_private_endpoint_gets_no_request_when_the_relay_sends(client, push_service) -> None:
    """A subscription already stored (e.g. its host's DNS changed to 127.0.0.1)
    is checked again at send time: the local server hears nothing."""
    courier_id, sub = await _subscribed_courier(client, push_service)
    client.app.state.push.endpoints = PushEndpoints()  # the production rule
    row = await PushSubscription.select().first()
    assert await client.app.state.push.send(row, {"title": "x"}) is False
    assert push_service.received == []


def test_public_addresses() -> None:
    assert is_public(ipaddress.ip_address("142.250.74.110"))
    assert is_public(ipaddress.ip_address("2a00:1450:400f:80d::200a"))
    for private in (
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "255.255.255.255",
    ):
        assert not is_public(ipaddress.ip_address(private)), private


async def test_redirects_from_a_push_service_are_not_followed(client, push_service) -> None:
    """The sender does not follow a 3xx to wherever it points."""
    import http.server

    hits: list[str] = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/internal")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        await _subscribed_courier(client, push_service)
        row = dict(await PushSubscription.select().first())
        row["endpoint"] = f"http://127.0.0.1:{server.server_address[1]}/push/x"
        client.app.state.push.endpoints = PushEndpoints(
            allowed_origins=(f"http://127.0.0.1:{server.server_address[1]}",)
        )
        with pytest.raises(WebPushException):  # the 307 is an answer, not a hop
            await client.app.state.push.send(row, {"title": "x"})
        assert hits == ["/push/x"]  # the redirect's target was never requested
    finally:
        server.shutdown()
