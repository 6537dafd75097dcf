"""The HTTP side of the plain resources: one controller per resource, each handler
parsing the request and calling the mechanism in backend/services/crud.py.

No ``from __future__ import annotations`` here: the handlers are built at run
time and Litestar reads their annotations as objects.
"""

from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from backend.api.auth import roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id
from backend.services import crud
from backend.services.crud import Resource


def make_controller(res: Resource) -> type[Controller]:
    Create, Update, Read = res.create, res.update, res.read

    async def create_item(self, ctx: Ctx, user: User, data: JSONBody[Create]) -> Read:  # type: ignore[valid-type]
        return await crud.create_item(res, ctx, user, data)

    async def list_items(self, user: User) -> list[Read]:  # type: ignore[valid-type]
        return await crud.list_items(res, user)

    async def read_item(self, user: User, item_id: Id) -> Read:  # type: ignore[valid-type]
        return await crud.read_item(res, user, item_id)

    async def update_item(self, ctx: Ctx, user: User, item_id: Id, data: JSONBody[Update]) -> Read:  # type: ignore[valid-type]
        return await crud.update_item(res, ctx, user, item_id, data)

    async def delete_item(self, user: User, item_id: Id) -> None:
        await crud.delete_item(res, user, item_id)

    read_guard, write_guard = [roles(*res.read_roles)], [roles(*res.write_roles)]
    tag = [res.path.strip("/")]
    handlers = {
        "create_item": post("/", guards=write_guard, summary=f"Create a {res.name}", tags=tag)(create_item),
        "list_items": get("/", guards=read_guard, summary=f"List {res.name}s", tags=tag)(list_items),
        "read_item": get("/{item_id:int}", guards=read_guard, summary=f"Read a {res.name}", tags=tag)(read_item),
        "update_item": patch("/{item_id:int}", guards=write_guard, summary=f"Change a {res.name}", tags=tag)(
            update_item
        ),
        "delete_item": delete("/{item_id:int}", guards=write_guard, summary=f"Delete a {res.name}", tags=tag)(
            delete_item
        ),
    }
    return type(f"{res.create.__name__.removesuffix('In')}Controller", (Controller,), {"path": res.path, **handlers})
