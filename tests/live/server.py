"""A real Laadbak server process on a seeded SQLite day, for websocket and browser tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from backend.db.engine import make_engine, migrate, use_database
from backend.services.demo import DEMO_PASSWORD, seed
from backend.services.context import Context
from backend.services.planning import plan_day
from backend.settings import load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def seed_day(db: Path, geo, *, orders: int = 24, couriers: int = 2, seed_no: int = 7) -> int:
    """Seed and plan today; returns the hub id."""
    use_database(make_engine(f"sqlite:///{db}"))
    await migrate()
    day = dt.date.today()
    city = await seed(geo, day, orders_count=orders, couriers=couriers, seed=seed_no)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        ctx = Context(geo=geo, settings=load_settings({"LAADBAK_SECRET_KEY": "live"}), pool=pool)
        await plan_day(ctx, city.hub_id, day, 2.0)
    return city.hub_id


class LiveServer:
    def __init__(self, var_dir: Path, db: Path, env: dict[str, str] | None = None) -> None:
        self.var_dir, self.db = var_dir, db
        self.env = dict(env or {})  # e.g. LAADBAK_CRASH_AT for the crash tests
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = var_dir / "server.log"

    def start(self) -> None:
        env = {**os.environ, "LAADBAK_VAR_DIR": str(self.var_dir), "DATABASE_URL": f"sqlite:///{self.db}",
               "LAADBAK_PORT": str(self.port), "LAADBAK_SECRET_KEY": "live-test", "LAADBAK_SOLVER_WORKERS": "1"}
        env.pop("REDIS_URL", None)
        env.pop("LAADBAK_CRASH_AT", None)
        env.update(self.env)
        self.proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve"], env=env,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not come up: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        r = httpx.post(self.base + "/auth/login", json={"username": username, "password": password})
        r.raise_for_status()
        return r.json()["token"]


def run(coro):  # noqa: ANN001, ANN201 - a sync helper for fixtures
    return asyncio.run(coro)
