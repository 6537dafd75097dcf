// Laadbak courier app: login, shift, loading, route, stops with proof, live
// stream, offline queue. Plain ES modules, no build step.
// The contract it follows is docs/courier-protocol.md.

import * as queue from "./queue.js";
import { LiveStream } from "./live.js";
import { bindScanForm } from "./scanner.js";
import { SignaturePad } from "./signature.js";
import { PositionTracker, WakeLock } from "./device.js";
import { RouteMap } from "./map.js";
import {
  esc, hhmm, windowText, geoLink, uuid, isOpen, normBarcode, matchBarcode,
  STOP_STATUS_TEXT, FAIL_REASONS, reasonText,
} from "./util.js";

const LS_KEY = "laadbak.courier.v1";
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
const SHRINK_PHOTO_OVER = 1.5 * 1024 * 1024;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
const REPLAY_EVERY_MS = 15_000;
const POLL_EVERY_MS = 30_000;

const $ = (sel, root = document) => root.querySelector(sel);

// ---------------------------------------------------------------- state

const state = {
  user: null,        // {id, username, displayName, role, courierId, hubId}
  day: null,         // the day as the server last told it (GET /courier/today)
  seq: null,         // highest outbox seq applied
  pending: [],       // queued actions, oldest first (mirror of IndexedDB)
  wsState: "closed", // open | connecting | closed
  lastSummary: null, // answer of the last shift end
  position: null,
  positionError: null,
  loadFeedback: null,
  replaying: false,
  replayBlocked: null, // why the queue is not moving ("network", "server", "login")
};

let messageId = 0;
const messages = [];

function loadLocal() {
  try {
    const saved = JSON.parse(localStorage.getItem(LS_KEY) || "null");
    if (!saved) return;
    state.user = saved.user || null;
    state.day = saved.day || null;
    state.seq = saved.seq ?? null;
    state.lastSummary = saved.lastSummary || null;
    const shiftDate = state.day?.date || state.day?.shift?.start?.slice(0, 10);
    if (shiftDate && shiftDate < localDate()) {
      // Yesterday's day: ask the server for a fresh snapshot.
      state.day = null;
      state.seq = null;
      state.lastSummary = null;
    }
  } catch {
    localStorage.removeItem(LS_KEY);
  }
}

let saveTimer = null;
function saveLocal() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    try {
      localStorage.setItem(LS_KEY, JSON.stringify({
        user: state.user, day: state.day, seq: state.seq, lastSummary: state.lastSummary,
      }));
    } catch { /* storage full: the server still has everything */ }
  }, 50);
}

function localDate() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

// ---------------------------------------------------------------- the view: server state + queued actions

/** The day as the courier should see it: the server's state with the queued actions applied on top. */
function computeView() {
  if (!state.day) return null;
  const v = structuredClone(state.day);
  const stops = v.route?.stops || [];
  const byId = new Map(stops.map((s) => [s.stopId, s]));
  for (const item of state.pending) {
    const stop = item.stopId ? byId.get(item.stopId) : null;
    switch (item.kind) {
      case "shift_start":
        if (v.shift && v.shift.status === "planned") {
          v.shift.status = "started";
          v.shift.startedAt = v.shift.startedAt || item.createdAt;
          v.shift._pending = true;
        }
        break;
      case "shift_end":
        if (v.shift && v.shift.status !== "ended") {
          v.shift.status = "ended";
          v.shift.endedAt = item.createdAt;
          v.shift._pending = true;
        }
        break;
      case "scan": {
        const entry = (v.loading || []).find((l) => l.barcode === item.body.barcode);
        if (entry && !entry.loaded) {
          entry.loaded = true;
          entry._pending = true;
        }
        break;
      }
      case "arrive":
        if (stop && stop.status === "planned") {
          stop.status = "arrived";
          stop._pending = true;
        }
        break;
      case "deliver":
      case "collect":
        if (stop && isOpen(stop)) {
          stop.status = item.kind === "deliver" ? "delivered" : "collected";
          for (const p of stop.parcels || []) p.status = stop.status;
          stop._pending = true;
        }
        break;
      case "fail":
        if (stop && isOpen(stop)) {
          stop.status = "failed";
          stop.failReason = item.body.reason;
          stop._pending = true;
        }
        break;
      default:
        break;
    }
  }
  return v;
}

function stopIndex(view, stopId) {
  return (view?.route?.stops || []).findIndex((s) => s.stopId === stopId);
}

// ---------------------------------------------------------------- HTTP

async function api(method, path, { body, key, form, timeout = 15_000 } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers["Idempotency-Key"] = key;
  // Read at send time: a queued action replayed after a new login carries the new session's token.
  const csrf = document.cookie.split("; ").find((c) => c.startsWith("laadbak_csrf="));
  if (csrf && method !== "GET") headers["X-CSRF-Token"] = decodeURIComponent(csrf.slice("laadbak_csrf=".length));
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  try {
    const res = await fetch(path, {
      method, headers, body: payload, credentials: "same-origin", signal: ctrl.signal, cache: "no-store",
    });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 200) }; }
    return { status: res.status, ok: res.ok, data };
  } finally {
    clearTimeout(timer);
  }
}

function problemText(res) {
  const d = res.data || {};
  return d.detail || d.title || `The server answered ${res.status}.`;
}

// ---------------------------------------------------------------- messages

function notify(kind, text, { sticky = kind === "error", ttl = 4500 } = {}) {
  const id = ++messageId;
  messages.push({ id, kind, text, at: Date.now() });
  while (messages.length > 3) {
    // At most three notices on screen: the oldest passing one goes first, errors last.
    const i = messages.findIndex((m) => m.kind !== "error");
    messages.splice(i >= 0 ? i : 0, 1);
  }
  renderMessages();
  if (!sticky) setTimeout(() => dismiss(id), ttl);
  if (kind === "error" && navigator.vibrate) navigator.vibrate([120, 60, 120]);
  return id;
}

function dismiss(id) {
  const i = messages.findIndex((m) => m.id === id);
  if (i >= 0) messages.splice(i, 1);
  renderMessages();
}

function renderMessages() {
  const el = $("#messages");
  el.innerHTML = messages.map((m) => `
    <div class="msg ${m.kind}" role="${m.kind === "error" ? "alert" : "status"}">
      <span>${esc(m.text)}</span>
      <button type="button" class="msg-close" data-dismiss="${m.id}" aria-label="Dismiss">×</button>
    </div>`).join("");
}

// ---------------------------------------------------------------- the queue

async function enqueue(kind, { path, body = {}, stopId = null, label, photo = null }) {
  const item = { key: uuid(), kind, method: "POST", path, body, stopId, label, createdAt: nowLocal() };
  if (photo) {
    item.photo = photo;
    item.photoKey = uuid();
  }
  const stored = await queue.add(item);
  state.pending.push(stored);
  render();
  replay();
  return stored;
}

