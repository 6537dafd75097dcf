// The dispatcher's desk: login, the hub's live stream (resumed after the last seq),
// the map, the timeline, the unplanned list, the move panel and the panels
// (./panels/index.js). Store events are merged and drawn once per animation frame.
import { html, render } from "../kit/html.js";
import { request, problemSentence, networkSentence } from "../kit/api.js";
import { createI18n, translateDom } from "../kit/i18n.js";
import { mountLangSwitch } from "../kit/lang-switch.js";
import { roleIn, submitLogin, showLoginError, whoIsIn, checkSession as kitCheckSession, logoutRequest } from "../kit/session.js";
import { LiveStream, afterClose, isNewEvent } from "../kit/stream.js";
import kitEn from "../kit/messages/en.js";
import kitNl from "../kit/messages/nl.js";
import en from "./messages/en.js";
import nl from "./messages/nl.js";
import panelsEn from "./messages/panels-en.js";
import panelsNl from "./messages/panels-nl.js";
import { createStore, onlyPositions, STOP_STATES } from "./store.js";
import { DeskMap, STATE_FILL } from "./map.js";
import { Timeline } from "./timeline.js";
import { unplannedList } from "./unplanned.js";
import { createMoves, bindDrag, movePanel } from "./drag.js";
import { bindMapDrop } from "./map-drop.js";
import { toolbar, detailsPanel, alertsPanel, figuresPanel, pickingPanel, returnsPanel, startPanels } from "./panels/index.js";

const i18n = createI18n({ en: { ...kitEn, ...en, ...panelsEn }, nl: { ...kitNl, ...nl, ...panelsNl } });
const t = i18n.t;
const $ = (sel) => document.querySelector(sel);
const TICK_MS = 30_000;
const FLASH_MS = 15_000;

let user = null;
let hubId = null;
let skewMs = 0; // the hub's wall clock minus this browser's (both read as UTC)
const store = createStore({ now: () => hubNow() });
const deskMap = new DeskMap($("#map"), { t, onSelect: selectFromMap });

/** A stop chosen on the map: its chip scrolls into view in the timeline. */
function selectFromMap(sel) {
  store.select(sel);
  const chip = sel.kind === "stop" ? document.querySelector(`[data-stop-id="${sel.id}"]`) : null;
  chip?.scrollIntoView({ block: "nearest", inline: "center" });
}
const timeline = new Timeline($("#timeline"), { t, i18n, onSelect: selectFromTimeline });

/** A chip chosen with the keyboard: its move panel gets the focus (Close gives it back). */
function selectFromTimeline(sel, { keyboard = false } = {}) {
  store.select(sel);
  const stop = sel.kind === "stop" ? store.getState().stops.get(sel.id) : null;
  if (stop) deskMap.reveal(stop.lat, stop.lon);
  if (!keyboard || sel.kind !== "stop") return;
  requestAnimationFrame(() => requestAnimationFrame(() => $("#move select, #move button")?.focus()));
}

function closeMove() {
  const sel = store.getState().selection;
  store.select(null);
  if (sel?.kind === "stop") requestAnimationFrame(() => requestAnimationFrame(() => $(`[data-stop-id="${sel.id}"]`)?.focus()));
}
const problem = (res) => (res ? problemSentence(res, t, i18n.lang) : networkSentence(t));

// ------------------------------------------------------------------ notices

const toasts = [];
let toastN = 0;
function toast(text, kind = "info") {
  const item = { id: ++toastN, text, kind };
  toasts.push(item);
  drawToasts();
  if (kind !== "error") setTimeout(() => dismissToast(item.id), 6000);
}
function dismissToast(id) {
  const i = toasts.findIndex((x) => x.id === id);
  if (i >= 0) toasts.splice(i, 1);
  drawToasts();
}
function drawToasts() {
  render(html`${toasts.map((x) => html`<div class="toast ${x.kind}" role=${x.kind === "error" ? "alert" : "status"}>
    <span>${x.text}</span>
    <button type="button" class="btn ghost" aria-label=${t("toast.dismiss")} @click=${() => dismissToast(x.id)}>×</button>
  </div>`)}`, $("#toasts"));
}

