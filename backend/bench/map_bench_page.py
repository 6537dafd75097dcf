"""The dispatcher's desk in a headless Chromium, with a probe that measures it from inside.

The probe (an init script, injected through the DevTools protocol, so the page keeps its
strict Content-Security-Policy) records:

- the delta between consecutive ``requestAnimationFrame`` callbacks, per phase
  (``idle``: the page open, nothing streaming; ``stream``: positions streaming);
- every change of a courier marker's place: a MutationObserver on ``[data-courier-id]``
  elements' ``data-pos`` attribute (and such elements added), with the wall-clock ms;
- long tasks (over 50 ms on the main thread), per phase;
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

PROBE = """
(() => {
  if (window.__mapBench) return;
  const now = () => performance.timeOrigin + performance.now();
  const probe = {
    phase: null, frames: { idle: [], stream: [] }, long: { idle: [], stream: [] }, seen: [], arrived: [],
  };
  window.__mapBench = probe;
  // The hub stream's position batches, timed as they arrive (before the app handles them).
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      if (!String(args[0]).includes("/ws/hub/")) return;
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string" || !e.data.includes('"positions"')) return;
        const t = now();
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
      for (const e of list.getEntries()) probe.long[probe.phase].push(e.duration);
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

    async def phase(self, name: str | None) -> None:
        await self.page.evaluate("p => { window.__mapBench.phase = p; }", name)

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
