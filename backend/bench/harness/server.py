"""A ``laadbak serve`` subprocess on a free port, with its own database and settings.

The benches and the live tests talk to a real server process, as phones do:
start it on a database, wait until ``/health`` answers, stop it, or restart it
on the same database and port (a restart keeps what the database holds).
Read the process's figures (memory, CPU, open files) and its log's warnings.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# Inherited from the caller's environment but never wanted in a harness server: it
# runs on its own database with in-memory channels, and crashes only when asked to.
_DROPPED_ENV = ("REDIS_URL", "LAADBAK_CRASH_AT")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile() -> int:
    """Raise this process's open-files limit to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class ServerProcess:
    """``python -m backend.cli serve`` on ``database_url``, logging to ``var_dir/server.log``.

    ``env`` holds settings for the server on top of this process's environment
    (e.g. ``LAADBAK_REPLAN_TIME_LIMIT``); it may change between a stop and a start.
    """

    def __init__(
        self,
        var_dir: Path,
        database_url: str,
        *,
        map_path: Path | None = None,
        secret_key: str | None = None,
        env: dict[str, str] | None = None,
        startup_timeout_s: float = 120.0,
        log_name: str = "server.log",
    ) -> None:
        self.var_dir, self.database_url, self.map_path = var_dir, database_url, map_path
        self.secret_key = secret_key or secrets.token_urlsafe(32)
        self.env = dict(env or {})
        self.startup_timeout_s = startup_timeout_s
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        self.log_path = var_dir / log_name  # several processes on one folder: a log each
        self.proc: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        """The server's whole environment: ours, its settings, then ``env``."""
        env = {
            **os.environ,
            "LAADBAK_VAR_DIR": str(self.var_dir),
            "DATABASE_URL": self.database_url,
            "LAADBAK_PORT": str(self.port),
            "LAADBAK_HOST": "127.0.0.1",
            "LAADBAK_SECRET_KEY": self.secret_key,
            "LAADBAK_SOLVER_WORKERS": "1",
            # Event-loop stalls named in the log (backend/realtime/stall_watch.py), counted by warnings().
            "LAADBAK_STALL_LOG_MS": os.environ.get("LAADBAK_BENCH_STALL_LOG_MS", "100"),
        }
        if self.map_path is not None:
            env["LAADBAK_MAP"] = str(self.map_path)
        for name in _DROPPED_ENV:
            env.pop(name, None)
        env.update(self.env)
        return env

    def start(self) -> None:
        """Start the process and wait until ``/health`` answers 200."""
        # The open-files limit: raised to the hard limit here and inherited by the
        # server, rather than a preexec_fn in a process that runs threads.
        raise_nofile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve"],
            env=self.environment(),
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        # One client for all polls: a new one per poll (httpx.get) builds an SSL context,
        # about 60 ms of CPU, every 0.2 s, taken from the server that is starting.
        with httpx.Client(timeout=1) as poll:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited: {self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if poll.get(self.base + "/health").status_code == 200:
                        return
                time.sleep(0.2)
        # Not left running: a test whose server was late fails, and the process that
        # was still starting would otherwise take CPU from the rest of the run.
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"the server did not come up: {tail}")

    def stop(self, timeout_s: float = 15.0) -> None:
        """Terminate the process (kill it when it does not end within ``timeout_s``)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """A new process on the same database and port."""
        self.stop()
        self.start()

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def warnings(self) -> dict[str, Any]:
        """The server's warnings and errors, counted by their text without numbers; the
        longest write transaction; the event-loop stalls over 100 ms, the longest and where
        the loop was held (the stall watch's stacks, most frequent first); and, once the
        server has stopped, the figures it logged on its way out (``loop``: the longest
        heartbeat delay of any size and the longest garbage collection; ``writer``: the
        longest hold of the SQLite writer and where), None before."""
        counts: dict[str, int] = {}
        slowest = longest_stall = 0.0
        stalls = 0
        held_at: dict[str, int] = {}
        figures: dict[str, Any] = {}
        for line in self.log_path.read_text(errors="replace").splitlines():
            said = re.search(r"laadbak\.\w+ .*(loop|writer) figures: (.*)", line)
            if said:  # the stall watch's and the writer's figures (INFO), logged as the server stops
                figures[said.group(1)] = _key_values(said.group(2))
                continue
            if not line.startswith(("WARNING", "ERROR", "CRITICAL")):
                continue
            held = re.search(r"held the writer for (\d+) ms", line)
            if held:
                slowest = max(slowest, float(held.group(1)))
            ended = re.search(r"event loop stall ended after about (\d+) ms", line)
            if ended:
                stalls += 1
                longest_stall = max(longest_stall, float(ended.group(1)))
                continue
            at = re.search(r"event loop held \d+ ms so far, at: (.*)", line)
            if at:
                where = re.sub(r":\d+\)", ")", at.group(1))[:400]
                held_at[where] = held_at.get(where, 0) + 1
                continue
            key = re.sub(r"\d+(\.\d+)?", "N", line)[:160]
            counts[key] = counts.get(key, 0) + 1
        most = dict(sorted(counts.items(), key=lambda kv: -kv[1])[:10])
        return {
            "warnings": sum(counts.values()),
            "by_text": most,
            "slowest_write_ms": slowest or None,
            "loop_stalls": stalls,
            "longest_loop_stall_ms": longest_stall or None,
            "loop_held_at": dict(sorted(held_at.items(), key=lambda kv: -kv[1])[:8]),
            "loop": figures.get("loop"),
            "writer": figures.get("writer"),
        }

    # -- the process's figures, from /proc (None when it is gone) -----------------------

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _status_field(self, name: str) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return None

    def rss_mb(self) -> float | None:
        kb = self._status_field("VmRSS")
        return kb / 1024 if kb is not None else None

    def threads(self) -> int | None:
        return self._status_field("Threads")

    def cpu_s(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def nofile(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        except (OSError, ValueError, IndexError):
            return None
        return None

    def fds(self) -> int | None:
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return None


class WorkerProcess(ServerProcess):
    """``python -m backend.cli worker`` (a solver worker, no HTTP) with a server's settings:
    started, it is ready once its log says so; ``kill()`` ends it at once (SIGKILL)."""

    READY = "laadbak worker ready"

    def start(self) -> None:
        raise_nofile()
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "worker"],
            env=self.environment(),
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited: {self.log_tail()}")
            if self.READY in self.log_path.read_text(errors="replace")[offset:]:
                return
            time.sleep(0.2)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"the worker did not come up: {tail}")

    def kill(self) -> None:
        """SIGKILL, as a machine that dies: nothing is finished or handed back."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _key_values(text: str) -> dict[str, Any]:
    """``a=1.5 b=x c=-`` as ``{"a": 1.5, "b": "x", "c": None}`` (the last key takes the rest of the line)."""
    out: dict[str, Any] = {}
    pairs = re.findall(r"(\w+)=(.*?)(?= \w+=|$)", text)
    for key, value in pairs:
        try:
            out[key] = float(value) if "." in value else int(value)
        except ValueError:
            out[key] = None if value == "-" else value
    return out
