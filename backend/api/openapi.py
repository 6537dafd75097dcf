"""The OpenAPI document, completed so that it describes what the API really sends.

Litestar generates the operations from the handlers; what it cannot see is
added here, once for every operation, from facts about the route: the
problem-details answers each kind of route can give, who may call it, and
how timestamps are written. tests/live/test_api_contract.py holds the API to
the result.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar, cast

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.routes import HTTPRoute

from backend.structs import LOCAL_DATE_TIME_PATTERN

P = TypeVar("P", bound=OpenAPIRenderPlugin)

PROBLEM_JSON = "application/problem+json"
WRITES = {"post", "put", "patch", "delete"}
METHODS = WRITES | {"get"}

PROBLEM_DETAILS: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `detail` says what to do about it.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Each field that was wrong, with its message.",
        },
    },
}

WHY = {
    400: "The request does not match this document (a field, parameter or body is missing or malformed).",
    401: "Not logged in, or the session has ended.",
    403: "Logged in, but this is not yours to see or change.",
    404: "No such thing (or not one you may see).",
    409: "The thing is not in a state that allows this now.",
    413: "The body is larger than this operation accepts.",
    415: "The body is not of a content type this operation accepts.",
    422: "Well-formed, but a rule of the domain refuses it (e.g. a date in the past).",
    429: "Too many attempts; wait and try again.",
}

# Naive timestamps are the hub's local wall-clock time: the apps show them as
# they are, and shifts and closures refuse offsets. RFC 3339's date-time
# demands an offset, so they are declared as what is sent.
LOCAL_DATE_TIME: dict[str, Any] = {
    "type": "string",
    "pattern": LOCAL_DATE_TIME_PATTERN,
    "description": "The hub's local date and time, without an offset, e.g. 2026-11-23T08:00:00.",
}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "The token from POST /auth/login."},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "laadbak_session",
        "description": "The cookie POST /auth/login sets.",
    },
    "shopKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "A shop's key (POST /shops/{shopId}/api-keys): /checkout, and a shop's drops at a locker.",
    },
}
SHOP_KEY_PREFIX = "/checkout/"  # these operations take the shop's key instead of a login
SHOP_KEY_PATHS = ("/lockers/{point_id}/shop-drops", "/lockers/{point_id}/shop-drops/scan")  # and these


def takes_shop_key(path: str) -> bool:
    return path.startswith(SHOP_KEY_PREFIX) or path in SHOP_KEY_PATHS


def _guarded(app: Litestar) -> set[tuple[str, str]]:
    """(method, path) of every operation that needs a logged-in user."""
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if isinstance(handler, HTTPRouteHandler) and handler.resolve_guards():
                for method in handler.http_methods:
                    out.add((method.lower(), route.path_format))
    return out


# Operations that slow down repeated wrong tries (a password, a pickup code) answer 429 too.
THROTTLED: dict[str, set[int]] = {
    "/auth/login": {401, 429},
    "/point/hand-out": {429},
    "/lockers/{point_id}/open": {429},
}


def _statuses(method: str, op: dict[str, Any], guarded: bool, path: str) -> set[int]:
    has_body = "requestBody" in op
    params = op.get("parameters", [])
    statuses: set[int] = set()
    if has_body or params:
        statuses |= {400, 422}
    if guarded:
        statuses |= {401, 403}
    if any(p.get("in") == "path" for p in params) or has_body or guarded:
        statuses.add(404)  # also what a user's own thing answers when it is missing (e.g. no route)
    if method in WRITES:
        statuses.add(409)
    if has_body:
        statuses |= {413, 415}
    if path.startswith("/portal/returns"):
        statuses.add(429)  # wrong pairs of order number and postcode are throttled like logins
    if takes_shop_key(path):
        statuses.add(401)  # no key, a wrong or a revoked one
    return statuses | THROTTLED.get(path, set())


def _local_times(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            rest = {k: v for k, v in node.items() if k not in ("format", "type")}
            return {**LOCAL_DATE_TIME, **rest}
        return {k: _local_times(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_local_times(v) for v in node]
    return node


def _closed_bodies(doc: dict[str, Any]) -> None:
    """Request bodies are msgspec Structs with forbid_unknown_fields (backend.structs.Body):
    their schemas, and the ones they use, say that no other property is accepted."""
    schemas = doc.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and (name := ref.rsplit("/", 1)[1]) not in seen:
                seen.add(name)
                walk(schemas.get(name))
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for item in doc.get("paths", {}).values():
        for method, op in item.items():
            if method in METHODS and "requestBody" in op:
                walk(op["requestBody"])


def _struct_bodies(doc: dict[str, Any], app: Litestar) -> None:
    """JSON request bodies described by msgspec itself, from the very type that decodes
    them: Litestar's generator drops constraints inside optional fields
    (``Annotated[int, Meta(ge=0)] | None``) and never says that unknown fields are refused."""
    types: dict[tuple[str, str], type] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            field = handler.parsed_fn_signature.parameters.get("data")
            target = getattr(field, "annotation", None)
            if isinstance(target, type) and issubclass(target, msgspec.Struct):
                for http_method in handler.http_methods:
                    types[(http_method.lower(), route.path_format)] = target
    if not types:
        return
    ordered = sorted(types.items())
    refs, components = msgspec.json.schema_components(
        [t for _, t in ordered], ref_template="#/components/schemas/{name}"
    )
    doc.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for ((method, path), _), ref in zip(ordered, refs, strict=True):
        content = doc.get("paths", {}).get(path, {}).get(method, {}).get("requestBody", {}).get("content", {})
        if "application/json" in content:
            content["application/json"]["schema"] = ref


def complete(document: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """A copy of Litestar's document with errors, security and timestamps described."""
    doc = copy.deepcopy(document)
    _struct_bodies(doc, app)
    doc = _local_times(doc)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["ProblemDetails"] = PROBLEM_DETAILS
    components["securitySchemes"] = SECURITY_SCHEMES
    _closed_bodies(doc)
    problem_ref = {"$ref": "#/components/schemas/ProblemDetails"}
    guarded = _guarded(app)
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            needs_login = (method, path) in guarded
            op["security"] = [{"bearer": []}, {"session": []}] if needs_login else []
            if takes_shop_key(path):
                op["security"] = [{"shopKey": []}]
            responses = op.setdefault("responses", {})
            for status in sorted(_statuses(method, op, needs_login, path)):
                responses[str(status)] = {
                    "description": WHY[status],
                    "content": {PROBLEM_JSON: {"schema": problem_ref}},
                }
    return doc


