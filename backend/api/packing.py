"""Packing at the hub (``/pack/...``, role picker): start from a tote, verify the items by
scan, close the parcel in a box with the shop's options, print its label. And the shops'
packing options (``/shops/{id}/packing``, dispatchers of the shop's hub).

Every POST takes an Idempotency-Key (a replay answers the first answer and changes
nothing); an item scan also carries a ``scanId`` that counts its unit once.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody

from backend.api.answers import idempotent
from backend.api.auth import roles
from backend.api.deps import Ctx, User
from backend.api.schemas import ITEM_SCAN_EXAMPLE, Body, CodeScan, Id, ScanCode, json_body
from backend.services import parcel_label
from backend.services import warehouse_packing as service
from backend.warehouse.packing import PackingOptions


class StartIn(Body):
    code: ScanCode  # the tote's label as scanned


class CloseIn(Body):
    box: Annotated[str, msgspec.Meta(max_length=8)] = ""  # "": the suggested box
    options: Annotated[list[Annotated[str, msgspec.Meta(max_length=20)]], msgspec.Meta(max_length=5)] = []


class PackController(Controller):
    path = "/pack"
    tags = ["packing"]
    guards = [roles("picker")]

    @post(
        "/start",
        status_code=200,
        summary="Scan a tote: the packing of the order it holds opens (or resumes); Idempotency-Key required",
    )
    async def start(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        data: Annotated[StartIn, json_body(("A tote", {"code": "T-0042"}))],
    ) -> Response[Any]:
        return await idempotent(
            request, user, 200, lambda: service.start(data.code, user.id, user.role, user.hub_id, ctx.now())
        )

    @get("/jobs/{job_id:int}", summary="A packing: items and what was scanned, the suggested box, the shop's options")
    async def job(self, user: User, job_id: Id) -> dict[str, Any]:
        return await service.view(job_id, user.role, user.hub_id)

    @post(
        "/jobs/{job_id:int}/items",
        status_code=200,
        summary="Scan an item: a wrong one (another order's, not in the order, one too many) is a 422 "
        "with a sentence and a code",
    )
    async def item(
        self,
        request: Request,
        user: User,
        job_id: Id,
        data: Annotated[CodeScan, json_body(ITEM_SCAN_EXAMPLE)],
    ) -> Response[Any]:
        return await idempotent(
            request, user, 200, lambda: service.scan_item(job_id, data.scan_id, data.code, user.role, user.hub_id)
        )

    @post(
        "/jobs/{job_id:int}/close",
        status_code=200,
        summary="Close the parcel in a box (default: the suggested one) with the shop's options done; "
        "it becomes ready for dispatch",
    )
    async def close(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        job_id: Id,
        data: Annotated[CloseIn, json_body(("Box M, gift-wrapped", {"box": "M", "options": ["gift_wrap"]}))],
    ) -> Response[Any]:
        body = service.CloseIn(box=data.box, options=list(data.options))

        return await idempotent(
            request, user, 200, lambda: service.close(job_id, body, user.id, user.role, user.hub_id, ctx.now())
        )

    @get(
        "/parcels/{parcel_id:int}/label.pdf",
        summary="The parcel's label (PDF, Code 128 of its barcode); parcels of your hub",
        media_type="application/pdf",
    )
    async def label(self, user: User, parcel_id: Id) -> Response[bytes]:
        pdf = await parcel_label.label_pdf(parcel_id, service.packer_hub(user.role, user.hub_id))
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="parcel-{parcel_id}.pdf"'},
        )


class ShopPackingController(Controller):
    path = "/shops/{shop_id:int}/packing"
    tags = ["packing"]
    guards = [roles("dispatcher")]

    @get("", summary="How the hub packs a shop's goods")
    async def read(self, user: User, shop_id: Id) -> dict[str, Any]:
        return await service.shop_options(shop_id, user.role, user.hub_id)

    @put("", summary="Set how the hub packs a shop's goods: branded box, a card with a message, gift wrap")
    async def write(self, user: User, shop_id: Id, data: JSONBody[PackingOptions]) -> dict[str, Any]:
        return await service.set_shop_options(shop_id, data, user.role, user.hub_id)


PACKING_CONTROLLERS = (PackController, ShopPackingController)
