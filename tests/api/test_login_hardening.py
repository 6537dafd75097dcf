"""Login under attack: throttled guessing, no username enumeration by timing,
no demo password in the published document."""

from __future__ import annotations

import hashlib

from backend import security
from backend.services import login_throttle
from tests.api.helpers import PASSWORD, make_user, problem


async def _try(client, username: str, password: str = "wrong-guess") -> int:
    return (await client.post("/auth/login", json={"username": username, "password": password})).status_code


async def test_guessing_one_users_password_is_refused_after_the_limit(client) -> None:
    await make_user("ann", "dispatcher")
    codes = [await _try(client, "ann") for _ in range(login_throttle.PER_USER)]
    assert codes == [401] * login_throttle.PER_USER
    r = await client.post("/auth/login", json={"username": "ann", "password": PASSWORD})
    body = problem(r, 429)  # even the right password waits now: the guesser cannot tell
    assert "try again in" in body["detail"]
    assert 0 < int(r.headers["retry-after"]) <= login_throttle.WINDOW.total_seconds() + 1


async def test_the_51st_wrong_password_from_one_address_is_refused(client) -> None:
    """50 wrong passwords spread over many usernames, then the 51st is refused."""
    codes = [await _try(client, f"user{i}") for i in range(login_throttle.PER_ADDRESS)]
    assert set(codes) == {401}
    r = await client.post("/auth/login", json={"username": "someone-else", "password": "x"})
    assert "your address" in problem(r, 429)["detail"]


async def test_a_success_clears_the_usernames_count(client) -> None:
    await make_user("bob", "courier")
    for _ in range(login_throttle.PER_USER - 1):
        assert await _try(client, "bob") == 401
    assert await _try(client, "bob", PASSWORD) == 200
    for _ in range(login_throttle.PER_USER - 1):
        assert await _try(client, "bob") == 401  # counting starts again


async def test_unknown_and_known_usernames_do_the_same_hashing_work(client, monkeypatch) -> None:
    """An unknown username is checked against a dummy hash with the same scrypt cost as a
    real one (before, it answered ~20x faster: no hash was checked). Counted, not timed:
    a wall-clock comparison failed on a loaded machine."""
    await make_user("carol", "courier")
    security.dummy_password_hash()  # made once per process: not part of a login's work
    calls: list[tuple[int, int, int, int]] = []
    scrypt = hashlib.scrypt

    def counted(password: bytes, *, salt: bytes, n: int, r: int, p: int, dklen: int = 64) -> bytes:
        calls.append((n, r, p, dklen))
        return scrypt(password, salt=salt, n=n, r=r, p=p, dklen=dklen)

    monkeypatch.setattr(security.hashlib, "scrypt", counted)
    assert await _try(client, "carol") == 401
    known, calls[:] = list(calls), []
    assert await _try(client, "nobody-at-all") == 401
    assert known == calls and len(known) == 1, (known, calls)


async def test_the_published_document_carries_no_demo_password(client) -> None:
    text = (await client.get("/schema/openapi.json")).text
    assert "laadbak-demo" not in text and "laadbak-admin" not in text


async def test_successful_logins_do_not_count_against_the_address(client) -> None:
    """A depot where every courier logs in from one address is not locked out."""
    await make_user("eve", "courier")
    for _ in range(login_throttle.PER_ADDRESS + 5):
        assert await _try(client, "eve", PASSWORD) == 200


async def test_guesses_sent_all_at_once_cannot_pass_the_limit_together(client) -> None:
    import asyncio

    await make_user("fay", "courier")
    codes = await asyncio.gather(*(_try(client, "fay") for _ in range(login_throttle.PER_USER + 6)))
    assert codes.count(401) <= login_throttle.PER_USER and codes.count(429) >= 6, codes
