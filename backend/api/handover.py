"""Bike or carrier at a hub: its rules (``/hubs/{id}/carrier-rules``, its dispatchers) and
the handover to each carrier (``/hubs/{id}/handover``: the manifest as JSON, CSV or PDF,
and the scan of each parcel; dispatchers and pickers of the hub).

The scan takes an Idempotency-Key; scanning a parcel again answers its first scan."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import QueryParameter

from backend.api.answers import idempotent
from backend.api.auth import check_hub, roles
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, DateQuery, Id, json_body
from backend.dispatch.carrier import CarrierRules, Name
from backend.services import carrier as carrier_service
from backend.services import handover as service

CarrierQuery = Annotated[
    str, QueryParameter(name="carrier", min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$", description="postnl")
]
RULES_EXAMPLE = (
    "Heavier than 60 kg or outside 3500-3599 by PostNL; next-day abroad by DHL, duties paid to Belgium",
    {
        "carrier": "postnl",
        "maxWeightKg": 60,
        "postcodesOutside": ["34", "36"],
        "services": {"next_day_abroad": "dhl"},
        "ddpCountries": ["BE"],
    },
)


class ScanIn(Body):
    carrier: Name
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]  # the parcel's barcode as scanned


class CarrierRulesController(Controller):
    path = "/hubs/{hub_id:int}/carrier-rules"
    tags = ["carrier"]
    guards = [roles("dispatcher")]

    @get("", summary="The hub's rules for bike or carrier (limits left out are its biggest bike's)")
    async def read(self, user: User, hub_id: Id) -> dict[str, Any]:
        check_hub(user, hub_id)
        return await carrier_service.read_rules(hub_id)

    @put("", status_code=200, summary="Set the hub's rules for bike or carrier; orders taken from now on follow them")
    async def write(
        self, user: User, hub_id: Id, data: Annotated[CarrierRules, json_body(RULES_EXAMPLE)]
    ) -> dict[str, Any]:
        check_hub(user, hub_id)
        return await carrier_service.write_rules(hub_id, data)


class HandoverController(Controller):
    path = "/hubs/{hub_id:int}"
    tags = ["carrier"]
    guards = [roles("dispatcher", "picker")]

    @get("/handover", summary="The handover list of a carrier for a day: parcels, addresses, weights, duties, scans")
    async def manifest(self, user: User, hub_id: Id, date: DateQuery, carrier: CarrierQuery) -> dict[str, Any]:
        check_hub(user, hub_id)
        return await service.manifest(hub_id, date, carrier)

    @get("/handover.csv", summary="The handover manifest as CSV", media_type="text/csv")
    async def csv(self, user: User, hub_id: Id, date: DateQuery, carrier: CarrierQuery) -> Response[str]:
        check_hub(user, hub_id)
        text = service.manifest_csv(await service.manifest(hub_id, date, carrier))
        name = f"handover-{carrier}-{date.isoformat()}.csv"
        return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/handover.pdf", summary="The handover manifest as PDF (Code 128 a parcel)", media_type="application/pdf")
    async def pdf(self, user: User, hub_id: Id, date: DateQuery, carrier: CarrierQuery) -> Response[bytes]:
        check_hub(user, hub_id)
        pdf = service.manifest_pdf(await service.manifest(hub_id, date, carrier))
        name = f"handover-{carrier}-{date.isoformat()}.pdf"
        return Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
        )

    @post(
        "/handover/scan",
        status_code=200,
        summary="Scan a parcel handed to the carrier; one not on its list is a 422 (Idempotency-Key required)",
    )
    async def scan(
        self,
        request: Request,
        ctx: Ctx,
        user: User,
        hub_id: Id,
        data: Annotated[ScanIn, json_body(("A parcel to PostNL", {"carrier": "postnl", "code": "LB0A1B2C3D4E5"}))],
    ) -> Response[Any]:
        check_hub(user, hub_id)

        async def action() -> dict[str, Any]:
            return await service.scan(hub_id, data.carrier, data.code, user.id, ctx.now())

        return await idempotent(request, user, 200, action)


HANDOVER_CONTROLLERS = (CarrierRulesController, HandoverController)
