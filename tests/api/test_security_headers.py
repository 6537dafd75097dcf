"""Every answer carries the security headers; the apps' pages need no inline script or style."""

from __future__ import annotations

import base64
import hashlib
import re

from backend.api.headers import APP_CSP
from backend.settings import REPO_ROOT
from tests.api.helpers import admin, problem, tomorrow

EXPECTED = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def _assert_headers(r, csp: str | None = APP_CSP) -> None:
    for name, value in EXPECTED.items():
        assert r.headers.get(name) == value, (r.url, name, r.headers)
    policy = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy and "base-uri 'none'" in policy
    if csp is not None:
        assert policy == csp, (r.url, policy)
    permissions = r.headers.get("permissions-policy", "")
    assert "geolocation=(self)" in permissions and "camera=(self)" in permissions


async def _tracking_url(client, geo) -> str:
    h = await admin(client)
    a = sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))
    hub = (await client.post("/hubs", json={"name": "Hub", "address": f"{a[0].street} {a[0].housenumber}"},
                             headers=h)).json()["id"]
    r = await client.post("/orders", headers=h, json={
        "reference": "T-1", "hubId": hub, "customerName": "Mia", "date": tomorrow().isoformat(),
        "address": f"{a[20].street} {a[20].housenumber}", "slot": "evening",
        "parcels": [{"weightKg": 2.5, "volumeL": 10}]})
    assert r.status_code == 201, r.text
    return r.json()["trackingUrl"]


async def test_every_page_and_answer_carries_the_headers(client, geo) -> None:
    track = await _tracking_url(client, geo)
    for path in ("/", "/courier/", track):
        r = await client.get(path)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"], path
        _assert_headers(r)
    for path, kind in (("/health", "application/json"), ("/courier/app.js", "javascript"),
                       ("/landing.css", "text/css"), ("/schema/openapi.json", "json")):
        r = await client.get(path)
        assert r.status_code == 200 and kind in r.headers["content-type"], path
        _assert_headers(r)
    client.cookies.clear()
    for r, status in ((await client.get("/no/such/page"), 404), (await client.get("/auth/me"), 401),
                      (await client.post("/auth/login", json={"username": "x"}), 400)):
        problem(r, status)
        _assert_headers(r)


async def test_openapi_pages_allow_exactly_their_own_inline_scripts(client) -> None:
    for path in ("/schema", "/schema/swagger", "/schema/redoc"):
        r = await client.get(path)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"], path
        _assert_headers(r, csp=None)
        policy = r.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        inline = re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.content, re.S)
        for script in inline:
            digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
            assert f"'sha256-{digest}'" in policy, path
        for src in re.findall(rb"<script[^>]*\bsrc=[\"'](https://[^/\"']+)", r.content):
            assert src.decode() in policy, path
    swagger = await client.get("/schema/swagger")
    assert re.search(rb"<script(?![^>]*\bsrc=)[^>]*>", swagger.content), "Swagger UI starts from an inline script"


def test_app_pages_have_no_inline_script_or_style() -> None:
    pages = sorted((REPO_ROOT / "pwa" / "static").rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{page}: inline <script>"
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", html, re.I), f"{page}: inline style/handler"
