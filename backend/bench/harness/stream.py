"""A live-stream client (``/ws/courier``, ``/ws/hub/{id}``) that resumes like the apps do.

The protocol (backend/api/streams.py): a client connects with its bearer token
in a header (never in the URL) and, when it has seen events before, ``?after=``
the last seq it saw; the server sends a snapshot (or the events missed since
that seq), then ``caught_up``, then live events, each with its seq, and a
``ping`` when quiet; a long message comes in parts (:class:`MessageReader`).
The client may send ``{"type": "ping"}`` (answered with ``pong``) and, on the
courier stream, positions. A dropped socket reconnects
after a pause and resumes after its last seq; a seq seen twice is counted as a
duplicate and not handed on. Subclasses say what they do with what they hear.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import websockets

from backend.bench.harness.api import bearer


class MessageReader:
    """The messages in a socket's frames: a long one comes as a ``{"type": "parts", "count":
    n}`` header and ``n`` pieces of its JSON text (as pwa/static/kit/stream.js reads them).
    ``take(frame)`` gives the message a frame completes, or None."""

    def __init__(self) -> None:
        self.count = 0
        self.pieces: list[str] = []

    def take(self, frame: str | bytes) -> dict[str, Any] | None:
        text = frame.decode() if isinstance(frame, bytes) else frame
        if self.count:
            self.pieces.append(text)
            if len(self.pieces) < self.count:
                return None
            text, self.count, self.pieces = "".join(self.pieces), 0, []
        message = json.loads(text)
        if message.get("type") == "parts":
            self.count = int(message["count"])
            return None
        return dict(message)


class ResumingSocket:
    """One live stream; ``run()`` keeps it open until ``close()`` (or ``should_stop()``)."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        origin: str | None = None,
        compression: bool = True,
        open_timeout: float = 120.0,
        ping_interval: float | None = None,
        retry_s: float = 1.0,
        retry_max_s: float | None = None,
    ) -> None:
        self.url = url
        # Browsers send Origin (and the server checks it); other clients need not.
        self.headers = {**bearer(token), **({"Origin": origin} if origin else {})}
        self.compression, self.open_timeout, self.ping_interval = (
            compression,
            open_timeout,
            ping_interval,
        )
        self.retry_s, self.retry_max_s = retry_s, retry_max_s  # retry_max_s: back off up to it
        self.ws: Any = None
        self.last_seq: int | None = None
        self.seqs: set[int] = set()
        self.duplicates = self.drops = self.pongs = 0
        self.connect_ms: float | None = None  # connect to first snapshot
        self.ready = asyncio.Event()  # a snapshot came
        self.caught_up = asyncio.Event()  # everything missed is out; live from here
        self.closing = False
        self.errors: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def stream_url(self) -> str:
        return self.url + (f"?after={self.last_seq}" if self.last_seq is not None else "")

    def should_stop(self) -> bool:
        """Whether to stop reconnecting (after ``close()``)."""
        return self.closing

    async def run(self) -> None:
        delay = self.retry_s
        while not self.should_stop():
            t0 = time.monotonic()
            try:
                async with websockets.connect(
                    self.stream_url(),
                    additional_headers=self.headers,
                    max_size=None,
                    open_timeout=self.open_timeout,
                    ping_interval=self.ping_interval,
                    compression="deflate" if self.compression else None,
                ) as ws:
                    self.ws = ws
                    delay = self.retry_s
                    reader = MessageReader()
                    async for raw in ws:
                        message = reader.take(raw)
                        if message is not None:
                            self.receive(message, time.monotonic(), t0)
            except asyncio.CancelledError:
                raise
            except websockets.InvalidStatus as exc:
                if self.refused(exc.response.status_code):
                    return
                self.dropped(exc)
            except Exception as exc:  # noqa: BLE001 - a drop: resume after the last seq
                self.dropped(exc)
            finally:
                self.ws = None
            if self.should_stop():
                return
            self.drops += 1
            await self.pause(delay)
            if self.retry_max_s is not None:
                delay = min(delay * 2, self.retry_max_s)

    def receive(self, message: dict[str, Any], now: float, connected_at: float) -> None:
        kind = message.get("type")
        if kind == "event":
            seq = message["seq"]
            if seq in self.seqs:
                self.duplicates += 1
                return
            self.seqs.add(seq)
            self.last_seq = max(self.last_seq or 0, seq)
            self.on_event(message["kind"], message["data"], now)
        elif kind == "snapshot":
            self.last_seq = message["seq"]
            if self.connect_ms is None:
                self.connect_ms = (now - connected_at) * 1000
            self.on_snapshot(message["data"], now)
            self.ready.set()
        elif kind == "caught_up":
            self.caught_up.set()
        elif kind == "pong":
            self.pongs += 1
        elif kind == "positions":
            self.on_positions(message["positions"], now)
        elif kind == "error":
            self.errors.append(str(message.get("code", "?")))
            self.on_error(message)

    # -- what a subclass does with what it hears --------------------------------------------

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        """A new event (never one seen before)."""

    def on_snapshot(self, data: dict[str, Any], now: float) -> None:
        """The whole state, at connect (or when too far behind)."""

    def on_positions(self, positions: list[dict[str, Any]], now: float) -> None:
        """A batch of couriers' latest positions (the hub stream)."""

    def on_error(self, message: dict[str, Any]) -> None:
        """The server refused a message of ours, or our ``after``; the socket stays open."""

    def refused(self, status: int) -> bool:
        """The upgrade was refused with ``status``: True to give up, False to retry."""
        return False

    def dropped(self, exc: Exception) -> None:
        """The socket dropped (or did not open); it reconnects."""
        if len(self.errors) < 5:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])

    async def pause(self, seconds: float) -> None:
        """Between a drop and the next connect."""
        await asyncio.sleep(seconds)

    # -- what the client says ----------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> bool:
        """Send a message if the socket is open; answers whether it went out."""
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(message))
        except Exception:  # noqa: BLE001 - the socket reconnects by itself
            return False
        return True

    async def ping(self) -> bool:
        """An app-level ping (the server answers ``pong``), as the apps send to keep alive."""
        return await self.send({"type": "ping"})

    async def send_position(self, lat: float, lon: float, accuracy: float) -> bool:
        return await self.send({"type": "position", "lat": lat, "lon": lon, "accuracy": accuracy})

    async def close(self) -> None:
        """Close the socket and do not reconnect (``run()`` returns)."""
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    def start(self) -> asyncio.Task[None]:
        """``run()`` in the background, until ``stop()``."""
        self.task = asyncio.create_task(self.run())
        return self.task

    async def stop(self) -> None:
        """Close, and end the background task."""
        await self.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


def courier_stream_url(ws_base: str) -> str:
    return f"{ws_base}/ws/courier"


def hub_stream_url(ws_base: str, hub_id: int) -> str:
    return f"{ws_base}/ws/hub/{hub_id}"
