"""The sort station (``/sort/...``, role picker): a picked pick-then-sort batch sorted to its
orders, each order's units into its own tote; a complete order's tote then starts its
packing (``POST /pack/start``).

Every POST takes an Idempotency-Key (a replay answers the first answer and changes
nothing); an item scan also carries a ``scanId`` that counts its unit once.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post

from backend.api.answers import idempotent
from backend.api.auth import roles
from backend.api.deps import Ctx, User
from backend.api.schemas import ITEM_SCAN_EXAMPLE, Body, CodeScan, Id, ScanCode, json_body
from backend.services import warehouse_sorting as service


class StartIn(Body):
    batch_id: Annotated[int, msgspec.Meta(ge=1)]


class ToteIn(Body):
    order_id: Annotated[int, msgspec.Meta(ge=1)]
    code: ScanCode  # the tote's label as scanned


class SortController(Controller):
    path = "/sort"
    tags = ["sorting"]
    guards = [roles("picker")]

    @post(
        "/start",
        status_code=200,
        summary="Start (or resume) sorting a picked pick-then-sort batch to its orders; Idempotency-Key required",
    )
    async def start(
        self, request: Request, ctx: Ctx, user: User, data: Annotated[StartIn, json_body(("A batch", {"batchId": 12}))]
    ) -> Response[Any]:
        return await idempotent(
            request, user, 200, lambda: service.start(data.batch_id, user.id, user.role, user.hub_id, ctx.now())
        )

    @get("/batches", summary="Your hub's picked pick-then-sort batches not sorted yet, oldest first")
    async def batches(self, user: User) -> list[dict[str, Any]]:
        return await service.to_sort(user.role, user.hub_id)

    @get("/{job_id:int}", summary="A sorting: per order its tote, lines and units left")
    async def job(self, user: User, job_id: Id) -> dict[str, Any]:
        return await service.view(job_id, user.role, user.hub_id)

    @post(
        "/{job_id:int}/totes",
        status_code=200,
        summary="Bind a tote to an order of the batch (one per order; never another order's tote)",
    )
    async def tote(
        self,
        request: Request,
        user: User,
        job_id: Id,
        data: Annotated[ToteIn, json_body(("A tote for order 7", {"orderId": 7, "code": "T-0042"}))],
    ) -> Response[Any]:
        return await idempotent(
            request, user, 200, lambda: service.bind_tote(job_id, data.order_id, data.code, user.role, user.hub_id)
        )

    @post(
        "/{job_id:int}/items",
        status_code=200,
        summary="Scan an item: answers the order and tote it goes into and the units that order still waits for",
    )
    async def item(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        job_id: Id,
        data: Annotated[CodeScan, json_body(ITEM_SCAN_EXAMPLE)],
    ) -> Response[Any]:
        return await idempotent(
            request,
            user,
            200,
            lambda: service.scan_item(job_id, data.scan_id, data.code, user.role, user.hub_id, ctx.now()),
        )


SORTING_CONTROLLERS = (SortController,)
