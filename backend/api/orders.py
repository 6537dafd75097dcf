"""Orders: one by JSON, many by CSV upload (all rows or none)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post

from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import (
    ORDER_EXAMPLE,
    WINDOW_ORDER_EXAMPLE,
    DateQuery,
    HubIdQuery,
    Id,
    UploadForm,
    json_body,
)
from backend.errors import Invalid, TooLarge
from backend.services import orders as service
from backend.services.disruptions import take_same_day_order

DISPATCH = [roles("dispatcher")]


class OrderController(Controller):
    path = "/orders"
    tags = ["orders"]

    @post("/", guards=DISPATCH, summary="Create an order with its parcels")
    async def create(
        self, ctx: Ctx, user: User, data: Annotated[service.OrderIn, json_body(ORDER_EXAMPLE, WINDOW_ORDER_EXAMPLE)]
    ) -> service.OrderOut:
        check_hub(user, data.hub_id)
        now = ctx.now()
        if data.date == now.date():  # the day may be on the road: into the running routes, or refused
            order_id, _ = await take_same_day_order(ctx, data, now)
        else:
            order_id = await service.create_order(data, ctx.geo, now)
        return await service.order_for(order_id)

    @post(
        "/import",
        guards=DISPATCH,
        status_code=201,
        summary="Import orders from a CSV file (multipart field 'file'); all rows or none",
        description="Columns: "
        + ", ".join(service.CSV_COLUMNS)
        + ". Required: "
        + ", ".join(service.REQUIRED_COLUMNS)
        + ". A row with shop_ids (a;b) has one parcel per shop.",
    )
    async def import_csv(self, ctx: Ctx, user: User, data: UploadForm) -> service.ImportReport:
        limit = ctx.settings.max_upload_bytes
        raw = await data.file.read(limit + 1)
        if len(raw) > limit:
            raise TooLarge(f"The file is larger than {limit // 1000} kB; split it into smaller files.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid("The file is not UTF-8 text; save the CSV as UTF-8 and upload again.") from exc
        scope = None if user.role == "admin" else user.hub_id
        return await service.import_csv(text, ctx.geo, ctx.now(), hub_scope=scope)

    @get("/", guards=DISPATCH, summary="List orders of a hub and day")
    async def list_orders(self, user: User, hub_id: HubIdQuery, date: DateQuery) -> list[service.OrderOut]:
        check_hub(user, hub_id)
        return await service.orders_of(hub_id, date)

    @get("/{order_id:int}", guards=DISPATCH, summary="Read an order")
    async def read(self, user: User, order_id: Id) -> service.OrderOut:
        order = await service.order_for(order_id)
        check_hub(user, order.hub_id)
        return order

    @delete("/{order_id:int}", guards=DISPATCH, summary="Cancel an order that is not on a route yet")
    async def cancel(self, user: User, order_id: Id) -> None:
        order = await service.order_for(order_id)
        check_hub(user, order.hub_id)
        await service.cancel_order(order)
