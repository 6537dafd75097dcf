"""The dispatcher's desk in a headless Chromium, with a probe that measures it from inside.

The probe (an init script, injected through the DevTools protocol, so the page keeps its
strict Content-Security-Policy) records:

- the delta between consecutive ``requestAnimationFrame`` callbacks, per phase
  (``idle``: the page open, nothing streaming; ``stream``: positions streaming);
- every change of a courier marker's place: a MutationObserver on ``[data-courier-id]``
  elements' ``data-pos`` attribute (and such elements added), with the wall-clock ms;
- long tasks (over 50 ms on the main thread), per phase, with when they started;
- the kinds of the hub stream's other events (route.updated, stop.updated, ...) and when they came;
- every courier position in the hub stream's ``positions`` batches, with the wall-clock ms it
  arrived in the page (the socket is wrapped; the app's own handler runs after), so the time to
  the marker splits into server + network and the page's own part.

Playwright drives the system Chromium (``LAADBAK_CHROMIUM``, default /usr/bin/chromium),
as the browser tests do (tests/browser/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("LAADBAK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # A page in the background is not throttled: the bench measures the page, not the window manager.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

PROBE = r"""
(() => {
  if (window.__mapBench) return;
  const now = () => performance.timeOrigin + performance.now();
  const probe = {
    phase: null, seen: [], arrived: [], events: [],
    frames: { load: [], idle: [], stream: [] }, long: { load: [], idle: [], stream: [] },
  };
  window.__mapBench = probe;
  // The hub stream's position batches, timed as they arrive (before the app handles them).
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      if (!String(args[0]).includes("/ws/hub/")) return;
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string") return;
        const t = now();
        if (!e.data.includes('"positions"')) {
          const kind = /"kind":\s*"([^"]+)"/.exec(e.data);
          if (kind && probe.phase) probe.events.push([t, kind[1]]);
          return;
        }
        try {
          const m = JSON.parse(e.data);
          if (m.type !== "positions") return;
          for (const p of m.positions || []) probe.arrived.push([String(p.courierId), `${p.lat},${p.lon}`, t]);
        } catch (err) { /* not ours to judge */ }
      });
    }
  };
  const record = (el) => {
    const id = el.getAttribute("data-courier-id"), pos = el.getAttribute("data-pos");
    if (id && pos) probe.seen.push([id, pos, now()]);
  };
  const watch = () => new MutationObserver((list) => {
    for (const m of list) {
      if (m.type === "attributes") { record(m.target); continue; }
      for (const n of m.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches("[data-courier-id][data-pos]")) record(n);
        for (const e of n.querySelectorAll("[data-courier-id][data-pos]")) record(e);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-pos"] });
  watch();
  let last = null;
  const tick = (t) => {
    if (last !== null && probe.phase) probe.frames[probe.phase].push(t - last);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      if (!probe.phase) return;
      const t0 = performance.timeOrigin;
      for (const e of list.getEntries()) probe.long[probe.phase].push([t0 + e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: false });
  } catch (e) { /* no long-task timing in this browser */ }
})();
"""


class BrowserError(RuntimeError):
    """The browser or the page could not be brought up."""


def require_playwright() -> Any:
    """The async Playwright entry point, or a BrowserError saying what to install."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        raise BrowserError("playwright is not installed: .venv/bin/pip install -e '.[test]'") from exc
    if not Path(CHROMIUM).exists():
        raise BrowserError(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium")
    return async_playwright


class DeskPage:
    """A dispatcher logged in on /dispatch/ with the probe, in its own browser."""

    def __init__(self, base: str, viewport: tuple[int, int]) -> None:
        self.base, self.viewport = base, viewport
        self.errors: list[str] = []
        self._pw: Any = None
        self.browser: Any = None
        self.page: Any = None
        self.cdp: Any = None

    async def open(self, username: str, password: str, couriers: int, timeout_s: float) -> float:
        """Log in (the session cookie), open the desk and wait for a timeline row per courier;
        answers the ms from navigation to that."""
        import time

        self._pw = await require_playwright()().start()
        self.browser = await self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await self.browser.new_context(
            viewport={"width": self.viewport[0], "height": self.viewport[1]}, locale="en-GB"
        )
        await context.add_init_script(script=PROBE)
        answer = await context.request.post(
            self.base + "/auth/login", data={"username": username, "password": password}
        )
        if answer.status != 200:
            raise BrowserError(f"the dispatcher cannot log in: {answer.status} {(await answer.text())[:200]}")
        self.page = page = await context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"[:300]))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}"[:300]) if m.type == "error" else None)
        t0 = time.monotonic()
        await page.goto(self.base + "/dispatch/")
        try:
            await page.wait_for_function(
                "n => document.querySelectorAll('[data-courier-row]').length >= n",
                arg=couriers,
                timeout=timeout_s * 1000,
            )
        except Exception as exc:  # noqa: BLE001 - a page that never shows the desk: say what it shows
            text = (await page.inner_text("body"))[:300] if page else ""
            raise BrowserError(
                f"the desk did not show {couriers} courier rows within {timeout_s:g} s "
                f"({type(exc).__name__}); the page says: {text!r}; errors: {self.errors[:3]}"
            ) from exc
        return (time.monotonic() - t0) * 1000

    async def routes_drawn(self, timeout_s: float) -> float:
        """Wait until the map has drawn the day's route lines (``data-routes-ready``); answers the ms."""
        import time

        t0 = time.monotonic()
        await self.page.wait_for_selector("[data-routes-ready]", state="attached", timeout=timeout_s * 1000)
        return (time.monotonic() - t0) * 1000

    async def settle(self, timeout_s: float, quiet_frames: int = 60) -> float:
        """Wait until ``quiet_frames`` frames in a row came within 2 display refreshes (the page
        has drawn what it loaded), at most ``timeout_s``; answers the ms it took."""
        return float(
            await self.page.evaluate(
                """([quiet, timeout]) => new Promise((done) => {
                  const t0 = performance.now();
                  let last = null, calm = 0;
                  const tick = (t) => {
                    calm = last !== null && t - last < 34 ? calm + 1 : 0;
                    last = t;
                    if (calm >= quiet || t - t0 > timeout) done(t - t0);
                    else requestAnimationFrame(tick);
                  };
                  requestAnimationFrame(tick);
                })""",
                [quiet_frames, timeout_s * 1000],
            )
        )

    async def start_trace(self, profile: bool) -> None:
        """Trace the renderer's main thread (its tasks; with ``profile`` also style, layout and
        paint, what a JavaScript profile calls "(program)", and a JavaScript CPU profile sampled
        every 1 ms)."""
        # blink.user_timing: the phases' marks, which bound what counts (starting a trace is itself a long task).
        categories = ["devtools.timeline", "toplevel"] if profile else ["toplevel"]
        categories.append("blink.user_timing")
        await self.browser.start_tracing(page=self.page, categories=categories)
        if profile:
            self.cdp = await self.page.context.new_cdp_session(self.page)
            await self.cdp.send("Profiler.enable")
            await self.cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
            await self.cdp.send("Profiler.start")

    async def stop_trace(self, top_n: int = 15) -> tuple[Any, dict[str, Any] | None]:
        """The trace, and with a profile: the functions the page spent the most time in (self
        time), the renderer's main thread's work by kind (inclusive ms: a layout forced by a
        script counts in both) and the longest tasks with what they did."""
        import json

        profile = (await self.cdp.send("Profiler.stop"))["profile"] if self.cdp is not None else None
        trace = json.loads(await self.browser.stop_tracing())
        if profile is None:
            return trace, None
        return trace, {
            "functions": hottest(profile, top_n),
            "renderer": renderer_work(trace, top_n),
            "longest_tasks": longest_tasks(trace),
        }

    async def hide(self, selector: str) -> int:
        """An experiment: hide the elements ``selector`` matches (to see what another part of the
        page costs without them); answers how many were hidden."""
        return int(
            await self.page.evaluate(
                "sel => { const all = document.querySelectorAll(sel);"
                " all.forEach((e) => { e.style.display = 'none'; }); return all.length; }",
                selector,
            )
        )

    async def phase(self, name: str | None) -> None:
        """Start a phase (None: the end), marked in the trace too (``laadbak:<phase>``)."""
        await self.page.evaluate(
            "p => { window.__mapBench.phase = p; performance.mark(`laadbak:${p || 'end'}`); }", name
        )

    async def markers(self) -> int:
        return int(await self.page.evaluate("document.querySelectorAll('[data-courier-id][data-pos]').length"))

    async def collect(self) -> dict[str, Any]:
        """What the probe recorded: frames and long tasks per phase, the markers' moves."""
        return dict(await self.page.evaluate("window.__mapBench"))

    async def screenshot(self, path: Path) -> str | None:
        """A picture of the map (the whole page when there is no map element)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            target = self.page.locator("#map, .leaflet-container").first
            if await target.count():
                await target.screenshot(path=str(path))
            else:
                await self.page.screenshot(path=str(path))
            return str(path)
        except Exception as exc:  # noqa: BLE001 - a picture is a nicety; the figures stand without it
            self.errors.append(f"screenshot: {exc}"[:300])
            return None

    async def close(self) -> None:
        if self.browser is not None:
            await self.browser.close()
        if self._pw is not None:
            await self._pw.stop()


def hottest(profile: dict[str, Any], top_n: int) -> list[dict[str, Any]]:
    """Self time per function (name, file:line) of a DevTools CPU profile, most first."""
    frames = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    spent: dict[tuple[str, str], float] = {}
    for node_id, delta in zip(profile.get("samples", []), profile.get("timeDeltas", []), strict=False):
        f = frames.get(node_id)
        if f is None or f["functionName"] == "(idle)":
            continue
        where = f"{f['url'].rsplit('/', 1)[-1]}:{f['lineNumber'] + 1}" if f["url"] else ""
        key = (f["functionName"] or "(anonymous)", where)
        spent[key] = spent.get(key, 0.0) + delta / 1000
    ranked = sorted(spent.items(), key=lambda kv: -kv[1])[:top_n]
    return [{"function": name, "at": where, "self_ms": round(ms, 1)} for (name, where), ms in ranked]


def _main_thread_events(trace: Any) -> list[dict[str, Any]]:
    """The complete events of the renderer's main thread (CrRendererMain)."""
    events = trace.get("traceEvents", []) if isinstance(trace, dict) else trace
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    return [e for e in events if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in main]


