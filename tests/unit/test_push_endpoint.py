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
from backend.realtime.push_endpoint import PushEndpoints, is_public, parse_allowed_origins


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
        # With exactly this origin listed (LAADBAK_PUSH_ALLOWED_ORIGINS) the session reaches it ...
        listed = PushEndpoints(allowed_origins=(f"http://127.0.0.1:{port}",))
        assert listed.http.post(f"http://127.0.0.1:{port}/x", timeout=5).status_code == 201
        assert received == ["/x"]
        # ... and nothing else on loopback: another port, another name for the host.
        other = PushEndpoints(allowed_origins=(f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}",))
        with pytest.raises(requests.ConnectionError, match="not a public address"):
            other.http.post(f"http://127.0.0.1:{port}/x", data=b"x", timeout=5)
        with pytest.raises(requests.ConnectionError, match="not a public address"):
            listed.http.post(f"http://localhost:{port}/x", data=b"x", timeout=5)
        assert received == ["/x"]
    finally:
        server.shutdown()


async def test_only_the_listed_origins_pass_the_check() -> None:
    """LAADBAK_PUSH_ALLOWED_ORIGINS lets exactly its origins through; loopback in general stays refused."""
    listed = PushEndpoints(allowed_origins=parse_allowed_origins("http://127.0.0.1:8765"))
    await listed.check("http://127.0.0.1:8765/push/customer")
    await listed.check("HTTP://127.0.0.1:8765/other")
    for url in (
        "http://127.0.0.1:8766/push/customer",  # another port
        "https://127.0.0.1:8765/push/customer",  # another scheme
        "http://localhost:8765/push/customer",  # another name
        "http://127.0.0.2:8765/push/customer",
        "http://u:p@127.0.0.1:8765/push/customer",
    ):
        with pytest.raises(Invalid):
            await listed.check(url)
    with pytest.raises(Invalid, match="https://"):  # without the setting: refused as before
        await PushEndpoints().check("http://127.0.0.1:8765/push/customer")
    with pytest.raises(Invalid, match="public internet"):
        await PushEndpoints().check("https://127.0.0.1:8765/push/customer")


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1:8765",
        "http://127.0.0.1:8765/push",
        "http://*:8765",
        "ftp://127.0.0.1:21",
        "http://u@h:1",
        "http://h:x",
    ],
)
def test_allowed_origins_must_be_exact_origins(text: str) -> None:
    with pytest.raises(ValueError, match="LAADBAK_PUSH_ALLOWED_ORIGINS"):
        parse_allowed_origins(text)


def test_allowed_origins_are_normalised() -> None:
    assert parse_allowed_origins(" http://127.0.0.1:8765/ , HTTPS://Push.Example ,") == (
        "http://127.0.0.1:8765",
        "https://push.example:443",
    )
    assert parse_allowed_origins("") == ()


def test_the_setting_is_off_by_default_and_checked(tmp_path) -> None:
    from backend.settings import SettingsError, load_settings

    env = {"LAADBAK_SECRET_KEY": "x", "LAADBAK_VAR_DIR": str(tmp_path)}
    assert load_settings(env).push_allowed_origins == ()
    listed = load_settings({**env, "LAADBAK_PUSH_ALLOWED_ORIGINS": "http://127.0.0.1:8765"})
    assert listed.push_allowed_origins == ("http://127.0.0.1:8765",)
    with pytest.raises(SettingsError, match="exact origins"):
        load_settings({**env, "LAADBAK_PUSH_ALLOWED_ORIGINS": "http://127.0.0.1:8765/push"})
