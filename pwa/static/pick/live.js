// The picker app's live stream: /ws/pick through the kit's LiveStream (resume after the
// last seq, reconnect with backoff). Batches released, taken, picked and re-sequenced on
// other devices reach the list and the batch at hand without a scan; the rules are in
// live-model.js. Scans still go over HTTP, one at a time, and their answers stand: an
// event of the same version changes nothing.
import { LiveStream, afterClose } from "../kit/stream.js";
import { applyMessage } from "./live-model.js";

/**
 * @param {object} app
 * @param {object} app.state  the app's state ({user, batches, batch, ...}); ``batches`` and ``batch`` are replaced
 * @param {(changed: object, before: object|null) => void} app.changed  redraw after a change (``before``: the batch held)
 * @param {() => void} app.reloadList  GET /pick/batches again
 * @param {(state: string) => void} app.connection  "live" | "reconnecting" | "offline"
 * @param {() => void} app.sessionEnded
 */
export function createPickLive(app) {
  let seq = null;
  let shown = "offline";
  const show = (s) => { shown = s; app.connection(s); };
  const stream = new LiveStream({
    path: "/ws/pick",
    lastSeq: () => seq,
    onMessage(msg) {
      const st = app.state;
      if (!st.user) return;
      const before = st.batch;
      const { model, changed } = applyMessage({ seq, batches: st.batches, batch: st.batch }, msg, st.user.id);
      seq = model.seq;
      st.batches = model.batches;
      st.batch = model.batch;
      if (changed.reloadList) app.reloadList();
      if (changed.list || changed.batch) app.changed(changed, before);
    },
    onState(s, info) {
      show(s === "open" ? "live" : s === "connecting" || navigator.onLine ? "reconnecting" : "offline");
      if (s === "closed" && info && afterClose(info, navigator.onLine) === "login") app.sessionEnded();
    },
  });
  return {
    start() { stream.start(); },
    stop() { seq = null; stream.stop(); },
    kick() { stream.kick(); },
    relabel() { app.connection(shown); }, // the language changed
    get seq() { return seq; },
  };
}
