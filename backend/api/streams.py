"""Websockets: one per courier, one per hub, one per picker. See docs/courier-protocol.md.

On connect: a snapshot, or the events after the client's ``after`` read from
the database; then live events from the feed, never one twice (by seq).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec
from litestar import Request, WebSocket, get, websocket
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import WebSocketDisconnect
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import ResponseSpec

from backend.api.auth import Principal, authenticated, current_user, roles
from backend.api.body_rules import json_too_deep
from backend.api.deps import Ctx, User
from backend.api.schemas import Id
from backend.api.socket_guards import own_hub_stream, same_origin
from backend.errors import Forbidden
from backend.realtime.feed import Feed, Subscriber
from backend.realtime.feed.subscriber import NUDGE
from backend.realtime.heartbeats import Heartbeats
from backend.services import courier as courier_service
from backend.services.desk import desk_day
from backend.services.returns_events import returns_topic
from backend.services.returns_live import desk_day as returns_day
from backend.services.warehouse_events import warehouse_topic
from backend.services.warehouse_live import picker_day

HEARTBEAT_S = 15.0
MAX_MESSAGE_CHARS = 4096  # a position or a ping; nothing a phone sends is longer
MAX_BACKLOG = 500
# A message longer than this goes in parts (a "parts" header, then the text in pieces of this
# size), the loop free between them: the desk's snapshot of a hub of 2,000 couriers compressed
# in one piece held every socket 100-147 ms (`bench ws`, docs/performance.md).
PART_CHARS = 256 * 1024


def _heartbeats(state: Any) -> Heartbeats:
    """The app's one heartbeat ticker (made on first use)."""
    beats = getattr(state, "stream_heartbeats", None)
    if beats is None:
        beats = state.stream_heartbeats = Heartbeats(HEARTBEAT_S)
    return beats


def _str(value: Any) -> str:
    return str(value)


# msgspec, not json.dumps: every event to every socket is encoded (a twentieth of the serving
# loop's CPU under `bench ws`); anything it does not know is sent as its str(), as before
_ENCODER = msgspec.json.Encoder(enc_hook=_str)


def _encode(message: dict[str, Any]) -> str:
    return _ENCODER.encode(message).decode()


