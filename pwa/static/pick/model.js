// The picker app's pure view model: what the screen shows for a batch (the step, the
// big code, the quantity), which endpoint a scan goes to, and the scan ids kept for a
// retry. No DOM, no fetch: tested with node --test (tests/js/pick_model.test.mjs).

/** The step of ``batch`` (GET /pick/batches/{id}) for the screen:
 *  {phase, key, big, params, left, canShort, canSkip}. ``key`` names the instruction
 *  (step.totes, step.bin, step.product, step.tote, step.done) and ``big`` the code to
 *  find, shown large. */
export function stepOf(batch) {
  if (!batch) return { phase: "none", key: "step.none", big: "", params: {}, left: 0, canShort: false, canSkip: false };
  const phase = batch.phase;
  const c = batch.current;
  const inHand = batch.inHand ?? 0;
  const left = c ? Math.max(0, c.target - c.picked - inHand) : 0;
  const base = { phase, params: {}, left, canShort: false, canSkip: false };
  if (phase === "totes") {
    const cart = batch.cart ?? [];
    const next = cart.find((p) => !p.code);
    const bound = cart.filter((p) => p.code).length;
    return { ...base, key: "step.totes", big: next ? String(next.place) : "", params: { place: next?.place ?? "", bound, total: cart.length } };
  }
  if (phase === "done" || !c) return { ...base, phase: "done", key: "step.done", big: "" };
  const params = { bin: c.bin, sku: c.sku, name: c.name, n: left, inHand, tote: c.toteCode ?? "" };
  if (phase === "bin") return { ...base, key: "step.bin", big: c.bin, params, canShort: true, canSkip: inHand === 0 };
  if (phase === "product") return { ...base, key: "step.product", big: c.sku, params, canShort: true, canSkip: inHand === 0 };
  if (phase === "tote") return { ...base, key: "step.tote", big: c.toteCode ?? String(c.tote ?? ""), params };
  return { ...base, key: "step.other", big: "", params };
}

/** Lines done of the batch, as {done, total, units, unitsPicked, unitsShort}. */
export function progressOf(batch) {
  const p = batch?.progress ?? {};
  return {
    done: p.tasksDone ?? 0, total: p.tasks ?? 0,
    units: p.units ?? 0, unitsPicked: p.unitsPicked ?? 0, unitsShort: p.unitsShort ?? 0,
  };
}

/** The quantity a product scan sends: the stepper's value kept within 1..left. */
export function clampQuantity(value, left) {
  const n = Math.trunc(Number(value));
  const max = Math.max(1, left);
  if (!Number.isFinite(n) || n < 1) return 1;
  return Math.min(n, max);
}

/** Where a scanned ``code`` goes in ``phase``: binding the cart's totes, else a scan. */
export function scanEndpoint(batchId, phase) {
  return phase === "totes" ? `/pick/batches/${batchId}/totes` : `/pick/batches/${batchId}/scans`;
}

/**
 * The scan id for an event: a scan that got no answer (no connection) keeps its id, so the
 * same scan (same endpoint, code and quantity) sent again is the same event to the server
 * and is applied once however many of the tries arrived. ``unsent`` is that last scan or null.
 */
export function scanIdFor(unsent, event, uuid) {
  if (unsent && unsent.path === event.path && JSON.stringify(unsent.body) === JSON.stringify(event.body)) return unsent.scanId;
  return uuid();
}

/** What an answer {status, data} to a pick event means for the screen (``sentence(res)``
 *  words a refusal):
 *  {kind: "ok" | "error" | "stale", message, code}. A 200 with ``ok: false`` (the bin
 *  emptied by another picker: a short pick was recorded) is an error to hear, with the
 *  state moved on. */
export function outcomeOf(res, sentence) {
  const data = res?.data ?? {};
  if (res.status === 200 && data.ok) return { kind: "ok", message: data.message ?? "", code: "ok" };
  if (res.status === 200) return { kind: "error", message: sentence(res), code: data.code ?? "error", moved: true };
  if (res.status === 404) return { kind: "stale", message: sentence(res), code: data.code ?? "not_found" };
  return { kind: "error", message: sentence(res), code: data.code ?? String(res.status) };
}

/** The batches to list: the picker's own taken ones first, then the open ones, each by cut-off and number. */
export function sortBatches(list, userId) {
  const mine = (b) => (b.status === "taken" && b.picker?.id === userId ? 0 : 1);
  return [...(list ?? [])].sort((a, b) => mine(a) - mine(b) || String(a.cutoff).localeCompare(String(b.cutoff)) || a.number - b.number || a.id - b.id);
}

/** A refused pick event's sentence: in English the server's own; in another language the
 *  code's short sentence from the catalogue (``code.<code>``) with the server's detail in
 *  brackets (it names the bin, product or tote), else ``fallback(res)``. */
export function pickSentence(res, t, lang, fallback) {
  const data = res?.data ?? {};
  const detail = String(data.detail ?? data.message ?? "").trim();
  const key = `code.${data.code}`;
  if (lang === "en" || !data.code || t(key) === key) return detail && lang === "en" ? detail : fallback(res);
  return detail ? `${t(key)} (${detail.replace(/\.$/, "")}).` : `${t(key)}.`;
}
