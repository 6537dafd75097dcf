"""Open sockets follow their session: when it ends (logout, a new password, the
user disabled, expiry), the socket closes within seconds with code 4401.

One sweep every few seconds asks the database, in one query per 500 sockets,
which of the open sockets' sessions are still valid — so a logout in another
process reaches this one's sockets too, at the cost of one small query however
many sockets are open. A logout in this process closes its sockets at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Protocol

from backend.db.prepared import Prepared
from backend.db.tables import Session
from backend.realtime.background import Background

log = logging.getLogger("laadbak.sessions")
SESSION_ENDED = 4401
SESSION_ENDED_REASON = "session_ended"
SWEEP_CHUNK = 500
# Built once (backend/db/prepared.py): every sweep asks it for thousands of sockets, and
# Piccolo built the query and converted every id of the IN list anew each time.
_VALID = Prepared(
    lambda token_ids, now: Session.select(Session.token_id).where(
        Session.token_id.is_in(token_ids) & (Session.expires_at > now) & (Session.user.active == True)  # noqa: E712 - SQL, through the foreign key
    ),
    2,
)


class Endable(Protocol):
    def end(self, code: int, reason: str) -> None: ...


class SessionWatch(Background):
    task_name = "session-watch"

    def __init__(self, every_s: float = 2.0) -> None:
        self.every_s = every_s
        self._open: dict[str, set[Endable]] = {}

    def watch(self, token_id: str, stream: Endable) -> None:
        self._open.setdefault(token_id, set()).add(stream)

    def unwatch(self, token_id: str, stream: Endable) -> None:
        streams = self._open.get(token_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._open[token_id]

    def revoke(self, token_id: str) -> None:
        for stream in list(self._open.get(token_id, ())):
            stream.end(SESSION_ENDED, SESSION_ENDED_REASON)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - the next sweep tries again
                log.warning("session sweep failed", exc_info=True)

    async def sweep(self) -> int:
        """Close the sockets whose session is no longer valid; returns how many sessions ended."""
        ids = list(self._open)
        ended = 0
        for i in range(0, len(ids), SWEEP_CHUNK):
            chunk = ids[i : i + SWEEP_CHUNK]
            # Always as long (the first id again): one statement kept, not one per length.
            asked = chunk + [chunk[0]] * (SWEEP_CHUNK - len(chunk))
            valid = {r["token_id"] for r in await _VALID(asked, dt.datetime.now())}
            for token_id in chunk:
                if token_id not in valid:
                    self.revoke(token_id)
                    ended += 1
        return ended
