"""Writes that ride on the session cookie need the double-submit CSRF token and our own Origin."""

from __future__ import annotations

import msgspec
from litestar.testing import AsyncTestClient

from backend.api.csrf import CSRF_COOKIE, SESSION_COOKIE
from backend.app import create_app
from tests.api.helpers import PASSWORD, login, make_user, problem, tomorrow


def _address(geo, i: int) -> str:
    a = sorted(geo.geocoder.addresses(), key=lambda a: (a.street, a.housenumber))[i]
    return f"{a.street} {a.housenumber}"


async def _cookie_login(client, username: str) -> str:
    """Log in as a browser does; the client keeps both cookies. Returns the CSRF value."""
    r = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client.cookies[CSRF_COOKIE]


async def _hub(client, geo) -> int:
    await make_user("root", "admin")
    h = await login(client, "root")
    r = await client.post("/hubs", json={"name": "Hub", "address": _address(geo, 0)}, headers=h)
    assert r.status_code == 201, r.text
    client.cookies.clear()  # the bearer login above also set cookies; each test logs in as it needs
    return r.json()["id"]


def _order(hub: int, ref: str, geo) -> dict:
    return {"reference": ref, "hubId": hub, "customerName": "Mia", "date": tomorrow().isoformat(),
            "address": _address(geo, 20), "slot": "evening", "parcels": [{"weightKg": 2.5, "volumeL": 10}]}


async def test_cookie_writes_need_the_csrf_header(client, geo) -> None:
    hub = await _hub(client, geo)
    await make_user("disp", "dispatcher", hub_id=hub)
    csrf = await _cookie_login(client, "disp")
    assert client.cookies[SESSION_COOKIE] and len(csrf) >= 32

    # What a foreign page can make a browser send: a text/plain "simple" POST with the cookie.
    r = await client.post("/orders", content=msgspec.json.encode(_order(hub, "X-1", geo)),
                          headers={"Content-Type": "text/plain"})
    assert r.status_code in (403, 415), r.text
    problem(r, r.status_code)
    # Even as JSON, the cookie alone is not enough...
    detail = problem(await client.post("/orders", json=_order(hub, "X-2", geo)), 403)["detail"]
    assert "X-CSRF-Token" in detail
    problem(await client.post("/orders", json=_order(hub, "X-3", geo), headers={"X-CSRF-Token": "guess"}), 403)
    # ...the app, which can read the CSRF cookie, sends it back and writes.
    r = await client.post("/orders", json=_order(hub, "X-4", geo), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    # Reads need no token.
    assert (await client.get("/auth/me")).status_code == 200
    orders = (await client.get(f"/orders?hubId={hub}&date={tomorrow()}")).json()
    assert [o["reference"] for o in orders] == ["X-4"]


async def test_cookie_write_from_a_foreign_origin_is_refused(client, geo, settings) -> None:
    hub = await _hub(client, geo)
    await make_user("disp", "dispatcher", hub_id=hub)
    csrf = await _cookie_login(client, "disp")
    for origin in ("http://evil.example", "null"):
        detail = problem(await client.post("/orders", json=_order(hub, "O-1", geo),
                                           headers={"X-CSRF-Token": csrf, "Origin": origin}), 403)["detail"]
        assert origin in detail
    r = await client.post("/orders", json=_order(hub, "O-2", geo),
                          headers={"X-CSRF-Token": csrf, "Origin": settings.public_origins[0]})
    assert r.status_code == 201, r.text


async def test_bearer_requests_need_no_csrf_token(client, geo) -> None:
    hub = await _hub(client, geo)
    await make_user("disp", "dispatcher", hub_id=hub)
    bearer = await login(client, "disp")  # the client also holds the cookies now
    assert client.cookies.get(SESSION_COOKIE)
    r = await client.post("/orders", json=_order(hub, "B-1", geo), headers=bearer)
    assert r.status_code == 201, r.text
    r = await client.post("/orders", json=_order(hub, "B-2", geo), headers={**bearer, "Origin": "http://other.example"})
    assert r.status_code == 201, r.text


async def test_login_and_tracking_work_with_a_stale_cookie(client, geo) -> None:
    hub = await _hub(client, geo)
    await make_user("disp", "dispatcher", hub_id=hub)
    client.cookies.set(SESSION_COOKIE, "left-over-from-yesterday", domain="testserver.local")
    csrf = await _cookie_login(client, "disp")  # login itself needs no token
    # The customer endpoints take their token from the path, not the cookie: no CSRF check.
    problem(await client.post("/track/not-a-real-token-at-all/redirect",
                              json={"kind": "window", "window": "evening"}), 404)
    # Logout with the cookie is a write like any other, and clears both cookies.
    problem(await client.post("/auth/logout"), 403)
    r = await client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204, r.text
    cleared = r.headers.get_list("set-cookie")
    assert {c.split("=", 1)[0] for c in cleared} == {SESSION_COOKIE, CSRF_COOKIE}
    assert all("max-age=0" in c.lower() or "expires=" in c.lower() for c in cleared), cleared
    assert not client.cookies.get(SESSION_COOKIE) and not client.cookies.get(CSRF_COOKIE)


async def test_cookies_are_secure_when_configured(settings, geo) -> None:
    for secure in (False, True):
        app = create_app(msgspec.structs.replace(settings, secure_cookies=secure), geo=geo)
        async with AsyncTestClient(app) as client:
            await make_user(f"u{int(secure)}", "courier")
            r = await client.post("/auth/login", json={"username": f"u{int(secure)}", "password": PASSWORD})
            assert r.status_code == 200, r.text
            cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
            assert set(cookies) == {SESSION_COOKIE, CSRF_COOKIE}
            assert "httponly" in cookies[SESSION_COOKIE] and "httponly" not in cookies[CSRF_COOKIE]
            for cookie in cookies.values():
                assert ("; secure" in cookie) is secure, cookie
