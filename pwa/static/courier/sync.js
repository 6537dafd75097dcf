// Keeping the phone and the server in step: the queue of actions replayed in
// order with their idempotency keys, and the live stream resumed after the last seq.
import { request } from "../kit/api.js";
import { uuid, replayOutcome } from "../kit/queue.js";
import { LiveStream, afterClose, isNewEvent, isStaleRoute } from "../kit/stream.js";
import { state, queue, hooks, t, notify, saveLocal, setLoadFeedback, problemText, receiveMessage } from "./store.js";
import { nowLocal, parseRoute, routeChangeText, stopsChanged } from "./model.js";
import { tracker } from "./devices.js";
import { sessionEnded, checkSession } from "./session.js";
import { showSummary } from "./dialog.js";

const REPLAY_EVERY_MS = 15_000;

export async function enqueue(kind, { path, body = {}, stopId = null, label, photo = null }) {
  const item = { key: uuid(), kind, method: "POST", path, body, stopId, label, createdAt: nowLocal() };
  if (photo) {
    item.photo = photo;
    item.photoKey = uuid();
  }
  const stored = await queue.add(item);
  state.pending.push(stored);
  hooks.render();
  replay();
  return stored;
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
export async function replay() {
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
        res = await request(item.method, item.path, { body: item.body, key: item.key });
      } catch {
        state.replayBlocked = "network";
        break;
      }
      const outcome = replayOutcome(res.status);
      if (outcome === "login") {
        state.replayBlocked = "login";
        sessionEnded();
        break;
      }
      if (outcome === "done") {
        await dropItem(item);
        state.replayBlocked = null;
        retryDelay = 2_000;
        applyResult(item, res.data);
        continue;
      }
      if (outcome === "retry") {
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
    hooks.render();
  }
}

/** true: uploaded; "keep": try later; "dropped": refused and removed. */
async function uploadPhoto(item) {
  const form = new FormData();
  form.append("file", item.photo, item.photoName || "proof.jpg");
  const res = await request("POST", "/courier/photos", { form, key: item.photoKey, timeout: 90_000 });
  const outcome = replayOutcome(res.status);
  if (outcome === "login") {
    state.replayBlocked = "login";
    sessionEnded();
    return "keep";
  }
  if (outcome === "done" && res.data?.photoId != null) {
    item.photoId = res.data.photoId;
    item.body = { ...item.body, proof: { ...item.body.proof, photoId: item.photoId } };
    delete item.photo;
    await queue.put(item);
    return true;
  }
  if (outcome === "retry") {
    state.replayBlocked = "server";
    return "keep";
  }
  await dropItem(item);
  notify("error", t("refused.photo", { label: item.label, why: problemText(res) }));
  return "dropped";
}

function refused(item, res) {
  if (item.kind === "scan") {
    const text = res.status === 409 ? t("load.notOurs", { barcode: item.body.barcode })
      : `${item.body.barcode}: ${problemText(res)}`;
    setLoadFeedback("error", text);
    if (parseRoute(location.hash).name !== "load") notify("error", text);
    else if (navigator.vibrate) navigator.vibrate([200, 80, 200]);
    return;
  }
  notify("error", t("refused.action", { label: item.label, why: problemText(res) }));
}

function applyResult(item, data) {
  if (!data) return;
  switch (item.kind) {
    case "shift_start":
      if (state.day && data.id != null) state.day.shift = data;
      setTimeout(() => tracker.maybeSend(true), 0); // the server takes positions from now on
      break;
    case "battery":
      state.battery = data;
      notify("ok", data.charged ? t("battery.sentCharged") : t("battery.sent", { pct: data.levelPct }));
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
      else if (parseRoute(location.hash).name === "load") setLoadFeedback("ok", t("load.done", { barcode: data.barcode }), true);
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

export const live = new LiveStream({
  path: "/ws/courier",
  lastSeq: () => (state.day ? state.seq : null),
  onMessage: onLive,
  onState: (s, info) => {
    state.wsState = s;
    hooks.render();
    if (s === "open") {
      tracker.maybeSend(true);
      replay();
    }
    if (s !== "closed" || !info) return;
    // 4401: the server ended this session (logout elsewhere, password changed, account disabled).
    const next = afterClose(info, navigator.onLine);
    if (next === "login") sessionEnded();
    else if (next === "check-session") checkSession();
  },
});

function onLive(msg) {
  switch (msg.type) {
    case "snapshot":
      state.day = msg.data;
      state.seq = msg.seq ?? msg.data?.seq ?? null;
      saveLocal();
      hooks.render();
      break;
    case "event":
      if (!state.day) return;
      if (!isNewEvent(state.seq, msg.seq)) return; // already applied
      applyEvent(msg.kind, msg.data);
      state.seq = msg.seq;
      saveLocal();
      hooks.render();
      break;
    case "error":
      if (msg.code === "forbidden") notify("error", msg.message || t("live.forbidden"));
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

function applyEvent(kind, data) {
  const day = state.day;
  switch (kind) {
    case "stop.updated":
      replaceStop(data);
      break;
    case "route.planned":
    case "route.updated": {
      const old = day.route;
      if (isStaleRoute(old, data)) break; // a route already replaced: keep what we have
      day.route = data;
      if (kind === "route.updated" && old && data && old.version !== data.version) {
        notify("info", routeChangeText(data.change, t), { ttl: 10000 });
      } else if (kind === "route.planned") {
        notify("info", t("route.planned"), { ttl: 6000 });
      }
      // The loading list follows the route: refresh it when the stops changed, not for new ETAs.
      if (stopsChanged(old, data)) fetchToday();
      break;
    }
    case "shift.updated":
      day.shift = data;
      if (data?.status === "started") setTimeout(() => tracker.maybeSend(true), 0);
      break;
    case "courier.message": // from dispatch: a banner until dismissed (the text is shown as text)
      receiveMessage(data);
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

export async function fetchToday() {
  try {
    const res = await request("GET", "/courier/today");
    if (res.status === 401) return sessionEnded();
    if (res.ok && res.data) {
      const seq = res.data.seq ?? null;
      if (state.seq === null || state.day === null || (seq !== null && seq >= state.seq)) {
        state.day = res.data;
        state.seq = seq;
        saveLocal();
        hooks.render();
      }
    } else if (res.status === 404 && !state.day) {
      state.dayProblem = problemText(res);
      hooks.render();
    }
  } catch { /* offline: the cached day stays */ }
}