function nowLocal() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${localDate()}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

async function dropItem(item) {
  await queue.remove(item.n);
  state.pending = state.pending.filter((p) => p.n !== item.n);
}

let retryTimer = null;
let retryDelay = 2_000;

/** After network or server trouble, try again soon (2 s, 4 s, ... up to the regular timer). */
function scheduleRetry() {
  clearTimeout(retryTimer);
  if (!navigator.onLine || state.replayBlocked === "login") return; // the "online" event and login restart it
  retryTimer = setTimeout(replay, retryDelay);
  retryDelay = Math.min(REPLAY_EVERY_MS, retryDelay * 2);
}

/** Send queued actions in order. Network trouble keeps them; a 4xx drops one and tells the courier. */
async function replay() {
  if (state.replaying || !state.user) return;
  state.replaying = true;
  clearTimeout(retryTimer);
  try {
    while (state.pending.length) {
      const item = state.pending[0];
      let res;
      try {
        if (item.kind === "deliver" && item.photo && !item.photoId) {
          const up = await uploadPhoto(item);
          if (up !== true) {
            if (up === "keep") break;
            continue; // dropped
          }
        }
        res = await api(item.method, item.path, { body: item.body, key: item.key });
      } catch {
        state.replayBlocked = "network";
        break;
      }
      if (res.status === 401) {
        state.replayBlocked = "login";
        sessionEnded();
        break;
      }
      if (res.ok) {
        await dropItem(item);
        state.replayBlocked = null;
        retryDelay = 2_000;
        applyResult(item, res.data);
        continue;
      }
      if (res.status >= 500 || res.status === 408 || res.status === 429) {
        state.replayBlocked = "server";
        break;
      }
      // Refused (409 state conflict, 422, 404...): the server's state wins.
      state.replayBlocked = null;
      await dropItem(item);
      refused(item, res);
    }
  } finally {
    state.replaying = false;
    if (state.pending.length && state.replayBlocked) scheduleRetry();
    else retryDelay = 2_000;
    render();
  }
}

/** true: uploaded; "keep": try later; "dropped": refused and removed. */
async function uploadPhoto(item) {
  const form = new FormData();
  form.append("file", item.photo, item.photoName || "proof.jpg");
  const res = await api("POST", "/courier/photos", { form, key: item.photoKey, timeout: 90_000 });
  if (res.status === 401) {
    state.replayBlocked = "login";
    sessionEnded();
    return "keep";
  }
  if (res.ok && res.data?.photoId != null) {
    item.photoId = res.data.photoId;
    item.body = { ...item.body, proof: { ...item.body.proof, photoId: item.photoId } };
    delete item.photo;
    await queue.put(item);
    return true;
  }
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    state.replayBlocked = "server";
    return "keep";
  }
  await dropItem(item);
  notify("error", `${item.label}: the photo was refused — ${problemText(res)}`);
  return "dropped";
}

function refused(item, res) {
  if (item.kind === "scan") {
    const text = res.status === 409
      ? `${item.body.barcode} is NOT on this route — leave it at the hub.`
      : `${item.body.barcode}: ${problemText(res)}`;
    setLoadFeedback("error", text);
    if (currentRoute().name !== "load") notify("error", text);
    else if (navigator.vibrate) navigator.vibrate([200, 80, 200]);
    return;
  }
  notify("error", `${item.label} was not accepted: ${problemText(res)}`);
}

function applyResult(item, data) {
  if (!data) return;
  switch (item.kind) {
    case "shift_start":
      if (state.day && data.id != null) state.day.shift = data;
      setTimeout(() => tracker.maybeSend(true), 0); // the server takes positions from now on
      break;
    case "shift_end":
      if (state.day && data.shift) state.day.shift = data.shift;
      if (data.summary) {
        state.lastSummary = { summary: data.summary, at: nowLocal() };
        showSummary(data.summary);
      }
      break;
    case "scan": {
      const entry = (state.day?.loading || []).find((l) => l.barcode === data.barcode);
      if (entry) entry.loaded = true;
      markParcel(data.barcode, "loaded");
      if (data.warning) setLoadFeedback("warn", data.warning.includes(data.barcode) ? data.warning : `${data.barcode}: ${data.warning}.`);
      else if (currentRoute().name === "load") setLoadFeedback("ok", `${data.barcode} loaded.`, true);
      break;
    }
    case "arrive":
    case "deliver":
    case "fail":
    case "collect":
      if (data.stopId != null) replaceStop(data);
      break;
    default:
      break;
  }
  saveLocal();
}

function replaceStop(stop) {
  const stops = state.day?.route?.stops;
  if (!stops) return;
  const i = stops.findIndex((s) => s.stopId === stop.stopId);
  if (i >= 0) stops[i] = stop;
}

function markParcel(barcode, status) {
  for (const s of state.day?.route?.stops || []) {
    for (const p of s.parcels || []) {
      if (p.barcode === barcode && p.status === "expected") p.status = status;
    }
  }
}

// ---------------------------------------------------------------- the live stream

const SESSION_ENDED = 4401;

const live = new LiveStream({
  lastSeq: () => (state.day ? state.seq : null),
  onMessage: onLive,
  onState: (s, info) => {
    state.wsState = s;
    renderConn();
    if (s === "open") {
      tracker.maybeSend(true);
      replay();
    }
    // 4401: the server ended this session (logout elsewhere, password changed, account disabled).
    if (s === "closed" && info && info.code === SESSION_ENDED) sessionEnded();
    else if (s === "closed" && info && info.failuresBeforeMessage >= 3 && navigator.onLine) checkSession();
  },
});

function onLive(msg) {
  switch (msg.type) {
    case "snapshot":
      state.day = msg.data;
      state.seq = msg.seq ?? msg.data?.seq ?? null;
      saveLocal();
      render();
      break;
    case "event":
      if (!state.day) return;
      if (state.seq !== null && msg.seq <= state.seq) return; // already applied
      applyEvent(msg.kind, msg.data);
      state.seq = msg.seq;
      saveLocal();
      render();
      break;
    case "error":
      if (msg.code === "forbidden") notify("error", msg.message || "The live stream refused this account.");
      // A position refused just now (e.g. the server had not seen the shift start yet): send the next fix again.
      else if (msg.code === "bad_message" && tracker.lastSent && Date.now() - tracker.lastSent.at < 3_000) tracker.lastSent = null;
      break;
    case "caught_up": // everything missed has arrived: what is shown is current
      state.caughtUp = msg.seq;
      break;
    default: // ping, pong: the stream keeps its own liveness
      break;
  }
}


