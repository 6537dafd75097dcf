"""Which Web Push endpoints the server will POST to: public HTTPS push services only.

A subscription's endpoint is chosen by whoever registers it (a courier, anyone
with a tracking link), so without this rule the server could be made to send
requests into its own network. The rule is checked when a subscription is
registered and again before every send, because what a name resolves to can
change in between; and the HTTP session that sends refuses, at connect time,
a socket whose peer is not public (a name that changes between our check and
the connection), and never follows a redirect.

The one exception is explicit: ``LAADBAK_PUSH_ALLOWED_ORIGINS`` lists endpoint
origins (``scheme://host:port``) the server may POST to although they are not
public, e.g. the tests' local push service on ``http://127.0.0.1:PORT``. Only those
exact origins are let through; loopback and private addresses in general stay refused.
Off (empty) by default.
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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` of an http(s) URL, lower case with the port spelled out; None
    when the URL has no such origin (another scheme, no host, a bad port, a user or password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return None
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port or _DEFAULT_PORTS[scheme]}"


def parse_allowed_origins(text: str) -> tuple[str, ...]:
    """``LAADBAK_PUSH_ALLOWED_ORIGINS``: comma-separated origins, each ``http(s)://host[:port]`` and nothing else."""
    out: list[str] = []
    for item in (x.strip().rstrip("/") for x in text.split(",")):
        if not item:
            continue
        origin = origin_of(item)
        if origin is None or urlsplit(item).path or urlsplit(item).query or "*" in item:
            raise ValueError(
                f"LAADBAK_PUSH_ALLOWED_ORIGINS takes exact origins like http://127.0.0.1:8765, not {item!r}"
            )
        out.append(origin)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class PushEndpoints:
    """The rule, and ``http``: the session to send with, which enforces it.

    ``allowed_origins`` (normalised by :func:`origin_of`) are the listed exceptions of
    ``LAADBAK_PUSH_ALLOWED_ORIGINS``: endpoints on exactly those origins are accepted and
    connected to although they are not public; nothing else is."""

    allowed_origins: tuple[str, ...] = ()
    http: requests.Session = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        session = _NoRedirects()
        for prefix in ("https://", "http://"):
            session.mount(prefix, _PublicOnlyAdapter())
        for origin in self.allowed_origins:
            # requests picks the longest matching prefix: these exact origins connect anywhere.
            scheme, _, rest = origin.partition("://")
            host, _, port = rest.rpartition(":")
            session.mount(f"{origin}/", HTTPAdapter())
            if int(port) == _DEFAULT_PORTS[scheme]:
                session.mount(f"{scheme}://{host}/", HTTPAdapter())
        object.__setattr__(self, "http", session)

    def listed(self, url: str) -> bool:
        """True when ``url`` is on one of the explicitly allowed origins."""
        return bool(self.allowed_origins) and origin_of(url) in self.allowed_origins

    async def check(self, url: str) -> None:
        """Raise Invalid with the reason unless ``url`` is an endpoint we may POST to."""
        parts = urlsplit(url)
        listed = self.listed(url)
        if parts.scheme != "https" and not listed:
            raise Invalid("The push endpoint must be an https:// URL of a push service.")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if not host or parts.username is not None or parts.password is not None:
            raise Invalid("The push endpoint must name a push service's host, without a user or password.")
        if listed:
            return  # an origin the operator listed (LAADBAK_PUSH_ALLOWED_ORIGINS)
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