def renderer_work(trace: Any, top_n: int) -> dict[str, float]:
    """Total ms per kind of complete event on the renderer's main thread (CrRendererMain)."""
    spent: dict[str, float] = {}
    for e in _main_thread_events(trace):
        spent[e["name"]] = spent.get(e["name"], 0.0) + e.get("dur", 0) / 1000
    ranked = sorted(spent.items(), key=lambda kv: -kv[1])[:top_n]
    return {name: round(ms, 1) for name, ms in ranked}


def longest_tasks(trace: Any, top_n: int = 3, parts: int = 8) -> list[dict[str, Any]]:
    """The longest main-thread tasks while profiling, each with what it spent its time on
    (inclusive ms per kind of nested event; a script's function with where it is)."""
    events = sorted(_main_thread_events(trace), key=lambda e: e.get("ts", 0))
    a = mark_ts(trace, "laadbak:stream") or float("-inf")
    b = mark_ts(trace, "laadbak:end") or float("inf")
    tasks = sorted((e for e in _tasks(events) if a <= e.get("ts", 0) < b), key=lambda e: -e.get("dur", 0))[:top_n]
    out = []
    for task in tasks:
        a, b = task["ts"], task["ts"] + task.get("dur", 0)
        spent: dict[str, float] = {}
        for e in events:
            if e is task or not (a <= e.get("ts", 0) < b):
                continue
            data = e.get("args", {}).get("data", {}) or {}
            where = data.get("url", "").rsplit("/", 1)[-1] or data.get("functionName", "")
            if e["name"] in ("FunctionCall", "EvaluateScript", "TimerFire", "FireAnimationFrame", "EventDispatch"):
                key = f"{e['name']} {where} {data.get('functionName', '') or data.get('type', '')}".strip()
            else:
                key = e["name"]
            spent[key] = spent.get(key, 0.0) + e.get("dur", 0) / 1000
        ranked = sorted(spent.items(), key=lambda kv: -kv[1])[:parts]
        out.append({"ms": round(task.get("dur", 0) / 1000, 1), "parts": {k: round(v, 1) for k, v in ranked}})
    return out


