"""A dispatcher's short messages to a courier: kept, and told live on the courier's
stream and the hub's (``courier.message``); the push relay turns the event into a
Web Push to the courier's phones (``backend/realtime/notifications.py``), the same
durable way as every other push.

The text is plain text: stripped, 1 to 500 characters, no control characters
(a line break is allowed). HTML in it stays text; the apps never render it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from backend.db.engine import transaction
from backend.db.tables import Courier, CourierMessage, User
from backend.errors import Invalid, NotFound
from backend.realtime.outbox import emit
from backend.services.idempotency import Answer, fingerprint, once

MAX_CHARS = 500
# Refused: control characters (Cc) other than a line break or tab, lone surrogates, and
# the bidirectional overrides that make a text read differently from what it says.
# (Joiners such as U+200D stay: emoji sequences need them.)
ALLOWED_CONTROLS = {"\n", "\t"}
BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


def _refused(c: str) -> bool:
    if c in ALLOWED_CONTROLS:
        return False
    return c in BIDI_CONTROLS or unicodedata.category(c) in ("Cc", "Cs")


def checked_text(text: str) -> str:
    """The message as it is kept: stripped, or Invalid with a sentence saying what to fix."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise Invalid("Write a message: it is empty.")
    if len(text) > MAX_CHARS:
        raise Invalid(f"The message is {len(text)} characters long; keep it to at most {MAX_CHARS}.")
    bad = next((c for c in text if _refused(c)), None)
    if bad is not None:
        raise Invalid(
            f"The message contains an invisible control character (U+{ord(bad):04X}); "
            "remove it and send plain text (line breaks are fine)."
        )
    return text


def _view(row: dict[str, Any], sender: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "courierId": row["courier"],
        "text": row["text"],
        "sentAt": row["sent_at"].isoformat(),
        "sentBy": {"id": sender["id"], "name": sender["display_name"] or sender["username"]} if sender else None,
    }


async def send_message(courier_id: int, text: str, *, sent_by: int, now: dt.datetime) -> dict[str, Any]:
    """Keep the message and tell it (event and push) in one transaction; answers the message.
    The caller has checked the courier's hub against the sender's."""
    text = checked_text(text)
    courier = await Courier.select(Courier.id, Courier.hub).where(Courier.id == courier_id).first()
    if courier is None:
        raise NotFound(f"There is no courier with id {courier_id}.")
    sender = await User.select(User.id, User.display_name, User.username).where(User.id == sent_by).first()
    async with transaction():
        row = {"courier": courier_id, "hub": courier["hub"], "text": text, "sent_at": now, "sent_by": sent_by}
        row["id"] = (await CourierMessage.insert(CourierMessage(**row)))[0]["id"]
        message = _view(row, sender)
        # One event, on both streams: the courier's (and through it their phone's push) and the hub's.
        await emit("courier.message", message, courier_id=courier_id, hub_id=courier["hub"])
    return message


async def send_message_once(
    courier_id: int, text: str, *, sent_by: int, now: dt.datetime, key: str | None, body: bytes
) -> Answer:
    """:func:`send_message`, once per Idempotency-Key when one is given (a retry answers
    the stored message and sends nothing again); without a key, every call sends."""
    path = f"/couriers/{courier_id}/messages"

    async def action() -> dict[str, Any]:
        return await send_message(courier_id, text, sent_by=sent_by, now=now)

    if key is None:
        return Answer(201, await action(), replayed=False)
    return await once(sent_by, key, fingerprint("POST", path, body), 201, action)


async def messages_of(courier_id: int, day: dt.date) -> list[dict[str, Any]]:
    """The messages sent to the courier on ``day``, oldest first."""
    start = dt.datetime.combine(day, dt.time())
    rows = await (
        CourierMessage.select(
            *CourierMessage.all_columns(),
            CourierMessage.sent_by.display_name,
            CourierMessage.sent_by.username,
        )
        .where(
            (CourierMessage.courier == courier_id)
            & (CourierMessage.sent_at >= start)
            & (CourierMessage.sent_at < start + dt.timedelta(days=1))
        )
        .order_by(CourierMessage.sent_at, CourierMessage.id)
    )
    return [
        _view(
            r,
            {"id": r["sent_by"], "display_name": r["sent_by.display_name"], "username": r["sent_by.username"]}
            if r["sent_by"] is not None
            else None,
        )
        for r in rows
    ]
