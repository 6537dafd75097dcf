"""User accounts (admins). Disabling a user or changing a password ends their sessions."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import JSONBody

from backend.api.auth import roles
from backend.api.schemas import Body, DbId, Id, Out
from backend.services import users as service

Role = Literal["admin", "dispatcher", "courier", "picker", "returns", "point"]
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


def _user_out(row: dict) -> UserOut:
    return UserOut(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        display_name=row["display_name"],
        hub_id=row["hub_id"],
        active=row["active"],
    )


async def read_user(user_id: int) -> UserOut:
    return _user_out(await service.user_row(user_id))


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    guards = [roles("admin")]

    @post("/", summary="Create a user")
    async def create(self, data: JSONBody[UserIn]) -> UserOut:
        return await read_user(
            await service.create_user(
                username=data.username,
                password=data.password,
                role=data.role,
                display_name=data.display_name,
                hub_id=data.hub_id,
            )
        )

    @get("/", summary="List users")
    async def list_users(self) -> list[UserOut]:
        return [_user_out(r) for r in await service.user_rows()]

    @patch("/{user_id:int}", summary="Change a user; disabling or a new password ends their sessions")
    async def update(self, user_id: Id, data: JSONBody[UserPatch]) -> UserOut:
        await service.change_user(user_id, {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None})
        return await read_user(user_id)
