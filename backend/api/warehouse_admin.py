"""The warehouse's own data: a hub's bins, the product catalogue and the hub's picking
settings (dispatchers of that hub), and stock received or counted on the floor (pickers).

Every write takes an Idempotency-Key header (a new UUID per action, the same on a retry):
a replay answers the first answer and changes nothing."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import QueryParameter

from backend.api.answers import hub_write
from backend.api.auth import check_hub, own_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id, json_body
from backend.services import warehouse_bins as bins_service
from backend.services import warehouse_catalogue as catalogue_service
from backend.services import warehouse_settings as settings_service
from backend.services import warehouse_stock as stock_service

BIN_EXAMPLE = (
    "Aisles 3 and 4, bays 1-12, two levels",
    {"zone": "A", "aisleFrom": 3, "aisleTo": 4, "bayTo": 12, "levels": 2},
)
PRODUCT_EXAMPLE = (
    "A product with its EAN-13",
    {"sku": "SODA-33", "name": "Soda 33 cl", "gtins": ["8712345000014"], "weightG": 350, "volumeMl": 400},
)
GRADE_EXAMPLE = ("Grade B, with its own label", {"grade": "B", "gtins": ["2001234500006"]})
SETTINGS_EXAMPLE = (
    "Pick then sort, a cart of 6 totes, waves released 90 minutes before their cut-off",
    {"mode": "pick_then_sort", "cart": {"totes": 6, "toteVolume": 40, "toteWeight": 15}, "leadMinutes": 90},
)
FLOOR_EXAMPLES = (
    ("Goods received into a bin", {"kind": "receipt", "sku": "SODA-33", "quantity": 24, "bin": "A01-02-1"}),
    ("A bin counted", {"kind": "correction", "sku": "SODA-33", "quantity": 5, "bin": "A01-02-1", "reason": "damaged"}),
)
Query = Annotated[str, QueryParameter(max_length=64, description="Part of a SKU or name, or a whole GTIN")]
Limit = Annotated[int, QueryParameter(ge=1, le=500)]


class WarehouseAdminController(Controller):
    path = "/hubs/{hub_id:int}"
    tags = ["warehouse"]
    guards = [roles("dispatcher")]

    @get("/bins", summary="The hub's bins, with what each holds by the ledger")
    async def bins(
        self,
        user: User,
        hub_id: Id,
        zone: Annotated[str | None, QueryParameter(max_length=1)] = None,
        aisle: Annotated[int | None, QueryParameter(ge=1, le=99)] = None,
    ) -> list[bins_service.BinOut]:
        check_hub(user, hub_id)
        return await bins_service.list_bins(hub_id, zone, aisle)

    @post("/bins", status_code=201, summary="Add a range of bins from the layout (Idempotency-Key required)")
    async def add_bins(
        self, request: Request, user: User, hub_id: Id, data: Annotated[bins_service.BinRangeIn, json_body(BIN_EXAMPLE)]
    ) -> Response[Any]:
        return await hub_write(request, user, hub_id, 201, lambda: bins_service.add_range(hub_id, data))

    @delete(
        "/bins/{code:str}",
        status_code=200,
        summary="Retire an empty bin (409 while it holds stock or an open batch picks there; Idempotency-Key required)",
    )
    async def retire_bin(self, request: Request, user: User, hub_id: Id, code: str) -> Response[Any]:
        return await hub_write(request, user, hub_id, 200, lambda: bins_service.retire(hub_id, code))

    @get("/products", summary="The catalogue: search by part of a SKU or name, or by a whole GTIN")
    async def products(
        self, user: User, hub_id: Id, q: Query = "", limit: Limit = 50
    ) -> list[catalogue_service.ProductOut]:
        check_hub(user, hub_id)
        return await catalogue_service.search(hub_id, q, limit)

    @get("/products/{product_id:int}", summary="A product")
    async def product(self, user: User, hub_id: Id, product_id: Id) -> catalogue_service.ProductOut:
        check_hub(user, hub_id)
        return await catalogue_service.read(hub_id, product_id)

    @post("/products", status_code=201, summary="Add a product (GTINs checked; Idempotency-Key required)")
    async def create_product(
        self,
        request: Request,
        user: User,
        hub_id: Id,
        data: Annotated[catalogue_service.ProductIn, json_body(PRODUCT_EXAMPLE)],
    ) -> Response[Any]:
        return await hub_write(request, user, hub_id, 201, lambda: catalogue_service.create(hub_id, data))

    @put(
        "/products/{product_id:int}",
        status_code=200,
        summary="Change a product: all but its SKU (Idempotency-Key required)",
    )
    async def update_product(
        self,
        request: Request,
        user: User,
        hub_id: Id,
        product_id: Id,
        data: Annotated[catalogue_service.ProductFields, json_body()],
    ) -> Response[Any]:
        return await hub_write(request, user, hub_id, 200, lambda: catalogue_service.update(hub_id, product_id, data))

    @post(
        "/products/{product_id:int}/grades",
        status_code=201,
        summary="Add a graded (reconditioned) variant: SKU <sku>/<grade> (Idempotency-Key required)",
    )
    async def add_grade(
        self,
        request: Request,
        user: User,
        hub_id: Id,
        product_id: Id,
        data: Annotated[catalogue_service.GradeIn, json_body(GRADE_EXAMPLE)],
    ) -> Response[Any]:
        return await hub_write(
            request, user, hub_id, 201, lambda: catalogue_service.add_grade(hub_id, product_id, data)
        )

    @get("/picking-settings", summary="How the hub picks: the way of working, the cart and the waves' lead time")
    async def picking_settings(self, user: User, hub_id: Id) -> settings_service.SettingsOut:
        check_hub(user, hub_id)
        return await settings_service.read(hub_id)

    @put(
        "/picking-settings",
        status_code=200,
        summary="Set how the hub picks; wave releases use it unless they say otherwise (Idempotency-Key required)",
    )
    async def set_picking_settings(
        self,
        request: Request,
        user: User,
        hub_id: Id,
        data: Annotated[settings_service.SettingsIn, json_body(SETTINGS_EXAMPLE)],
    ) -> Response[Any]:
        return await hub_write(request, user, hub_id, 200, lambda: settings_service.write(hub_id, data))


class FloorStockController(Controller):
    path = "/pick/stock"
    tags = ["picking"]
    guards = [roles("picker", "dispatcher")]

    @post(
        "/movements",
        status_code=201,
        summary="Goods received into a bin, or a bin counted with a reason, at your hub (Idempotency-Key required)",
    )
    async def movement(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        data: Annotated[stock_service.FloorMovementIn, json_body(*FLOOR_EXAMPLES)],
    ) -> Response[Any]:
        hub_id = own_hub(user)
        return await hub_write(
            request, user, hub_id, 201, lambda: stock_service.post_floor_movement(hub_id, data, user.id, ctx.now())
        )


WAREHOUSE_ADMIN_CONTROLLERS = (WarehouseAdminController, FloorStockController)
