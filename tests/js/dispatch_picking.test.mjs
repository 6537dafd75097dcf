// The desk's Picking panel (pwa/static/dispatch/panels/picking-model.js): the waves as
// rows with the time left on the hub's clock, and the hub stream's warehouse events
// marked for the panel by the store.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pickingRows, minutesLeft, timeLeft, isPickingEvent } from "../../pwa/static/dispatch/panels/picking-model.js";
import { createStore } from "../../pwa/static/dispatch/store.js";

const wave = (over = {}) => ({
  cutoff: "15:00", slots: ["evening"], lines: 10, unreleased: 2, picking: 3, picked: 4, short: 1, atShops: 1,
  pickers: ["Pim"], batches: { open: 1, taken: 1, done: 1 }, ...over,
});

test("minutes to the cut-off on the hub's clock, negative past it", () => {
  assert.equal(minutesLeft("2026-12-02", "15:00", "2026-12-02T12:49:30"), 131);
  assert.equal(minutesLeft("2026-12-02", "15:00", "2026-12-02T15:20:00"), -20);
  assert.equal(minutesLeft(null, "15:00", "2026-12-02T12:49:30"), null);
  assert.deepEqual(timeLeft(131), { key: "panel.pick.left", params: { h: 2, m: 11 }, late: false });
  assert.deepEqual(timeLeft(-20), { key: "panel.pick.past", params: { h: 0, m: 20 }, late: true });
});

test("a row per wave, earliest first: picked, short, left, pickers, late only with lines left", () => {
  const rows = pickingRows([wave(), wave({ cutoff: "07:00", unreleased: 0, picking: 0, picked: 9, pickers: [] })],
    { date: "2026-12-02", now: "2026-12-02T12:00:00" });
  assert.deepEqual(rows.map((r) => r.cutoff), ["07:00", "15:00"]);
  const [early, late] = rows;
  assert.equal(early.left, 0);
  assert.equal(early.late, false); // past its cut-off, but nothing left
  assert.deepEqual([late.picked, late.short, late.left, late.done, late.pickers], [4, 1, 5, 5, ["Pim"]]);
  assert.equal(late.minutes, 180);
  assert.equal(pickingRows([wave()], { date: "2026-12-02", now: "2026-12-02T15:01:00" })[0].late, true);
});

test("the store marks warehouse events for the panel and moves its seq", () => {
  assert.ok(isPickingEvent("pick.batch.resequenced") && isPickingEvent("wave.released"));
  assert.equal(isPickingEvent("route.updated"), false);
  const store = createStore();
  const change = store.apply({ kind: "pick.batch.changed", seq: 12, data: { batchId: 1 } });
  assert.equal(change.picking, true);
  assert.equal(store.getState().seq, 12);
  assert.equal(store.apply({ kind: "something.else", seq: 13, data: {} }).picking, undefined);
});
