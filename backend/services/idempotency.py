"""Applying a device's request once: the answer is stored under its key, and a
replay gets the stored answer without touching anything again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from backend.db.engine import transaction
from backend.db.prepared import Prepared
from backend.db.tables import IdempotencyRecord
from backend.errors import Invalid, LaadbakError, Stale


class Answer:
    def __init__(self, status: int, body: Any, replayed: bool) -> None:
        self.status, self.body, self.replayed = status, body, replayed


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


_RECORD = Prepared(lambda scoped: IdempotencyRecord.select().where(IdempotencyRecord.scoped_key == scoped).first(), 1)
Write = Callable[[], Awaitable[Any]]


async def once(
    user_id: int | str,  # a user, or another scope (a public page: "return-<order id>")
    key: str,
    print_: str,
    status: int,
    action: Write | None = None,
    *,
    prepare: Callable[[], Awaitable[Write]] | None = None,
) -> Answer:
    """Apply a request once per key; a replay gets the stored answer.

    ``prepare`` (optional) reads and checks outside the writer and returns the
    write step; the write step and the stored answer commit together, so the
    writer is held only for the writes. Without ``prepare``, ``action`` is the
    write step. Domain errors are stored too: a replay of a refused request is
    refused the same way, even if the state has changed since.
    """
    scoped = f"{user_id}:{key}"
    stored = await _stored(scoped, print_)  # replays never queue for the writer
    if stored is not None:
        return stored
    try:
        write = await prepare() if prepare is not None else action
        assert write is not None, "once() needs an action or a prepare step"
        async with transaction():  # the write step's own transactions nest into this one
            answer = Answer(status, await write(), replayed=False)
            await _store(scoped, print_, answer)
        return answer
    except LaadbakError as exc:
        if isinstance(exc, Stale) or (isinstance(exc, Invalid) and exc.extra.get("code") == "key_reused"):
            raise  # a stale reading decided nothing: the caller works it out again
        refused = Answer(
            exc.status, {"title": exc.title, "status": exc.status, "detail": exc.detail, **exc.extra}, replayed=False
        )
    except Exception:
        # A racing twin with the same key committed first: its answer wins.
        stored = await _stored(scoped, print_)
        if stored is not None:
            return stored
        raise
    try:
        async with transaction():
            await _store(scoped, print_, refused)
    except Exception:  # noqa: BLE001
        stored = await _stored(scoped, print_)
        if stored is not None:
            return stored
        raise
    return refused


async def amend(user_id: int, key: str, body: Any) -> None:
    """Replace the stored answer of a request applied under ``key`` with its final
    ``body``: for a write whose follow-up (a re-plan) runs after its own commit, so
    that a replay gets the answer the first request got."""
    async with transaction():
        await IdempotencyRecord.update({IdempotencyRecord.body: json.dumps(body, default=str)}).where(
            IdempotencyRecord.scoped_key == f"{user_id}:{key}"
        )


async def once_then(
    user_id: int,
    key: str,
    print_: str,
    status: int,
    *,
    prepare: Callable[[], Awaitable[Write]],
    then: Callable[[Any], Awaitable[Any]],
) -> Answer:
    """:func:`once` for a write whose follow-up (a re-plan) runs after its own commit:
    ``then`` gets the write's answer and gives the whole one, which replaces the stored
    answer, so that a replay reads what the first request got."""
    answer = await once(user_id, key, print_, status, prepare=prepare)
    if answer.replayed or answer.status >= 400:
        return answer
    out = await then(answer.body)
    await amend(user_id, key, out)
    return Answer(status, out, replayed=False)


async def _store(scoped: str, print_: str, answer: Answer) -> None:
    await IdempotencyRecord.insert(
        IdempotencyRecord(
            scoped_key=scoped, fingerprint=print_, status_code=answer.status, body=json.dumps(answer.body, default=str)
        )
    )


async def _stored(scoped: str, print_: str) -> Answer | None:
    row = await _RECORD(scoped)
    if row is None:
        return None
    if row["fingerprint"] != print_:
        raise Invalid(
            "This Idempotency-Key was already used for a different request; make a new key per action.",
            code="key_reused",
        )
    return Answer(row["status_code"], json.loads(row["body"]), replayed=True)
