"""User accounts (admins). Disabling a user or changing a password ends their sessions."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import JSONBody

from backend.api.auth import roles
from backend.api.schemas import Body, DbId, Id, Out
from backend.db.engine import transaction
from backend.db.tables import Session, User
from backend.errors import Conflict, Invalid, NotFound
from backend.security import hash_password

Role = Literal["admin", "dispatcher", "courier", "picker", "returns"]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]


class UserIn(Body):
    username: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_.\-]{2,64}$")]
    password: Password
    role: Role
    display_name: Annotated[str, msgspec.Meta(max_length=120)] = ""
    hub_id: DbId | None = None


class UserPatch(Body):
    password: Password | None = None
    role: Role | None = None
    display_name: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    hub_id: DbId | None = None
    active: bool | None = None


class UserOut(Out):
    id: int
    username: str
    role: str
    display_name: str
    hub_id: int | None
    active: bool


COLUMNS = (User.id, User.username, User.role, User.display_name, User.hub_id, User.active)


def _user_out(row: dict) -> UserOut:
    return UserOut(id=row["id"], username=row["username"], role=row["role"], display_name=row["display_name"],
                   hub_id=row["hub_id"], active=row["active"])


async def read_user(user_id: int) -> UserOut:
    row = await User.select(*COLUMNS).where(User.id == user_id).first()
    if row is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return _user_out(row)


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    guards = [roles("admin")]

    @post("/", summary="Create a user")
    async def create(self, data: JSONBody[UserIn]) -> UserOut:
        if await User.exists().where(User.username == data.username):
            raise Conflict(f"The username {data.username!r} is taken.")
        row = await User.insert(User(username=data.username, password_hash=await asyncio.to_thread(hash_password, data.password),
                                     role=data.role, display_name=data.display_name, hub_id=data.hub_id))
        return await read_user(row[0]["id"])

    @get("/", summary="List users")
    async def list_users(self) -> list[UserOut]:
        return [_user_out(r) for r in await User.select(*COLUMNS).order_by(User.id)]

    @patch("/{user_id:int}", summary="Change a user; disabling or a new password ends their sessions")
    async def update(self, user_id: Id, data: JSONBody[UserPatch]) -> UserOut:
        await read_user(user_id)
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        if not values:
            raise Invalid("Nothing to change: give at least one of password, role, displayName, hubId, active.")
        if "password" in values:
            values["password_hash"] = await asyncio.to_thread(hash_password, values.pop("password"))
        async with transaction():
            await User.update(values).where(User.id == user_id)
            if values.get("active") is False or "password_hash" in values:
                await Session.delete().where(Session.user == user_id)
        return await read_user(user_id)