class Stream:
    """One connected device: ordered sending, the resume rule, heartbeats."""

    def __init__(
        self,
        socket: WebSocket,
        feed: Feed,
        sub: Subscriber,
        backlog: Callable[[int], Awaitable[list[dict[str, Any]]]],
        snapshot: Callable[[], Awaitable[dict[str, Any]]],
        on_message: Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]],
    ) -> None:
        self.socket, self.feed, self.sub = socket, feed, sub
        self.backlog, self.snapshot, self.on_message = backlog, snapshot, on_message
        self.last = 0
        self.last_sent = time.monotonic()  # read by the heartbeat ticker
        self._send_lock = asyncio.Lock()
        self._ended: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    def end(self, code: int, reason: str) -> None:
        """Close from outside (e.g. the session ended): the loop stops and the socket closes with ``code``."""
        if not self._ended.done():
            self._ended.set_result((code, reason))
            self.sub.nudge()

    def nudge(self) -> None:
        """The heartbeat ticker: nothing sent for a while (the writer sends a ping)."""
        self.sub.nudge()

    async def send(self, message: dict[str, Any]) -> None:
        text = _encode(message)
        async with self._send_lock:  # held over every part: nothing comes between them
            if len(text) <= PART_CHARS:
                await self.socket.send_text(text)
            else:
                pieces = [text[k : k + PART_CHARS] for k in range(0, len(text), PART_CHARS)]
                await self.socket.send_text(_encode({"type": "parts", "count": len(pieces)}))
                for piece in pieces:
                    await asyncio.sleep(0)
                    await self.socket.send_text(piece)
            self.last_sent = time.monotonic()

    async def error(self, code: str, message: str) -> None:
        await self.send({"type": "error", "code": code, "message": message})

    async def send_snapshot(self) -> None:
        data = await self.snapshot()
        self.last = data["seq"]
        await self.send({"type": "snapshot", "seq": data["seq"], "data": data})

    async def catch_up(self, after: int) -> None:
        """Events after ``after`` from the database; a snapshot when too far behind."""
        rows = await self.backlog(after)
        if len(rows) > MAX_BACKLOG:
            await self.send_snapshot()
            return
        self.last = after
        for row in rows:
            await self.send_event(row["id"], row["kind"], row["payload"])

    async def send_event(self, seq: int, kind: str, data: Any) -> None:
        if seq <= self.last:
            return  # already sent (from the backlog or a snapshot)
        await self.send({"type": "event", "seq": seq, "kind": kind, "data": data})
        self.last = seq

    async def caught_up(self) -> None:
        """Everything missed is out: from here on, only live events."""
        await self.send({"type": "caught_up", "seq": self.last})

    async def run(self, after_text: str | None, token_id: str) -> None:
        await self.socket.accept()
        state = self.socket.app.state
        sessions = state.sessions
        sessions.watch(token_id, self)
        heartbeats = _heartbeats(state)
        heartbeats.add(self)
        try:
            await self._start(after_text)
            await self.caught_up()
            reader = asyncio.create_task(self._read())
            try:
                await self._write(reader)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            if self._ended.done():
                code, reason = self._ended.result()
                await self.socket.close(code=code, reason=reason)
        except (WebSocketDisconnect, ConnectionError):
            pass
        finally:
            heartbeats.remove(self)
            sessions.unwatch(token_id, self)
            self.feed.unsubscribe(self.sub)

    async def _start(self, after_text: str | None) -> None:
        if after_text is None or after_text == "":
            await self.send_snapshot()
            return
        try:
            after = int(after_text)
            if after < 0:
                raise ValueError
        except ValueError:
            await self.error(
                "bad_message",
                f"after must be a sequence number (0 or more), got {after_text!r}; sending a snapshot instead.",
            )
            await self.send_snapshot()
            return
        newest = await self.feed.latest_seq()
        if after > newest:
            await self.error(
                "future_seq", f"after={after} is ahead of the server (newest is {newest}); sending a snapshot instead."
            )
            await self.send_snapshot()
            return
        await self.catch_up(after)

    async def _write(self, reader: asyncio.Task[None]) -> None:
        # One wait on the queue, nothing else per message: the reader's end, end()
        # and the heartbeat ticker wake it with a nudge (backend/realtime/heartbeats.py).
        reader.add_done_callback(lambda _: self.sub.nudge())
        while not reader.done() and not self._ended.done():
            if self.sub.overflowed:  # fell behind: re-read from the database
                self.sub.overflowed = False
                while not self.sub.queue.empty():
                    self.sub.queue.get_nowait()
                await self.catch_up(self.last)
                await self.caught_up()
            message = await self.sub.queue.get()
            if message is NUDGE:
                if not reader.done() and not self._ended.done() and time.monotonic() - self.last_sent >= HEARTBEAT_S:
                    await self.send({"type": "ping", "ts": dt.datetime.now().isoformat()})
            elif message.get("type") == "event":
                await self.send_event(message["seq"], message["kind"], message["data"])
            else:
                await self.send(message)

    async def _read(self) -> None:
        while True:
            text = await self.socket.receive_text()
            try:
                if len(text) > MAX_MESSAGE_CHARS or json_too_deep(text.encode()):
                    raise ValueError
                message = json.loads(text)
                if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                    raise ValueError
            except ValueError:
                await self.error("bad_message", 'Send JSON objects with a "type", e.g. {"type": "ping"}.')
                continue
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            try:
                reply = await self.on_message(message)
            except ValueError as exc:
                await self.error("bad_message", str(exc))
                continue
            if reply is not None:
                await self.send(reply)


def _number(message: dict[str, Any], key: str) -> float:
    value = message.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"position needs a number {key}.")
    return float(value)


async def _courier_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if (await current_user(connection)).courier_id is None:
        raise Forbidden("Only couriers have this stream.")


# Guards run before the upgrade is accepted: a refusal is an HTTP 403 to the handshake.
async def provide_socket_user(socket: WebSocket) -> Principal:
    """Dependency ``user`` of the streams (a socket is not a request): who connected."""
    return await current_user(socket)


SOCKET_USER = {"user": Provide(provide_socket_user)}


@websocket("/ws/courier", guards=[same_origin, authenticated, _courier_only], dependencies=SOCKET_USER)
async def courier_stream(socket: WebSocket, ctx: Ctx, user: User) -> None:
    state = socket.app.state
    assert user.courier_id is not None  # _courier_only
    cid = user.courier_id
    day = ctx.now().date()  # the app's clock, as the courier's actions

    # Positions come every few seconds: the shift is looked up once, and again
    # only while it is not started yet (at most every few seconds).
    cache: dict[str, Any] = {"shift": None, "checked": 0.0}

    async def started_shift() -> dict[str, Any] | None:
        shift = cache["shift"]
        if (shift is None or shift["status"] != "started") and time.monotonic() - cache["checked"] > 3:
            cache["shift"] = shift = await courier_service.shift_of(cid, day)
            cache["checked"] = time.monotonic()
        return shift if shift is not None and shift["status"] == "started" else None

    async def on_message(message: dict[str, Any]) -> dict[str, Any] | None:
        if message["type"] != "position":
            raise ValueError(f"Unknown message type {message['type']!r}; send position or ping.")
        lat, lon = _number(message, "lat"), _number(message, "lon")
        if not ctx.geo.network.contains(lat, lon):
            raise ValueError(f"position {lat}, {lon} is outside the map.")
        shift = await started_shift()
        if shift is None:
            raise ValueError("Start your shift before sending positions.")
        accuracy = message.get("accuracy")
        msg = state.positions.record(
            courier_id=cid,
            shift_id=shift["id"],
            hub_id=shift["hub"],
            lat=lat,
            lon=lon,
            ts=ctx.now(),
            accuracy=float(accuracy) if isinstance(accuracy, int | float) else None,
        )
        await state.feed.publish_position(shift["hub"], msg)
        return None

    sub = state.feed.subscribe(courier_id=cid)
    stream = Stream(
        socket,
        state.feed,
        sub,
        backlog=lambda after: state.feed.history(after, courier_id=cid, limit=MAX_BACKLOG + 1),
        snapshot=lambda: courier_service.day_view(cid, day),
        on_message=on_message,
    )
    await stream.run(socket.query_params.get("after"), user.token_id)


