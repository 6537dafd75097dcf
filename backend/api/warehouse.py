"""The hub's warehouse: the picker's handheld (``/pick/...``, role picker) and the stock,
waves and wave figures of a hub (``/hubs/{id}/...``, dispatchers of that hub).

Pick events (scans, totes, short picks, skips) are idempotent by their ``scanId``: the
same id again answers the first answer and changes nothing. The other POSTs take an
Idempotency-Key header, as the courier's actions do.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, QueryParameter

from backend.api.answers import hub_write, idempotent, respond
from backend.api.auth import check_hub, own_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, CodeScan, Id, ScanId, json_body
from backend.services import warehouse_picking as picking_service
from backend.services import warehouse_stock as stock_service
from backend.services import warehouse_waves as waves_service
from backend.services.hub_scope import require_hub
from backend.services.sessions import Principal

OptionalDate = Annotated[dt.date | None, QueryParameter(name="date", description="The day; default today")]


class ScanIn(CodeScan):
    quantity: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1


class ShortIn(Body):
    scan_id: ScanId
    task_id: Annotated[str, msgspec.Meta(max_length=200)] = ""  # the line at hand; checked when given


class SkipIn(Body):
    scan_id: ScanId


class Empty(Body):
    pass


SCAN_EXAMPLES = (
    ("Scan the bin", {"scanId": "5b0c…-1", "code": "A01-02-1"}),
    ("Scan the product, 2 at once", {"scanId": "5b0c…-2", "code": "8712345678906", "quantity": 2}),
    ("Scan the tote", {"scanId": "5b0c…-3", "code": "T-0042"}),
)
MOVEMENT_EXAMPLES = (
    ("Goods received into a bin", {"kind": "receipt", "sku": "SODA-33", "quantity": 24, "bin": "A01-02-1"}),
    ("A count of a bin", {"kind": "correction", "sku": "SODA-33", "quantity": 5, "bin": "A01-02-1"}),
    ("Put away from the dock", {"kind": "put_away", "sku": "SODA-33", "quantity": 12, "toBin": "A02-01-1"}),
)
RELEASE_EXAMPLE = ("Release the evening wave now", {"cutoff": "15:00"})


async def _pick_event(
    request: Request,
    ctx: Any,
    user: Principal,
    batch_id: int,
    kind: picking_service.EventKind,
    scan_id: str,
    **fields: Any,
) -> Response[Any]:
    """One pick event of the picker's batch, answered as the service decided."""
    out = await picking_service.pick_event(
        batch_id, kind, scan_id, user_id=user.id, role=user.role, hub_id=user.hub_id, now=ctx.now(), **fields
    )
    return respond(request, out)