# A top-level task of a Chromium thread, by its name in the trace (it changed across versions).
TASK_EVENTS = ("ThreadControllerImpl::RunTask", "RunTask")


def _tasks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outermost tasks among ``events`` (a task run inside another is part of it)."""
    out: list[dict[str, Any]] = []
    end = -1.0
    for e in sorted((e for e in events if e["name"] in TASK_EVENTS), key=lambda e: e.get("ts", 0)):
        if e.get("ts", 0) >= end:
            out.append(e)
            end = e.get("ts", 0) + e.get("dur", 0)
    return out


def mark_ts(trace: Any, name: str) -> float | None:
    """When the page's ``performance.mark(name)`` was made, in the trace's clock (µs)."""
    events = trace.get("traceEvents", []) if isinstance(trace, dict) else trace
    return next((float(e["ts"]) for e in events if e.get("name") == name and "ts" in e), None)


def busy_ms(trace: Any, since: str | None = None, until: str | None = None) -> float:
    """How long the renderer's main thread was busy (its outermost tasks, in ms), between the
    page's marks ``since`` and ``until`` when given (else over the whole trace)."""
    a = (mark_ts(trace, since) if since else None) or float("-inf")
    b = (mark_ts(trace, until) if until else None) or float("inf")
    return sum(e.get("dur", 0) for e in _tasks(_main_thread_events(trace)) if a <= e.get("ts", 0) < b) / 1000
