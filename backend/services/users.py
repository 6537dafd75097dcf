"""User accounts: created, listed and changed by admins; a disabled user or a new
password ends that user's sessions."""

from __future__ import annotations

from typing import Any, cast

from piccolo.columns import Column

from backend.db.engine import transaction
from backend.db.tables import Session, User
from backend.errors import Conflict, Invalid, NotFound
from backend.security import hash_password_apart

COLUMNS = (User.id, User.username, User.role, User.display_name, User.hub_id, User.active)


async def user_row(user_id: int) -> dict[str, Any]:
    """The user's public columns; NotFound when there is none."""
    row = await User.select(*COLUMNS).where(User.id == user_id).first()
    if row is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return row


async def user_rows() -> list[dict[str, Any]]:
    return await User.select(*COLUMNS).order_by(User.id)


async def create_user(*, username: str, password: str, role: str, display_name: str, hub_id: int | None) -> int:
    """A new account; Conflict when the username is taken. Returns its id."""
    if await User.exists().where(User.username == username):
        raise Conflict(f"The username {username!r} is taken.")
    row = await User.insert(
        User(
            username=username,
            password_hash=await hash_password_apart(password),
            role=role,
            display_name=display_name,
            hub_id=hub_id,
        )
    )
    return int(row[0]["id"])


async def change_user(user_id: int, values: dict[str, Any]) -> None:
    """Change the given columns (``password``: a new one, hashed here); disabling the
    user or a new password ends their sessions."""
    await user_row(user_id)
    if not values:
        raise Invalid("Nothing to change: give at least one of password, role, displayName, hubId, active.")
    values = dict(values)
    if "password" in values:
        values["password_hash"] = await hash_password_apart(values.pop("password"))
    async with transaction():
        await User.update(cast(dict[Column | str, Any], values)).where(User.id == user_id)
        if values.get("active") is False or "password_hash" in values:
            await Session.delete().where(Session.user == user_id)
