// The packing screen's logic without its view (pack.js draws it): the phase of a
// packing, and the requests — one at a time, each once: a scan that got no answer is
// sent again with the same Idempotency-Key and scan id when the same code comes again.
// No DOM here, so tests/js/pick_pack.test.mjs runs it under node.
import { request } from "../kit/api.js";
import { uuid } from "../kit/queue.js";

/** Which step the packing is at: "tote" (none open), "items", "box" (all scanned), "done". */
export function packPhase(job) {
  if (!job) return "tote";
  if (job.status === "closed") return "done";
  return job.complete ? "box" : "items";
}

/** The key and scan id of a request: a retry of the unanswered one (same path and code)
 *  sends the same again, so a first try that did arrive is applied once. */
export function retryIds(unsent, path, code) {
  if (unsent && unsent.path === path && unsent.code === code) return unsent;
  return { path, code, key: uuid(), scanId: uuid() };
}

export function createPackFlow({ t, say, sentence, redraw, focusScan, onLogin }) {
  const ps = { job: null, box: "", applied: new Set(), unsent: null, busy: false };

  function reset() {
    ps.job = null;
    ps.box = "";
    ps.applied = new Set();
    ps.unsent = null;
  }

  /** POST once: ``match`` (the code, or the body) names the request, so the same one after no
   *  answer goes again with the same ids; ``withScanId`` adds the scan id to the body. */
  async function post(path, body, match, withScanId = false) {
    const ids = retryIds(ps.unsent, path, match);
    let res;
    try {
      res = await request("POST", path, { body: withScanId ? { ...body, scanId: ids.scanId } : body, key: ids.key });
    } catch {
      ps.unsent = ids;
      say("error", t("net.scanAgain"));
      return null;
    }
    ps.unsent = null;
    if (res.status === 401) { onLogin(); return null; }
    if (!res.ok) { say("error", sentence(res)); return null; }
    return res.data;
  }

  function take(job, message) {
    const first = !ps.job || ps.job.id !== job.id;
    ps.job = job;
    if (first || !ps.box) ps.box = job.box || job.suggestedBox?.code || "";
    say("ok", message);
  }

  async function onScan(code) {
    const phase = packPhase(ps.job);
    if (phase === "tote" || phase === "done") {
      const job = await post("/pack/start", { code }, code);
      if (job) { ps.box = ""; ps.applied = new Set(); take(job, t("pack.started", { order: job.order?.reference ?? "" })); }
    } else {
      const job = await post(`/pack/jobs/${ps.job.id}/items`, { code }, code, true);
      if (job) take(job, t("pack.counted"));
    }
    redraw();
    focusScan();
  }

  async function close() {
    const options = [...ps.applied].sort();
    const body = { box: ps.box, options };
    const job = await post(`/pack/jobs/${ps.job.id}/close`, body, JSON.stringify(body));
    if (job) take(job, t("pack.closed"));
    redraw();
  }

  const pick = (box) => { ps.box = box; redraw(); focusScan(); };
  const toggle = (step) => {
    if (ps.applied.has(step)) ps.applied.delete(step); else ps.applied.add(step);
    redraw();
    focusScan();
  };
  const next = () => { reset(); say("ok", ""); redraw(); focusScan(); };

  return { state: ps, onScan, close, pick, toggle, next, reset };
}
