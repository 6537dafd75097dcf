// What the panels share: their small state, sending a request with the server's sentence
// on a refusal, and the hub and day of the desk.
import { problemSentence, networkSentence } from "../../kit/api.js";

/** The panels' own state (what the store does not hold): loaded details, dialogs, figures. */
export const ui = {
  detail: { key: "", sig: "", loading: false, data: null, error: "" },
  courier: { id: null, trail: null, messages: [], error: "", loading: false },
  alerts: { showAcknowledged: false, busy: new Set(), error: "", own: [] },
  figures: { data: null, error: "", at: 0 },
  replanBusy: false,
};

/** The hub id and the day the desk shows. */
export function hubAndDate(desk) {
  const s = desk.store.getState();
  return { hubId: s.hub?.id, date: s.date, state: s };
}

/**
 * Send a request through the desk's api (``key``: its Idempotency-Key); resolves to {ok, status, data, sentence}: ``sentence`` is the
 * server's refusal as one sentence (kit problemSentence), or the network's, when not ok.
 */
export async function send(desk, method, path, body, { timeout, key } = {}) {
  const opts = body === undefined ? {} : { body };
  if (timeout) opts.timeout = timeout;
  if (key) opts.key = key; // an Idempotency-Key, for the writes that want one
  try {
    const res = await desk.api(method, path, opts);
    if (res.ok) return { ...res, sentence: "" };
    return { ...res, sentence: problemSentence(res, desk.t, desk.lang) };
  } catch {
    return { ok: false, status: 0, data: null, sentence: networkSentence(desk.t) };
  }
}

/** Requests that re-plan the day (a cold solver may take a while) wait this long for the answer. */
export const REPLAN_TIMEOUT_MS = 90_000;

/** "HH:MM" of the desk's clock (state.now, the server's local time), ``plusMin`` later, on 5 minutes. */
export function deskTime(desk, plusMin = 0) {
  const m = /T(\d{2}):(\d{2})/.exec(String(desk.store.getState().now || ""));
  const at = new Date();
  const mins = (m ? Number(m[1]) * 60 + Number(m[2]) : at.getHours() * 60 + at.getMinutes()) + plusMin;
  const r = Math.min(Math.ceil(mins / 5) * 5, 23 * 60 + 55);
  return `${String(Math.floor(r / 60)).padStart(2, "0")}:${String(r % 60).padStart(2, "0")}`;
}
