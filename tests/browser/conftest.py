"""Browser tests: a real server process on a seeded SQLite day, driven by the system Chromium.

Playwright cannot download its own browser here: it drives /usr/bin/chromium
(`apt-get install chromium`). Without Chromium or the playwright package the
tests are skipped with the reason, except with CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.db.engine import make_engine, use_database
from backend.settings import REPO_ROOT
from tests.browser.seed_day import copy_network_cache, seed_small_day
from tests.conftest import made_once
from tests.live.server import copy_database

CHROMIUM = os.environ.get("LAADBAK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: .venv/bin/pip install -e '.[test]'"
    if not Path(CHROMIUM).exists():
        return f"Chromium not installed at {CHROMIUM}: apt-get install chromium"
    return None


def require_browser() -> None:
    reason = _browser_missing()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def run_apart(coro: Any) -> Any:
    """``asyncio.run(coro)`` in a thread of its own: between its calls Playwright's sync API
    marks its event loop as running in this thread, so seeding while a ``chromium`` is open
    (e.g. a module-scoped fixture set up after it) would be refused."""
    with concurrent.futures.ThreadPoolExecutor(1) as apart:
        return apart.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (a launch per test cost a few seconds each); each
    test makes contexts of its own (cookies, storage, service workers, permissions apart as in
    a new browser) and closes them. Per module, not per run: Playwright's sync API cannot be
    entered twice in a thread, so a module that launches its own browser still can."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        new_context = browser.new_context

        def on_suite_clock(**options: Any) -> Any:
            # Every page on the suite's clock (tests/conftest.py), as the server is: a page's
            # "now" (timeline, position ages, queued actions) is the server's.
            context = new_context(**options)
            context.clock.install(time=dt.datetime.now())
            return context

        browser.new_context = on_suite_clock
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base: str, db_path: Path, day: dict[str, Any], log: Path) -> None:
        self.base, self.db_path, self.day, self.log = base, db_path, day, log

    def login(self, username: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=10)
        r = client.post("/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return client


@pytest.fixture(scope="session")
def small_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The seeded and planned small day, made once a run: each module's server gets its own copy."""
    require_browser()

    def make(folder: Path) -> tuple[str, dict[str, Any]]:
        return str(folder / "db.sqlite"), run_apart(seed_small_day(folder / "db.sqlite", dt.date.today()))

    db_path, day = made_once(tmp_path_factory, "browser-seed", make)
    return Path(db_path), day


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """More environment for the module's server (a module overrides this fixture), e.g. the
    tests' push service origin in LAADBAK_PUSH_ALLOWED_ORIGINS."""
    return {}


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]
) -> Iterator[Server]:
    """The server on a seeded day: a copy of the shared ``small_day``, or the module's ``SEED_DAY(db_path, day)``."""
    require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    db_path = tmp / "db.sqlite"
    var_dir = tmp / "var"
    seed_day = getattr(request.module, "SEED_DAY", None)
    if seed_day is not None:
        day = run_apart(seed_day(db_path, dt.date.today()))
    else:
        shared_path, shared_day = request.getfixturevalue("small_day")
        copy_database(shared_path, db_path)
        use_database(make_engine(f"sqlite:///{db_path}"))  # as seeding it here would have left it
        day = copy.deepcopy(shared_day)
    copy_network_cache(var_dir)
    port = _free_port()
    env = {
        **os.environ,
        "LAADBAK_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{db_path}",
        "LAADBAK_PORT": str(port),
        "LAADBAK_HOST": "127.0.0.1",
        "LAADBAK_SECRET_KEY": "test",
        "LAADBAK_SOLVER_WORKERS": "1",
        **server_env,
    }
    env.pop("REDIS_URL", None)
    log = tmp / "server.log"
    exe = Path(sys.executable).with_name("laadbak")
    command = [str(exe), "serve"] if exe.exists() else [sys.executable, "-m", "backend.cli", "serve"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=1) as poll:  # one client: each new one costs ~60 ms of CPU (its SSL context)
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    if poll.get(f"{base}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer within 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield Server(base, db_path, day, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def browser_context(server: Server, chromium: Any) -> Iterator[Any]:
    """A phone-sized Chromium context, allowed to know its position (at the hub)."""
    hub = server.day["hub"]
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": hub["lat"], "longitude": hub["lon"], "accuracy": 15},
        permissions=["geolocation"],
        locale="en-GB",
    )
    # The pages run under a strict Content-Security-Policy: any violation fails the test.
    violations: list[str] = []
    context.on(
        "console",
        lambda m: (
            violations.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None
        ),
    )
    try:
        yield context
    finally:
        context.close()
    assert not violations, violations
