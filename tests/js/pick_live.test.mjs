// The picker app's live stream rules (pwa/static/pick/live-model.js): a snapshot replaces
// the list and brings the batch at hand up to date; an event changes the batch at hand
// only with a newer version, keeps the list to what the picker may work, and a repeat
// after a resume changes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMessage, upsert, newerBatch, summaryOf, listed } from "../../pwa/static/pick/live-model.js";

const ME = 5;
const view = (over = {}) => ({
  id: 7, hubId: 1, date: "2026-12-02", cutoff: "15:00", number: 2, mode: "sort_while_picking", status: "taken",
  picker: { id: ME, name: "Pim" }, orderIds: [1], totes: 1, version: 3,
  progress: { tasks: 2, tasksDone: 0, units: 4, unitsPicked: 0, unitsShort: 0 },
  phase: "bin", current: { id: "a", bin: "A01-01-1" }, tasks: [{ id: "a", bin: "A01-01-1" }, { id: "b", bin: "A02-05-1" }],
  ...over,
});
const event = (seq, kind, batch) => ({ type: "event", seq, kind, data: { batchId: batch.id, version: batch.version, batch } });

test("a snapshot sets the seq and the list and brings the batch at hand up to date", () => {
  const held = view({ version: 2 });
  const { model, changed } = applyMessage(
    { seq: null, batches: null, batch: held },
    { type: "snapshot", seq: 40, data: { seq: 40, batches: [summaryOf(view())], mine: [view({ version: 4 })] } },
    ME,
  );
  assert.equal(model.seq, 40);
  assert.equal(model.batches.length, 1);
  assert.equal(model.batch.version, 4);
  assert.ok(changed.list && changed.batch);
});

test("a re-sequenced batch replaces the one at hand: the next bin changes without a scan", () => {
  const start = { seq: 40, batches: [summaryOf(view())], batch: view() };
  const moved = view({ version: 4, current: { id: "b", bin: "A02-05-1" }, tasks: [{ id: "b", bin: "A02-05-1" }] });
  const { model, changed } = applyMessage(start, event(41, "pick.batch.resequenced", moved), ME);
  assert.equal(model.batch.current.bin, "A02-05-1");
  assert.equal(model.seq, 41);
  assert.ok(changed.batch && changed.resequenced);
  assert.equal(model.batches[0].version, 4);
  assert.equal(model.batches[0].tasks, undefined); // the list keeps summaries
});

test("a repeat after a resume, and an older version, change nothing", () => {
  const start = { seq: 41, batches: [], batch: view({ version: 4 }) };
  const again = applyMessage(start, event(41, "pick.batch.changed", view({ version: 5 })), ME);
  assert.equal(again.model, start);
  const older = applyMessage(start, event(42, "pick.batch.changed", view({ version: 4, phase: "product" })), ME);
  assert.equal(older.model.batch, start.batch);
  assert.equal(older.changed.batch, false);
  assert.equal(older.model.seq, 42);
});

test("another picker's batch leaves the list; an open one joins it; a wave asks for the list again", () => {
  const open = view({ id: 8, status: "open", picker: null, version: 1 });
  let { model } = applyMessage({ seq: 1, batches: [], batch: null }, event(2, "pick.batch.changed", open), ME);
  assert.deepEqual(model.batches.map((b) => b.id), [8]);
  const theirs = view({ id: 8, status: "taken", picker: { id: 99, name: "Other" }, version: 2 });
  ({ model } = applyMessage(model, event(3, "pick.batch.taken", theirs), ME));
  assert.deepEqual(model.batches, []);
  const { changed } = applyMessage(model, { type: "event", seq: 4, kind: "wave.released", data: { batchIds: [9] } }, ME);
  assert.ok(changed.reloadList);
});

test("the helpers", () => {
  assert.equal(listed(view({ status: "done" }), ME), false);
  assert.equal(listed(view(), 99), false);
  assert.equal(newerBatch(view({ id: 1 }), view({ id: 2, version: 9 })).id, 1);
  assert.deepEqual(upsert([summaryOf(view({ version: 9 }))], view({ version: 3 }), ME)[0].version, 9);
});