let flashTimer = null;
/** The server's sentence for a refused move, next to the map (role=alert). */
function flash(text) {
  const el = $("#desk-flash");
  el.textContent = text;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { el.textContent = ""; }, FLASH_MS);
}

const moves = createMoves({
  store, t,
  send: (method, path, body) => request(method, path, { body }),
  refused: (res) => flash(problem(res)),
  done: (text) => { $("#desk-flash").textContent = ""; toast(text); },
});

// ------------------------------------------------------------------ drawing, once per frame

let pending = null;
let frame = 0;
function merge(change) {
  if (!pending) {
    pending = { couriers: new Set(), stops: new Set(), positions: new Set(), routes: new Set() };
  }
  for (const k of ["couriers", "stops", "positions", "routes"]) for (const v of change[k] || []) pending[k].add(v);
  for (const [k, v] of Object.entries(change)) if (typeof v === "boolean" || typeof v === "string") pending[k] = pending[k] || v;
  if (!frame) frame = requestAnimationFrame(drawFrame);
}
store.subscribe((_, change) => merge(change));

function drawFrame() {
  frame = 0;
  const change = pending;
  pending = null;
  if (!change || $("#desk").hidden) return;
  const state = store.getState();
  if (change.all) deskMap.load(state);
  else deskMap.update(state, change);
  if (onlyPositions(change)) {
    // The timeline and the side show nothing derived from positions, but the selected
    // courier's details (its "show on map" needs a position): that panel alone, if it moved.
    const sel = state.selection;
    if (sel?.kind === "courier" && change.positions.has(sel.id)) render(detailsPanel(desk), $("#details"));
    return;
  }
  if (change.all || change.lang) timeline.renderAll(state);
  else timeline.update(state, change);
  drawSide(state, change);
  if (change.all || change.lang || change.connection) drawTop(state);
}

/** The panels asked to be drawn again (their own data arrived): the side only, next frame. */
function rerender() {
  merge({ panels: true });
}

function drawSide(state, change) {
  if (change.all || change.lang || change.selection || change.stops.size || change.unplanned) {
    render(movePanel({ state, moves, t, close: closeMove }), $("#move"));
    render(unplannedList({ state, t, i18n, onSelect: (sel) => store.select(sel) }), $("#unplanned"));
  }
  render(toolbar(desk), $("#toolbar"));
  render(detailsPanel(desk), $("#details"));
  render(alertsPanel(desk), $("#alerts"));
  render(figuresPanel(desk), $("#figures"));
  render(pickingPanel(desk), $("#picking"));
  render(returnsPanel(desk), $("#returns"));
}

function drawTop(state) {
  const conn = $("#conn");
  conn.className = `pill conn ${state.connection}`;
  conn.textContent = t(`conn.${state.connection}`);
  const where = [state.hub ? t("desk.hub", { name: state.hub.name }) : t("desk.loading")];
  if (state.date) where.push(t("desk.date", { date: state.date }));
  $("#where").textContent = where.join(" · ");
  render(html`<span class="legend-title">${t("legend.label")}</span>${STOP_STATES.map((s) => html`<span class="legend-item">
    <span class="dot st-${s}"></span>${t(`state.${s}`)}</span>`)}`, $("#legend"));
}

// ------------------------------------------------------------------ the clock

function localIso(ms) {
  return new Date(ms).toISOString().slice(0, 19);
}
function hubNow() {
  const d = new Date();
  return localIso(Date.now() - d.getTimezoneOffset() * 60_000 + skewMs);
}
function syncClock(serverNow) {
  if (!serverNow) return;
  const d = new Date();
  skewMs = Date.parse(`${String(serverNow).slice(0, 19)}Z`) - (Date.now() - d.getTimezoneOffset() * 60_000);
}

// ------------------------------------------------------------------ the live stream

