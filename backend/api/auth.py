"""Login, logout, the current user, and the guards every protected route uses."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.api.schemas import LOGIN_EXAMPLE, Body, json_body
from backend.db.engine import reading
from backend.db.prepared import Prepared
from backend.db.tables import Courier, Session, User
from backend.errors import Forbidden, Unauthorized
from backend.security import new_token_id, sign_token, verify_password, verify_token

COOKIE = "laadbak_session"


class CurrentUser(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: int
    username: str
    role: str
    display_name: str
    hub_id: int | None
    courier_id: int | None


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated user as the server sees it, with the session it came in on."""

    user: CurrentUser
    token_id: str

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def hub_id(self) -> int | None:
        return self.user.hub_id

    @property
    def courier_id(self) -> int | None:
        return self.user.courier_id


class LoginIn(Body):
    username: str
    password: str


class LoginOut(msgspec.Struct, kw_only=True, rename="camel"):
    token: str
    user: CurrentUser
    expires_at: dt.datetime


def _token_from(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if connection.scope["type"] == "websocket" and connection.query_params.get("token"):
        return connection.query_params.get("token")  # for clients that cannot set cookies
    return connection.cookies.get(COOKIE)


async def current_user(connection: ASGIConnection) -> Principal:
    """The user behind the request's token; raises Unauthorized with the reason."""
    cached = connection.scope.get("user")
    if isinstance(cached, Principal):
        return cached
    token = _token_from(connection)
    if not token:
        raise Unauthorized("Log in first: send the session cookie or an 'Authorization: Bearer' token.")
    token_id = verify_token(token, connection.app.state.settings.secret_key)
    if token_id is None:
        raise Unauthorized("The session token is not valid; log in again.")
    async with reading():
        return await _load_principal(connection, token_id)


# Every request and every socket asks these two: built once (see backend/db/prepared.py).
_SESSION = Prepared(lambda token_id: Session.select(
    Session.expires_at,
    Session.user.id,
    Session.user.username,
    Session.user.role,
    Session.user.display_name,
    Session.user.active,
    Session.user.hub_id,
).where(Session.token_id == token_id).first(), 1)
_COURIER_OF_USER = Prepared(lambda user_id: Courier.select(Courier.id).where(Courier.user == user_id).first(), 1)


async def _load_principal(connection: ASGIConnection, token_id: str) -> Principal:
    row = await _SESSION(token_id)
    if row is None or row["expires_at"] < dt.datetime.now():
        raise Unauthorized("Your session has ended; log in again.")
    if not row["user.active"]:
        raise Unauthorized("This account is disabled.")
    courier = await _COURIER_OF_USER(row["user.id"])
    user = Principal(
        token_id=token_id,
        user=CurrentUser(
            id=row["user.id"],
            username=row["user.username"],
            role=row["user.role"],
            display_name=row["user.display_name"],
            hub_id=row["user.hub_id"],
            courier_id=courier["id"] if courier else None,
        ),
    )
    connection.scope["user"] = user
    return user


async def authenticated(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    await current_user(connection)


def roles(*allowed: str):
    """A guard that admits the given roles (admins always)."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = await current_user(connection)
        if user.role != "admin" and user.role not in allowed:
            raise Forbidden(f"This needs the role {' or '.join(allowed)}; you are {user.role}.")

    guard.__name__ = f"roles_{'_'.join(allowed)}"
    return guard


def check_hub(user: Principal, hub_id: int) -> None:
    """Dispatchers tied to a hub act on that hub only; admins on all."""
    if user.role != "admin" and user.hub_id is not None and user.hub_id != hub_id:
        raise Forbidden(f"You dispatch for hub {user.hub_id}, not hub {hub_id}.")


async def provide_user(request: Request) -> Principal:
    return await current_user(request)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", status_code=200, summary="Log in; sets the session cookie and returns a bearer token")
    async def login(self, request: Request, data: Annotated[LoginIn, json_body(LOGIN_EXAMPLE)]) -> Response[LoginOut]:
        settings = request.app.state.settings
        user = await User.objects().where(User.username == data.username).first()
        # scrypt is slow on purpose: off the event loop, so logins do not stall the streams.
        ok = user is not None and await asyncio.to_thread(verify_password, data.password, user.password_hash)
        if user is None or not ok:
            raise Unauthorized("Unknown username or wrong password.")
        if not user.active:
            raise Unauthorized("This account is disabled; ask an administrator.")
        token_id = new_token_id()
        expires = dt.datetime.now() + dt.timedelta(seconds=settings.token_ttl_s)
        await Session.insert(Session(token_id=token_id, user=user.id, expires_at=expires))
        token = sign_token(token_id, settings.secret_key)
        courier = await Courier.select(Courier.id).where(Courier.user == user.id).first()
        body = LoginOut(
            token=token,
            expires_at=expires,
            user=CurrentUser(id=user.id, username=user.username, role=user.role,
                             display_name=user.display_name, hub_id=user.hub_id,
                             courier_id=courier["id"] if courier else None),
        )
        response = Response(body)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                            max_age=settings.token_ttl_s, secure=False)
        return response

    @post("/logout", status_code=204, guards=[authenticated], summary="End this session")
    async def logout(self, request: Request) -> Response[None]:
        user = await current_user(request)
        await Session.delete().where(Session.token_id == user.token_id)
        response: Response[None] = Response(None, status_code=204)
        response.delete_cookie(COOKIE, path="/")
        return response

    @get("/me", guards=[authenticated], summary="Who is logged in")
    async def me(self, request: Request) -> CurrentUser:
        return (await current_user(request)).user
