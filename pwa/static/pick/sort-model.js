// The sort station's logic without its view (sort.js draws it): the phase of a sorting and
// its requests — one at a time, each once (a scan that got no answer is sent again with the
// same Idempotency-Key and scan id when the same code comes again, as pack-model.js does).
// An item for an order without a tote: the order waits for a tote scan, then the item is
// sent again by itself. No DOM here.
import { request } from "../kit/api.js";
import { retryIds } from "./pack-model.js";

/** Which step the sorting is at: "batch" (none open), "tote" (an order waits for a tote),
 *  "items", "done" (every unit sorted). */
export function sortPhase(ss) {
  if (!ss.job) return "batch";
  if (ss.job.status === "done") return "done";
  return ss.needTote ? "tote" : "items";
}

/** A tote label as printed on the totes (T-0042), as the server reads it. */
export const looksLikeTote = (code) => /^T-?\d+$/i.test(String(code).trim());

export function createSortFlow({ t, say, sentence, redraw, focusScan, onLogin }) {
  // placed: where the last unit went ({orderId, tote, left, name}); needTote: the order
  // waiting for a tote; pending: the item code to send again once it has one.
  const ss = { batches: null, job: null, placed: null, needTote: null, pending: null, unsent: null };

  function reset() {
    Object.assign(ss, { job: null, placed: null, needTote: null, pending: null, unsent: null });
  }

  async function post(path, body, match, withScanId = false) {
    const ids = retryIds(ss.unsent, path, match);
    let res;
    try {
      res = await request("POST", path, { body: withScanId ? { ...body, scanId: ids.scanId } : body, key: ids.key });
    } catch {
      ss.unsent = ids;
      say("error", t("net.scanAgain"));
      return null;
    }
    ss.unsent = null;
    if (res.status === 401) { onLogin(); return null; }
    return res;
  }

  async function load() {
    const res = await request("GET", "/sort/batches").catch(() => null);
    if (res?.status === 401) return onLogin();
    if (res?.ok) ss.batches = res.data;
    redraw();
  }

  async function start(batchId) {
    const res = await post("/sort/start", { batchId }, `start:${batchId}`);
    if (res && !res.ok) say("error", sentence(res));
    if (res?.ok) { reset(); ss.job = res.data; say("ok", t("sort.started")); }
    redraw();
    focusScan();
  }

  async function item(code) {
    const res = await post(`/sort/${ss.job.id}/items`, { code }, code, true);
    if (!res) return;
    if (res.ok) {
      const p = res.data;
      ss.job = p.job;
      ss.placed = { orderId: p.orderId, tote: p.tote, left: p.left, name: p.name };
      say("ok", t("sort.putIn", { tote: p.tote }));
    } else if (res.data?.code === "no_tote") {
      ss.needTote = res.data.orderId;
      ss.pending = code;
      ss.placed = null;
      say("ok", t("sort.needTote", { order: ss.needTote }));
    } else {
      say("error", sentence(res));
    }
  }

  async function tote(code) {
    const res = await post(`/sort/${ss.job.id}/totes`, { orderId: ss.needTote, code }, `tote:${ss.needTote}:${code}`);
    if (!res) return;
    if (!res.ok) { say("error", sentence(res)); return; }
    ss.job = res.data;
    const pending = ss.pending;
    ss.needTote = null;
    ss.pending = null;
    if (pending) await item(pending);
  }

  async function onScan(code) {
    const phase = sortPhase(ss);
    if (phase === "items") await item(code);
    else if (phase === "tote") {
      if (looksLikeTote(code)) await tote(code);
      else say("error", t("sort.scanToteFirst", { order: ss.needTote }));
    }
    redraw();
    focusScan();
  }

  return { state: ss, onScan, start, load, reset };
}
