"""Orders: one by JSON, many by CSV upload (all rows or none)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Request, delete, get, post

from backend.api.auth import check_hub, current_user, roles
from backend.api.schemas import (
    UploadForm,
    ORDER_EXAMPLE,
    WINDOW_ORDER_EXAMPLE,
    DateQuery,
    HubIdQuery,
    Id,
    json_body,
)
from backend.db.engine import transaction
from backend.db.tables import Order, Stop
from backend.errors import Conflict, Invalid, NotFound, TooLarge
from backend.realtime.outbox import emit
from backend.services import orders as service
from backend.services.replanning import take_same_day_order

DISPATCH = [roles("dispatcher")]


class OrderController(Controller):
    path = "/orders"
    tags = ["orders"]

    @post("/", guards=DISPATCH, summary="Create an order with its parcels")
    async def create(self, request: Request, data: Annotated[service.OrderIn, json_body(ORDER_EXAMPLE, WINDOW_ORDER_EXAMPLE)]) -> service.OrderOut:
        user = await current_user(request)
        check_hub(user, data.hub_id)
        state = request.app.state
        now = dt.datetime.now()
        if data.date == now.date():  # the day may be on the road: into the running routes, or refused
            order_id, _ = await take_same_day_order(state.geo, state.executor, data, now,
                                                    time_limit_s=state.settings.replan_time_limit_s,
                                                    positions=state.positions.places())
        else:
            order_id = await service.create_order(data, state.geo, now.date())
        return await service.read_order(order_id)  # type: ignore[return-value]

    @post("/import", guards=DISPATCH, status_code=201,
          summary="Import orders from a CSV file (multipart field 'file'); all rows or none",
          description="Columns: " + ", ".join(service.CSV_COLUMNS) + ". Required: "
          + ", ".join(service.REQUIRED_COLUMNS) + ". A row with shop_ids (a;b) has one parcel per shop.")
    async def import_csv(
        self, request: Request,
        data: UploadForm,
    ) -> service.ImportReport:
        user = await current_user(request)
        limit = request.app.state.settings.max_upload_bytes
        raw = await data.file.read(limit + 1)
        if len(raw) > limit:
            raise TooLarge(f"The file is larger than {limit // 1000} kB; split it into smaller files.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid("The file is not UTF-8 text; save the CSV as UTF-8 and upload again.") from exc
        scope = None if user.role == "admin" else user.hub_id
        return await service.import_csv(text, request.app.state.geo, dt.date.today(), hub_scope=scope)

    @get("/", guards=DISPATCH, summary="List orders of a hub and day")
    async def list_orders(self, request: Request, hub_id: HubIdQuery, date: DateQuery) -> list[service.OrderOut]:
        user = await current_user(request)
        check_hub(user, hub_id)
        return await service.read_orders((Order.hub == hub_id) & (Order.delivery_date == date))

    @get("/{order_id:int}", guards=DISPATCH, summary="Read an order")
    async def read(self, request: Request, order_id: Id) -> service.OrderOut:
        user = await current_user(request)
        order = await service.read_order(order_id)
        if order is None:
            raise NotFound(f"There is no order with id {order_id}.")
        check_hub(user, order.hub_id)
        return order

    @delete("/{order_id:int}", guards=DISPATCH, summary="Cancel an order that is not on a route yet")
    async def cancel(self, request: Request, order_id: Id) -> None:
        user = await current_user(request)
        order = await service.read_order(order_id)
        if order is None:
            raise NotFound(f"There is no order with id {order_id}.")
        check_hub(user, order.hub_id)
        if await Stop.exists().where((Stop.order == order_id) & (Stop.status.not_in(["open", "unplanned"]))):
            raise Conflict("This order is already planned on a route; re-plan or move it first.")
        async with transaction():
            await Order.delete().where(Order.id == order_id)
            await emit("order.cancelled", {"orderId": order_id}, hub_id=order.hub_id)