const live = new LiveStream({
  path: "/ws/hub/0",
  lastSeq: () => (store.getState().hub ? store.getState().seq : null),
  onMessage,
  onState: (s, info) => {
    store.setConnection(s === "open" ? "live" : s === "connecting" ? "reconnecting" : navigator.onLine ? "reconnecting" : "offline");
    if (s !== "closed" || !info) return;
    const next = afterClose(info, navigator.onLine);
    if (next === "login") sessionEnded();
    else if (next === "check-session") checkSession();
  },
});

function onMessage(msg) {
  switch (msg.type) {
    case "snapshot":
      syncClock(msg.data?.now);
      store.load({ ...msg.data, seq: msg.seq ?? msg.data?.seq ?? null });
      if (!msg.data?.couriers) nameCouriers();
      break;
    case "event":
      if (!isNewEvent(store.getState().seq, msg.seq)) return;
      store.apply(msg);
      break;
    case "positions":
      store.apply({ kind: "position", data: msg.positions || [] });
      break;
    case "error":
      if (msg.message) toast(msg.message, "error");
      break;
    default: // caught_up, ping, pong
      break;
  }
}

/** An older snapshot without the courier list: their names from GET /couriers. */
async function nameCouriers() {
  try {
    const res = await request("GET", `/couriers?hubId=${hubId}`);
    if (res.ok && Array.isArray(res.data)) store.nameCouriers(res.data);
  } catch { /* the ids stay */ }
}

// ------------------------------------------------------------------ login

const isDispatcher = roleIn("dispatcher", "admin");

function showLogin(reason = "") {
  live.stop();
  $("#desk").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
  showLoginError($("#login-error"), reason);
}

function sessionEnded() {
  user = null;
  showLogin(t("login.sessionEnded"));
}

const checkSession = () => kitCheckSession({ onEnded: sessionEnded }); // offline: the stream keeps trying

async function login(ev) {
  ev.preventDefault();
  const u = await submitLogin(ev.target, { err: $("#login-error"), allowed: isDispatcher, t, problem });
  if (u) await start(u);
}

async function logout() {
  await logoutRequest();
  user = null;
  showLogin();
}

async function pickHub(u) {
  if (u.hubId != null) return u.hubId;
  const res = await request("GET", "/hubs");
  return res.ok && Array.isArray(res.data) && res.data.length ? res.data[0].id : null;
}

let panelsStarted = false;
async function start(u) {
  user = u;
  hubId = await pickHub(u);
  if (hubId == null) {
    showLogin(t("login.noHub"));
    return;
  }
  $("#login").hidden = true;
  $("#desk").hidden = false;
  $("#logout").hidden = false;
  live.path = `/ws/hub/${hubId}`;
  live.start();
  if (!panelsStarted) {
    panelsStarted = true;
    startPanels(desk);
  }
  merge({ all: true });
}

// ------------------------------------------------------------------ the desk handed to the panels

const desk = {
  store,
  api: request,
  t,
  get lang() { return i18n.lang; },
  get hubId() { return hubId; },
  get user() { return user; },
  i18n,
  rerender,
  toast,
  flash,
  problem,
  map: deskMap.api(),
};

function wire() {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  bindDrag(document.body, { store, moves });
  bindMapDrop($("#map"), { store, moves, deskMap, sentence: problem });
  mountLangSwitch($("#top-lang"), i18n, { short: true });
  translateDom(document, i18n);
  i18n.onChange(() => {
    translateDom(document, i18n);
    drawToasts();
    merge({ lang: true });
  });
  setInterval(() => { if (store.getState().hub) store.tick(hubNow()); }, TICK_MS);
  window.addEventListener("online", () => live.kick());
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") live.kick(); });
  for (const [s, colour] of Object.entries(STATE_FILL)) document.documentElement.style.setProperty(`--st-${s}`, colour);
}

async function boot() {
  wire();
  const who = await whoIsIn({ allowed: isDispatcher });
  if (who.status === "user") await start(who.user);
  else showLogin();
}

// For the browser tests and for debugging from the console.
window.laadbakDesk = { store, map: deskMap, timeline, i18n, live, desk };

boot();
