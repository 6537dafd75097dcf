from __future__ import annotations

import datetime as dt

from backend.db.tables import Session, User
from backend.realtime.sessions import SESSION_ENDED, SWEEP_CHUNK, SessionWatch
from tests.api.helpers import PASSWORD, admin, login, make_user, problem


async def test_health_names_version_and_connections(client, settings) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["version"]
    # The kind only: no file path, host or database name for anyone to read.
    assert body["database"] == ("postgresql" if settings.is_postgres else "sqlite")
    assert body["channels"] == "memory"


async def test_login_sets_httponly_cookie_and_returns_token(client) -> None:
    await make_user("ann", "dispatcher")
    r = await client.post("/auth/login", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert "httponly" in r.headers["set-cookie"].lower()
    assert r.json()["user"]["role"] == "dispatcher"
    # The cookie alone authenticates (browsers, websockets).
    me = await client.get("/auth/me")
    assert me.status_code == 200 and me.json()["username"] == "ann"
    assert "passwordHash" not in me.json()


async def test_wrong_password_and_unknown_user_get_the_same_401(client) -> None:
    await make_user("bob", "courier")
    a = problem(await client.post("/auth/login", json={"username": "bob", "password": "nope-nope"}), 401)
    b = problem(await client.post("/auth/login", json={"username": "nobody", "password": "nope-nope"}), 401)
    assert a["detail"] == b["detail"]


async def test_forged_or_missing_token_is_refused(client) -> None:
    problem(await client.get("/auth/me"), 401)
    problem(await client.get("/auth/me", headers={"Authorization": "Bearer abc.def"}), 401)


async def test_logout_ends_the_session(client) -> None:
    await make_user("cat", "dispatcher")
    headers = await login(client, "cat")
    assert (await client.get("/auth/me", headers=headers)).status_code == 200
    assert (await client.post("/auth/logout", headers=headers)).status_code == 204
    problem(await client.get("/auth/me", headers=headers), 401)


async def test_disabling_a_user_ends_all_their_sessions(client) -> None:
    root = await admin(client)
    uid = await make_user("dan", "courier")
    h1, h2 = await login(client, "dan"), await login(client, "dan")
    assert await Session.count().where(Session.user == uid) == 2
    r = await client.patch(f"/users/{uid}", json={"active": False}, headers=root)
    assert r.status_code == 200 and r.json()["active"] is False
    for h in (h1, h2):
        problem(await client.get("/auth/me", headers=h), 401)
    assert await Session.count().where(Session.user == uid) == 0
    problem(await client.post("/auth/login", json={"username": "dan", "password": PASSWORD}), 401)


async def test_role_guard_refuses_couriers_on_dispatch_routes(client) -> None:
    await make_user("eve", "courier")
    headers = await login(client, "eve")
    body = problem(await client.get("/hubs", headers=headers), 403)
    assert "dispatcher" in body["detail"]
    problem(await client.post("/users", json={}, headers=headers), 403)


async def test_create_user_validates_and_refuses_duplicates(client) -> None:
    root = await admin(client)
    body = {"username": "fay", "password": "long-enough-1", "role": "picker"}
    r = await client.post("/users", json=body, headers=root)
    assert r.status_code == 201, r.text
    problem(await client.post("/users", json=body, headers=root), 409)
    problem(await client.post("/users", json={**body, "username": "g", "role": "king"}, headers=root), 400)


async def test_the_sweep_closes_the_sockets_of_ended_sessions_and_only_those_over_several_chunks(client) -> None:
    await make_user("sweeper", "dispatcher")
    user = (await User.select(User.id).where(User.username == "sweeper").first())["id"]
    later = dt.datetime.now() + dt.timedelta(hours=1)
    tokens = [f"sweep-{i}" for i in range(SWEEP_CHUNK + 3)]  # a full chunk and a short one
    await Session.insert(*[Session(token_id=t, user=user, expires_at=later) for t in tokens])
    watch = SessionWatch()
    ended: list[tuple[str, int]] = []

    class Socket:
        def __init__(self, token: str) -> None:
            self.token = token

        def end(self, code: int, reason: str) -> None:
            ended.append((self.token, code))
            watch.unwatch(self.token, self)

    for token in [*tokens, "never-stored"]:
        watch.watch(token, Socket(token))
    assert await watch.sweep() == 1 and ended == [("never-stored", SESSION_ENDED)]
    assert await watch.sweep() == 0
    await Session.delete().where(Session.token_id == tokens[0])  # a logout in another process
    await Session.update({Session.expires_at: dt.datetime.now() - dt.timedelta(seconds=1)}).where(
        Session.token_id == tokens[SWEEP_CHUNK + 1]  # in the short chunk
    )
    assert await watch.sweep() == 2
    assert sorted(t for t, _ in ended[1:]) == sorted([tokens[0], tokens[SWEEP_CHUNK + 1]])
    await User.update({User.active: False}).where(User.id == user)
    assert await watch.sweep() == len(tokens) - 2
