"""The pickup point's desk (``/point/...``, role ``point``): the operator's day, scan-in,
hand-out and send-back. Every POST takes an Idempotency-Key (the app's offline queue
sends one per scan): a replay answers the first answer and changes nothing."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, PathParameter

from backend.api.answers import idempotent
from backend.api.auth import roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body
from backend.services import point_desk, point_returns

Barcode = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ScanInIn(Body):
    barcode: Barcode  # the parcel's label, as the scanner typed it


class HandOutIn(Body):
    barcode: Barcode
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=12)]  # the customer's pickup code
    id_checked: bool  # the operator saw the customer's ID (noted with the hand-out)
    id_note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class SendBackIn(Body):
    barcode: Barcode


ReturnCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
PathCode = Annotated[str, PathParameter(min_length=1, max_length=16)]


class ReturnHandInIn(Body):
    code: ReturnCode  # the customer's return code (R-...), scanned from the QR or typed


class PointController(Controller):
    path = "/point"
    tags = ["pickup point"]
    guards = [roles("point")]

    @get("/today", summary="The point's day: announced today and tomorrow, on the shelves, handed out, to return")
    async def today(self, ctx: Ctx, user: User) -> dict[str, Any]:
        return await point_desk.today(user.id, ctx.now())

    @post(
        "/scan-in",
        status_code=200,
        summary="Scan in a parcel the courier hands over (409 and an alert to dispatch when not announced here)",
    )
    async def scan_in(self, request: Request, ctx: Ctx, user: User, data: JSONBody[ScanInIn]) -> Response[Any]:
        async def prepare() -> Any:
            out = await point_desk.scan_in(user.id, data.barcode, ctx.settings.secret_key, ctx.now())

            async def write() -> dict[str, Any]:
                return out

            return write

        return await idempotent(request, user, 200, prepare=prepare)

    @post(
        "/hand-out",
        status_code=200,
        summary="Hand a parcel out against the customer's pickup code (422 wrong code; 429 locked after 5)",
    )
    async def hand_out(self, request: Request, ctx: Ctx, user: User, data: JSONBody[HandOutIn]) -> Response[Any]:
        async def prepare() -> Any:
            return await point_desk.prepare_hand_out(
                user.id, data.barcode, data.code, data.id_checked, data.id_note, ctx.settings.secret_key, ctx.now()
            )

        return await idempotent(request, user, 200, prepare=prepare)

    @post("/send-back", status_code=200, summary="A parcel past its holding time leaves for the hub")
    async def send_back(self, request: Request, ctx: Ctx, user: User, data: JSONBody[SendBackIn]) -> Response[Any]:
        async def prepare() -> Any:
            out = await point_desk.send_back(user.id, data.barcode, ctx.now())

            async def write() -> dict[str, Any]:
                return out

            return write

        return await idempotent(request, user, 200, prepare=prepare)

    @get("/returns/{code:str}", summary="A return handed in here: its expected items (409: another point's)")
    async def show_return(self, user: User, code: PathCode) -> dict[str, Any]:
        return await point_returns.show(user.id, code)

    @post(
        "/returns/hand-in",
        status_code=200,
        summary="Accept a customer's return into the point's cart (one pickup stop per point and day)",
    )
    async def hand_in_return(
        self, request: Request, ctx: Ctx, user: User, data: JSONBody[ReturnHandInIn]
    ) -> Response[Any]:
        async def prepare() -> Any:
            return await point_returns.prepare_hand_in(user.id, data.code, ctx.now())

        return await idempotent(request, user, 200, prepare=prepare)
