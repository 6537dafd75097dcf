"""The dispatcher's look at one stop (order, parcels, history, proof) and the
proof images it links to."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import PathParameter

from backend.api.auth import authenticated, check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id
from backend.services.hub_scope import hub_of_stop
from backend.services.photos import photo_for
from backend.services.stop_detail import stop_detail

PhotoId = Annotated[str, PathParameter(max_length=64, description="The photo's id, as the proof names it")]


class StopDetailController(Controller):
    tags = ["desk"]

    @get(
        "/stops/{stop_id:int}/detail",
        guards=[roles("dispatcher")],
        summary="A stop with its order, parcels, history (oldest first, with who) and proof of delivery",
    )
    async def detail(self, user: User, stop_id: Id) -> dict[str, Any]:
        check_hub(user, await hub_of_stop(stop_id))
        return await stop_detail(stop_id)

    @get(
        "/photos/{photo_id:str}",
        guards=[authenticated],
        summary="A proof photo or signature: for the hub's dispatchers and the courier who took it",
        media_type="image/*",
    )
    async def photo(self, ctx: Ctx, user: User, photo_id: PhotoId) -> Response[bytes]:
        data, media_type = await photo_for(user, photo_id, ctx.settings.var_dir)
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "private, max-age=86400", "Content-Disposition": "inline"},
        )
