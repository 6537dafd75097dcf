"""Password hashing and signed session tokens (standard library only)."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# scrypt lets go of the GIL, but a crowd of logins hashing on every core at once (the
# default executor runs up to cores + 4) left the event loop no core: stalls of 100-400 ms
# for every open socket through a morning's logins (`laadbak bench ws`). Hashing runs on
# all cores but one; logins queue for it, the sockets do not.
HASHING_THREADS = max(1, (os.cpu_count() or 2) - 1)
_HASHING = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="password-hash")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + _b64(salt) + "$" + _b64(digest)


@functools.cache
def dummy_password_hash() -> str:
    """A hash no password matches in practice, checked for unknown usernames so
    that they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(32))


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=_unb64(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(candidate, _unb64(digest))


async def hash_password_apart(password: str) -> str:
    """:func:`hash_password` in the hashing threads, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_HASHING, hash_password, password)


async def verify_password_apart(password: str, stored: str) -> bool:
    """:func:`verify_password` in the hashing threads, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_HASHING, verify_password, password, stored)


def new_token_id() -> str:
    return secrets.token_urlsafe(24)


def sign_token(token_id: str, key: str) -> str:
    """A bearer token: the session id plus an HMAC, so forged ids never reach the database."""
    return token_id + "." + _b64(_mac(token_id, key))


def verify_token(token: str, key: str) -> str | None:
    """The session id inside a well-signed token, else None."""
    token_id, _, mac = token.partition(".")
    if not token_id or not mac:
        return None
    try:
        given = _unb64(mac)
    except ValueError:
        return None
    return token_id if hmac.compare_digest(given, _mac(token_id, key)) else None


def _mac(token_id: str, key: str) -> bytes:
    return hmac.new(key.encode(), token_id.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pickup_code(key: str, order_id: int) -> str:
    """The six digits a customer shows at a pickup point: derived, not stored,
    so the point and the customer's message always agree."""
    digest = hmac.new(key.encode(), f"pickup:{order_id}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"
