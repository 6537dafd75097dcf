"""Return figures of a hub per ISO week (return rate, reasons, cost), as JSON for the
dispatcher's desk and as CSV. Dispatchers of the hub and its returns desk. See docs/returns.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from backend.api.auth import check_hub, roles
from backend.api.deps import User
from backend.api.schemas import Id
from backend.errors import Forbidden
from backend.services import returns_figures as service

FromWeek = Annotated[str, QueryParameter(name="from", description="The first ISO week, e.g. 2026-W45")]
CSV = "text/csv; charset=utf-8"
ToWeek = Annotated[str, QueryParameter(name="to", description="The last ISO week (at most 53 weeks on)")]
TableQuery = Annotated[
    Literal["rates", "reasons", "costs"], QueryParameter(description="rates, reasons (per week and key) or costs")
]
ByQuery = Annotated[Literal["category", "sku"], QueryParameter(description="rates and reasons per category or SKU")]


def _own_hub(user: User, hub_id: int) -> None:
    """A dispatcher as everywhere (check_hub); the returns desk sees its own hub only."""
    if user.role == "returns" and user.hub_id != hub_id:
        raise Forbidden(f"You work at the returns desk of hub {user.hub_id}, not hub {hub_id}.")
    check_hub(user, hub_id)


class ReturnFiguresController(Controller):
    tags = ["returns"]
    guards = [roles("dispatcher", "returns")]

    @get(
        "/hubs/{hub_id:int}/returns/figures",
        summary="Return figures per ISO week of sale: sold, returned, rate, cost; top reasons; per category",
        description="A bad week or more than 53 weeks: 422 naming the parameter.",
    )
    async def figures(self, user: User, hub_id: Id, week_from: FromWeek, week_to: ToWeek) -> dict[str, Any]:
        _own_hub(user, hub_id)
        return await service.figures(hub_id, week_from, week_to)

    @get(
        "/hubs/{hub_id:int}/returns/figures.csv",
        summary="One table of the return figures as CSV (rates, reasons or costs)",
        media_type=CSV,
        responses={200: ResponseSpec(data_container=str, description="CSV with a header row", media_type=CSV)},
    )
    async def csv(
        self,
        user: User,
        hub_id: Id,
        week_from: FromWeek,
        week_to: ToWeek,
        table: TableQuery = "rates",
        by: ByQuery = "category",
    ) -> Response[str]:
        _own_hub(user, hub_id)
        body = await service.figures_csv(hub_id, week_from, week_to, table, by)
        name = f"laadbak-hub-{hub_id}-returns-{table}-{week_from}-{week_to}.csv"  # the weeks are checked by now
        return Response(body, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{name}"'})
