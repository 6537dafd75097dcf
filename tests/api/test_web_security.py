"""Cookie sessions and pages: CSRF tokens, foreign origins, Secure cookies and
the security headers on every kind of response."""

from __future__ import annotations

import json

import msgspec
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.tables import Order
from tests.api.helpers import PASSWORD, make_user, problem
from tests.api.test_orders import _addresses, _order, _setup


async def _cookie_login(client) -> dict[str, str]:
    """Log in as a browser does; returns the cookie header and the CSRF token."""
    await make_user("desk", "dispatcher")
    r = await client.post("/auth/login", json={"username": "desk", "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.cookies.clear()  # each request below says exactly what it carries
    return {"cookie": f"laadbak_session={r.cookies['laadbak_session']}", "csrf": r.cookies["laadbak_csrf"]}


async def test_a_cross_site_post_with_only_the_cookie_is_refused(client, geo) -> None:
    _, hub, _ = await _setup(client, geo)
    browser = await _cookie_login(client)
    raw = json.dumps(_order(hub, "CSRF-1", _addresses(geo)[20]))
    # What a form on another site can make a browser send: a simple request with the cookie.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/json"):
        r = await client.post(
            "/orders", content=raw, headers={"cookie": browser["cookie"], "content-type": content_type}
        )
        assert "X-CSRF-Token" in problem(r, 403)["detail"]
    assert await Order.count() == 0
    wrong = {"cookie": browser["cookie"], "content-type": "application/json", "x-csrf-token": "0" * 32}
    problem(await client.post("/orders", content=raw, headers=wrong), 403)
    # Our own page echoes the readable cookie in the header: accepted.
    ours = {**wrong, "x-csrf-token": browser["csrf"]}
    assert (await client.post("/orders", content=raw, headers=ours)).status_code == 201
    # A foreign Origin is refused even with the token (a stolen token is not enough).
    raw2 = json.dumps(_order(hub, "CSRF-2", _addresses(geo)[21]))
    problem(await client.post("/orders", content=raw2, headers={**ours, "origin": "http://evil.example"}), 403)
    assert await Order.count() == 1


async def test_bearer_requests_and_reads_need_no_csrf_token(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)  # a Bearer token, as native apps use
    assert (await client.post("/orders", json=_order(hub, "B-1", _addresses(geo)[20]), headers=h)).status_code == 201
    browser = await _cookie_login(client)
    assert (await client.get("/auth/me", headers={"cookie": browser["cookie"]})).status_code == 200


async def test_session_cookies_are_secure_when_configured(settings, geo) -> None:
    for secure in (False, True):
        app = create_app(msgspec.structs.replace(settings, secure_cookies=secure), geo=geo)
        async with AsyncTestClient(app) as client:
            await make_user(f"ann{int(secure)}", "dispatcher")
            r = await client.post("/auth/login", json={"username": f"ann{int(secure)}", "password": PASSWORD})
            cookies = r.headers.get_list("set-cookie")
            assert len(cookies) == 2 and all(("; secure" in c.lower()) is secure for c in cookies), cookies
            session = next(c for c in cookies if c.startswith("laadbak_session="))
            csrf = next(c for c in cookies if c.startswith("laadbak_csrf="))
            assert "httponly" in session.lower() and "httponly" not in csrf.lower()


HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "referrer-policy",
    "x-content-type-options",
    "permissions-policy",
)


async def test_every_response_carries_the_security_headers(client) -> None:
    for path in (
        "/",
        "/courier/",
        "/track/no-such-token",
        "/schema",
        "/schema/swagger",
        "/schema/openapi.json",
        "/health",
        "/courier/app.js",
        "/dispatch/",
        "/dispatch/app.js",
        "/pick/",
        "/pick/app.js",
        "/point/",
        "/point/app.js",
        "/nope",
        "/orders",
    ):
        r = await client.get(path)
        for name in HEADERS:
            assert r.headers.get(name), (path, r.status_code, name)
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
        policy = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, path
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], path


def test_the_apps_have_no_inline_script() -> None:
    """The policy forbids inline script and inline handlers: no page of the apps may need any."""
    import re

    from backend.settings import REPO_ROOT

    pages = sorted((REPO_ROOT / "pwa" / "static").rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        html = page.read_text()
        inline = [m for m in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S) if "src=" not in m[0]]
        assert not inline, (page, inline)
        assert not re.search(r"\son[a-z]+=", html), page
        assert "style=" not in html, page


async def test_the_schema_pages_allow_exactly_their_own_inline_script(client) -> None:
    import base64
    import hashlib
    import re

    r = await client.get("/schema/swagger")
    (script,) = [s for attrs, s in re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S) if "src=" not in attrs]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]
    assert int(r.headers["content-length"]) == len(r.content)
