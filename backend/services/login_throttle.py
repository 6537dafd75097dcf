"""Login throttling: too many wrong passwords for one username, or from one
address, within a window and further attempts are refused for a while.

Attempts live in the database, so every server process counts the same ones.
Per username, a guesser spreading over many addresses is stopped; per address,
one trying many usernames is. An attempt is written before its password is
checked and counted with the others, so guesses sent all at once cannot slip
past the limit together; a success deletes the username's attempts, and a
refused attempt takes its own rows back.
"""

from __future__ import annotations

import datetime as dt

from backend.db.engine import transaction
from backend.db.tables import LoginFailure
from backend.errors import TooManyRequests

WINDOW = dt.timedelta(minutes=15)
PER_USER = 10
PER_ADDRESS = 50


def _subjects(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.lower()[:150]}", f"addr:{address}"


async def attempt(username: str, address: str, now: dt.datetime) -> list[int]:
    """Record an attempt (its rows' ids are returned); raise TooManyRequests
    (with Retry-After) when it is one over either limit."""
    user, addr = _subjects(username, address)
    async with transaction():
        await LoginFailure.delete().where(LoginFailure.at < now - WINDOW)
        rows = await LoginFailure.insert(LoginFailure(subject=user, at=now), LoginFailure(subject=addr, at=now))
    mine = [r["id"] for r in rows]
    for subject, limit, whom in ((user, PER_USER, "this username"), (addr, PER_ADDRESS, "your address")):
        earlier = (
            await LoginFailure.select(LoginFailure.at)
            .where((LoginFailure.subject == subject) & (LoginFailure.at > now - WINDOW) & LoginFailure.id.not_in(mine))
            .order_by(LoginFailure.at, ascending=False)
            .limit(limit)
        )
        if len(earlier) >= limit:
            await LoginFailure.delete().where(LoginFailure.id.is_in(mine))
            # Free again when the oldest of the last ``limit`` attempts leaves the window.
            wait_s = max(1, int((earlier[-1]["at"] + WINDOW - now).total_seconds()) + 1)
            minutes = (wait_s + 59) // 60
            raise TooManyRequests(
                f"Too many wrong passwords for {whom}; try again in {minutes} minute{'s' * (minutes != 1)}, "
                "or ask an administrator to reset the password.",
                retry_after_s=wait_s,
            )
    return mine


async def succeeded(username: str, address: str, attempt_ids: list[int]) -> None:
    """A right password: the username's count starts again, and this attempt
    does not count against the address."""
    user, _ = _subjects(username, address)
    await LoginFailure.delete().where((LoginFailure.subject == user) | LoginFailure.id.is_in(attempt_ids))
