"""The dispatcher's alerts (raised by backend/services/alerts.py's rules) and the
address suggestions of the desk's order dialog."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import QueryParameter

from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Id, OptionalDateQuery
from backend.services.alerts import AlertOut, acknowledge, hub_of_alert, list_alerts
from backend.services.geocoding import AddressSuggestion, suggest_addresses

OpenQuery = Annotated[
    bool | None,
    QueryParameter(name="open", description="true: only alerts not acknowledged; false: only acknowledged ones"),
]
SuggestQuery = Annotated[str, QueryParameter(name="q", description="What was typed: a street (its start), a number")]
LimitQuery = Annotated[int, QueryParameter(name="limit", description="At most this many suggestions (1-10)")]


class AlertController(Controller):
    tags = ["dispatch"]

    @get(
        "/hubs/{hub_id:int}/alerts",
        guards=[roles("dispatcher")],
        summary="The hub's alerts of a day (default today), newest first",
    )
    async def listing(
        self, ctx: Ctx, user: User, hub_id: Id, date: OptionalDateQuery = None, open: OpenQuery = None
    ) -> list[AlertOut]:
        check_hub(user, hub_id)
        return await list_alerts(hub_id, date or ctx.now().date(), open)

    @post(
        "/alerts/{alert_id:int}/acknowledge",
        guards=[roles("dispatcher")],
        status_code=200,
        summary="Acknowledge an alert; again answers it as it is (the first who and when are kept)",
    )
    async def acknowledge(self, ctx: Ctx, user: User, alert_id: Id) -> AlertOut:
        check_hub(user, await hub_of_alert(alert_id))
        return await acknowledge(alert_id, user.id, ctx.now())

    @get(
        "/geocode/suggest",
        guards=[roles("dispatcher")],
        summary="Addresses on the map matching what was typed, best first",
    )
    async def suggest(self, ctx: Ctx, q: SuggestQuery, limit: LimitQuery = 5) -> list[AddressSuggestion]:
        return suggest_addresses(ctx, q, limit)
