// The courier app's state: what the server said, what is queued, the notices
// on screen, the translator, and what is kept in localStorage between visits.
import { createI18n } from "../kit/i18n.js";
import { openQueue } from "../kit/queue.js";
import { problemSentence } from "../kit/api.js";
import kitEn from "../kit/messages/en.js";
import kitNl from "../kit/messages/nl.js";
import en from "./messages/en.js";
import nl from "./messages/nl.js";
import { computeView as viewOf, localDate } from "./model.js";
import { addMessage, dismissMessage, rememberDismissed } from "./inbox.js";

const LS_KEY = "laadbak.courier.v1";

export const i18n = createI18n({ en: { ...kitEn, ...en }, nl: { ...kitNl, ...nl } });
export const t = i18n.t;
export const queue = openQueue("laadbak-courier");
export const $ = (sel, root = document) => root.querySelector(sel);

export const state = {
  user: null,        // {id, username, displayName, role, courierId, hubId}
  day: null,         // the day as the server last told it (GET /courier/today)
  seq: null,         // highest outbox seq applied
  pending: [],       // queued actions, oldest first (mirror of IndexedDB)
  wsState: "closed", // open | connecting | closed
  lastSummary: null, // answer of the last shift end
  battery: null,     // answer of the last battery report (levelPct, charged, rangeLeftKm, reportedAt)
  position: null,
  positionError: null,
  loadFeedback: null,
  replaying: false,
  replayBlocked: null, // why the queue is not moving ("network", "server", "login")
  messages: [],      // the notices on screen
  inbox: [],         // messages from dispatch on screen until dismissed (courier.message)
  dismissed: [],     // ids of the messages closed, so that a replayed event does not bring one back
};

/** Set by app.js: redraw the current screen. */
export const hooks = { render: () => {}, renderMessages: () => {} };

export const computeView = () => viewOf(state.day, state.pending);
export const problemText = (res) => problemSentence(res, t, i18n.lang);

export function loadLocal() {
  try {
    const saved = JSON.parse(localStorage.getItem(LS_KEY) || "null");
    if (!saved) return;
    state.user = saved.user || null;
    state.day = saved.day || null;
    state.seq = saved.seq ?? null;
    state.lastSummary = saved.lastSummary || null;
    state.inbox = Array.isArray(saved.inbox) ? saved.inbox : [];
    state.dismissed = Array.isArray(saved.dismissed) ? saved.dismissed : [];
    const shiftDate = state.day?.date || state.day?.shift?.start?.slice(0, 10);
    if (shiftDate && shiftDate < localDate()) {
      // Yesterday's day: ask the server for a fresh snapshot.
      state.day = null;
      state.seq = null;
      state.lastSummary = null;
      state.inbox = [];
      state.dismissed = [];
    }
  } catch {
    localStorage.removeItem(LS_KEY);
  }
}

let saveTimer = null;
function writeLocal() {
  clearTimeout(saveTimer);
  saveTimer = null;
  try {
    localStorage.setItem(LS_KEY, JSON.stringify({
      user: state.user, day: state.day, seq: state.seq, lastSummary: state.lastSummary, inbox: state.inbox,
      dismissed: state.dismissed,
    }));
  } catch { /* storage full: the server still has everything */ }
}

/** Keep the state across reloads, batched; ``now`` for what a person just did (a reload may follow at once). */
export function saveLocal(now = false) {
  clearTimeout(saveTimer);
  if (now) writeLocal();
  else saveTimer = setTimeout(writeLocal, 50);
}

/** Write a batched save that is still waiting (the page is going away). */
export function flushLocal() {
  if (saveTimer !== null) writeLocal();
}

export const forgetLocal = () => localStorage.removeItem(LS_KEY);

let messageId = 0;

/** Show a notice; errors stay until dismissed, the rest fade after ``ttl`` ms. */
export function notify(kind, text, { sticky = kind === "error", ttl = 4500 } = {}) {
  const id = ++messageId;
  const messages = state.messages;
  messages.push({ id, kind, text, at: Date.now() });
  while (messages.length > 3) {
    // At most three notices on screen: the oldest passing one goes first, errors last.
    const i = messages.findIndex((m) => m.kind !== "error");
    messages.splice(i >= 0 ? i : 0, 1);
  }
  hooks.renderMessages();
  if (!sticky) setTimeout(() => dismiss(id), ttl);
  if (kind === "error" && navigator.vibrate) navigator.vibrate([120, 60, 120]);
  return id;
}

export function dismiss(id) {
  const i = state.messages.findIndex((m) => m.id === id);
  if (i >= 0) state.messages.splice(i, 1);
  hooks.renderMessages();
}

export function setLoadFeedback(kind, text, fade = false) {
  state.loadFeedback = { kind, text, at: Date.now() };
  hooks.render();
  if (fade) {
    const at = state.loadFeedback.at;
    setTimeout(() => {
      if (state.loadFeedback?.at === at) {
        state.loadFeedback = null;
        hooks.render();
      }
    }, 3000);
  }
}

/** A message from dispatch arrived (live or on resume): shown until dismissed. */
export function receiveMessage(message) {
  const before = state.inbox;
  state.inbox = addMessage(before, message, state.dismissed);
  if (state.inbox === before) return;
  saveLocal();
  hooks.renderMessages();
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
}

export function dismissInbox(id) {
  state.inbox = dismissMessage(state.inbox, id);
  state.dismissed = rememberDismissed(state.dismissed, id);
  saveLocal(true);
  hooks.renderMessages();
}
