// The returns desk's live stream: /ws/returns through the kit's LiveStream (resume after the
// last seq, reconnect with backoff). Lists made, handed over and finished, and parcels sent
// to a supplier on other devices reach the screen shown without a reload; what each message
// reads again is model.js's ``reloadsFor``. Writes still go over HTTP through the queue.
import { LiveStream, afterClose } from "../kit/stream.js";
import { reloadsFor } from "./model.js";

/**
 * @param {object} app
 * @param {object} app.state  the app's state ({user, screen, queue, batch, ...}); ``queue`` is replaced by a snapshot
 * @param {{tasks: () => void, item: (itemId: number) => void, supplier: () => void, draw: () => void}} app.reload
 * @param {(state: string) => void} app.connection  "live" | "reconnecting" | "offline"
 * @param {() => void} app.sessionEnded
 */
export function createReturnsLive(app) {
  let seq = null;
  let shown = "offline";
  const show = (s) => { shown = s; app.connection(s); };
  const stream = new LiveStream({
    path: "/ws/returns",
    lastSeq: () => seq,
    onMessage(msg) {
      const st = app.state;
      if (!st.user) return;
      if (msg?.type === "snapshot") {
        seq = msg.seq ?? msg.data?.seq ?? null;
        st.queue = msg.data?.tasks ?? [];
        if (st.screen === "tasks") app.reload.draw();
        return;
      }
      const todo = reloadsFor(msg, seq, st.screen, st.batch);
      if (msg?.type === "event" && (seq === null || msg.seq > seq)) seq = msg.seq;
      if (todo.tasks) app.reload.tasks();
      if (todo.item !== null) app.reload.item(todo.item);
      if (todo.supplier) app.reload.supplier();
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
  };
}
