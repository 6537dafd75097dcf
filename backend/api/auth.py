"""Login, logout, the current user, and the guards every protected route uses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from backend.api.csrf import SESSION_COOKIE, delete_session_cookies, set_session_cookies
from backend.api.deps import Ctx, User
from backend.api.schemas import LOGIN_EXAMPLE, Body, json_body
from backend.errors import Forbidden, Unauthorized
from backend.security import verify_token
from backend.services import sessions
from backend.services.sessions import CurrentUser, Principal

COOKIE = SESSION_COOKIE
__all__ = ["CurrentUser", "Principal", "authenticated", "check_hub", "current_user", "provide_user", "roles"]


class LoginIn(Body):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=200)]


class LoginOut(msgspec.Struct, kw_only=True, rename="camel"):
    token: str
    user: CurrentUser
    expires_at: dt.datetime


def _token_from(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
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
    user = await sessions.principal_of(token_id)
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


def check_hub(user: Principal, hub_id: int | None) -> None:
    """Dispatchers tied to a hub act on that hub only; admins on all."""
    if user.role != "admin" and user.hub_id is not None and user.hub_id != hub_id:
        raise Forbidden(f"You dispatch for hub {user.hub_id}, not hub {hub_id}.")


def own_hub(user: Principal) -> int:
    """The hub the user works at (pickers on the floor); Forbidden for an account of no hub."""
    if user.hub_id is None:
        raise Forbidden("Your account belongs to no hub; ask a dispatcher to set your hub.")
    return user.hub_id


async def provide_user(request: Request) -> Principal:
    """Litestar dependency ``user``: who is asking (Unauthorized when nobody is logged in)."""
    return await current_user(request)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", status_code=200, summary="Log in; sets the session cookie and returns a bearer token")
    async def login(
        self, request: Request, ctx: Ctx, data: Annotated[LoginIn, json_body(LOGIN_EXAMPLE)]
    ) -> Response[LoginOut]:
        settings = ctx.settings
        address = request.client.host if request.client else "unknown"
        done = await sessions.log_in(settings, data.username, data.password, address)
        response = Response(LoginOut(token=done.token, expires_at=done.expires_at, user=done.user))
        set_session_cookies(
            response,
            done.token,
            secret=settings.secret_key,
            max_age=settings.token_ttl_s,
            secure=settings.secure_cookies,
        )
        return response

    @post("/logout", status_code=204, guards=[authenticated], summary="End this session")
    async def logout(self, request: Request, user: User) -> Response[None]:
        await sessions.end_session(user.token_id)
        request.app.state.sessions.revoke(user.token_id)  # this process's sockets now; others' at their sweep
        response: Response[None] = Response(None, status_code=204)
        delete_session_cookies(response)
        return response

    @get("/me", guards=[authenticated], summary="Who is logged in")
    async def me(self, user: User) -> CurrentUser:
        return user.user