class PickController(Controller):
    path = "/pick"
    tags = ["picking"]
    guards = [roles("picker")]

    @get("/batches", summary="The batches of the picker's hub to work: open ones and the picker's own taken ones")
    async def batches(self, user: User, date: OptionalDate = None) -> list[dict[str, Any]]:
        return await picking_service.list_batches(own_hub(user), user.id, date)

    @get("/batches/{batch_id:int}", summary="A batch: the next step, its lines in walking order, the cart's totes")
    async def batch(self, user: User, batch_id: Id) -> dict[str, Any]:
        return await picking_service.view(batch_id, user.role, user.hub_id)

    @post(
        "/batches/{batch_id:int}/take",
        status_code=200,
        summary="Take a batch (409 when another picker has it; Idempotency-Key required)",
    )
    async def take(self, request: Request, ctx: Ctx, user: User, batch_id: Id, data: JSONBody[Empty]) -> Response[Any]:
        return await idempotent(
            request, user, 200, lambda: picking_service.take(batch_id, user.id, user.role, user.hub_id, ctx.now())
        )

    @post(
        "/batches/{batch_id:int}/totes",
        status_code=200,
        summary="Bind a tote to the next place on the cart (a tote of another order: 422)",
    )
    async def tote(
        self, request: Request, ctx: Ctx, user: User, batch_id: Id, data: Annotated[CodeScan, json_body()]
    ) -> Response[Any]:
        return await _pick_event(request, ctx, user, batch_id, "tote", data.scan_id, code=data.code)

    @post(
        "/batches/{batch_id:int}/scans",
        status_code=200,
        summary="A scan: a bin, a product (with a quantity) or a tote; a wrong one is a 422 with a sentence and a code",
    )
    async def scan(
        self, request: Request, ctx: Ctx, user: User, batch_id: Id, data: Annotated[ScanIn, json_body(*SCAN_EXAMPLES)]
    ) -> Response[Any]:
        fields = {"code": data.code, "quantity": data.quantity}
        return await _pick_event(request, ctx, user, batch_id, "scan", data.scan_id, **fields)

    @post(
        "/batches/{batch_id:int}/short",
        status_code=200,
        summary="The bin holds no more: the line moves to another bin or is reported short (dispatch gets an alert)",
    )
    async def short(
        self, request: Request, ctx: Ctx, user: User, batch_id: Id, data: Annotated[ShortIn, json_body()]
    ) -> Response[Any]:
        return await _pick_event(request, ctx, user, batch_id, "short", data.scan_id, task_id=data.task_id)

    @post("/batches/{batch_id:int}/skip", status_code=200, summary="Skip the line at hand; it comes back last")
    async def skip(
        self, request: Request, ctx: Ctx, user: User, batch_id: Id, data: Annotated[SkipIn, json_body()]
    ) -> Response[Any]:
        return await _pick_event(request, ctx, user, batch_id, "skip", data.scan_id)


class WarehouseController(Controller):
    path = "/hubs/{hub_id:int}"
    tags = ["warehouse"]
    guards = [roles("dispatcher")]

    @get("/stock", summary="The hub's stock: per bin, shop and the dock, per SKU (from the ledger)")
    async def stock(
        self, user: User, hub_id: Id, sku: Annotated[str | None, QueryParameter(max_length=64)] = None
    ) -> list[stock_service.StockLine]:
        check_hub(user, hub_id)
        return await stock_service.stock_of_hub(hub_id, sku)

    @post(
        "/stock/movements",
        status_code=201,
        summary="Receive, return, count (correction) or put away stock (Idempotency-Key required)",
    )
    async def movement(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        hub_id: Id,
        data: Annotated[stock_service.MovementIn, json_body(*MOVEMENT_EXAMPLES)],
    ) -> Response[Any]:
        return await hub_write(
            request, user, hub_id, 201, lambda: stock_service.post_movement(hub_id, data, user.id, ctx.now())
        )

    @post(
        "/waves/release",
        status_code=201,
        summary="Release the waves that are due (or one by its cut-off): allocation, batches, pick lists "
        "(Idempotency-Key required)",
    )
    async def release(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        hub_id: Id,
        data: Annotated[waves_service.ReleaseIn, json_body(RELEASE_EXAMPLE)],
    ) -> Response[Any]:
        return await hub_write(
            request, user, hub_id, 201, lambda: waves_service.release_waves(hub_id, data, user.id, ctx.now())
        )

    @get("/waves", summary="The day's waves: lines picked, short, at shops, batches, time left to the cut-off")
    async def waves(self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDate = None) -> list[dict[str, Any]]:
        check_hub(user, hub_id)
        now = ctx.now()
        return await waves_service.wave_progress(hub_id, date or now.date(), now)

    @get("/pick-batches", summary="The day's pick batches of the hub, every status (the supervisor's list)")
    async def pick_batches(self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDate = None) -> list[dict[str, Any]]:
        check_hub(user, hub_id)
        await require_hub(hub_id)
        return await picking_service.hub_batches(hub_id, date or ctx.now().date())


WAREHOUSE_CONTROLLERS = (PickController, WarehouseController)
