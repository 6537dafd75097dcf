"""Which Web Push endpoints the server will ever send to.

A subscription's endpoint is a URL the client chooses, and the server POSTs to
it later: without a rule, anyone with a tracking link could make the server
request its own internal addresses (server-side request forgery). Endpoints
must be HTTPS and resolve to public addresses only; the rule is applied when a
subscription is registered and again right before every send, since DNS
answers may change in between. Redirects are never followed (see PushSender).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from backend.errors import Invalid


def public_address(address: str) -> bool:
    """True for a globally routable unicast address (not private, loopback,
    link-local, multicast, reserved, CGNAT, or an IPv4-mapped form of those)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PushEndpoints:
    """The endpoint rule. ``allow_loopback`` exists for tests that run a push
    service on 127.0.0.1; nothing in the environment or a request can set it."""

    def __init__(self, *, allow_loopback: bool = False) -> None:
        self.allow_loopback = allow_loopback

    async def check(self, endpoint: str) -> None:
        """Raise Invalid with the reason when the server must not send there."""
        try:
            parts = urlsplit(endpoint)
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise Invalid("The push endpoint is not a valid URL.") from exc
        loopback_test = self.allow_loopback and host in ("127.0.0.1", "::1", "localhost")
        if parts.scheme != "https" and not loopback_test:
            raise Invalid("The push endpoint must be an https:// URL of a push service.")
        if not host or parts.username or parts.password:
            raise Invalid("The push endpoint must name a push service's host, without user or password.")
        if loopback_test:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Invalid(f"The push endpoint's host {host} could not be resolved.") from exc
        addresses = {str(info[4][0]) for info in infos}
        if not addresses or not all(public_address(a) for a in addresses):
            raise Invalid(f"The push endpoint's host {host} is not a public push service.")
