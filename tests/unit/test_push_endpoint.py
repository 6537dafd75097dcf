"""The push endpoint rule: which addresses are public, and the sending session
refusing a non-public peer at connect time (a name re-pointed after the check)."""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from backend.errors import Invalid
from backend.realtime.push_endpoint import PushEndpoints, is_public


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::a00:1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["142.250.74.46", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://1.1.1.1/x",
        "ftp://1.1.1.1/x",
        "https://u:p@1.1.1.1/x",
        "https:///x",
        "https://10.0.0.1/x",
        "https://[fe80::1]/x",
        "https://[::ffff:192.168.0.1]/x",
    ],
)
async def test_the_rule_refuses_with_a_reason(url: str) -> None:
    with pytest.raises(Invalid, match="push endpoint"):
        await PushEndpoints().check(url)


async def test_a_public_https_endpoint_passes() -> None:
    await PushEndpoints().check("https://1.1.1.1/push/abc")  # a literal address: no DNS needed


def test_the_sending_session_connects_to_no_internal_peer() -> None:
    """As if a public name now resolved to 127.0.0.1: the socket is refused before any byte is sent."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(self.path)
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        for url in (f"http://127.0.0.1:{port}/x", f"https://127.0.0.1:{port}/x"):
            with pytest.raises(requests.ConnectionError, match="not a public address"):
                PushEndpoints().http.post(url, data=b"x", timeout=5)
        assert received == []
        # The same session without the rule (tests' fake push services) does reach it.
        assert PushEndpoints(allow_local=True).http.post(f"http://127.0.0.1:{port}/x", timeout=5).status_code == 201
        assert received == ["/x"]
    finally:
        server.shutdown()
