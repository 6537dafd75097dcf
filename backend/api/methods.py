"""`Allow` on OPTIONS answers lists every method of the path.

Litestar builds the OPTIONS handler with the first route registered at a path;
when a second controller adds methods to the same path (GET /bikes and POST
/bikes), that handler still answers with the first route's methods. The final
routes know them all, so the header is rewritten from them.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute


def _methods_by_path(app: Litestar) -> dict[str, str]:
    cached = getattr(app.state, "allow_by_path", None)
    if cached is None:
        routes = [route for route in app.routes if isinstance(route, HTTPRoute)]
        # scope["path_template"] is written either way ("/bikes/{item_id:int}" or "/bikes/{item_id}")
        cached = app.state.allow_by_path = {
            path: ", ".join(sorted(route.methods)) for route in routes for path in (route.path, route.path_format)
        }
    return cached


async def complete_allow(message: Any, scope: Any) -> None:
    """A before_send hook: OPTIONS answers carry the path's full method list."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    allow = _methods_by_path(scope["app"]).get(scope.get("path_template", ""))
    if allow is None:
        return
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
    message["headers"] = [*headers, (b"allow", allow.encode())]
