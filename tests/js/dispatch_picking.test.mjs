// The desk's Picking panel (pwa/static/dispatch/panels/picking-model.js): the waves as
// rows with the time left on the hub's clock, the hub stream's warehouse events marked for
// the panel by the store, and its "Release wave now" button (picking-release.js) against a
// fake desk: the request it sends, the server's sentence on a refusal, the toast on success.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  pickingRows, minutesLeft, timeLeft, isPickingEvent, canRelease, releasedOutcome,
} from "../../pwa/static/dispatch/panels/picking-model.js";
import { releasing, releaseWaveNow } from "../../pwa/static/dispatch/panels/picking-release.js";
import { createStore } from "../../pwa/static/dispatch/store.js";
import { format } from "../../pwa/static/kit/i18n.js";
import en from "../../pwa/static/dispatch/messages/panels-en.js";
import nl from "../../pwa/static/dispatch/messages/panels-nl.js";

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

// --- "Release wave now" ---------------------------------------------------------------------

function fakeDesk(answers, lang = "en") {
  const cat = lang === "en" ? en : nl;
  const desk = {
    lang,
    calls: [],
    toasts: [],
    renders: 0,
    t: (key, params) => (cat[key] === undefined ? key : format(cat[key], params)),
    store: { getState: () => ({ hub: { id: 4 }, date: "2026-12-02", now: "2026-12-02T10:00:00" }) },
    api: async (method, path, opts) => {
      desk.calls.push({ method, path, ...opts });
      assert.equal(releasing.busy, "15:00"); // the button shows "Releasing…" while the request runs
      return answers.shift();
    },
    rerender: () => { desk.renders += 1; },
    toast: (text, kind) => desk.toasts.push({ text, kind }),
  };
  return desk;
}

test("a wave with lines not released yet offers the button; the answer becomes a sentence", () => {
  assert.equal(canRelease(pickingRows([wave()])[0]), true);
  assert.equal(canRelease(pickingRows([wave({ unreleased: 0 })])[0]), false);
  const answer = { released: [{ cutoff: "15:00", batchIds: [7, 8], lines: 5, shortLines: 1 }] };
  const out = releasedOutcome(answer, "15:00");
  assert.deepEqual(out, { key: "panel.pick.releasedShort", params: { cutoff: "15:00", batches: 2, lines: 5, short: 1 } });
  assert.equal(format(en[out.key], out.params), "Wave 15:00 released: 5 lines in 2 batches, 1 short.");
  assert.equal(format(nl[out.key], out.params), "Golf 15:00 vrijgegeven: 5 regels in 2 batches, 1 tekort.");
  for (const key of ["panel.pick.releaseNow", "panel.pick.releasing", "panel.pick.released"]) {
    assert.ok(en[key] && nl[key] && en[key] !== nl[key], key);
  }
});

test("the button releases its wave once per press and shows the server's sentence on a refusal", async () => {
  const detail = "There is no wave with cut-off 15:00 on 2026-12-02 with lines to release (waves: 11:00).";
  const desk = fakeDesk([
    { status: 422, ok: false, data: { type: "about:blank", title: "Invalid input", status: 422, detail } },
    { status: 201, ok: true, data: { date: "2026-12-02", released: [{ cutoff: "15:00", batchIds: [3], lines: 1, shortLines: 0 }] } },
  ]);
  let reloaded = 0;
  const refused = await releaseWaveNow(desk, "15:00", { after: () => { reloaded += 1; } });
  assert.equal(refused.ok, false);
  assert.equal(releasing.error, detail);
  assert.equal(releasing.cutoff, "15:00");
  assert.equal(releasing.busy, "");
  assert.deepEqual(desk.toasts, []);
  assert.equal(reloaded, 0);
  const [call] = desk.calls;
  assert.equal(call.method, "POST");
  assert.equal(call.path, "/hubs/4/waves/release");
  assert.deepEqual(call.body, { date: "2026-12-02", cutoff: "15:00" });
  assert.ok(call.key, "an Idempotency-Key");

  const done = await releaseWaveNow(desk, "15:00", { after: () => { reloaded += 1; } });
  assert.equal(done.ok, true);
  assert.equal(releasing.error, "");
  assert.deepEqual(desk.toasts, [{ text: "Wave 15:00 released: 1 line in 1 batch.", kind: "info" }]);
  assert.equal(reloaded, 1);
  assert.notEqual(desk.calls[1].key, call.key); // a new press, a new key
  assert.ok(desk.renders >= 4);
});

test("a refusal in Dutch keeps the server's reason in brackets", async () => {
  const detail = "A cart needs at least one tote.";
  const desk = fakeDesk([{ status: 422, ok: false, data: { status: 422, detail } }], "nl");
  await releaseWaveNow(desk, "15:00");
  assert.ok(releasing.error.includes(detail.replace(/\.$/, "")), releasing.error);
});
