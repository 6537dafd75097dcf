"""Which Web Push endpoints the server will POST to: public HTTPS push services only.

A subscription's endpoint is chosen by whoever registers it (a courier, anyone
with a tracking link), so without this rule the server could be made to send
requests into its own network. The rule is checked when a subscription is
registered and again before every send, because what a name resolves to can
change in between; and the HTTP session that sends refuses, at connect time,
a socket whose peer is not public (a name that changes between our check and
the connection), and never follows a redirect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from backend.errors import Invalid

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address on the public internet (IPv4 inside IPv6 judged by the IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        inner = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and not is_public(inner):
            return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return False
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


class _PublicPeerOnly:
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%")[0])
        if not is_public(peer):
            sock.close()
            raise NewConnectionError(self, f"refused to connect: {peer} is not a public address")  # type: ignore[arg-type]
        return sock


class _PublicHTTPConnection(_PublicPeerOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}


class _NoRedirects(requests.Session):
    """A push service answers; it never sends us elsewhere (a redirect could point inside)."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


@dataclass(frozen=True)
class PushEndpoints:
    """The rule, and ``http``: the session to send with, which enforces it.

    ``allow_local`` exists for tests with a push service on loopback and is set
    only in code (no setting or request reaches it)."""

    allow_local: bool = False
    http: requests.Session = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        session = _NoRedirects()
        if not self.allow_local:
            for prefix in ("https://", "http://"):
                session.mount(prefix, _PublicOnlyAdapter())
        object.__setattr__(self, "http", session)

    async def check(self, url: str) -> None:
        """Raise Invalid with the reason unless ``url`` is an endpoint we may POST to."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self.allow_local and parts.scheme == "http"):
            raise Invalid("The push endpoint must be an https:// URL of a push service.")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if not host or parts.username is not None or parts.password is not None:
            raise Invalid("The push endpoint must name a push service's host, without a user or password.")
        if self.allow_local:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Invalid(f"The push endpoint's host {host} cannot be found; use your browser's push service.") from exc
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not is_public(address):
                raise Invalid(
                    f"The push endpoint's host {host} is not on the public internet; "
                    "only public push services are accepted."
                )
