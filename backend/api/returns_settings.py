"""A hub's returns settings (the disposition and refund tables, checklists, templates, the
labour rate): read by its dispatchers and its returns desk, set whole by its dispatchers.
See docs/returns.md, "A hub's returns settings"."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, put
from litestar.exceptions import ValidationException

from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.errors import on_bad_table_entry
from backend.api.schemas import Id, json_body
from backend.errors import Forbidden
from backend.services import returns_settings as service

SETTINGS_EXAMPLE = (
    "Grade B back into stock as new, a quarter off for grade C, €24 an hour",
    {
        "labourCentsPerHour": 2400,
        "dispositions": [
            {"grade": "A", "dispositions": ["restock"]},
            {"grade": "B", "dispositions": ["restock", "outlet"]},
            {"grade": "C", "dispositions": ["second_hand"]},
            {"grade": "D", "dispositions": ["repair", "supplier"]},
            {"grade": "scrap", "dispositions": ["recycle"]},
            {"grade": "scrap", "category": "electronics", "dispositions": ["e_waste"]},
        ],
        "refunds": {
            "grades": [{"grade": "B", "pct": 10}, {"grade": "C", "pct": 25}, {"grade": "D", "pct": 50}],
            "findings": [{"finding": "parts_complete", "pct": 20}],
            "deductFor": ["changed_mind", "looks_different", "other", "too_large", "too_small"],
        },
    },
)


def _own_hub(user: User, hub_id: int) -> None:
    """A dispatcher as everywhere (check_hub); the returns desk its own hub only."""
    if user.role == "returns" and user.hub_id != hub_id:
        raise Forbidden(f"You work at the returns desk of hub {user.hub_id}, not hub {hub_id}.")
    check_hub(user, hub_id)


class ReturnSettingsController(Controller):
    path = "/hubs/{hub_id:int}/returns/settings"
    tags = ["returns"]
    exception_handlers = {ValidationException: on_bad_table_entry, msgspec.ValidationError: on_bad_table_entry}

    @get(
        "",
        guards=[roles("dispatcher", "returns")],
        summary="The hub's returns settings: disposition and refund tables, checklists, templates, labour rate",
        description="`settings` is the body PUT takes; `isDefault` when the hub has changed nothing.",
    )
    async def read(self, user: User, hub_id: Id) -> dict[str, Any]:
        _own_hub(user, hub_id)
        return await service.read(hub_id)

    @put(
        "",
        guards=[roles("dispatcher")],
        summary="Set the hub's returns settings whole (a table left out takes the built-in default)",
        description="A bad entry: 422 naming its `field`, nothing stored. The next inspection follows the new "
        "tables; items inspected before keep their grade, disposition and refund.",
    )
    async def write(
        self,
        ctx: Ctx,
        user: User,
        hub_id: Id,
        data: Annotated[service.SettingsIn, json_body(SETTINGS_EXAMPLE)],
    ) -> dict[str, Any]:
        check_hub(user, hub_id)
        return await service.write(hub_id, data, user.id, ctx.now())