def described(app: Litestar, document: dict[str, Any]) -> dict[str, Any]:
    """The completed document, built once per application."""
    cached = getattr(app.state, "openapi_described", None)
    if cached is None:
        cached = app.state.openapi_described = complete(document, app)
    return cached


def _completing(base: type[P]) -> type[P]:
    class Completing(base):  # type: ignore[valid-type,misc]
        def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
            return super().render(request, described(request.app, openapi_schema))

    Completing.__name__ = f"Described{base.__name__}"
    return cast(type[P], Completing)


# The docs pages load their UI from this service (pwa/static/vendor, served at /vendor),
# never from a CDN, so they work offline: ReDoc and Swagger UI from npm, see the README.md
# in each vendor directory. No Google Fonts (ReDoc falls back to the system's fonts), and
# Litestar's favicon is on a CDN too: ours instead.
REDOC_JS = "/vendor/redoc/redoc.standalone.js"
SWAGGER_JS = "/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_PRESET_JS = "/vendor/swagger-ui/swagger-ui-standalone-preset.js"
SWAGGER_CSS = "/vendor/swagger-ui/swagger-ui.css"
FAVICON = "<link rel='icon' type='image/png' href='/courier/icons/icon-192.png'>"


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """/schema (ReDoc), /schema/swagger and /schema/openapi.json, all showing the completed
    document. Fresh plugins for each app: a plugin keeps what it rendered."""
    redoc = _completing(RedocRenderPlugin)(path=["/", "/redoc"], js_url=REDOC_JS, google_fonts=False, favicon=FAVICON)
    swagger = _completing(SwaggerRenderPlugin)(
        js_url=SWAGGER_JS, css_url=SWAGGER_CSS, standalone_preset_js_url=SWAGGER_PRESET_JS, favicon=FAVICON
    )
    return [redoc, swagger, _completing(JsonRenderPlugin)()]
