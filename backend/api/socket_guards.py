"""Checks made before a websocket upgrade is accepted: a refusal here is an
HTTP 403 to the handshake, so a refused client never gets an open socket."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.api.auth import check_hub, current_user
from backend.errors import Forbidden
from backend.services.hub_scope import require_hub


async def same_origin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Browsers always send Origin on a websocket upgrade, and send the session
    cookie whatever page opened it: a foreign (or ``null``) Origin is refused,
    so another site cannot read a user's streams (cross-site websocket
    hijacking). Clients that are not browsers send no Origin and authenticate
    with a bearer header instead."""
    origin = connection.headers.get("origin")
    if origin is None:
        return
    if origin.rstrip("/") not in connection.app.state.settings.public_origins:
        raise Forbidden(f"Websockets are open to pages of this service only, not to {origin[:100]}.")


async def own_hub_stream(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    check_hub(await current_user(connection), connection.path_params["hub_id"])
    await require_hub(connection.path_params["hub_id"])  # an admin asking for no hub: refused, not a broken snapshot
