"""Who is asking: logging in (a session row and its signed token), the user
behind a token, logging out."""

from __future__ import annotations

import datetime as dt

import msgspec

from backend.db.engine import reading
from backend.db.prepared import Prepared
from backend.db.tables import Courier, Session, User
from backend.errors import Unauthorized
from backend.security import dummy_password_hash, new_token_id, sign_token, verify_password_apart
from backend.services import login_throttle
from backend.settings import Settings


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


class LoggedIn(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    user: CurrentUser
    expires_at: dt.datetime


async def log_in(settings: Settings, username: str, password: str, address: str) -> LoggedIn:
    """A new session for the user; Unauthorized for a wrong password, an unknown user or a
    disabled account, TooManyRequests when too many tries came for that user or address."""
    now = dt.datetime.now()
    attempt = await login_throttle.attempt(username, address, now)
    user = await User.objects().where(User.username == username).first()
    # scrypt is slow on purpose: off the event loop, so logins do not stall the
    # streams. An unknown user is checked against a stand-in hash, so that
    # the answer's time does not tell which usernames exist.
    stored = user.password_hash if user is not None else dummy_password_hash()
    ok = await verify_password_apart(password, stored) and user is not None
    if user is None or not ok:
        raise Unauthorized("Unknown username or wrong password.")
    await login_throttle.succeeded(username, address, attempt)
    if not user.active:
        raise Unauthorized("This account is disabled; ask an administrator.")
    token_id = new_token_id()
    expires = dt.datetime.now() + dt.timedelta(seconds=settings.token_ttl_s)
    await Session.insert(Session(token_id=token_id, user=user.id, expires_at=expires))
    courier = await Courier.select(Courier.id).where(Courier.user == user.id).first()
    return LoggedIn(
        token=sign_token(token_id, settings.secret_key),
        expires_at=expires,
        user=CurrentUser(
            id=user.id,
            username=user.username,
            role=user.role,
            display_name=user.display_name,
            hub_id=user.hub_id,
            courier_id=courier["id"] if courier else None,
        ),
    )


async def end_session(token_id: str) -> None:
    await Session.delete().where(Session.token_id == token_id)


# Every request and every socket asks these two: built once (see backend/db/prepared.py).
_SESSION = Prepared(
    lambda token_id: (
        Session.select(
            Session.expires_at,
            Session.user.id,
            Session.user.username,
            Session.user.role,
            Session.user.display_name,
            Session.user.active,
            Session.user.hub_id,
        )
        .where(Session.token_id == token_id)
        .first()
    ),
    1,
)
_COURIER_OF_USER = Prepared(lambda user_id: Courier.select(Courier.id).where(Courier.user == user_id).first(), 1)


async def principal_of(token_id: str) -> Principal:
    """The user of a (verified) token's session; Unauthorized when it ended or the account is disabled."""
    async with reading():
        row = await _SESSION(token_id)
        if row is None or row["expires_at"] < dt.datetime.now():
            raise Unauthorized("Your session has ended; log in again.")
        if not row["user.active"]:
            raise Unauthorized("This account is disabled.")
        courier = await _COURIER_OF_USER(row["user.id"])
    return Principal(
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
