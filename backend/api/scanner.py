"""A hub's keyboard-wedge scanner setting: its dispatchers read and set it
(``/hubs/{id}/scanner``); the worker apps that scan read their hub's (``/scanner``).

The PUT replaces the setting whole with the body sent, so it takes no Idempotency-Key: the
same body again leaves the same state."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, put

from backend.api.auth import check_hub, roles
from backend.api.deps import User
from backend.api.schemas import Id, json_body
from backend.services import scanner_settings as service

EXAMPLE = ("Scanners that send $ before a code and # after it", {"prefix": "$", "suffix": "#"})


class HubScannerController(Controller):
    path = "/hubs/{hub_id:int}/scanner"
    tags = ["warehouse"]
    guards = [roles("dispatcher")]

    @get("", summary="The prefix and suffix the hub's keyboard-wedge scanners send around a code")
    async def read(self, user: User, hub_id: Id) -> service.ScannerOut:
        check_hub(user, hub_id)
        return await service.read(hub_id)

    @put("", status_code=200, summary="Set the hub's scanner prefix and suffix (at most 8 printable signs each)")
    async def write(
        self, user: User, hub_id: Id, data: Annotated[service.ScannerIn, json_body(EXAMPLE)]
    ) -> service.ScannerOut:
        check_hub(user, hub_id)
        return await service.write(hub_id, data)


class WorkerScannerController(Controller):
    path = "/scanner"
    tags = ["warehouse"]
    guards = [roles("picker", "point", "returns", "dispatcher")]

    @get("", summary="Your hub's scanner prefix and suffix, for the app to take off each scan")
    async def mine(self, user: User) -> service.ScannerOut:
        return await service.for_worker(user)


SCANNER_CONTROLLERS = (HubScannerController, WorkerScannerController)
