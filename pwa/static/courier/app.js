// Laadbak courier app: login, shift, loading, route, stops with proof, live
// stream, offline queue. Plain ES modules on the shared kit (../kit/), no build step.
// The contract it follows is docs/courier-protocol.md.
import { render } from "../kit/html.js";
import { translateDom } from "../kit/i18n.js";
import { mountLangSwitch } from "../kit/lang-switch.js";
import { state, hooks, queue, i18n, t, $, computeView, loadLocal, saveLocal, flushLocal, notify, dismiss, dismissInbox, problemText } from "./store.js";
import { parseRoute } from "./model.js";
import { live, replay, fetchToday } from "./sync.js";
import { login, logout, showLogin, startSession, checkSession, isCourier } from "./session.js";
import { whoIsIn } from "../kit/session.js";
import { map, syncDevices } from "./devices.js";
import { renderTop, renderMessages, routeScreen, renderLoad, stopScreen, shiftScreen } from "./views.js";
import { buildTask, updateTask, closeTask } from "./task.js";
import { startShift, endShift, arrive, onLoadScan, reportBattery } from "./actions.js";
import { bindScanForm } from "./scanner.js";
import { enablePush, pushState } from "../kit/push.js";

const REPLAY_EVERY_MS = 15_000;
const POLL_EVERY_MS = 30_000;

function route() {
  if (!state.user) return;
  const r = parseRoute(location.hash);
  // Passing notices belong to the screen they were shown on; errors stay until dismissed.
  // (A notice raised by the action that navigated here is kept.)
  for (const m of state.messages.filter((x) => x.kind !== "error" && Date.now() - x.at > 1000)) dismiss(m.id);
  for (const sec of document.querySelectorAll("#main > .screen")) sec.hidden = sec.dataset.screen !== r.name;
  for (const a of document.querySelectorAll("#tabs a")) {
    a.classList.toggle("active", a.dataset.tab === r.name);
    if (a.dataset.tab === r.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  $("#tabs").hidden = r.name === "task";
  document.body.dataset.screen = r.name;
  if (r.name === "task") buildTask(r.stopId, r.task);
  else closeTask();
  draw();
  if (r.name === "map") map.shown();
  if (r.name !== "task") window.scrollTo(0, 0);
}

function draw() {
  renderTop();
  if (!state.user || $("#main").hidden) return;
  const view = computeView();
  const r = parseRoute(location.hash);
  if (r.name === "route") render(routeScreen(view), $("#screen-route"));
  if (r.name === "load") renderLoad(view);
  if (r.name === "shift") render(shiftScreen(view), $("#screen-shift"));
  if (r.name === "stop") render(stopScreen(view, r.stopId), $("#screen-stop"));
  if (r.name === "task") updateTask(view);
  if (r.name === "map") map.update(state.day, view);
  syncDevices(view);
}

hooks.render = draw;
hooks.renderMessages = renderMessages;
hooks.route = route;

function wire() {
  $("#login-form").addEventListener("submit", login);
  bindScanForm($("#load-scan"), onLoadScan);
  document.addEventListener("click", (ev) => {
    const dismissBtn = ev.target.closest("[data-dismiss]");
    if (dismissBtn) return dismiss(Number(dismissBtn.dataset.dismiss));
    const inboxBtn = ev.target.closest("[data-dismiss-message]");
    if (inboxBtn) return dismissInbox(Number(inboxBtn.dataset.dismissMessage));
    const el = ev.target.closest("[data-action]");
    if (!el) return;
    const action = el.dataset.action;
    if (action === "shift-start") startShift();
    else if (action === "shift-end") endShift();
    else if (action === "arrive") arrive(Number(el.dataset.stop));
    else if (action === "logout") logout();
    else if (action === "replay") { live.kick(); replay(); }
    else if (action === "push-on") turnOnPush();
    else if (action === "battery") reportBattery(Number(el.dataset.level));
    else if (action === "battery-charged") reportBattery("charged");
  });
  $("#map-me").addEventListener("click", () => map.centreOnMe(state.position));
  $("#map-fit").addEventListener("click", () => map.fit());
  window.addEventListener("hashchange", route);
  window.addEventListener("pagehide", flushLocal); // a batched save still waiting is not lost on a reload
  window.addEventListener("online", () => {
    draw();
    live.kick();
    replay();
    fetchToday();
  });
  window.addEventListener("offline", draw);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.user) {
      live.kick();
      replay();
    }
  });
  setInterval(() => { if (state.pending.length && navigator.onLine) replay(); }, REPLAY_EVERY_MS);
  // Without the live stream (blocked by a proxy, server restarting), still refresh now and then.
  setInterval(() => { if (state.user && navigator.onLine && state.wsState !== "open") fetchToday(); }, POLL_EVERY_MS);
  translateDom(document, i18n);
  mountLangSwitch($("#login-lang"), i18n);
  i18n.onChange(() => {
    translateDom(document, i18n);
    renderMessages();
    draw(); // every text of the screens is a template binding: a redraw translates it
  });
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/courier/sw.js", { scope: "/courier/" });
  } catch { /* the app works without offline start */ }
  state.push = await pushState("/courier/").catch(() => "unsupported");
  draw();
}

/** Dispatch's messages as notifications when the app is closed: asked on the courier's tap. */
async function turnOnPush() {
  state.push = "asking";
  draw();
  const out = await enablePush("/courier/").catch(() => ({ state: "unsupported" }));
  state.push = out.state === "failed" ? "ask" : out.state;
  if (out.state === "failed") notify("error", problemText(out.res));
  else if (out.state === "on") notify("ok", t("push.nowOn"));
  draw();
}

async function boot() {
  wire();
  registerServiceWorker();
  loadLocal();
  renderMessages(); // messages from dispatch not dismissed before the app closed
  try {
    state.pending = await queue.all();
  } catch {
    state.pending = [];
    notify("error", t("storage.none"));
  }
  if (state.user) {
    startSession();
    checkSession();
    return;
  }
  const who = await whoIsIn({ allowed: isCourier }); // offline and never logged in: the login screen
  if (who.status === "user") {
    state.user = who.user;
    saveLocal();
    startSession();
    return;
  }
  showLogin(navigator.onLine ? "" : t("login.offline"));
}

// For the browser test and for debugging from the console.
window.laadbak = { state, computeView, replay, queue, map, live, i18n };

boot();
