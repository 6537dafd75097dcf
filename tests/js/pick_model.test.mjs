// The picker app's view model (pwa/static/pick/model.js): the step shown for each phase
// of a batch, the quantity stepper's bounds, where a scan goes, the scan id kept for a
// retry after no answer, and what an answer means for the screen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { stepOf, progressOf, clampQuantity, scanEndpoint, scanIdFor, outcomeOf, sortBatches, pickSentence } from "../../pwa/static/pick/model.js";

const line = (over = {}) => ({
  id: "1@A03-12-2#1", bin: "A03-12-2", sku: "SODA", name: "Soda 33 cl", quantity: 3, target: 3, picked: 0,
  short: 0, orderId: 1, tote: 1, toteCode: "T-0042", state: "open", ...over,
});
const batch = (over = {}) => ({
  id: 7, number: 2, phase: "bin", inHand: 0, current: line(), cart: [{ place: 1, code: "T-0042", orderId: 1 }],
  progress: { tasks: 4, tasksDone: 1, units: 6, unitsPicked: 2, unitsShort: 0 }, ...over,
});

test("binding totes: the next free place on the cart, how many are bound", () => {
  const s = stepOf(batch({ phase: "totes", current: null, cart: [{ place: 1, code: "T-0001" }, { place: 2, code: null }, { place: 3, code: null }] }));
  assert.equal(s.key, "step.totes");
  assert.equal(s.big, "2");
  assert.deepEqual(s.params, { place: 2, bound: 1, total: 3 });
  assert.equal(s.canShort, false);
  assert.equal(s.canSkip, false);
});

test("the bin is the big code; short and skip are offered", () => {
  const s = stepOf(batch());
  assert.equal(s.key, "step.bin");
  assert.equal(s.big, "A03-12-2");
  assert.equal(s.canShort, true);
  assert.equal(s.canSkip, true);
});

test("the product: what is still to take, less what is in hand; no skip with full hands", () => {
  const s = stepOf(batch({ phase: "product", inHand: 1, current: line({ target: 3, picked: 1 }) }));
  assert.equal(s.key, "step.product");
  assert.equal(s.big, "SODA");
  assert.equal(s.left, 1);
  assert.equal(s.params.n, 1);
  assert.equal(s.canShort, true);
  assert.equal(s.canSkip, false);
});

test("the tote shown by its code; done when the batch is", () => {
  const tote = stepOf(batch({ phase: "tote", inHand: 3 }));
  assert.equal(tote.key, "step.tote");
  assert.equal(tote.big, "T-0042");
  assert.equal(tote.canShort, false);
  assert.equal(stepOf(batch({ phase: "done", current: null })).key, "step.done");
  assert.equal(stepOf(null).key, "step.none");
});

test("progress: lines done of the total", () => {
  assert.deepEqual(progressOf(batch()), { done: 1, total: 4, units: 6, unitsPicked: 2, unitsShort: 0 });
  assert.deepEqual(progressOf(null), { done: 0, total: 0, units: 0, unitsPicked: 0, unitsShort: 0 });
});

test("the stepper stays within 1..left", () => {
  assert.equal(clampQuantity(5, 3), 3);
  assert.equal(clampQuantity(0, 3), 1);
  assert.equal(clampQuantity("2", 3), 2);
  assert.equal(clampQuantity(Number.NaN, 3), 1);
  assert.equal(clampQuantity(4, 0), 1);
});

test("a scan while binding totes goes to /totes, else to /scans", () => {
  assert.equal(scanEndpoint(7, "totes"), "/pick/batches/7/totes");
  assert.equal(scanEndpoint(7, "bin"), "/pick/batches/7/scans");
  assert.equal(scanEndpoint(7, "tote"), "/pick/batches/7/scans");
});

test("a scan that got no answer keeps its id when it is scanned again; another scan gets a new one", () => {
  let n = 0;
  const fresh = () => `id-${++n}`;
  const unsent = { path: "/pick/batches/7/scans", body: { code: "A03-12-2" }, scanId: "old" };
  assert.equal(scanIdFor(unsent, { path: "/pick/batches/7/scans", body: { code: "A03-12-2" } }, fresh), "old");
  assert.equal(scanIdFor(unsent, { path: "/pick/batches/7/scans", body: { code: "A03-12-3" } }, fresh), "id-1");
  assert.equal(scanIdFor(unsent, { path: "/pick/batches/7/short", body: { code: "A03-12-2" } }, fresh), "id-2");
  assert.equal(scanIdFor(null, { path: "/pick/batches/7/scans", body: { code: "A03-12-2" } }, fresh), "id-3");
});

test("answers: good, refused with the server's sentence, a bin emptied meanwhile, a batch gone", () => {
  const sentence = (res) => `S:${res.data.detail ?? res.data.message}`;
  assert.deepEqual(outcomeOf({ status: 200, data: { ok: true, message: "Bin A03-12-2." } }, sentence),
    { kind: "ok", message: "Bin A03-12-2.", code: "ok" });
  const wrong = outcomeOf({ status: 422, data: { code: "wrong_bin", detail: "Wrong bin." } }, sentence);
  assert.deepEqual(wrong, { kind: "error", message: "S:Wrong bin.", code: "wrong_bin" });
  const emptied = outcomeOf({ status: 200, data: { ok: false, code: "bin_empty", message: "Bin empty." } }, sentence);
  assert.equal(emptied.kind, "error");
  assert.equal(emptied.message, "S:Bin empty.");
  assert.equal(emptied.moved, true);
  assert.equal(outcomeOf({ status: 404, data: { detail: "No batch 7." } }, sentence).kind, "stale");
});

test("my taken batches first, then the open ones by cut-off and number", () => {
  const list = [
    { id: 1, number: 1, cutoff: "15:00", status: "open" },
    { id: 2, number: 1, cutoff: "11:00", status: "open" },
    { id: 3, number: 2, cutoff: "15:00", status: "taken", picker: { id: 9 } },
  ];
  assert.deepEqual(sortBatches(list, 9).map((b) => b.id), [3, 2, 1]);
  assert.deepEqual(sortBatches(list, 4).map((b) => b.id), [2, 1, 3]);
});

test("a refusal in Dutch: the code's sentence, the server's detail in brackets; in English the server's own", () => {
  const nl = { "code.wrong_bin": "Verkeerde locatie" };
  const t = (key) => nl[key] ?? key;
  const fallback = () => "FALLBACK";
  const res = { status: 422, data: { code: "wrong_bin", detail: "Wrong bin: this is A01-01-1; go to A03-12-2." } };
  assert.equal(pickSentence(res, t, "nl", fallback), "Verkeerde locatie (Wrong bin: this is A01-01-1; go to A03-12-2).");
  assert.equal(pickSentence(res, t, "en", fallback), "Wrong bin: this is A01-01-1; go to A03-12-2.");
  assert.equal(pickSentence({ status: 422, data: { code: "new_code", detail: "X." } }, t, "nl", fallback), "FALLBACK");
  assert.equal(pickSentence({ status: 500, data: null }, t, "en", fallback), "FALLBACK");
});
