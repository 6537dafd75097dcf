// The picker app's live stream: /ws/pick through the kit's worker stream (resume after the
// last seq, reconnect with backoff). Batches released, taken, picked and re-sequenced on
// other devices reach the list and the batch at hand without a scan; the rules are in
// live-model.js. Scans still go over HTTP, one at a time, and their answers stand: an
// event of the same version changes nothing.
import { createWorkerStream } from "../kit/stream.js";
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
  return createWorkerStream({
    path: "/ws/pick",
    onMessage(msg, seq) {
      const st = app.state;
      if (!st.user) return seq;
      const before = st.batch;
      const { model, changed } = applyMessage({ seq, batches: st.batches, batch: st.batch }, msg, st.user.id);
      st.batches = model.batches;
      st.batch = model.batch;
      if (changed.reloadList) app.reloadList();
      if (changed.list || changed.batch) app.changed(changed, before);
      return model.seq;
    },
    connection: app.connection,
    sessionEnded: app.sessionEnded,
  });
}
