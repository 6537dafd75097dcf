// The packing screen's logic (pwa/static/pick/pack.js): the phase of a packing, and a scan
// that got no answer sent again with the same Idempotency-Key and scan id when the same
// code is scanned again (so a first try that did arrive counts once), a new code fresh ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { packPhase, retryIds, createPackFlow } from "../../pwa/static/pick/pack-model.js";

test("the phase follows the packing: tote, items, box, done", () => {
  assert.equal(packPhase(null), "tote");
  assert.equal(packPhase({ status: "open", complete: false }), "items");
  assert.equal(packPhase({ status: "open", complete: true }), "box");
  assert.equal(packPhase({ status: "closed", complete: true }), "done");
});

test("a retry of the unanswered request keeps its ids; another code gets new ones", () => {
  const first = retryIds(null, "/pack/jobs/1/items", "871");
  assert.ok(first.key && first.scanId && first.key !== first.scanId);
  assert.deepEqual(retryIds(first, "/pack/jobs/1/items", "871"), first);
  const other = retryIds(first, "/pack/jobs/1/items", "872");
  assert.notEqual(other.key, first.key);
  assert.notEqual(other.scanId, first.scanId);
});

test("no connection: the same scan again sends the same key and scan id", async () => {
  const sent = [];
  let online = false;
  globalThis.fetch = async (path, init) => {
    sent.push({ path, key: init.headers["Idempotency-Key"], body: JSON.parse(init.body) });
    if (!online) throw new TypeError("offline");
    const job = { id: 1, status: "open", complete: false, items: [], box: "S", suggestedBox: { code: "S" } };
    return { status: 200, ok: true, text: async () => JSON.stringify(job) };
  };
  const said = [];
  const packing = createPackFlow({
    t: (k) => k, say: (kind, text) => said.push([kind, text]), sentence: () => "refused",
    redraw: () => {}, focusScan: () => {}, onLogin: () => {},
  });
  await packing.onScan("T-0042");
  assert.deepEqual(said.at(-1), ["error", "net.scanAgain"]);
  assert.equal(packing.state.job, null);
  await packing.onScan("T-0043"); // another tote: a request of its own, new ids
  assert.notEqual(sent[1].key, sent[0].key);
  sent.splice(0, 1);
  online = true;
  await packing.onScan("T-0043");
  assert.equal(sent.length, 2);
  assert.equal(sent[1].key, sent[0].key);
  assert.deepEqual(sent[1].body, { code: "T-0043" });
  assert.equal(packing.state.job.id, 1);
  assert.equal(packing.state.box, "S");
  // an item scan carries a scan id; lost once, the same one goes again
  online = false;
  await packing.onScan("8712345000014");
  online = true;
  await packing.onScan("8712345000014");
  assert.equal(sent[3].path, "/pack/jobs/1/items");
  assert.equal(sent[3].body.scanId, sent[2].body.scanId);
  assert.equal(sent[3].key, sent[2].key);
});