@websocket("/ws/hub/{hub_id:int}", guards=[same_origin, roles("dispatcher"), own_hub_stream], dependencies=SOCKET_USER)
async def hub_stream(socket: WebSocket, ctx: Ctx, hub_id: Id, user: User) -> None:
    state = socket.app.state
    day = ctx.now().date()

    async def snapshot() -> dict[str, Any]:
        return await desk_day(ctx, hub_id, day)  # the desk's day (GET /hubs/{hubId}/desk), the same function

    async def on_message(message: dict[str, Any]) -> dict[str, Any] | None:
        raise ValueError(f"The hub stream only takes ping, not {message['type']!r}.")

    sub = state.feed.subscribe(hub_id=hub_id)
    stream = Stream(
        socket,
        state.feed,
        sub,
        backlog=lambda after: state.feed.history(after, hub_id=hub_id, limit=MAX_BACKLOG + 1),
        snapshot=snapshot,
        on_message=on_message,
    )
    await stream.run(socket.query_params.get("after"), user.token_id)


def _with_hub(what: str) -> Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]:
    """A guard: the user's account belongs to a hub (a worker app's stream is of its hub)."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if (await current_user(connection)).hub_id is None:
            raise Forbidden(f"Your account belongs to no hub, so there {what} to follow; ask a dispatcher.")

    return guard


@websocket("/ws/pick", guards=[same_origin, roles("picker"), _with_hub("are no batches")], dependencies=SOCKET_USER)
async def pick_stream(socket: WebSocket, user: User) -> None:
    """The picker's handheld: the events of the hub's warehouse (batches released, taken,
    picked, re-sequenced, done), with the same resume rule as the couriers'."""
    assert user.hub_id is not None  # _with_hub
    hub_id = user.hub_id
    await _topic_stream(socket, user, warehouse_topic(hub_id), lambda: picker_day(hub_id, user.id), "picker")


@websocket(
    "/ws/returns", guards=[same_origin, roles("returns"), _with_hub("is no returns desk")], dependencies=SOCKET_USER
)
async def returns_stream(socket: WebSocket, ctx: Ctx, user: User) -> None:
    """The returns desk: the events of the hub's returns (lists made, handed over, steps,
    finished, sent to the supplier), with the same resume rule as the couriers'."""
    assert user.hub_id is not None  # _with_hub
    await _topic_stream(socket, user, returns_topic(user.hub_id), lambda: returns_day(user, ctx.now()), "returns")


async def _topic_stream(
    socket: WebSocket, user: Principal, topic: str, snapshot: Callable[[], Awaitable[dict[str, Any]]], name: str
) -> None:
    """A worker app's stream of one outbox topic of its hub: listen-only (pings aside)."""
    state = socket.app.state

    async def on_message(message: dict[str, Any]) -> dict[str, Any] | None:
        raise ValueError(f"The {name} stream only takes ping, not {message['type']!r}.")

    stream = Stream(
        socket,
        state.feed,
        state.feed.subscribe(topic=topic),
        backlog=lambda after: state.feed.history(after, topic=topic, limit=MAX_BACKLOG + 1),
        snapshot=snapshot,
        on_message=on_message,
    )
    await stream.run(socket.query_params.get("after"), user.token_id)


class _LineString(msgspec.Struct):
    type: Literal["LineString"]
    coordinates: list[list[float]]  # [lon, lat] pairs


class _Street(msgspec.Struct):
    type: Literal["Feature"]
    geometry: _LineString
    properties: dict[str, Any]


class StreetsGeoJSON(msgspec.Struct):
    """What /map/streets.geojson sends (built as bytes once, so described here)."""

    type: Literal["FeatureCollection"]
    features: list[_Street]


@get(
    "/map/streets.geojson",
    tags=["map"],
    summary="The street network as GeoJSON (for maps without tiles)",
    media_type="application/geo+json",
    cache=3600,
    responses={
        200: ResponseSpec(
            data_container=StreetsGeoJSON, description="A GeoJSON FeatureCollection", media_type="application/geo+json"
        )
    },
)
async def streets(request: Request, ctx: Ctx) -> bytes:
    state = request.app.state
    cached = getattr(state, "streets_geojson", None)
    if cached is None:
        cached = json.dumps(ctx.geo.network.edges_geojson(), separators=(",", ":")).encode()
        state.streets_geojson = cached
    return cached
