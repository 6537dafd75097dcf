// Several loops a shift on the desk: the timeline's track puts each reload before the first
// stop of the loop it starts, and the map cuts a route's line into its loops at the hub visits.
import { test } from "node:test";
import assert from "node:assert/strict";

// lit-html (imported by timeline.js) wants a document when it loads; the pure functions need none.
globalThis.document ??= { createTreeWalker: () => ({}), createComment: () => ({}) };
const { trackItems, chipPositions } = await import("../../pwa/static/dispatch/timeline.js");
const { loopLines, loopCount, stopKey } = await import("../../pwa/static/dispatch/map-routes.js");

const hub = { lat: 52.1, lon: 5.1 };
const looped = {
  stops: [
    { stopId: 1, loop: 1, eta: "09:00" }, { stopId: 2, loop: 1, eta: "09:20" },
    { stopId: 3, loop: 2, eta: "10:30" }, { stopId: 4, loop: 2, eta: "10:40" },
  ],
  reloads: [{ loop: 2, arrival: "09:50", departure: "10:00", loadKg: 40, loadL: 120 }],
};

test("the track puts the reload before loop 2's first stop and counts two loops", () => {
  const { items, loops } = trackItems(looped);
  assert.equal(loops, 2);
  assert.deepEqual(items.map((it) => (it.stop ? it.stop.stopId : `reload ${it.reload.loop}`)), [1, 2, "reload 2", 3, 4]);
  assert.deepEqual(items.filter((it) => it.stop).map((it) => it.n), [1, 2, 3, 4]);
  const xs = chipPositions(items.map((it) => it.stop || it.reload), 8 * 60);
  assert.ok(xs[2] > xs[1] && xs[3] > xs[2], xs); // the reload sits between the loops, in time order
});

test("a route without reloads rides one loop and has no reload on its track", () => {
  const plain = { stops: looped.stops.map((s) => ({ ...s, loop: 1 })), reloads: [] };
  const { items, loops } = trackItems(plain);
  assert.equal(loops, 1);
  assert.equal(items.length, 4);
  assert.equal(loopCount(plain), 1);
  assert.equal(trackItems(null).items.length, 0);
});

test("the line is cut at the hub visit between the loops, each part from and to the hub", () => {
  const line = [[52.1, 5.1], [52.11, 5.1], [52.12, 5.11], [52.1, 5.1], [52.09, 5.09], [52.1, 5.1]];
  const parts = loopLines(line, hub, 2);
  assert.deepEqual(parts, [line.slice(0, 4), line.slice(3)]);
  assert.equal(loopLines(line, hub, 3), null); // not the visits the loops need: one line
  assert.equal(loopLines(line, hub, 1), null);
  assert.equal(loopCount(looped), 2);
});

test("a loop change changes the route's line key", () => {
  const moved = { ...looped, stops: looped.stops.map((s) => ({ ...s, loop: s.stopId === 3 ? 1 : s.loop })) };
  assert.notEqual(stopKey(looped), stopKey(moved));
});
