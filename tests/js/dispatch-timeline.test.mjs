// The desk's timeline hours and the change a batch of positions makes: the row spans that
// the timeline keeps per courier fold into the same hours as a scan of the whole day, and a
// positions-only change is told apart from every other change.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createStore, onlyPositions } from "../../pwa/static/dispatch/store.js";

// lit-html (imported by timeline.js) wants a document when it loads; the pure functions need none.
globalThis.document ??= { createTreeWalker: () => ({}), createComment: () => ({}) };
const { span, rowSpan, hoursOf, minutes } = await import("../../pwa/static/dispatch/timeline.js");

const route = (courierId, start, end, etas) => ({
  id: courierId * 10, version: 1, date: "2026-12-04", courierId, start, end,
  stops: etas.map((eta, i) => ({ stopId: courierId * 100 + i, eta, status: "planned" })),
});

test("minutes reads ISO and HH:MM times", () => {
  assert.equal(minutes("2026-12-04T09:28:30"), 9 * 60 + 28.5);
  assert.equal(minutes("17:05"), 17 * 60 + 5);
  assert.equal(minutes(null), null);
});

test("row spans fold into the same whole hours as the scan of every stop", () => {
  const couriers = new Map([
    [1, { id: 1, shiftStart: "2026-12-04T08:30:00", shiftEnd: "2026-12-04T16:00:00" }],
    [2, { id: 2, shiftStart: "2026-12-04T09:00:00", shiftEnd: "2026-12-04T15:00:00" }],
  ]);
  const routes = new Map([
    [1, route(1, "2026-12-04T08:30:00", "2026-12-04T16:00:00", ["2026-12-04T09:10:00", "2026-12-04T17:20:00"])],
    [2, route(2, "2026-12-04T07:45:00", "2026-12-04T15:00:00", ["2026-12-04T10:00:00"])],
  ]);
  const state = { couriers, routes };
  assert.deepEqual(span(state), { from: 7 * 60, to: 18 * 60 });
  assert.deepEqual(rowSpan(couriers.get(1), routes.get(1)), { from: 8 * 60 + 30, to: 17 * 60 + 20 });
  const rows = [...couriers.keys()].map((id) => rowSpan(couriers.get(id), routes.get(id)));
  assert.deepEqual(hoursOf(rows), span(state));
  assert.deepEqual(hoursOf([]), { from: 8 * 60, to: 17 * 60 });
});

test("a batch of positions is a positions-only change; anything else is not", () => {
  const store = createStore();
  store.load({
    date: "2026-12-04", couriers: [{ id: 1, name: "A", shiftStart: "08:00", shiftEnd: "16:00" }],
    routes: [route(1, "2026-12-04T08:00:00", "2026-12-04T16:00:00", ["2026-12-04T09:00:00"])],
  });
  const seen = [];
  store.subscribe((_, change) => seen.push(change));
  store.apply({ kind: "position", data: [{ courierId: 1, lat: 52.1, lon: 4.3, ts: "2026-12-04T09:00:00" }] });
  assert.equal(onlyPositions(seen.at(-1)), true);
  assert.deepEqual([...seen.at(-1).positions], [1]);
  store.apply({ kind: "stop.updated", data: { stopId: 100, status: "arrived" } });
  assert.equal(onlyPositions(seen.at(-1)), false);
  store.select({ kind: "courier", id: 1 });
  assert.equal(onlyPositions(seen.at(-1)), false);
  store.setConnection("live");
  assert.equal(onlyPositions(seen.at(-1)), false);
  store.apply({ kind: "position", data: [] });
  assert.equal(onlyPositions(seen.at(-1)), false); // nothing moved: nothing to draw
});