// What changed on the route and why, in one line for the courier.
function routeChangeText(change) {
  if (!change) return "Your route was changed by dispatch.";
  const parts = [];
  if (change.added?.length) parts.push(`${change.added.length} stop${change.added.length > 1 ? "s" : ""} added`);
  if (change.removed?.length) parts.push(`${change.removed.length} stop${change.removed.length > 1 ? "s" : ""} taken off`);
  if (!parts.length) parts.push("new order of stops");
  return `Route changed (${parts.join(", ")}): ${change.reason}.`;
}

function applyEvent(kind, data) {
  const day = state.day;
  switch (kind) {
    case "stop.updated":
      replaceStop(data);
      break;
    case "route.planned":
    case "route.updated": {
      const old = day.route;
      // A lower version is a route already replaced (old news): keep what we have.
      if (old && data && old.date === data.date && data.version < old.version) break;
      day.route = data;
      if (kind === "route.updated" && old && data && old.version !== data.version) {
        notify("info", routeChangeText(data.change), { ttl: 10000 });
      } else if (kind === "route.planned") {
        notify("info", "Your route is planned.", { ttl: 6000 });
      }
      // The loading list follows the route: refresh it when the stops changed, not for new ETAs.
      const ids = (r) => (r?.stops || []).map((x) => x.stopId).join(",");
      if (!old || !data || old.version !== data.version || ids(old) !== ids(data)) fetchToday();
      break;
    }
    case "shift.updated":
      day.shift = data;
      if (data?.status === "started") setTimeout(() => tracker.maybeSend(true), 0);
      break;
    case "parcel.loaded": {
      const entry = (day.loading || []).find((l) => l.barcode === data.barcode);
      if (entry) entry.loaded = true;
      markParcel(data.barcode, "loaded");
      break;
    }
    default:
      break;
  }
}

async function fetchToday() {
  try {
    const res = await api("GET", "/courier/today");
    if (res.status === 401) return sessionEnded();
    if (res.ok && res.data) {
      const seq = res.data.seq ?? null;
      if (state.seq === null || state.day === null || (seq !== null && seq >= state.seq)) {
        state.day = res.data;
        state.seq = seq;
        saveLocal();
        render();
      }
    } else if (res.status === 404 && !state.day) {
      state.dayProblem = problemText(res);
      render();
    }
  } catch { /* offline: the cached day stays */ }
}

// ---------------------------------------------------------------- session

async function checkSession() {
  try {
    const res = await api("GET", "/auth/me");
    if (res.status === 401) sessionEnded();
    else if (res.ok && res.data) {
      state.user = res.data;
      saveLocal();
      renderTop();
    }
  } catch { /* offline */ }
}

function sessionEnded() {
  if (!state.user && !$("#login").hidden) return;
  live.stop();
  showLogin("Your session has ended; log in again. Queued actions are kept.");
}

function showLogin(reason) {
  $("#main").hidden = true;
  $("#tabs").hidden = true;
  $("#login").hidden = false;
  const err = $("#login-error");
  err.hidden = !reason;
  err.textContent = reason || "";
  if (state.user?.username) $("#username").value = state.user.username;
  renderConn();
}

async function login(ev) {
  ev.preventDefault();
  const form = ev.target;
  const err = $("#login-error");
  err.hidden = true;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const res = await api("POST", "/auth/login", {
      body: { username: form.username.value.trim(), password: form.password.value },
    });
    if (!res.ok) {
      err.textContent = problemText(res);
      err.hidden = false;
      return;
    }
    const user = res.data.user;
    if (user.role !== "courier" && user.role !== "admin") {
      err.textContent = `This app is for couriers; you are logged in as ${user.role}.`;
      err.hidden = false;
      return;
    }
    if (state.user && state.user.id !== user.id) await forgetEverything();
    state.user = user;
    form.password.value = "";
    saveLocal();
    startSession();
  } catch {
    err.textContent = "No connection to the server. Logging in needs the network once.";
    err.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  const n = state.pending.length;
  const ok = await ask(
    n ? `<p><strong>${n} action${n > 1 ? "s have" : " has"} not reached the server yet.</strong></p>
         <p>Logging out now throws ${n > 1 ? "them" : "it"} away. Wait until the phone is online to keep ${n > 1 ? "them" : "it"}.</p>`
      : "<p>Log out of the courier app?</p>",
    [["cancel", "Stay"], ["ok", n ? "Log out anyway" : "Log out", "danger"]],
  );
  if (ok !== "ok") return;
  try { await api("POST", "/auth/logout", { body: {} }); } catch { /* offline: the cookie expires */ }
  await forgetEverything();
  showLogin();
}

async function forgetEverything() {
  live.stop();
  tracker.stop();
  await wake.disable();
  await queue.clear();
  state.pending = [];
  state.user = null;
  state.day = null;
  state.seq = null;
  state.lastSummary = null;
  localStorage.removeItem(LS_KEY);
  if ("caches" in window) {
    for (const name of await caches.keys()) if (name.startsWith("laadbak-api")) await caches.delete(name);
  }
}

function startSession() {
  $("#login").hidden = true;
  $("#main").hidden = false;
  live.start();
  fetchToday();
  replay();
  route();
}

// ---------------------------------------------------------------- routing

function currentRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const name = parts[0] || "route";
  if (name === "stop" && parts[1]) {
    return { name: parts[2] ? "task" : "stop", stopId: Number(parts[1]), task: parts[2] || null };
  }
  return { name: ["route", "load", "map", "shift"].includes(name) ? name : "route" };
}

let task = null; // the open deliver / fail / collect form

