"""The OpenAPI pages under /schema, as Litestar serves them by default, but with
every UI loaded from the CDNs the pages' Content-Security-Policy names
(Litestar's Redoc comes from cdn.redoc.ly, which the policy does not allow)."""

from __future__ import annotations

from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RapidocRenderPlugin,
    RedocRenderPlugin,
    StoplightRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)

REDOC_JS = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"


def docs_pages() -> list[OpenAPIRenderPlugin]:
    """Fresh plugins for each app (a plugin keeps what it rendered). The first is also /schema itself."""
    return [RedocRenderPlugin(js_url=REDOC_JS), SwaggerRenderPlugin(), StoplightRenderPlugin(),
            RapidocRenderPlugin(), JsonRenderPlugin(), YamlRenderPlugin()]
