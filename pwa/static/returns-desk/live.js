// The returns desk's live stream: /ws/returns through the kit's worker stream (resume after
// the last seq, reconnect with backoff). Lists made, handed over and finished, and parcels sent
// to a supplier on other devices reach the screen shown without a reload; what each message
// reads again is model.js's ``reloadsFor``. Writes still go over HTTP through the queue.
import { createWorkerStream } from "../kit/stream.js";
import { reloadsFor } from "./model.js";

/**
 * @param {object} app
 * @param {object} app.state  the app's state ({user, screen, queue, batch, ...}); ``queue`` is replaced by a snapshot
 * @param {{tasks: () => void, item: (itemId: number) => void, supplier: () => void, draw: () => void}} app.reload
 * @param {(state: string) => void} app.connection  "live" | "reconnecting" | "offline"
 * @param {() => void} app.sessionEnded
 */
export function createReturnsLive(app) {
  return createWorkerStream({
    path: "/ws/returns",
    onMessage(msg, seq) {
      const st = app.state;
      if (!st.user) return seq;
      if (msg?.type === "snapshot") {
        st.queue = msg.data?.tasks ?? [];
        if (st.screen === "tasks") app.reload.draw();
        return msg.seq ?? msg.data?.seq ?? null;
      }
      const todo = reloadsFor(msg, seq, st.screen, st.batch);
      if (todo.tasks) app.reload.tasks();
      if (todo.item !== null) app.reload.item(todo.item);
      if (todo.supplier) app.reload.supplier();
      return msg?.type === "event" && (seq === null || msg.seq > seq) ? msg.seq : seq;
    },
    connection: app.connection,
    sessionEnded: app.sessionEnded,
  });
}
