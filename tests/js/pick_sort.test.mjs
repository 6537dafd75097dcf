// The sort station's logic (pwa/static/pick/sort-model.js): the phases, and an item for an
// order without a tote: the tote scanned next, then the item sent again by itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sortPhase, looksLikeTote, createSortFlow } from "../../pwa/static/pick/sort-model.js";

test("the phase follows the sorting: batch, items, tote, done", () => {
  assert.equal(sortPhase({ job: null }), "batch");
  assert.equal(sortPhase({ job: { status: "open" }, needTote: null }), "items");
  assert.equal(sortPhase({ job: { status: "open" }, needTote: 7 }), "tote");
  assert.equal(sortPhase({ job: { status: "done" }, needTote: null }), "done");
  assert.ok(looksLikeTote("T-0042") && !looksLikeTote("8712345000014"));
});

test("an order without a tote: the tote scanned, then the item goes in", async () => {
  const sent = [];
  const job = { id: 3, status: "open", left: 1, orders: [] };
  let hasTote = false;
  globalThis.fetch = async (path, init) => {
    const body = JSON.parse(init.body);
    sent.push({ path, body });
    if (path.endsWith("/totes")) { hasTote = true; return { status: 200, ok: true, text: async () => JSON.stringify(job) }; }
    if (!hasTote) {
      const problem = { status: 422, code: "no_tote", orderId: 7, detail: "no tote" };
      return { status: 422, ok: false, text: async () => JSON.stringify(problem) };
    }
    const placed = { orderId: 7, tote: "T-0042", left: 0, name: "Soda", job: { ...job, status: "done", left: 0 } };
    return { status: 200, ok: true, text: async () => JSON.stringify(placed) };
  };
  const said = [];
  const flow = createSortFlow({
    t: (k) => k, say: (kind, text) => said.push([kind, text]), sentence: () => "refused",
    redraw: () => {}, focusScan: () => {}, onLogin: () => {},
  });
  flow.state.job = job;
  await flow.onScan("8712345000014");
  assert.equal(sortPhase(flow.state), "tote");
  await flow.onScan("8712345000014"); // not a tote: told to scan one, nothing sent
  assert.deepEqual(said.at(-1), ["error", "sort.scanToteFirst"]);
  assert.equal(sent.length, 1);
  await flow.onScan("T-0042");
  assert.deepEqual(sent.map((s) => s.path), ["/sort/3/items", "/sort/3/totes", "/sort/3/items"]);
  assert.deepEqual(sent[1].body, { orderId: 7, code: "T-0042" });
  assert.notEqual(sent[2].body.scanId, sent[0].body.scanId); // a new try: the first counted nothing
  assert.equal(flow.state.placed.tote, "T-0042");
  assert.equal(sortPhase(flow.state), "done");
});
