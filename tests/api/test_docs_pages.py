"""The OpenAPI pages load everything from this service, as their Content-Security-Policy allows:
they work without internet (tests/browser/test_csp.py loads them offline in Chromium)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest

from backend.settings import REPO_ROOT

PAGES = ["/schema", "/schema/redoc", "/schema/swagger"]
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
LICENCES = [
    "redoc/LICENSE",
    "redoc/redoc.standalone.js.LICENSE.txt",
    "swagger-ui/LICENSE",
    "swagger-ui/NOTICE",
    "swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
    "swagger-ui/swagger-ui-standalone-preset.js.LICENSE.txt",
]


def _rules(policy: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def _loads(html: str) -> list[str]:
    """What the page asks the browser to fetch: scripts, stylesheets, icons."""
    scripts = re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", html)
    links = re.findall(r"<link[^>]*\bhref=[\"']([^\"']+)", html)
    return scripts + links


@pytest.mark.parametrize("path", PAGES)
async def test_a_docs_page_loads_only_from_this_service(client, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"], path
    loads = _loads(r.text)
    assert any(url.endswith(".js") for url in loads), (path, loads)
    for url in loads:
        assert url.startswith("/") and not url.startswith("//"), (path, url)
    assert "fonts.googleapis.com" not in r.text and "cdn." not in r.text, path
    rules = _rules(r.headers["content-security-policy"])
    assert rules["default-src"] == ["'none'"]
    for directive, sources in rules.items():
        assert not [s for s in sources if "://" in s or s.endswith(".com")], (directive, sources)
    assert "'self'" in rules["script-src"] and "'unsafe-inline'" not in rules["script-src"]
    assert rules["style-src"] == ["'self'", "'unsafe-inline'"] and rules["font-src"] == ["'self'"]
    assert rules["worker-src"] == ["blob:"]  # ReDoc's search index


@pytest.mark.parametrize("path", PAGES)
async def test_every_asset_of_a_docs_page_is_served_with_its_type(client, path: str) -> None:
    html = (await client.get(path)).text
    for url in _loads(html):
        r = await client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        assert TYPES[PurePosixPath(url).suffix] in r.headers["content-type"], (url, r.headers["content-type"])
        assert r.content == (REPO_ROOT / "pwa" / "static" / url.lstrip("/")).read_bytes(), url
    assert (await client.get("/schema/openapi.json")).status_code == 200


def test_the_vendored_docs_ui_keeps_its_licences() -> None:
    vendor = REPO_ROOT / "pwa" / "static" / "vendor"
    for name in LICENCES:
        assert (vendor / name).stat().st_size > 0, name
    # The one change to ReDoc's bundle (its README.md): no logo from Redocly's CDN.
    assert b"cdn.redoc.ly" not in (vendor / "redoc" / "redoc.standalone.js").read_bytes()