function route() {
  if (!state.user) return;
  const r = currentRoute();
  // Passing notices belong to the screen they were shown on; errors stay until dismissed.
  // (A notice raised by the action that navigated here is kept.)
  for (const m of messages.filter((x) => x.kind !== "error" && Date.now() - x.at > 1000)) dismiss(m.id);
  for (const sec of document.querySelectorAll("#main > .screen")) sec.hidden = sec.dataset.screen !== r.name;
  for (const a of document.querySelectorAll("#tabs a")) {
    a.classList.toggle("active", a.dataset.tab === r.name);
    if (a.dataset.tab === r.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  $("#tabs").hidden = r.name === "task";
  document.body.dataset.screen = r.name;
  if (r.name === "task") buildTask(r.stopId, r.task);
  else task = null;
  render();
  if (r.name === "map") map.shown();
  if (r.name !== "task") window.scrollTo(0, 0);
}

// ---------------------------------------------------------------- rendering

function render() {
  if (!state.user) return;
  const view = computeView();
  renderTop();
  const r = currentRoute();
  if (r.name === "route") renderRoute(view);
  if (r.name === "load") renderLoad(view);
  if (r.name === "shift") renderShift(view);
  if (r.name === "stop") renderStop(view, r.stopId);
  if (r.name === "task") updateTask(view);
  if (r.name === "map") map.update(state.day, view);
  syncDevices(view);
}

function renderTop() {
  $("#who").textContent = state.day?.courier?.name || state.user?.displayName || "Laadbak";
  const n = state.pending.length;
  const pill = $("#pending");
  pill.hidden = n === 0;
  pill.textContent = `${n} pending`;
  pill.title = n ? "Actions saved on this phone, not yet confirmed by the server" : "";
  renderConn();
}

function renderConn() {
  const el = $("#conn");
  let s;
  if (!navigator.onLine) s = "offline";
  else if (state.wsState === "open") s = "online";
  else if (!state.user) s = "offline";
  else s = "reconnecting";
  el.className = `pill conn ${s}`;
  el.textContent = s;
  el.dataset.state = s;
  document.body.dataset.conn = s;
}

function parcelsText(stop) {
  const n = (stop.parcels || []).length;
  return `${n} parcel${n === 1 ? "" : "s"}`;
}

function whoText(stop) {
  if (stop.kind === "pickup") return `Pick up at ${stop.shopName || "shop"}`;
  return stop.customerName || "";
}

function stopChips(stop, { showPlanned = true } = {}) {
  let html = stop.status === "planned" && !showPlanned ? ""
    : `<span class="chip st-${esc(stop.status)}">${esc(STOP_STATUS_TEXT[stop.status] || stop.status)}</span>`;
  if (stop.late && isOpen(stop)) html += `<span class="chip late">Late</span>`;
  if (stop._pending) html += `<span class="chip pending">Not sent</span>`;
  return html;
}

function renderRoute(v) {
  const el = $("#screen-route");
  if (!v) {
    el.innerHTML = `<div class="card empty">${esc(state.dayProblem || "Loading your day…")}</div>`;
    return;
  }
  const stops = v.route?.stops || [];
  const next = stops.find(isOpen);
  const done = stops.filter((s) => !isOpen(s)).length;
  let html = "";
  if (v.shift?.status === "planned") {
    const toLoad = (v.loading || []).filter((l) => !l.loaded).length;
    html += `
      <div class="card shift-card">
        <p><strong>Shift ${esc(hhmm(v.shift.start))}–${esc(hhmm(v.shift.end))}</strong> at ${esc(v.hub?.name || "the hub")}</p>
        <p class="sub">${toLoad ? `${toLoad} parcel${toLoad > 1 ? "s" : ""} still to load. ` : "Bike loaded. "}Start when you leave the hub.</p>
        <div class="row">
          ${toLoad ? `<a class="btn big" href="#/load">Load bike</a>` : ""}
          <button class="btn big primary" type="button" data-action="shift-start">Start shift</button>
        </div>
      </div>`;
  }
  if (!v.shift && !v.route) {
    html += `<div class="card empty">No shift for you today.</div>`;
  } else if (!v.route) {
    html += `<div class="card empty">No route planned yet. It appears here as soon as dispatch plans the day.</div>`;
  } else if (next) {
    html += nextStopCard(next, stops.indexOf(next), stops.length);
  } else if (stops.length) {
    html += `
      <div class="card all-done">
        <h2>All ${stops.length} stops done</h2>
        <p>Ride back to ${esc(v.hub?.name || "the hub")}${v.shift?.status === "started" ? " and end your shift" : ""}.</p>
        ${v.shift?.status === "started" ? `<button class="btn big primary" type="button" data-action="shift-end">End shift</button>` : ""}
      </div>`;
  }
  if (stops.length) {
    // Open stops in riding order first; what is done goes below, out of the way.
    const rows = stops.map((s, i) => [s, i]);
    const open = rows.filter(([s]) => isOpen(s));
    const closed = rows.filter(([s]) => !isOpen(s));
    html += `<h2 class="list-title">Stops <span>${done} of ${stops.length} done</span></h2>
      <ol class="list stops" id="stop-list">${open.map(([s, i]) => stopRow(s, i, s === next)).join("")}
      ${closed.length ? `<li class="list-sep" aria-hidden="true">Done</li>` : ""}
      ${closed.map(([s, i]) => stopRow(s, i, false)).join("")}</ol>`;
  }
  if (v.shift?.status === "started" && next) {
    html += `<div class="bottom-actions"><button class="btn big ghost" type="button" data-action="shift-end">End shift</button></div>`;
  }
  el.innerHTML = html;
}

function nextStopCard(s, i, total) {
  return `
    <article class="card next-stop${s.late ? " is-late" : ""}" id="next-stop" data-stop="${s.stopId}">
      <div class="next-label"><span>Next stop · ${i + 1} of ${total}${s.status === "arrived" ? " · arrived" : ""}</span>
        ${s.late ? `<span class="late-flag">LATE</span>` : ""}</div>
      <div class="next-head">
        <span class="num big">${i + 1}</span>
        <div>
          <h2 class="next-address">${esc(s.address)}</h2>
          <p class="sub">${esc(whoText(s))} · ${parcelsText(s)}</p>
        </div>
      </div>
      <div class="times">
        <div><span>ETA</span><strong>${esc(hhmm(s.eta))}</strong></div>
        <div><span>Window</span><strong>${esc(windowText(s))}</strong></div>
      </div>
      <div class="row">
        <a class="btn big nav" href="${esc(geoLink(s.lat, s.lon, s.address))}">Navigate</a>
        <a class="btn big primary" href="#/stop/${s.stopId}">Open stop</a>
      </div>
    </article>`;
}

function stopRow(s, i, isNext) {
  return `
    <li class="stop st-${esc(s.status)}${isNext ? " is-next" : ""}${s.late && isOpen(s) ? " is-late" : ""}" data-stop="${s.stopId}">
      <a href="#/stop/${s.stopId}">
        <span class="num">${i + 1}</span>
        <span class="main">
          <span class="addr">${esc(s.address)}</span>
          <span class="sub">${esc(whoText(s))} · ${parcelsText(s)}</span>
          <span class="chips">${stopChips(s, { showPlanned: false })}</span>
        </span>
        <span class="when"><strong>${esc(hhmm(s.eta))}</strong><small>${esc(windowText(s))}</small></span>
      </a>
    </li>`;
}

function renderLoad(v) {
  const list = [...(v?.loading || [])].sort((a, b) => a.loadOrder - b.loadOrder);
  const loaded = list.filter((l) => l.loaded).length;
  $("#load-progress").innerHTML = list.length
    ? `<strong>${loaded}</strong> of ${list.length} loaded`
    : "Nothing to load.";
  const stops = v?.route?.stops || [];
  const nextToLoad = list.find((l) => !l.loaded);
  $("#load-list").innerHTML = list.map((l) => {
    const i = stops.findIndex((s) => s.stopId === l.stopId);
    const stop = stops[i];
    return `
      <li class="load-item${l.loaded ? " loaded" : ""}${l === nextToLoad ? " is-next" : ""}" data-barcode="${esc(l.barcode)}">
        <span class="num">${l.loadOrder}</span>
        <span class="main">
          <span class="barcode">${esc(l.barcode)}</span>
          <span class="sub">${stop ? `Stop ${i + 1} · ${esc(stop.address)}` : `Stop ${l.stopId}`}</span>
        </span>
        <span class="tick" role="img" aria-label="${l.loaded ? "loaded" : "not loaded"}">${l.loaded ? "✓" : ""}${l._pending ? "<small>not sent</small>" : ""}</span>
      </li>`;
  }).join("");
  renderLoadFeedback();
}

function setLoadFeedback(kind, text, fade = false) {
  state.loadFeedback = { kind, text, at: Date.now() };
  renderLoadFeedback();
  if (fade) {
    const at = state.loadFeedback.at;
    setTimeout(() => {
      if (state.loadFeedback?.at === at) {
        state.loadFeedback = null;
        renderLoadFeedback();
      }
    }, 3000);
  }
}

function renderLoadFeedback() {
  const f = state.loadFeedback;
  const el = $("#load-feedback");
  el.className = `feedback${f ? ` ${f.kind}` : ""}`;
  el.textContent = f ? f.text : "";
}

function onLoadScan(raw) {
  const view = computeView();
  const list = view?.loading || [];
  const barcode = matchBarcode(raw, list.map((l) => l.barcode));
  if (!barcode) {
    // Not on our list as we know it: the server decides (and answers 409 if it is not ours).
    setLoadFeedback("info", `Checking ${normBarcode(raw)}…`);
    enqueue("scan", { path: "/courier/loading/scan", body: { barcode: normBarcode(raw) }, label: `Scan ${normBarcode(raw)}` });
    return;
  }
  const entry = list.find((l) => l.barcode === barcode);
  if (entry.loaded) {
    setLoadFeedback("warn", `${barcode} is already loaded.`);
    if (navigator.vibrate) navigator.vibrate([60, 40, 60]);
    return;
  }
  if (navigator.vibrate) navigator.vibrate(40);
  setLoadFeedback("ok", `${barcode} → load as number ${entry.loadOrder}.`, true);
  enqueue("scan", { path: "/courier/loading/scan", body: { barcode }, label: `Scan ${barcode}` });
}

function renderStop(v, stopId) {
  const el = $("#screen-stop");
  const stops = v?.route?.stops || [];
  const i = stops.findIndex((s) => s.stopId === stopId);
  if (i < 0) {
    el.innerHTML = `<div class="screen-head"><a class="back" href="#/route">‹ Route</a></div>
      <div class="card empty">This stop is not on your route (any more).</div>`;
    return;
  }
  const s = stops[i];
  const open = isOpen(s);
  const pickup = s.kind === "pickup";
  el.innerHTML = `
    <div class="screen-head"><a class="back" href="#/route">‹ Route</a></div>
    <article class="card stop-detail${s.late && open ? " is-late" : ""}" id="stop-detail" data-status="${esc(s.status)}">
      <div class="next-head">
        <span class="num big">${i + 1}</span>
        <div>
          <h1>${esc(s.address)}</h1>
          <p class="sub">${esc(whoText(s))}${pickup ? "" : ` · ${esc(s.customerName ? "delivery" : "")}`}</p>
        </div>
      </div>
      <div class="chips">${stopChips(s)}</div>
      <div class="times">
        <div><span>ETA</span><strong>${esc(hhmm(s.eta))}</strong></div>
        <div><span>Window</span><strong>${esc(windowText(s))}</strong></div>
      </div>
      ${s.failReason ? `<p class="fail-reason">Failed: ${esc(reasonText(s.failReason))}</p>` : ""}
      <h2 class="list-title">${parcelsText(s)}</h2>
      <ul class="parcels">${(s.parcels || []).map((p) => `
        <li><span class="barcode">${esc(p.barcode)}</span><span class="chip">${esc(p.status)}</span></li>`).join("")}
      </ul>
    </article>
    <div class="action-bar">
      <a class="btn big nav" href="${esc(geoLink(s.lat, s.lon, s.address))}">Navigate</a>
      ${s.status === "planned" ? `<button class="btn big" type="button" data-action="arrive" data-stop="${s.stopId}">Arrived</button>` : ""}
      ${open && !pickup ? `<a class="btn big primary" href="#/stop/${s.stopId}/deliver">Deliver</a>` : ""}
      ${open && pickup ? `<a class="btn big primary" href="#/stop/${s.stopId}/collect">Collect</a>` : ""}
      ${open ? `<a class="btn big danger" href="#/stop/${s.stopId}/fail">Failed…</a>` : ""}
    </div>`;
}

function renderShift(v) {
  const el = $("#screen-shift");
  const shift = v?.shift;
  const stops = v?.route?.stops || [];
  const count = (st) => stops.filter((s) => s.status === st).length;
  const sum = state.lastSummary?.summary;
  el.innerHTML = `
    <div class="screen-head"><h1>Shift</h1></div>
    <div class="card">
      <p><strong>${esc(v?.courier?.name || state.user?.displayName || "")}</strong> · ${esc(v?.hub?.name || "")}</p>
      ${shift ? `
        <p>Planned ${esc(hhmm(shift.start))}–${esc(hhmm(shift.end))}</p>
        <p>Status: <span class="chip shift-${esc(shift.status)}">${esc(shift.status)}</span>${shift._pending ? ` <span class="chip pending">Not sent</span>` : ""}</p>
        ${shift.startedAt ? `<p>Started ${esc(hhmm(shift.startedAt))}${shift.endedAt ? ` · ended ${esc(hhmm(shift.endedAt))}` : ""}</p>` : ""}
        <div class="row">
          ${shift.status === "planned" ? `<button class="btn big primary" type="button" data-action="shift-start">Start shift</button>` : ""}
          ${shift.status === "started" ? `<button class="btn big danger" type="button" data-action="shift-end">End shift</button>` : ""}
        </div>` : `<p>No shift today.</p>`}
    </div>
    <div class="card figures">
      <div><strong>${count("delivered")}</strong><span>delivered</span></div>
      <div><strong>${count("failed")}</strong><span>failed</span></div>
      <div><strong>${count("collected")}</strong><span>collected</span></div>
      <div><strong>${stops.filter(isOpen).length}</strong><span>to do</span></div>
    </div>
    ${sum ? `<div class="card"><h2>Shift summary</h2>${summaryHtml(sum)}</div>` : ""}
    <div class="card">
      <h2>Sync</h2>
      <p>Connection: <strong>${esc($("#conn").dataset.state || "")}</strong></p>
      <p>${state.pending.length ? `${state.pending.length} action(s) waiting to be sent:` : "Everything is sent."}</p>
      ${state.pending.length ? `<ol class="pending-list">${state.pending.map((p) => `<li>${esc(p.label)}</li>`).join("")}</ol>
        <button class="btn" type="button" data-action="replay">Send now</button>` : ""}
      <p class="sub">Position: ${state.position ? `±${Math.round(state.position.accuracy || 0)} m` : esc(state.positionError || (shift?.status === "started" ? "waiting for GPS…" : "shared during the shift"))}
        · Screen stays on: ${wake.held ? "yes" : wake.supported ? "during the shift" : "not supported"}</p>
    </div>
    <div class="bottom-actions"><button class="btn big ghost" type="button" data-action="logout">Log out</button></div>`;
}

function summaryHtml(s) {
  const km = s.distanceM != null ? (s.distanceM / 1000).toFixed(1) : "–";
  return `<div class="figures">
    <div><strong>${s.delivered ?? 0}</strong><span>delivered</span></div>
    <div><strong>${s.failed ?? 0}</strong><span>failed</span></div>
    <div><strong>${s.collected ?? 0}</strong><span>collected</span></div>
    <div><strong>${s.remaining ?? 0}</strong><span>remaining</span></div>
    <div><strong>${km}</strong><span>km</span></div>
  </div>`;
}

function showSummary(summary) {
  ask(`<h2>Shift ended</h2>${summaryHtml(summary)}<p>Thanks for riding today.</p>`, [["ok", "Done", "primary"]]);
}

// ---------------------------------------------------------------- shift actions

async function startShift() {
  const v = computeView();
  if (!v?.shift || v.shift.status !== "planned") return;
  const toLoad = (v.loading || []).filter((l) => !l.loaded).length;
  if (toLoad) {
    const ok = await ask(`<p><strong>${toLoad} parcel${toLoad > 1 ? "s are" : " is"} not loaded yet.</strong></p><p>Start the shift anyway?</p>`,
      [["cancel", "Back to loading"], ["ok", "Start", "primary"]]);
    if (ok !== "ok") {
      if (ok === "cancel") location.hash = "#/load";
      return;
    }
  }
  await enqueue("shift_start", { path: "/courier/shift/start", body: {}, label: "Start shift" });
  notify("ok", navigator.onLine ? "Shift started. Ride safe!" : "Shift started (will be sent when online).");
}

async function endShift() {
  const v = computeView();
  if (!v?.shift || v.shift.status !== "started") return;
  const open = (v.route?.stops || []).filter(isOpen).length;
  const ok = await ask(
    open ? `<p><strong>${open} stop${open > 1 ? "s are" : " is"} still open.</strong></p><p>End the shift anyway? Dispatch will re-plan them.</p>`
      : "<p>End your shift now?</p>",
    [["cancel", "Not yet"], ["ok", "End shift", "danger"]],
  );
  if (ok !== "ok") return;
  await enqueue("shift_end", { path: "/courier/shift/end", body: {}, label: "End shift" });
  if (!navigator.onLine) notify("info", "Shift end saved; the summary appears once it reaches the server.");
}

async function arrive(stopId) {
  const v = computeView();
  const i = stopIndex(v, stopId);
  if (i < 0) return;
  const s = v.route.stops[i];
  await enqueue("arrive", { path: `/courier/stops/${stopId}/arrive`, body: {}, stopId, label: `Arrive at stop ${i + 1} (${s.address})` });
}

// ---------------------------------------------------------------- deliver / fail / collect

function buildTask(stopId, kind) {
  const view = computeView();
  const i = stopIndex(view, stopId);
  const el = $("#screen-task");
  if (i < 0 || !["deliver", "fail", "collect"].includes(kind)) {
    el.innerHTML = `<div class="screen-head"><a class="back" href="#/route">‹ Route</a></div>
      <div class="card empty">This stop is not on your route.</div>`;
    task = null;
    return;
  }
  const s = view.route.stops[i];
  task = { stopId, kind, index: i, scanned: new Set(), proof: "signature", reason: null, pad: null, photo: null, busy: false };
  const title = { deliver: "Deliver", fail: "Could not complete", collect: "Collect at shop" }[kind];
  let body = "";
  if (kind === "deliver" || kind === "collect") {
    body += `
      <section class="card">
        <h2>Scan the parcels <span class="count" id="task-count"></span></h2>
        <form class="scan" id="task-scan" autocomplete="off">
          <input id="task-input" class="scan-input" name="barcode" placeholder="Scan or type barcode"
                 autocomplete="off" autocapitalize="characters" spellcheck="false" enterkeyhint="done"
                 aria-label="Parcel barcode">
          <button class="btn camera-btn" type="button" data-camera="task-input" hidden aria-label="Scan with camera">📷</button>
          <button class="btn primary" type="submit">Add</button>
        </form>
        <div id="task-feedback" class="feedback" aria-live="assertive"></div>
        <ul class="parcels checklist" id="task-parcels"></ul>
      </section>`;
  }
  if (kind === "deliver") {
    body += `
      <section class="card">
        <h2>Proof of delivery</h2>
        <div class="seg" role="tablist">
          <button type="button" role="tab" data-proof="signature">Signature</button>
          <button type="button" role="tab" data-proof="photo">Photo</button>
          <button type="button" role="tab" data-proof="recipient">Name</button>
          <button type="button" role="tab" data-proof="pickup_point">Pickup point</button>
        </div>
        <div class="pane" data-pane="signature">
          <div class="sig-wrap"><canvas id="sig" class="sig" aria-label="Signature pad: sign with your finger"></canvas>
            <span class="sig-hint" id="sig-hint">Sign here</span></div>
          <div class="row"><button type="button" class="btn" id="sig-clear">Clear</button></div>
          <label>Recipient's name (optional)<input id="sig-name" autocomplete="off"></label>
        </div>
        <div class="pane" data-pane="photo" hidden>
          <label class="btn big file">Take a photo
            <input type="file" id="photo-input" accept="image/*" capture="environment">
          </label>
          <img id="photo-preview" class="photo-preview" alt="Proof photo" hidden>
          <p id="photo-info" class="sub"></p>
        </div>
        <div class="pane" data-pane="recipient" hidden>
          <label>Recipient's name<input id="recipient-name" autocomplete="off" placeholder="Who took the parcels"></label>
        </div>
        <div class="pane" data-pane="pickup_point" hidden>
          <p>Handed over at the parcel shop or put in the locker.</p>
        </div>
      </section>`;
  }
  if (kind === "fail") {
    body += `
      <section class="card">
        <h2>Why?</h2>
        <div class="reasons" id="reasons">
          ${FAIL_REASONS.map(([code, text]) => `<button type="button" class="btn reason" data-reason="${code}" aria-pressed="false">${esc(text)}</button>`).join("")}
        </div>
        <label><span>Note <span id="note-need" class="sub">(optional)</span></span>
          <textarea id="fail-note" rows="3" placeholder="What happened?"></textarea>
        </label>
      </section>`;
  }
  const confirmText = { deliver: "Confirm delivery", fail: "Confirm failed stop", collect: "Confirm collected" }[kind];
  el.innerHTML = `
    <div class="screen-head">
      <a class="back" href="#/stop/${stopId}">‹ Stop ${i + 1}</a>
      <h1>${title}</h1>
      <p class="sub">${i + 1}. ${esc(s.address)} · ${esc(whoText(s))}</p>
    </div>
    <div id="task-closed" class="card notice" hidden></div>
    ${body}
    <div class="action-bar sticky">
      <p class="hint" id="task-missing"></p>
      <button class="btn big ${kind === "fail" ? "danger" : "primary"}" type="button" id="task-confirm" disabled>${confirmText}</button>
    </div>`;

  if (kind === "deliver" || kind === "collect") {
    bindScanForm($("#task-scan"), onTaskScan);
  }
  if (kind === "deliver") {
    for (const b of el.querySelectorAll("[data-proof]")) b.addEventListener("click", () => selectProof(b.dataset.proof));
    $("#sig-clear").addEventListener("click", () => task.pad?.clear());
    $("#photo-input").addEventListener("change", onPhoto);
    for (const id of ["sig-name", "recipient-name"]) $(`#${id}`).addEventListener("input", () => updateTask(computeView()));
    selectProof("signature");
  }
  if (kind === "fail") {
    for (const b of el.querySelectorAll("[data-reason]")) {
      b.addEventListener("click", () => {
        task.reason = b.dataset.reason;
        for (const o of el.querySelectorAll("[data-reason]")) o.setAttribute("aria-pressed", String(o === b));
        $("#note-need").textContent = task.reason === "other" ? "(required)" : "(optional)";
        if (task.reason === "other") $("#fail-note").focus();
        updateTask(computeView());
      });
    }
    $("#fail-note").addEventListener("input", () => updateTask(computeView()));
  }
  $("#task-confirm").addEventListener("click", confirmTask);
  window.scrollTo(0, 0);
}

function selectProof(kind) {
  task.proof = kind;
  for (const b of document.querySelectorAll("[data-proof]")) {
    b.setAttribute("aria-selected", String(b.dataset.proof === kind));
  }
  for (const p of document.querySelectorAll("[data-pane]")) p.hidden = p.dataset.pane !== kind;
  if (kind === "signature" && !task.pad) {
    task.pad = new SignaturePad($("#sig"), {
      onChange: (pad) => {
        const hint = $("#sig-hint");
        if (hint) hint.hidden = !pad.isEmpty;
        updateTask(computeView());
      },
    });
  }
  updateTask(computeView());
}

function taskStop(view) {
  const stops = view?.route?.stops || [];
  return stops.find((s) => s.stopId === task?.stopId) || null;
}

function onTaskScan(raw) {
  const s = taskStop(computeView());
  if (!s) return;
  const feedback = $("#task-feedback");
  const barcode = matchBarcode(raw, (s.parcels || []).map((p) => p.barcode));
  if (!barcode) {
    feedback.className = "feedback error";
    feedback.textContent = `${normBarcode(raw)} is not a parcel of this stop.`;
    if (navigator.vibrate) navigator.vibrate([200, 80, 200]);
    return;
  }
  if (task.scanned.has(barcode)) {
    feedback.className = "feedback warn";
    feedback.textContent = `${barcode} is already scanned.`;
  } else {
    task.scanned.add(barcode);
    feedback.className = "feedback ok";
    feedback.textContent = `${barcode} ✓`;
    if (navigator.vibrate) navigator.vibrate(40);
  }
  updateTask(computeView());
}

async function onPhoto(ev) {
  const file = ev.target.files?.[0];
  const info = $("#photo-info");
  const preview = $("#photo-preview");
  task.photo = null;
  preview.hidden = true;
  if (!file) return updateTask(computeView());
  info.textContent = "Preparing the photo…";
  try {
    const blob = await preparePhoto(file);
    task.photo = blob;
    if (task.photoUrl) URL.revokeObjectURL(task.photoUrl);
    task.photoUrl = URL.createObjectURL(blob);
    preview.src = task.photoUrl;
    preview.hidden = false;
    info.textContent = `${(blob.size / 1024 / 1024).toFixed(1)} MB — ready.`;
  } catch (err) {
    info.textContent = err.message;
    ev.target.value = "";
  }
  updateTask(computeView());
}

/** A photo the server takes: JPEG, PNG or WebP of at most 5 MB; big photos are shrunk first. */
async function preparePhoto(file) {
  const okType = PHOTO_TYPES.includes(file.type);
  if (okType && file.size <= SHRINK_PHOTO_OVER) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((res) => canvas.toBlob(res, "image/jpeg", 0.82));
    if (blob && blob.size <= MAX_PHOTO_BYTES) return blob;
  } catch { /* could not decode: judge the original */ }
  if (!okType) throw new Error("This picture format cannot be sent; take a JPEG, PNG or WebP photo.");
  if (file.size > MAX_PHOTO_BYTES) {
    throw new Error(`The photo is ${(file.size / 1024 / 1024).toFixed(1)} MB; at most 5 MB can be sent. Take it again.`);
  }
  return file;
}

/** What is still missing before the task can be confirmed (empty: ready). */
function taskMissing(s) {
  const missing = [];
  if (task.kind === "deliver" || task.kind === "collect") {
    const left = (s.parcels || []).filter((p) => !task.scanned.has(p.barcode)).length;
    if (left) missing.push(`scan ${left} more parcel${left > 1 ? "s" : ""}`);
  }
  if (task.kind === "deliver") {
    if (task.proof === "signature" && (!task.pad || task.pad.isEmpty)) missing.push("the signature");
    if (task.proof === "photo" && !task.photo) missing.push("a photo");
    if (task.proof === "recipient" && !$("#recipient-name").value.trim()) missing.push("the recipient's name");
  }
  if (task.kind === "fail") {
    if (!task.reason) missing.push("a reason");
    else if (task.reason === "other" && !$("#fail-note").value.trim()) missing.push("a note");
  }
  return missing;
}

function updateTask(view) {
  if (!task) return;
  const s = taskStop(view);
  const closed = $("#task-closed");
  const confirm = $("#task-confirm");
  if (!s || !isOpen(s)) {
    closed.hidden = false;
    closed.textContent = s ? `This stop is already ${STOP_STATUS_TEXT[s.status] || s.status}.` : "This stop is no longer on your route.";
    confirm.disabled = true;
    $("#task-missing").textContent = "";
    return;
  }
  closed.hidden = true;
  const list = $("#task-parcels");
  if (list) {
    const parcels = s.parcels || [];
    list.innerHTML = parcels.map((p) => `
      <li class="${task.scanned.has(p.barcode) ? "done" : ""}"><span class="tick">${task.scanned.has(p.barcode) ? "✓" : ""}</span>
        <span class="barcode">${esc(p.barcode)}</span></li>`).join("");
    $("#task-count").textContent = `${parcels.filter((p) => task.scanned.has(p.barcode)).length}/${parcels.length}`;
  }
  const missing = taskMissing(s);
  confirm.disabled = missing.length > 0 || task.busy;
  $("#task-missing").textContent = missing.length ? `Still needed: ${missing.join(", ")}.` : "";
}

async function confirmTask() {
  const view = computeView();
  const s = taskStop(view);
  if (!task || !s || !isOpen(s) || taskMissing(s).length || task.busy) return;
  task.busy = true;
  const n = task.index + 1;
  const where = `stop ${n} (${s.address})`;
  const barcodes = (s.parcels || []).map((p) => p.barcode);
  try {
    if (task.kind === "deliver") {
      let proof;
      let photo = null;
      if (task.proof === "signature") {
        proof = { kind: "signature", signature: task.pad.toDataURL() };
        const name = $("#sig-name").value.trim();
        if (name) proof.recipientName = name;
      } else if (task.proof === "photo") {
        proof = { kind: "photo", photoId: null };
        photo = task.photo;
      } else if (task.proof === "recipient") {
        proof = { kind: "recipient", recipientName: $("#recipient-name").value.trim() };
      } else {
        proof = { kind: "pickup_point" };
      }
      await enqueue("deliver", { path: `/courier/stops/${s.stopId}/deliver`, body: { barcodes, proof }, stopId: s.stopId, label: `Deliver ${where}`, photo });
      notify("ok", `Stop ${n} delivered${navigator.onLine ? "" : " — saved, sent when online"}.`);
    } else if (task.kind === "collect") {
      await enqueue("collect", { path: `/courier/stops/${s.stopId}/collect`, body: { barcodes }, stopId: s.stopId, label: `Collect at ${where}` });
      notify("ok", `Collected at stop ${n}${navigator.onLine ? "" : " — saved, sent when online"}.`);
    } else {
      const body = { reason: task.reason };
      const note = $("#fail-note").value.trim();
      if (note) body.note = note;
      await enqueue("fail", { path: `/courier/stops/${s.stopId}/fail`, body, stopId: s.stopId, label: `Fail ${where}` });
      notify("info", `Stop ${n} marked failed: ${reasonText(task.reason)}${navigator.onLine ? "" : " — saved, sent when online"}.`);
    }
    location.hash = "#/route";
  } finally {
    if (task) task.busy = false;
  }
}

// ---------------------------------------------------------------- dialogs

function ask(html, buttons) {
  const dialog = $("#dialog");
  $("#dialog-body").innerHTML = html;
  $("#dialog-actions").innerHTML = buttons.map(([value, text, cls]) =>
    `<button class="btn big ${cls || ""}" value="${esc(value)}">${esc(text)}</button>`).join("");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue || "cancel"), { once: true });
    dialog.returnValue = "";
    if (dialog.open) dialog.close();
    dialog.showModal();
  });
}

