"""Login throttling: too many wrong passwords for one username, or from one
address, within a window and further attempts are refused for a while.

Failures live in the database, so every server process counts the same ones.
Per username, a guesser spreading over many addresses is stopped; per address,
one trying many usernames is. A success clears the username's failures.
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


async def check(username: str, address: str, now: dt.datetime) -> None:
    """Raise TooManyRequests (with Retry-After) while either count is over its limit."""
    user, addr = _subjects(username, address)
    since = now - WINDOW
    for subject, limit, whom in ((user, PER_USER, "this username"), (addr, PER_ADDRESS, "your address")):
        rows = await LoginFailure.select(LoginFailure.at).where(
            (LoginFailure.subject == subject) & (LoginFailure.at > since)
        ).order_by(LoginFailure.at, ascending=False).limit(limit)
        if len(rows) >= limit:
            # Free again when the oldest of the last ``limit`` failures leaves the window.
            wait_s = max(1, int((rows[-1]["at"] + WINDOW - now).total_seconds()) + 1)
            minutes = (wait_s + 59) // 60
            raise TooManyRequests(
                f"Too many wrong passwords for {whom}; try again in {minutes} minute{'s' * (minutes != 1)}, "
                "or ask an administrator to reset the password.",
                retry_after_s=wait_s,
            )


async def failed(username: str, address: str, now: dt.datetime) -> None:
    user, addr = _subjects(username, address)
    async with transaction():
        await LoginFailure.delete().where(LoginFailure.at < now - WINDOW)
        await LoginFailure.insert(LoginFailure(subject=user, at=now), LoginFailure(subject=addr, at=now))


async def succeeded(username: str, address: str) -> None:
    user, _ = _subjects(username, address)
    await LoginFailure.delete().where(LoginFailure.subject == user)
