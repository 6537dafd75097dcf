"""Locker banks: their compartments (dispatchers of the hub set them), shop drops (the shop
with its X-Api-Key, or the point or a dispatcher for it), the drop scanned into its
compartment, a code typed at the locker, and the doors' log. Logged-in writes take an
Idempotency-Key; a shop's drop is keyed by its reference, its scan by the parcel."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, QueryParameter

from backend.api.auth import check_hub, roles
from backend.api.courier import idempotent
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, json_body
from backend.errors import Forbidden
from backend.services import checkout_keys, locker_doors, locker_drops, lockers, point_desk
from backend.services.sessions import Principal

Size = Annotated[float, msgspec.Meta(description="cm, inner")]


class CompartmentIn(Body):
    label: Annotated[str, msgspec.Meta(max_length=40)]  # as on the door; 1-16 characters (422 otherwise)
    width_cm: Size
    height_cm: Size
    depth_cm: Size
    max_weight_kg: float


class CompartmentsIn(Body):
    compartments: Annotated[list[CompartmentIn], msgspec.Meta(max_length=1000)]


class OpenIn(Body):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=12)]  # typed at the locker's keypad


COMPARTMENTS_EXAMPLE = (
    "Two small, a medium and a large door",
    {
        "compartments": [
            {"label": "A1", "widthCm": 40, "heightCm": 10, "depthCm": 60, "maxWeightKg": 10},
            {"label": "A2", "widthCm": 40, "heightCm": 10, "depthCm": 60, "maxWeightKg": 10},
            {"label": "B1", "widthCm": 40, "heightCm": 20, "depthCm": 60, "maxWeightKg": 15},
            {"label": "C1", "widthCm": 40, "heightCm": 40, "depthCm": 60, "maxWeightKg": 25},
        ]
    },
)
DROP_EXAMPLE = (
    "A sweater sold this morning",
    {
        "reference": "SHOP-1001",
        "customerName": "Mia",
        "address": "Fredrikinkatu 20",
        "parcels": [{"weightKg": 0.8, "volumeL": 4, "barcode": "SHOP-1001-1"}],
    },
)


async def _hub_of(point_id: int) -> int | None:
    return (await lockers.locker_row(point_id))["hub"]


async def _may_act(user: Principal, point_id: int) -> None:
    """A dispatcher of the locker's hub (admins), or the point's own user (its terminal)."""
    if user.role == "point":
        if (await point_desk.operator_point(user.id))["id"] != point_id:
            raise Forbidden(f"You work at another pickup point, not at pickup point {point_id}.")
        return
    check_hub(user, await _hub_of(point_id))


def _shop_key(request: Request[Any, Any, Any]) -> str | None:
    return request.headers.get("x-api-key")


class CompartmentController(Controller):
    path = "/pickup-points/{point_id:int}/compartments"
    tags = ["lockers"]

    @get("/", guards=[roles("dispatcher", "point")], summary="A locker bank's compartments, free or in use")
    async def read(self, user: User, point_id: Id) -> dict[str, Any]:
        await _may_act(user, point_id)
        return await lockers.compartments(point_id)

    @put("/", guards=[roles("dispatcher")], summary="Replace a locker bank's compartments (422 names the field)")
    async def replace(
        self, user: User, point_id: Id, data: Annotated[CompartmentsIn, json_body(COMPARTMENTS_EXAMPLE)]
    ) -> dict[str, Any]:
        check_hub(user, await _hub_of(point_id))
        items = [msgspec.structs.asdict(c) for c in data.compartments]
        return await lockers.replace_compartments(point_id, items)


class LockerController(Controller):
    path = "/lockers/{point_id:int}"
    tags = ["lockers"]

    @post(
        "/shop-drops",
        status_code=201,
        summary="A shop's drop at its locker (X-Api-Key): delivered this evening when registered before noon",
    )
    async def shop_drop(
        self,
        ctx: Ctx,
        request: Request[Any, Any, Any],
        point_id: Id,
        data: Annotated[locker_drops.DropIn, json_body(DROP_EXAMPLE)],
    ) -> dict[str, Any]:
        shop = await checkout_keys.shop_of_key(_shop_key(request))
        return await locker_drops.register(ctx.geo, point_id, shop, data, ctx.now())

    @post("/shop-drops/scan", status_code=200, summary="The shop scans its drop into the compartment (X-Api-Key)")
    async def shop_scan(
        self, ctx: Ctx, request: Request[Any, Any, Any], point_id: Id, data: JSONBody[locker_drops.DropScanIn]
    ) -> dict[str, Any]:
        shop = await checkout_keys.shop_of_key(_shop_key(request))
        return await locker_drops.scan(point_id, shop, data, ctx.now())

    @post(
        "/drops",
        status_code=201,
        guards=[roles("dispatcher", "point")],
        summary="Register a shop's drop for it (the point or a dispatcher; shopId; Idempotency-Key)",
    )
    async def drop(
        self, request: Request, ctx: Ctx, user: User, point_id: Id, data: JSONBody[locker_drops.DropIn]
    ) -> Response[Any]:
        await _may_act(user, point_id)

        async def action() -> Any:
            return await locker_drops.register(ctx.geo, point_id, data.shop_id, data, ctx.now(), by_user=user.id)

        return await idempotent(request, user, 201, action)

    @post(
        "/drops/scan",
        status_code=200,
        guards=[roles("dispatcher", "point")],
        summary="Scan a shop's drop into its compartment (409 when the door named is already full; Idempotency-Key)",
    )
    async def scan(
        self, request: Request, ctx: Ctx, user: User, point_id: Id, data: JSONBody[locker_drops.DropScanIn]
    ) -> Response[Any]:
        await _may_act(user, point_id)
        return await idempotent(
            request, user, 200, lambda: locker_drops.scan(point_id, None, data, ctx.now(), by_user=user.id)
        )

    @post(
        "/open",
        status_code=200,
        guards=[roles("dispatcher", "point")],
        summary="A code typed at the locker: the customer's empties their compartment (422 wrong; 429 after 5)",
    )
    async def open(self, request: Request, ctx: Ctx, user: User, point_id: Id, data: JSONBody[OpenIn]) -> Response[Any]:
        await _may_act(user, point_id)
        secret = ctx.settings.secret_key
        return await idempotent(
            request,
            user,
            200,
            prepare=lambda: locker_doors.prepare_open(point_id, data.code, secret, ctx.now(), user.id),
        )

    @get("/history", guards=[roles("dispatcher", "point")], summary="The doors' log: assigned, filled, collected, ...")
    async def history(
        self,
        user: User,
        point_id: Id,
        barcode: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> list[dict[str, Any]]:
        await _may_act(user, point_id)
        return await lockers.history(point_id, barcode)
