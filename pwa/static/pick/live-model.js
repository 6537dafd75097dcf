// The picker app's live stream, the pure part: how a message of /ws/pick (a snapshot or
// an event of the hub's warehouse, docs/courier-protocol.md "The picker stream") changes
// the app's list and the batch at hand. No DOM, no socket: tested with node --test
// (tests/js/pick_live.test.mjs).
import { isNewEvent } from "../kit/stream.js";

const SUMMARY = ["id", "hubId", "date", "cutoff", "number", "mode", "status", "picker", "orderIds", "totes", "version", "progress"];

/** A batch as the list holds it (GET /pick/batches): the summary fields of a full view. */
export function summaryOf(view) {
  return Object.fromEntries(SUMMARY.filter((k) => k in view).map((k) => [k, view[k]]));
}

/** Whether the picker's list shows ``batch``: open ones, and their own taken ones. */
export function listed(batch, userId) {
  return batch.status === "open" || (batch.status === "taken" && batch.picker?.id === userId);
}

/** The batch at hand after ``incoming`` (a full view) came: the newer version wins, another batch changes nothing. */
export function newerBatch(held, incoming) {
  if (!held || !incoming || held.id !== incoming.id) return held;
  return (incoming.version ?? 0) > (held.version ?? 0) ? incoming : held;
}

/** The list after one batch changed: updated in place, added, or left out when no longer the picker's to work. */
export function upsert(list, view, userId) {
  const rest = (list ?? []).filter((b) => b.id !== view.id);
  if (!listed(view, userId)) return rest;
  const old = (list ?? []).find((b) => b.id === view.id);
  if (old && (old.version ?? 0) > (view.version ?? 0)) return list; // older news
  return [...rest, summaryOf(view)];
}

/**
 * Apply one stream message to ``model`` ({seq, batches, batch}) for the picker ``userId``.
 * Answers {model, changed: {list, batch, reloadList, resequenced}}; ``model`` is a new object
 * when anything changed. An event at or below ``seq`` (a repeat after a resume) changes nothing.
 */
export function applyMessage(model, msg, userId) {
  const changed = { list: false, batch: false, reloadList: false, resequenced: false };
  if (msg?.type === "snapshot") {
    const data = msg.data ?? {};
    let batch = model.batch;
    for (const view of data.mine ?? []) batch = newerBatch(batch, view);
    changed.list = true;
    changed.batch = batch !== model.batch;
    return { model: { ...model, seq: msg.seq ?? data.seq ?? null, batches: data.batches ?? [], batch }, changed };
  }
  if (msg?.type !== "event" || !isNewEvent(model.seq, msg.seq)) return { model, changed };
  const next = { ...model, seq: msg.seq };
  const kind = String(msg.kind ?? "");
  if (kind === "wave.released") {
    changed.reloadList = true; // new batches: the list is read again
  } else if (kind.startsWith("pick.batch.") && msg.data?.batch) {
    const view = msg.data.batch;
    if (model.batches !== null && model.batches !== undefined) {
      next.batches = upsert(model.batches, view, userId);
      changed.list = next.batches !== model.batches;
    }
    next.batch = newerBatch(model.batch, view);
    changed.batch = next.batch !== model.batch;
    changed.resequenced = changed.batch && kind === "pick.batch.resequenced";
  }
  return { model: next, changed };
}
