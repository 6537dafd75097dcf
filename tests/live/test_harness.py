"""The bench harness against a real server: the resuming stream, the API client, a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from backend.bench.harness.api import ApiClient
from backend.bench.harness.stream import ResumingSocket, courier_stream_url
from backend.services.demo import DEMO_PASSWORD
from tests.live.server import LiveServer


class Recorder(ResumingSocket):
    def __init__(self, live: LiveServer, token: str) -> None:
        # As the courier app does: the page's Origin beside the bearer token.
        super().__init__(courier_stream_url(live.ws_base), token, origin=live.base, retry_s=0.2)
        self.snapshots: list[dict[str, Any]] = []
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.may_reconnect = asyncio.Event()  # cleared: stay away after a drop
        self.may_reconnect.set()

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.may_reconnect.wait()

    def on_snapshot(self, data: dict[str, Any], now: float) -> None:
        self.snapshots.append(data)

    def on_event(self, kind: str, data: dict[str, Any], now: float) -> None:
        assert self.last_seq is not None
        self.events.append((self.last_seq, kind, data))

    def saw(self, stop_id: int, status: str) -> bool:
        return any(k == "stop.updated" and d["stopId"] == stop_id and d["status"] == status for _, k, d in self.events)


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_the_stream_resumes_after_a_restart_without_a_snapshot_or_a_duplicate(
    live: LiveServer,
) -> None:
    async def scenario() -> None:
        api = ApiClient(live.base)
        status, _ = await api.login("courier1", DEMO_PASSWORD)
        assert status == 200 and api.token and api.login_ms is not None
        status, day = await api.get("/courier/today")
        assert status == 200
        first, second = [
            s["stopId"] for s in day["route"]["stops"] if s["status"] == "planned" and s["kind"] == "delivery"
        ][:2]

        sock = Recorder(live, api.token)
        sock.start()
        await asyncio.wait_for(sock.caught_up.wait(), 10)
        assert len(sock.snapshots) == 1 and sock.last_seq is not None
        status, answer = await api.send(f"/courier/stops/{first}/arrive", {}, idempotent=True)
        assert (status, answer["status"]) == (200, "arrived")
        await _until(lambda: sock.saw(first, "arrived"), 10, "the arrival on the stream")

        # Same database, new process: the socket drops; what happens while it is away
        # comes when it reconnects after its last seq, and no new snapshot.
        sock.caught_up.clear()
        sock.may_reconnect.clear()
        drops = sock.drops
        await asyncio.to_thread(live.restart)
        await _until(lambda: sock.drops > drops, 10, "the drop")
        status, _ = await api.send(f"/courier/stops/{second}/fail", {"reason": "not_home"}, idempotent=True)
        assert status == 200
        await asyncio.sleep(0.5)
        assert not sock.saw(second, "failed")
        sock.may_reconnect.set()
        await asyncio.wait_for(sock.caught_up.wait(), 30)
        await _until(lambda: sock.saw(second, "failed"), 10, "the failure after the restart")
        assert len(sock.snapshots) == 1
        assert sock.duplicates == 0
        seqs = [seq for seq, _, _ in sock.events]
        assert seqs == sorted(set(seqs))

        assert await sock.ping()
        await _until(lambda: sock.pongs >= 1, 5, "a pong")
        await sock.stop()
        assert sock.ws is None and (sock.task is None or sock.task.done())

    asyncio.run(scenario())


def test_a_transport_failure_is_an_answer_not_an_exception() -> None:
    from backend.bench.harness.server import free_port

    async def scenario() -> tuple[int, Any]:
        return await ApiClient(f"http://127.0.0.1:{free_port()}", timeout=2).send("/auth/login", {}, retries=1)

    status, body = asyncio.run(scenario())
    assert status == 0 and "Error" in body["detail"]
