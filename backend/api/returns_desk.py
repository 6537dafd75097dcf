"""The returns desk (role ``returns``, own hub): inspect a received item, its refund (recorded
once), the reconditioning task lists step by step, the final check and the item's end.
Every write takes an Idempotency-Key (a replay answers the stored answer). See docs/returns.md."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import PathParameter

from backend.api.answers import idempotent
from backend.api.auth import roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id, UploadForm, json_body
from backend.errors import Invalid
from backend.services import returns_handover as handover
from backend.services import returns_inspection as inspection
from backend.services import returns_supplier as to_supplier
from backend.services import returns_tasks as worklists

StepN = Annotated[int, PathParameter(ge=1, le=100)]
INSPECT_EXAMPLE = (
    "A worn jacket, tags off: grade B",
    {
        "answers": {"tags_on": False, "worn": True, "stains": False, "smell": False, "damage": False},
        "photoIds": ["5f0c7d3e9a4b41c2a1d2e3f405162738"],
        "grade": "B",
        "note": "",
    },
)


def _key(request: Request) -> str:
    return request.headers.get("idempotency-key", "").strip()


class ReturnsDeskController(Controller):
    path = "/returns-desk"
    tags = ["returns"]
    guards = [roles("returns")]

    @post(
        "/photos",
        summary="Upload an inspection photo (JPEG, PNG or WebP, at most 5 MB; Idempotency-Key required)",
        description="Too big or not an image: 422 with the reason. Answers the photoId to send with the inspection.",
        request_max_body_size=inspection.MAX_PHOTO_BYTES + 100_000,
    )
    async def photo(self, request: Request, ctx: Ctx, user: User, data: UploadForm) -> Response[Any]:
        raw = await data.file.read(inspection.MAX_PHOTO_BYTES + 1)
        hub = user.user.hub_id
        if hub is None:
            raise Invalid("Your account belongs to no hub; ask a dispatcher to set your hub.")
        var_dir = ctx.settings.var_dir

        async def action() -> Any:
            return await inspection.store_photo(hub, raw, var_dir)

        return await idempotent(request, user, 201, action, content=raw)

    @get("/items/{item_id:int}/checklist", summary="The checklist of a received item's category, grades, dispositions")
    async def checklist(self, user: User, item_id: Id) -> dict[str, Any]:
        return await inspection.checklist_of(item_id, user)

    @post(
        "/items/{item_id:int}/inspection",
        status_code=201,
        summary="Inspect an item: answers, photos, grade, note → disposition, refund (once), task list",
        description="Idempotency-Key required. An item inspected already: 409. An incomplete checklist, a missing "
        "photo or a better grade than the findings allow without a note: 422 with every problem.",
    )
    async def inspect(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        item_id: Id,
        data: Annotated[inspection.InspectIn, json_body(INSPECT_EXAMPLE)],
    ) -> Response[Any]:
        async def action() -> dict[str, Any]:
            return await inspection.inspect(item_id, data, user, ctx.settings.var_dir, ctx.now())

        return await idempotent(request, user, 201, action)

    @post(
        "/items/{item_id:int}/refund",
        status_code=200,
        summary="The item's refund: recorded once at the inspection; asked again, the same record",
    )
    async def refund(self, request: Request, user: User, item_id: Id) -> Response[Any]:
        async def action() -> dict[str, Any]:
            return await inspection.refund_of(item_id, user)

        return await idempotent(request, user, 200, action)

    @get("/tasks", summary="The worker's task lists, grouped by template (the same steps in a row)")
    async def queue(self, ctx: Ctx, user: User) -> list[dict[str, Any]]:
        return await worklists.queue(user, ctx.now())

    @get("/items/{item_id:int}/tasks", summary="One item's task list: the current step, its state and timer")
    async def one(self, ctx: Ctx, user: User, item_id: Id) -> dict[str, Any]:
        return await worklists.one(item_id, user, ctx.now())

    @post(
        "/items/{item_id:int}/steps/{n:int}",
        status_code=200,
        summary="A step event: start, problem, help (calls a supervisor), resume, done",
        description="Idempotency-Key required; it is the event's id, so a replayed tap changes nothing. A new "
        "'done' on a step already done, a step out of order or another worker's list: 409 with a sentence.",
    )
    async def step(
        self, request: Request, ctx: Ctx, user: User, item_id: Id, n: StepN, data: worklists.StepIn
    ) -> Response[Any]:
        key = _key(request)

        async def action() -> dict[str, Any]:
            return await worklists.step_event(item_id, n, data, key, user, ctx.now())

        return await idempotent(request, user, 200, action)

    @post("/items/{item_id:int}/check", status_code=200, summary="The final quality check (once)")
    async def check(
        self, request: Request, ctx: Ctx, user: User, item_id: Id, data: Annotated[worklists.CheckIn, json_body()]
    ) -> Response[Any]:
        async def action() -> dict[str, Any]:
            return await worklists.check(item_id, data, user, ctx.now())

        return await idempotent(request, user, 200, action)

    @post(
        "/items/{item_id:int}/finish",
        status_code=200,
        summary="The item's end: into a bin as new or its graded variant, to the supplier, or recycled",
        description="A stocked item is one ledger movement of kind 'return' (never twice); the answer has the "
        "item's whole history.",
    )
    async def finish(
        self, request: Request, ctx: Ctx, user: User, item_id: Id, data: Annotated[worklists.FinishIn, json_body()]
    ) -> Response[Any]:
        async def action() -> dict[str, Any]:
            return await worklists.finish(item_id, data, user, ctx.now())

        return await idempotent(request, user, 200, action)


class ReturnsHandOverController(Controller):
    """Who works which list: the workers themselves take a list over; a supervisor hands one on."""

    path = "/returns-desk"
    tags = ["returns"]
    guards = [roles("returns", "dispatcher")]

    @get("/lists", summary="The hub's open task lists by worker and template (own first, then nobody's)")
    async def lists(self, ctx: Ctx, user: User) -> list[dict[str, Any]]:
        return await worklists.queue(user, ctx.now())

    @get("/workers", summary="The hub's returns workers who are on (a live session), with their open steps")
    async def workers(self, ctx: Ctx, user: User) -> list[dict[str, Any]]:
        return await handover.workers(user, ctx.now())

    @post(
        "/items/{item_id:int}/worker",
        status_code=200,
        summary="Hand the item's task list to a worker: yourself (take it over), or anyone (a supervisor)",
        description="Idempotency-Key required. A worker may only name themselves: 403. Not a returns worker of "
        "the hub: 422. A list that is through: 409. The answer is the list.",
    )
    async def worker(
        self, request: Request, ctx: Ctx, user: User, item_id: Id, data: Annotated[handover.HandOverIn, json_body()]
    ) -> Response[Any]:
        async def action() -> dict[str, Any]:
            return await handover.hand_over(item_id, data, user, ctx.now())

        return await idempotent(request, user, 200, action)

    @get(
        "/supplier",
        summary="The items going back to their supplier (finished, end 'supplier'): to send, or sent",
        description="Newest first, each with the shop that sold it. ``shipped=true``: those sent, each with "
        "its parcel (supplier, reference, when).",
    )
    async def supplier(self, user: User, shipped: bool = False) -> list[dict[str, Any]]:
        return await to_supplier.supplier_list(user, shipped)

    @post(
        "/supplier/shipments",
        status_code=201,
        summary="Send items back to their supplier in one parcel, under its reference (once per item)",
        description="Idempotency-Key required. Every item finished with the end 'supplier', all of one supplier "
        "(422 naming them otherwise), none sent before (409 naming it). Written to each return's history.",
    )
    async def ship(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        data: Annotated[
            to_supplier.ShipmentIn,
            json_body(("Two items to their shop", {"items": [12, 15], "reference": "3SABCD1234567"})),
        ],
    ) -> Response[Any]:
        async def action() -> dict[str, Any]:
            return await to_supplier.ship(data, user, ctx.now())

        return await idempotent(request, user, 201, action)


RETURNS_DESK_CONTROLLERS = (ReturnsDeskController, ReturnsHandOverController)