// ---------------------------------------------------------------- position and wake lock

const map = new RouteMap($("#map"));
const wake = new WakeLock();
const tracker = new PositionTracker({
  // The server takes positions once it knows the shift started (not on the phone's optimistic word).
  send: (msg) => state.day?.shift?.status === "started" && live.send(msg),
  onPosition: (pos, error) => {
    state.position = pos;
    state.positionError = error;
    map.setPosition(pos);
  },
});

function syncDevices(view) {
  const onShift = view?.shift?.status === "started";
  if (onShift) {
    tracker.start();
    if (!wake.wanted) wake.enable();
  } else {
    tracker.stop();
    if (wake.wanted) wake.disable();
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("#login-form").addEventListener("submit", login);
  bindScanForm($("#load-scan"), onLoadScan);
  document.addEventListener("click", (ev) => {
    const dismissBtn = ev.target.closest("[data-dismiss]");
    if (dismissBtn) return dismiss(Number(dismissBtn.dataset.dismiss));
    const el = ev.target.closest("[data-action]");
    if (!el) return;
    const action = el.dataset.action;
    if (action === "shift-start") startShift();
    else if (action === "shift-end") endShift();
    else if (action === "arrive") arrive(Number(el.dataset.stop));
    else if (action === "logout") logout();
    else if (action === "replay") { live.kick(); replay(); }
  });
  $("#map-me").addEventListener("click", () => map.centreOnMe(state.position));
  $("#map-fit").addEventListener("click", () => map.fit());
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => {
    renderConn();
    live.kick();
    replay();
    fetchToday();
  });
  window.addEventListener("offline", renderConn);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.user) {
      live.kick();
      replay();
    }
  });
  setInterval(() => { if (state.pending.length && navigator.onLine) replay(); }, REPLAY_EVERY_MS);
  // Without the live stream (blocked by a proxy, server restarting), still refresh now and then.
  setInterval(() => { if (state.user && navigator.onLine && state.wsState !== "open") fetchToday(); }, POLL_EVERY_MS);
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/courier/sw.js", { scope: "/courier/" });
  } catch { /* the app works without offline start */ }
}

async function boot() {
  wire();
  registerServiceWorker();
  loadLocal();
  try {
    state.pending = await queue.all();
  } catch {
    state.pending = [];
    notify("error", "This browser keeps no offline storage (private mode?): actions are sent only while online.");
  }
  if (state.user) {
    startSession();
    checkSession();
    return;
  }
  try {
    const res = await api("GET", "/auth/me");
    if (res.ok && res.data && (res.data.role === "courier" || res.data.role === "admin")) {
      state.user = res.data;
      saveLocal();
      startSession();
      return;
    }
  } catch { /* offline and never logged in */ }
  showLogin(navigator.onLine ? "" : "You are offline. Logging in needs the network once.");
}

// For the browser test and for debugging from the console.
window.laadbak = { state, computeView, replay, queue, map, live };

boot();
